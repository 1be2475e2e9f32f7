// Budgets in the Limiter contract, one suite against both stores: atomic reservations, settling to cost, recovery, windows.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Principal } from "../../src/auth/keys.ts";
import type { KeyConfig } from "../../src/config/schema.ts";
import type { Admission, BudgetQuery, Limiter, SpendSource } from "../../src/limits/limiter.ts";
import { createMemoryLimiter } from "../../src/limits/memory-store.ts";
import { createRedisLimiter } from "../../src/limits/redis-store.ts";
import { createMemoryLogger } from "../../src/observability/log.ts";
import { GatewayError, toErrorResponse } from "../../src/openai/errors.ts";
import { startRedis, type RedisServer } from "../support/redis.ts";

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await Promise.all(made.map((l) => l.close()));
  await redis.stop();
});

interface MakeOpts {
  now?: () => number;
  spend?: SpendSource;
}
let seq = 0;
const made: Limiter[] = [];
const stores: [string, (o?: MakeOpts) => Limiter][] = [
  ["memory", (o = {}) => createMemoryLimiter(o)],
  [
    "redis",
    (o = {}) => {
      const l = createRedisLimiter({ url: redis.url, timeoutMs: 3000, onStoreError: "deny", logger: createMemoryLogger(), leaseMs: 600_000, prefix: `b${++seq}:`, ...o });
      made.push(l);
      return l;
    },
  ],
];

const key = (name: string, c: Omit<KeyConfig, "name"> = {}): Principal => ({ id: `key_${name}`, name, source: "api", config: { name, ...c }, allowed: null, budget: null });
const budget = (p: Principal, limitMicros: number, reserveMicros: number, period: BudgetQuery["period"] = "month"): BudgetQuery => ({
  keyId: p.id,
  keyName: p.name,
  limitMicros,
  period,
  reserveMicros,
});
const admit = (l: Limiter, p: Principal, b: BudgetQuery) => l.admit({ principal: p, model: "m", estimateTokens: () => 0, budget: b });

async function refusal(p: Promise<Admission>): Promise<GatewayError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof GatewayError) return e;
    throw e;
  }
  throw new Error("expected a refusal, the request was admitted");
}

/** Reads spend until the asynchronous settles have landed (Redis settles are fire-and-forget). */
async function spendEventually(l: Limiter, b: BudgetQuery, ok: (s: { spentMicros: number; heldMicros: number }) => boolean) {
  const until = performance.now() + 3000;
  for (;;) {
    const s = await l.budgetSpend(b);
    if (ok(s) || performance.now() > until) return s;
    await Bun.sleep(10);
  }
}

