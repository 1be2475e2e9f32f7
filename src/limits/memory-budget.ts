// In-process budget counters: per key and UTC window, settled spend plus reservations held; recovered from the store once per window.
import { fits, windowStart, windowStartDay, spendUnavailable } from "../costs/budget.ts";
import type { BudgetQuery, BudgetSpend, SpendSource } from "./limiter.ts";

export interface BudgetCounter {
  windowStart: number;
  spent: number;
  held: number;
}

export class MemoryBudgets {
  /** One counter per key: the current window's. A request admitted in the previous window settles on the counter it holds. */
  private readonly counters = new Map<string, BudgetCounter>();
  private readonly loading = new Map<string, Promise<BudgetCounter>>();

  constructor(
    private readonly spend: SpendSource | undefined,
    private readonly now: () => number,
  ) {}

  /**
   * The key's counter for the current window, recovering its spend from the store the first time (at start-up, or
   * when a new window begins). Awaited before the limiter's atomic check-and-record, never inside it.
   */
  counter(b: Omit<BudgetQuery, "reserveMicros">): BudgetCounter | Promise<BudgetCounter> {
    const start = windowStart(b.period, this.now());
    const c = this.counters.get(b.keyId);
    if (c && c.windowStart === start) return c;
    const id = `${b.keyId}\u0000${start}`;
    let p = this.loading.get(id);
    if (!p) {
      p = (async () => {
        let seed = 0;
        try {
          if (this.spend) seed = await this.spend(b.keyId, windowStartDay(b.period, start));
        } catch (e) {
          throw spendUnavailable(e);
        } finally {
          this.loading.delete(id);
        }
        // Another request may have created it meanwhile: the first one stays, so nothing held is lost.
        const cur = this.counters.get(b.keyId);
        if (cur && cur.windowStart === start) return cur;
        const fresh: BudgetCounter = { windowStart: start, spent: seed, held: 0 };
        this.counters.set(b.keyId, fresh);
        return fresh;
      })();
      this.loading.set(id, p);
    }
    return p;
  }

  static fits(c: BudgetCounter, b: BudgetQuery): boolean {
    return fits(b.limitMicros, c.spent, c.held, b.reserveMicros);
  }

  static hold(c: BudgetCounter, reserve: number): void {
    c.held += reserve;
  }

  /** The reservation leaves, the cost stays (null: the cost is unknown, so the reservation is what it cost). */
  static settle(c: BudgetCounter, reserve: number, cost: number | null): void {
    c.held = Math.max(0, c.held - reserve);
    // A cost that is not a number (a provider's garbage usage) is unknown: the reservation is what it cost.
    c.spent += cost === null || !Number.isFinite(cost) ? reserve : Math.max(0, Math.round(cost));
  }

  async spendOf(b: Omit<BudgetQuery, "reserveMicros">): Promise<BudgetSpend> {
    const c = await this.counter(b);
    return { spentMicros: c.spent, heldMicros: c.held };
  }
}
