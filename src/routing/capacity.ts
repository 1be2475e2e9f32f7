// A provider's `max_concurrent`: calls beyond it wait in line for a bounded time, then fail fast with a 503 — never a silent stall.
import { GatewayError } from "../openai/errors.ts";

/** The provider is at its configured concurrency and the wait in line ran out. Not the deployment's failure. */
export const providerBusy = (provider: string, max: number, waitedMs: number) =>
  new GatewayError("provider_busy", `The provider '${provider}' already has ${max} calls in flight (its max_concurrent) and none finished within ${waitedMs} ms. Retry shortly.`, {
    retryAfter: 1,
    retryable: true,
  });

interface Waiter {
  grant(): void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

export class ProviderSlots {
  private used = 0;
  private readonly line: Waiter[] = [];
  constructor(
    readonly provider: string,
    readonly max: number,
    private readonly queueMs: number,
  ) {}

  /** Whether a reload with these settings can keep this instance (and the calls it counts). */
  sameAs(max: number, queueMs: number): boolean {
    return this.max === max && this.queueMs === queueMs;
  }

  get inFlight(): number {
    return this.used;
  }
  get waiting(): number {
    return this.line.length;
  }

  /** Takes a slot: at once when one is free (undefined: nothing to await), else a promise that waits its turn. */
  acquire(signal: AbortSignal): Promise<void> | undefined {
    if (this.used < this.max && this.line.length === 0) {
      this.used++;
      return undefined;
    }
    if (this.queueMs === 0) return Promise.reject(providerBusy(this.provider, this.max, 0));
    return new Promise<void>((resolve, reject) => {
      const leave = () => {
        const i = this.line.indexOf(w);
        if (i !== -1) this.line.splice(i, 1);
        clearTimeout(w.timer);
        signal.removeEventListener("abort", onAbort);
      };
      const onAbort = () => {
        leave();
        reject(signal.reason);
      };
      const w: Waiter = {
        grant: () => {
          leave();
          resolve();
        },
        timer: setTimeout(() => {
          leave();
          reject(providerBusy(this.provider, this.max, this.queueMs));
        }, this.queueMs),
      };
      this.line.push(w);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Frees a slot; the first in line, if any, takes it over. */
  release(): void {
    const next = this.line[0];
    if (next) next.grant();
    else this.used = Math.max(0, this.used - 1);
  }
}
