// Budgets across a Redis outage, two instances on one store (SQLite and PostgreSQL): they fail closed, and no spend is lost when Redis comes back empty.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configKeyId } from "../../src/auth/keys.ts";
import { windowStartDay } from "../../src/costs/budget.ts";
import { openStore } from "../../src/store/open.ts";
import type { Store } from "../../src/store/store.ts";
import { post, startGateway, type GatewayHandle } from "../support/gateway.ts";
import { startOpenAIUpstream, type OpenAIUpstream } from "../support/openai-upstream.ts";
import { startPostgres, type PostgresServer } from "../support/postgres.ts";
import { startRedis, type RedisServer } from "../support/redis.ts";
import { eventually } from "../support/wait.ts";

const SMALL = "sk-budget-outage-small-01";
const BIG = "sk-budget-outage-big-0002";
const OPEN = "sk-budget-outage-open-003";

let pg: PostgresServer;
let redis: RedisServer;
let up: OpenAIUpstream;
const dir = mkdtempSync(join(tmpdir(), "sb-bro-"));
beforeAll(async () => {
  [pg, redis, up] = await Promise.all([startPostgres(), startRedis(), startOpenAIUpstream()]);
}, 60_000);
afterAll(async () => {
  await Promise.all([pg?.stop(), redis?.stop(), up?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
for (const kind of ["sqlite", "postgres"] as const) {
  describe(`two instances on ${kind} + Redis`, () => {
    let stores: Store[] = [];
    let a: GatewayHandle;
    let b: GatewayHandle;
    beforeAll(async () => {
      const url = kind === "sqlite" ? `sqlite://${join(dir, `b${++n}.db`)}` : await pg.createDatabase(`bro${++n}`);
      stores = [await openStore(url), await openStore(url)];
      await redis.client().send("FLUSHALL", []);
      const config = {
        providers: { up: { type: "openai", base_url: up.url, api_key: up.apiKey } },
        models: [
          { id: "m", provider: "up", upstream_model: "gpt-4o" },
          // Streams that pause 2.5 s after their second chunk: in flight across a Redis restart.
          { id: "slow", provider: "up", upstream_model: "fault-pause" },
        ],
        prices: { m: { input_per_mtok: 100, output_per_mtok: 200 }, slow: { input_per_mtok: 100, output_per_mtok: 200 } },
        keys: [
          { name: "small", key: SMALL, budget: { usd: 0.05, period: "day" } },
          { name: "big", key: BIG, budget: { usd: 100, period: "day" } },
          { name: "open", key: OPEN, rpm: 1000 },
        ],
        // Rate limits fail open here on purpose: budgets must not follow them.
        rate_limit: { store: "redis", redis_url: redis.url, on_store_error: "allow", store_timeout_ms: 300 },
      };
      a = await startGateway(config, { store: stores[0] });
      b = await startGateway(config, { store: stores[1] });
    }, 60_000);
    afterAll(async () => {
      redis.resume();
      await a?.stop();
      await b?.stop();
      for (const s of stores) await s.close();
    });
    const chat = (g: GatewayHandle, key: string, model = "m", extra: object = {}) =>
      post(`${g.baseURL}/chat/completions`, { model, messages: [{ role: "user", content: "hi" }], max_tokens: 20, ...extra }, key);
    const ledger = async (name: string) => {
      await a.gateway.control!.writer.flush();
      await b.gateway.control!.writer.flush();
      return stores[0]!.spendSince(configKeyId(name), windowStartDay("day", Date.now()));
    };
    const counter = async (g: GatewayHandle, name: string, usd: number) =>
      (await g.gateway.limiter.budgetSpend({ keyId: configKeyId(name), keyName: name, limitMicros: usd * 1e6, period: "day" })).spentMicros;

    test("a frozen Redis: every request on a key with a budget is refused (503 naming Redis) on both instances, while rate limits fail open; no spend", async () => {
      const before = await ledger("small");
      redis.pause();
      try {
        const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => chat(i % 2 ? a : b, SMALL)));
        const statuses = answers.map((r) => r.status);
        const admitted = statuses.filter((s) => s === 200).length;
        console.log(`[figure] ${kind}: frozen Redis, $0.05 key: ${admitted} of 30 admitted`);
        expect(admitted).toBe(0);
        expect(statuses.every((s) => s === 503)).toBe(true);
        const body = (await answers[0]!.json()) as { error: { message: string } };
        expect(body.error.message).toContain("Redis");
        expect(body.error.message).toContain("budget");
        // A key without a budget follows on_store_error: allow.
        expect((await chat(a, OPEN)).status).toBe(200);
      } finally {
        redis.resume();
      }
      expect(await ledger("small")).toBe(before);
      expect(await eventually(() => chat(a, SMALL).then((r) => r.status), (s) => s === 200, 10_000)).toBe(200);
    }, 30_000);

    test("Redis restarted empty with streams in flight: their cost reaches the counter, which equals the ledger on both instances", async () => {
      // Some settled spend first, well in the ledger before the restart.
      for (let i = 0; i < 4; i++) expect((await chat(i % 2 ? a : b, BIG)).status).toBe(200);
      await Bun.sleep(600);
      const streams = Array.from({ length: 6 }, (_, i) => chat(i % 2 ? a : b, BIG, "slow", { stream: true }).then((r) => r.text()));
      await Bun.sleep(400);
      await redis.restart();
      // The next request seeds the new counter from the ledger (which has not got the streams yet).
      expect(await eventually(() => chat(a, BIG).then((r) => r.status), (s) => s === 200, 10_000)).toBe(200);
      await Promise.all(streams);
      const expected = await eventually(() => ledger("big"), (v) => v > 0);
      const onA = await eventually(() => counter(a, "big", 100), (v) => v === expected, 5000);
      const onB = await counter(b, "big", 100);
      console.log(`[figure] ${kind}: Redis restarted under 6 streams: counter ${onA} µ$ (A) / ${onB} µ$ (B), ledger ${expected} µ$`);
      expect(onA).toBe(expected);
      expect(onB).toBe(expected);
    }, 30_000);

    test("Redis frozen while streams finish, then back: their settles are folded in, the counter equals the ledger", async () => {
      const streams = Array.from({ length: 4 }, (_, i) => chat(i % 2 ? a : b, BIG, "slow", { stream: true }).then((r) => r.text()));
      await Bun.sleep(400);
      redis.pause();
      try {
        await Promise.all(streams);
        await Bun.sleep(300);
      } finally {
        redis.resume();
      }
      const expected = await ledger("big");
      expect(await eventually(() => counter(a, "big", 100), (v) => v === expected, 10_000)).toBe(expected);
      expect(await counter(b, "big", 100)).toBe(expected);
    }, 30_000);
  });
}
