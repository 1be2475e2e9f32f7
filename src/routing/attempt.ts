// One upstream attempt's record: its own signal and timers, its span, its slot, and end(outcome) — the one place its breaker, counters, span, slot, warnings and meter are settled.
import { GatewayError } from "../openai/errors.ts";
import type { AttemptSpan, AttemptTracer } from "../observability/telemetry.ts";
import { resetMeter } from "../providers/meter.ts";
import type { CallContext } from "../providers/types.ts";
import type { Target } from "./plan.ts";

/**
 * How an attempt ended:
 * - `answered`: a whole answer arrived, or a committed stream ended cleanly;
 * - `broke`: a committed stream broke after its first byte (not retried, but the deployment's failure);
 * - `refused`: the provider answered with the request's own fault (a 400), or the gateway's slot queue was full;
 * - `retryable`: a failure another attempt may fix (5xx, 429, a hang, a broken connection) — counted later as a
 *   retry, a fallback or a failure, whichever follows;
 * - `timeout`: the request's whole deadline ran out on this deployment;
 * - `client_gone`: the client left (nobody's failure);
 * - `bug`: the gateway's own code threw (never the deployment's failure, never retried).
 */
export type AttemptOutcome = "answered" | "broke" | "refused" | "retryable" | "timeout" | "client_gone" | "bug";

/** The attempt counter a retryable failure lands in once the next step is known. */
export type LaterOutcome = "retry" | "fallback" | "failure";

export class AttemptRecord {
  readonly ctx: CallContext;
  private readonly t0 = performance.now();
  private readonly ctrl: AbortController | undefined;
  private firstByteTimer: ReturnType<typeof setTimeout> | undefined;
  private wholeTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly span: AttemptSpan | undefined;
  /** The request's warnings before this attempt: a failed attempt's translation notes are forgotten. */
  private readonly warned: number | undefined;
  private committed = false;
  private ended = false;

  constructor(
    readonly target: Target,
    private readonly base: CallContext,
    tracer: AttemptTracer | undefined,
    firstByteMs: number | undefined,
    attemptMs: number | undefined,
  ) {
    // Traces on: the span sets base.traceparent before the attempt's context is copied from it.
    this.span = tracer?.attempt(target.probe, base);
    this.warned = base.warnings?.mark();
    target.health.begin();
    if (firstByteMs === undefined && attemptMs === undefined) {
      // No timers of its own (the common case): the request's signal is the attempt's, with nothing to set up or clear.
      this.ctx = base;
      return;
    }
    // Its own signal, aborted by the request's (client gone, overall deadline) and by its own timers, whose reason is a
    // retryable timeout: a slow deployment fails over instead of ending the request.
    const ctrl = (this.ctrl = new AbortController());
    const arm = (ms: number | undefined, what: string) =>
      ms === undefined ? undefined : setTimeout(() => ctrl.abort(new GatewayError("upstream_timeout", `The provider ${what} within ${ms} ms.`, { retryable: true })), ms);
    this.firstByteTimer = arm(firstByteMs, "sent no first byte");
    this.wholeTimer = arm(attemptMs, "did not answer");
    this.ctx = { ...base, signal: AbortSignal.any([base.signal, ctrl.signal]) };
  }

  /** Whether this attempt's own timer (not the request) aborted it. */
  get timedOutOnItsOwn(): boolean {
    return this.ctrl?.signal.aborted === true && !this.base.signal.aborted;
  }

  /**
   * The answer is the client's from here on (a whole answer arrived, or a stream's first chunk): the attempt's timers
   * stop bounding it, its latency goes to the breaker, and it counts as a success.
   */
  commit(): void {
    if (this.committed || this.ended) return;
    this.committed = true;
    this.clearTimers();
    this.target.health.succeeded(performance.now() - this.t0);
    this.target.probe.outcomes.success.value++;
  }

  /** Records how the attempt ended, once: breaker, counters, span, provider slot, warnings and meter. */
  end(outcome: AttemptOutcome, error?: unknown): void {
    if (this.ended) return;
    if (outcome === "answered") this.commit();
    this.ended = true;
    this.clearTimers();
    this.span?.end(outcome === "answered" ? null : (error ?? outcome));
    this.target.slots?.release();
    const h = this.target.health;
    const c = this.target.probe.outcomes;
    switch (outcome) {
      case "answered":
        h.end(true);
        break;
      case "broke":
        h.failed("The stream broke after the first byte.");
        h.end(true);
        break;
      case "retryable":
        h.failed(error instanceof GatewayError ? `${error.kind}: ${error.message}` : "failed");
        h.end(true);
        break;
      case "timeout":
        h.failed(error instanceof GatewayError ? error.message : "timed out");
        h.end(true);
        c.failure.value++;
        break;
      case "refused":
      case "bug":
        // The deployment answered (or never got the call): no breaker failure, and a probe slot is freed.
        h.end(false);
        c.failure.value++;
        break;
      case "client_gone":
        h.end(false);
        break;
    }
    if (!this.committed) {
      // Nothing of this attempt reached the client: the next one starts from a clean meter and its own warnings.
      resetMeter(this.base.meter);
      if (this.warned !== undefined) this.base.warnings!.rewind(this.warned);
    }
  }

  /** A retryable failure's counter, once dispatch knows what followed it. */
  later(outcome: LaterOutcome): void {
    this.target.probe.outcomes[outcome].value++;
  }

  private clearTimers(): void {
    clearTimeout(this.firstByteTimer);
    clearTimeout(this.wholeTimer);
    this.firstByteTimer = this.wholeTimer = undefined;
  }
}