for (const [name, make] of stores) {
  describe(`${name}: budgets`, () => {
    test("20 concurrent requests against a budget that fits 2 reservations: exactly 2 admitted, the rest refused with the contract's 429", async () => {
      const l = make();
      const p = key(`conc-${name}`);
      const b = budget(p, 10_000, 4_000);
      const results = await Promise.allSettled(Array.from({ length: 20 }, () => admit(l, p, b)));
      const admitted = results.filter((r) => r.status === "fulfilled") as PromiseFulfilledResult<Admission>[];
      expect(admitted.length).toBe(2);
      const refused = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
      for (const r of refused) expect((r.reason as GatewayError).kind).toBe("budget_exceeded");
      const res = toErrorResponse(refused[0]!.reason);
      expect(res.status).toBe(429);
      expect(res.headers.get("x-should-retry")).toBe("false");
      expect(res.headers.get("retry-after")).toBeNull();
      expect(await l.budgetSpend(b)).toEqual({ spentMicros: 0, heldMicros: 8_000 });
      // Settled to their real costs: the held reservations become the spend.
      admitted[0]!.value.settle(null, 1_500);
      admitted[1]!.value.settle(null, 2_500);
      expect(await spendEventually(l, b, (s) => s.heldMicros === 0)).toEqual({ spentMicros: 4_000, heldMicros: 0 });
      // Now 6,000 is left: one more 4,000 reservation fits, a second does not.
      const third = await admit(l, p, b);
      await expect(refusal(admit(l, p, b))).resolves.toMatchObject({ kind: "budget_exceeded" });
      third.settle(null, 4_000);
      expect(await spendEventually(l, b, (s) => s.heldMicros === 0)).toEqual({ spentMicros: 8_000, heldMicros: 0 });
    });

    test("an unknown cost charges the whole reservation; a second settle changes nothing", async () => {
      const l = make();
      const p = key(`unknown-${name}`);
      const b = budget(p, 1_000_000, 700);
      const a = await admit(l, p, b);
      a.settle(null, null);
      a.settle(null, 5);
      expect(await spendEventually(l, b, (s) => s.heldMicros === 0 && s.spentMicros > 0)).toEqual({ spentMicros: 700, heldMicros: 0 });
    });

    test("the refusal names the key, the spend, the limit and the reset", async () => {
      const l = make();
      const p = key(`msg-${name}`);
      const b = budget(p, 10_000_000, 10_000_001, "month");
      const e = await refusal(admit(l, p, b));
      expect(e.message).toMatch(new RegExp(`^Budget exhausted for key 'msg-${name}': \\$0\\.00 of \\$10\\.00 spent this month; resets \\d{4}-\\d{2}-01T00:00:00Z\\.`));
    });

    test("spend is recovered from the store at first use, so a restart never resets a budget", async () => {
      const asked: [string, string][] = [];
      const spend: SpendSource = async (id, day) => {
        asked.push([id, day]);
        return 9_000;
      };
      const t = Date.UTC(2026, 10, 26, 12);
      const l = make({ spend, now: () => t });
      const p = key(`recover-${name}`);
      const b = budget(p, 10_000, 2_000, "week");
      await expect(refusal(admit(l, p, b))).resolves.toMatchObject({ kind: "budget_exceeded" });
      const small = await admit(l, p, { ...b, reserveMicros: 1_000 });
      small.settle(null, 1_000);
      expect(await spendEventually(l, b, (s) => s.spentMicros === 10_000)).toEqual({ spentMicros: 10_000, heldMicros: 0 });
      // Asked for the window from Monday 23 November; once per window, not per request.
      expect(asked).toEqual([[p.id, "2026-11-23"]]);
    });

    test("a new window starts from the store's spend for that window (a budget resets)", async () => {
      let t = Date.UTC(2026, 10, 26, 23, 59, 59);
      const spend: SpendSource = async (_id, day) => (day === "2026-11-26" ? 5_000 : 0);
      const l = make({ spend, now: () => t });
      const p = key(`reset-${name}`);
      const b = budget(p, 5_000, 1, "day");
      await expect(refusal(admit(l, p, b))).resolves.toMatchObject({ kind: "budget_exceeded" });
      t = Date.UTC(2026, 10, 27, 0, 0, 0);
      const a = await admit(l, p, b);
      a.settle(null, 1);
      expect(await spendEventually(l, b, (s) => s.spentMicros === 1)).toEqual({ spentMicros: 1, heldMicros: 0 });
    });

    test("spend that cannot be recovered refuses the request (503), never counts from zero", async () => {
      const l = make({ spend: async () => Promise.reject(new Error("store down")) });
      const p = key(`down-${name}`);
      const e = await refusal(admit(l, p, budget(p, 10_000, 1)));
      expect(e.kind).toBe("limits_unavailable");
      expect(toErrorResponse(e).status).toBe(503);
    });

    test("budget and rate limits in one admission: a budget refusal records nothing against rpm", async () => {
      const l = make();
      const p = key(`both-${name}`, { rpm: 2 });
      const b = budget(p, 1_000, 600);
      const a = await admit(l, p, b);
      await expect(refusal(admit(l, p, b))).resolves.toMatchObject({ kind: "budget_exceeded" });
      a.settle(null, 0);
      await spendEventually(l, b, (s) => s.heldMicros === 0);
      // rpm 2: the refused request did not use the second slot.
      const c = await admit(l, p, b);
      c.settle(null, 0);
      await expect(refusal(admit(l, p, b))).resolves.toMatchObject({ kind: "rate_limited" });
    });
  });
}

test("redis: emptied (restarted) Redis re-seeds every budget from the store", async () => {
  let stored = 0;
  const l = createRedisLimiter({ url: redis.url, timeoutMs: 3000, onStoreError: "deny", logger: createMemoryLogger(), leaseMs: 600_000, prefix: "reseed:", spend: async () => stored });
  made.push(l);
  const p = key("reseed");
  const b = budget(p, 10_000, 3_000);
  const a = await admit(l, p, b);
  a.settle(null, 3_000);
  expect(await spendEventually(l, b, (s) => s.spentMicros === 3_000)).toEqual({ spentMicros: 3_000, heldMicros: 0 });
  // The usage events reached the store; then Redis loses everything.
  stored = 3_000;
  await redis.client().send("FLUSHALL", []);
  expect(await l.budgetSpend(b)).toEqual({ spentMicros: 3_000, heldMicros: 0 });
  await admit(l, p, b);
  await admit(l, p, { ...b, reserveMicros: 4_000 });
  await expect(refusal(admit(l, p, { ...b, reserveMicros: 1 }))).resolves.toMatchObject({ kind: "budget_exceeded" });
});

test("redis: a reservation left by an instance that died is charged when its lease runs out, not held forever", async () => {
  let t = Date.UTC(2026, 10, 26, 12);
  const mk = () => {
    const l = createRedisLimiter({ url: redis.url, timeoutMs: 3000, onStoreError: "deny", logger: createMemoryLogger(), leaseMs: 1_000, prefix: "lease:", now: () => t });
    made.push(l);
    return l;
  };
  const dead = mk();
  const p = key("lease");
  const b = budget(p, 10_000, 6_000);
  await admit(dead, p, b); // never settled: its instance "died"
  const live = mk();
  await expect(refusal(admit(live, p, b))).resolves.toMatchObject({ kind: "budget_exceeded" });
  t += 2_000;
  expect(await live.budgetSpend(b)).toEqual({ spentMicros: 6_000, heldMicros: 0 });
});
