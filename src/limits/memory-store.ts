// In-process limiter: an exact sliding-window log of requests and token reservations per scope, plus an in-flight count.
import type { Principal } from "../auth/keys.ts";
import {
  CONCURRENCY_WAIT_MS,
  exceedsTpm,
  rateHeaders,
  rejection,
  scopeResolver,
  tooLargeForTpm,
  WINDOW_MS,
  type Admission,
  type Limiter,
  type LimitQuery,
  type Scope,
  type ScopeSnapshot,
  type StoreOptions,
} from "./limiter.ts";

/** One token reservation; `live` turns false when it leaves the window (its tokens are then no longer counted). */
interface TokenEntry {
  t: number;
  n: number;
  live: boolean;
}

/**
 * One scope's state. Both logs are append-only arrays read from `head`, oldest first: the window is (now − W, now],
 * so an entry leaves it exactly W after it was made. That is an exact log, not an approximation: its memory is one
 * entry per request in the last window, bounded by rpm where rpm is set.
 */
class Counters {
  private req: number[] = [];
  private reqHead = 0;
  private tok: TokenEntry[] = [];
  private tokHead = 0;
  tokens = 0;
  inflight = 0;

  prune(now: number, w: number): void {
    const edge = now - w;
    while (this.reqHead < this.req.length && this.req[this.reqHead]! <= edge) this.reqHead++;
    while (this.tokHead < this.tok.length && this.tok[this.tokHead]!.t <= edge) {
      const e = this.tok[this.tokHead++]!;
      e.live = false;
      this.tokens -= e.n;
    }
    // Compact now and then so the arrays do not grow without bound.
    if (this.reqHead > 1024 && this.reqHead * 2 > this.req.length) {
      this.req = this.req.slice(this.reqHead);
      this.reqHead = 0;
    }
    if (this.tokHead > 1024 && this.tokHead * 2 > this.tok.length) {
      this.tok = this.tok.slice(this.tokHead);
      this.tokHead = 0;
    }
  }
  get requests(): number {
    return this.req.length - this.reqHead;
  }
  addRequest(t: number): void {
    this.req.push(t);
  }
  addTokens(t: number, n: number): TokenEntry {
    const e = { t, n, live: true };
    this.tok.push(e);
    this.tokens += n;
    return e;
  }
  snapshot(s: Scope, now: number, w: number, estimate: number): ScopeSnapshot {
    const count = this.requests;
    const liveTok = this.tok.length - this.tokHead;
    let waitTokens = -1;
    if (s.tpm > 0 && this.tokens + estimate > s.tpm) {
      // The earliest moment enough reserved tokens have left the window for this request to fit.
      const need = this.tokens + estimate - s.tpm;
      let freed = 0;
      for (let i = this.tokHead; i < this.tok.length; i++) {
        freed += this.tok[i]!.n;
        if (freed >= need) {
          waitTokens = this.tok[i]!.t + w - now;
          break;
        }
      }
      if (waitTokens < 0) waitTokens = w;
    }
    return {
      requests: count,
      requestsResetMs: count ? this.req[this.req.length - 1]! + w - now : 0,
      tokens: this.tokens,
      tokensResetMs: liveTok ? this.tok[this.tok.length - 1]!.t + w - now : 0,
      inflight: this.inflight,
      // The (count − rpm + 1)-th oldest request must leave the window before one more fits.
      waitRequestsMs: s.rpm > 0 && count >= s.rpm ? this.req[this.reqHead + count - s.rpm]! + w - now : -1,
      waitTokensMs: waitTokens,
      waitConcurrencyMs: s.concurrent > 0 && this.inflight >= s.concurrent ? CONCURRENCY_WAIT_MS : -1,
    };
  }
}

const blocked = (n: ScopeSnapshot) => n.waitRequestsMs >= 0 || n.waitTokensMs >= 0 || n.waitConcurrencyMs >= 0;

export function createMemoryLimiter(opts: StoreOptions = {}): Limiter {
  const now = opts.now ?? Date.now;
  const w = opts.windowMs ?? WINDOW_MS;
  const resolve = scopeResolver(opts.defaults);
  // One entry per configured scope (key, or key and model): bounded by the config, so nothing is ever evicted.
  const counters = new Map<string, Counters>();
  const countersOf = (s: Scope) => {
    let c = counters.get(s.id);
    if (!c) counters.set(s.id, (c = new Counters()));
    return c;
  };
  const unlimited: Admission = { headers: {}, metersTokens: false, settle() {} };
  /** The headers of these scopes now, consuming nothing. */
  const current = (scopes: readonly Scope[]) => {
    const t = now();
    return rateHeaders(
      scopes,
      scopes.map((s) => {
        const c = countersOf(s);
        c.prune(t, w);
        return c.snapshot(s, t, w, 0);
      }),
    );
  };

  return {
    async admit(q: LimitQuery): Promise<Admission> {
      const scopes = resolve(q.principal, q.model);
      if (scopes.length === 0) return unlimited;
      const metersTokens = scopes.some((s) => s.tpm > 0);
      const estimate = metersTokens ? Math.max(1, Math.ceil(q.estimateTokens())) : 0;
      if (metersTokens && exceedsTpm(scopes, estimate)) throw tooLargeForTpm(scopes, estimate, w, current(scopes));
      // From here to the end of recording nothing awaits: check-and-record is atomic within the process.
      const t = now();
      const cs = scopes.map(countersOf);
      cs.forEach((c) => c.prune(t, w));
      const before = scopes.map((s, i) => cs[i]!.snapshot(s, t, w, estimate));
      if (before.some(blocked)) throw rejection(scopes, before, estimate, w);
      const entries = scopes.map((s, i) => {
        const c = cs[i]!;
        if (s.rpm > 0) c.addRequest(t);
        if (s.concurrent > 0) c.inflight++;
        return s.tpm > 0 ? c.addTokens(t, estimate) : null;
      });
      const headers = rateHeaders(scopes, scopes.map((s, i) => cs[i]!.snapshot(s, t, w, 0)));
      let settled = false;
      return {
        headers,
        metersTokens,
        settle(used) {
          if (settled) return;
          settled = true;
          const at = now();
          scopes.forEach((s, i) => {
            const c = cs[i]!;
            if (s.concurrent > 0) c.inflight--;
            const e = entries[i];
            if (!e || used === null) return;
            const n = Math.max(0, Math.round(used));
            c.prune(at, w);
            if (e.live) {
              c.tokens += n - e.n;
              e.n = n;
            } else if (n > estimate) {
              // The reservation already left the window (a call longer than the window): charge the excess now.
              c.addTokens(at, n - estimate);
            }
          });
        },
      };
    },
    async peek(principal: Principal, model?: string) {
      const scopes = resolve(principal, model);
      return scopes.length === 0 ? {} : current(scopes);
    },
    stats: () => ({ store: "memory", storeErrors: 0, storeDown: false }),
    async close() {},
  };
}
