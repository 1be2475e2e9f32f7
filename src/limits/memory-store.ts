// In-process limiter: an exact sliding-window log of requests and token reservations per scope, plus an in-flight count.
import type { Principal } from "../auth/keys.ts";
import {
  CONCURRENCY_WAIT_MS,
  exceedsTpm,
  rateHeaders,
  rejection,
  reservation,
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
import { budgetExceeded } from "../costs/budget.ts";
import { MemoryBudgets, type BudgetCounter } from "./memory-budget.ts";

/**
 * One scope's state. Both logs are append-only arrays read from a head index, oldest first: the window is
 * (now − W, now], so an entry leaves it exactly W after it was made. That is an exact log, not an approximation: its
 * memory is one entry per request in the last window, bounded by rpm where rpm is set. Token reservations are two
 * parallel number arrays (time, amount) rather than an object each: at thousands of requests a second a window holds
 * hundreds of thousands of them, and plain number arrays are nothing for the garbage collector to trace.
 */
class Counters {
  private req: number[] = [];
  private reqHead = 0;
  private tokT: number[] = [];
  private tokN: number[] = [];
  private tokHead = 0;
  /** Absolute index of tokT[0]: reservation handles stay valid across compactions. */
  private tokBase = 0;
  tokens = 0;
  inflight = 0;

  prune(now: number, w: number): void {
    const edge = now - w;
    while (this.reqHead < this.req.length && this.req[this.reqHead]! <= edge) this.reqHead++;
    while (this.tokHead < this.tokT.length && this.tokT[this.tokHead]! <= edge) this.tokens -= this.tokN[this.tokHead++]!;
    // Compact now and then so the arrays do not grow without bound.
    if (this.reqHead > 1024 && this.reqHead * 2 > this.req.length) {
      this.req = this.req.slice(this.reqHead);
      this.reqHead = 0;
    }
    if (this.tokHead > 1024 && this.tokHead * 2 > this.tokT.length) {
      this.tokT = this.tokT.slice(this.tokHead);
      this.tokN = this.tokN.slice(this.tokHead);
      this.tokBase += this.tokHead;
      this.tokHead = 0;
    }
  }
  get requests(): number {
    return this.req.length - this.reqHead;
  }
  addRequest(t: number): void {
    this.req.push(t);
  }
  /** Records a reservation; returns its handle. */
  addTokens(t: number, n: number): number {
    this.tokT.push(t);
    this.tokN.push(n);
    this.tokens += n;
    return this.tokBase + this.tokT.length - 1;
  }
  /** Whether the reservation is still inside the window (pruned ones no longer count). */
  isLive(handle: number): boolean {
    return handle >= this.tokBase + this.tokHead;
  }
  /** Replaces a live reservation's amount with what was really used. */
  setTokens(handle: number, n: number): void {
    const i = handle - this.tokBase;
    this.tokens += n - this.tokN[i]!;
    this.tokN[i] = n;
  }
  snapshot(s: Scope, now: number, w: number, estimate: number): ScopeSnapshot {
    const count = this.requests;
    const liveTok = this.tokT.length - this.tokHead;
    let waitTokens = -1;
    if (s.tpm > 0 && this.tokens + estimate > s.tpm) {
      // The earliest moment enough reserved tokens have left the window for this request to fit.
      const need = this.tokens + estimate - s.tpm;
      let freed = 0;
      for (let i = this.tokHead; i < this.tokT.length; i++) {
        freed += this.tokN[i]!;
        if (freed >= need) {
          waitTokens = this.tokT[i]! + w - now;
          break;
        }
      }
      if (waitTokens < 0) waitTokens = w;
    }
    return {
      requests: count,
      requestsResetMs: count ? this.req[this.req.length - 1]! + w - now : 0,
      tokens: this.tokens,
      tokensResetMs: liveTok ? this.tokT[this.tokT.length - 1]! + w - now : 0,
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
  let resolve = scopeResolver(opts.defaults);
  // One entry per configured scope (key, or key and model): bounded by the config, so nothing is ever evicted.
  const counters = new Map<string, Counters>();
  const countersOf = (s: Scope) => {
    let c = counters.get(s.id);
    if (!c) counters.set(s.id, (c = new Counters()));
    return c;
  };
  const budgets = new MemoryBudgets(opts.spend, now);
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
      const b = q.budget;
      if (scopes.length === 0 && !b) return unlimited;
      const estimate = reservation(scopes, q);
      const metersTokens = estimate > 0;
      if (exceedsTpm(scopes, estimate)) throw tooLargeForTpm(scopes, estimate, w, current(scopes));
      // Recovering a window's spend may await the store: done before the atomic section, never inside it.
      const pending = b ? budgets.counter(b) : null;
      const budget: BudgetCounter | null = pending instanceof Promise ? await pending : pending;
      // From here to the end of recording nothing awaits: check-and-record is atomic within the process.
      // The budget first: a request it refuses should not be told to retry after a rate-limit wait.
      if (b && budget && !MemoryBudgets.fits(budget, b)) throw budgetExceeded(b.keyName, b, budget.spent + budget.held, b.reserveMicros, now());
      const t = now();
      const cs = scopes.map(countersOf);
      cs.forEach((c) => c.prune(t, w));
      const before = scopes.map((s, i) => cs[i]!.snapshot(s, t, w, estimate));
      if (before.some(blocked)) throw rejection(scopes, before, estimate, w);
      const handles = scopes.map((s, i) => {
        const c = cs[i]!;
        if (s.rpm > 0) c.addRequest(t);
        if (s.concurrent > 0) c.inflight++;
        return s.tpm > 0 ? c.addTokens(t, estimate) : -1;
      });
      if (b && budget) MemoryBudgets.hold(budget, b.reserveMicros);
      const headers = rateHeaders(scopes, scopes.map((s, i) => cs[i]!.snapshot(s, t, w, 0)));
      let settled = false;
      return {
        headers,
        metersTokens,
        settle(used, cost) {
          if (settled) return;
          settled = true;
          if (b && budget) MemoryBudgets.settle(budget, b.reserveMicros, cost ?? null);
          const at = now();
          scopes.forEach((s, i) => {
            const c = cs[i]!;
            if (s.concurrent > 0) c.inflight--;
            const h = handles[i]!;
            if (h < 0 || used === null || !Number.isFinite(used)) return;
            const n = Math.max(0, Math.round(used));
            c.prune(at, w);
            if (c.isLive(h)) c.setTokens(h, n);
            else if (n > estimate) {
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
    budgetSpend: (b) => budgets.spendOf(b),
    stats: () => ({ store: "memory", storeErrors: 0, storeDown: false }),
    setDefaults(defaults) {
      resolve = scopeResolver(defaults);
    },
    async close() {},
  };
}
