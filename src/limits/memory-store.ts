// In-process sliding-window limiter: an exact log of request times per key (first cut: rpm).
import type { Principal } from "../auth/keys.ts";
import { rateLimited } from "../openai/errors.ts";
import { formatResetDuration, WINDOW_MS, type Admission, type Limiter, type LimitQuery } from "./limiter.ts";

/** Request times of one key, oldest first; entries older than the window are dropped lazily. */
class Log {
  private times: number[] = [];
  private head = 0;
  prune(now: number): void {
    while (this.head < this.times.length && this.times[this.head]! <= now - WINDOW_MS) this.head++;
    // Compact now and then so the array does not grow without bound.
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
  }
  get count(): number {
    return this.times.length - this.head;
  }
  oldest(): number | undefined {
    return this.times[this.head];
  }
  newest(): number | undefined {
    return this.times[this.times.length - 1];
  }
  add(now: number): void {
    this.times.push(now);
  }
}

export function createMemoryLimiter(opts: { now?: () => number } = {}): Limiter {
  const now = opts.now ?? Date.now;
  const logs = new Map<string, Log>();
  const logOf = (name: string) => {
    let l = logs.get(name);
    if (!l) logs.set(name, (l = new Log()));
    return l;
  };
  const headers = (rpm: number, log: Log, t: number): Record<string, string> => ({
    "x-ratelimit-limit-requests": String(rpm),
    "x-ratelimit-remaining-requests": String(Math.max(0, rpm - log.count)),
    "x-ratelimit-reset-requests": formatResetDuration(log.count ? log.newest()! + WINDOW_MS - t : 0),
  });
  const noop: Admission = { headers: {}, settle() {} };
  return {
    async admit(q: LimitQuery): Promise<Admission> {
      const rpm = q.principal.config.rpm;
      if (rpm === undefined) return noop;
      const t = now();
      const log = logOf(q.principal.name);
      log.prune(t);
      if (log.count >= rpm) {
        const wait = log.oldest()! + WINDOW_MS - t;
        throw rateLimited(
          `Rate limit reached for key '${q.principal.name}': ${rpm} requests per minute. Retry after ${Math.ceil(wait / 1000)}s.`,
          wait / 1000,
          headers(rpm, log, t),
        );
      }
      log.add(t);
      return { headers: headers(rpm, log, t), settle() {} };
    },
    async peek(principal: Principal) {
      const rpm = principal.config.rpm;
      if (rpm === undefined) return {};
      const t = now();
      const log = logOf(principal.name);
      log.prune(t);
      return headers(rpm, log, t);
    },
    async close() {},
  };
}
