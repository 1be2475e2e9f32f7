// One bad usage event never stops the ledger: NUL in a model id, a provider's missing or garbage counts, 2^63 tokens; a refused row is dead-lettered.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createMemoryLogger } from "../../src/observability/log.ts";
import { openStore } from "../../src/store/open.ts";
import type { Store, UsageEvent } from "../../src/store/store.ts";
import { createUsageWriter } from "../../src/usage/writer.ts";
import { startGateway, post, type GatewayHandle } from "../support/gateway.ts";
import { storesUnderTest } from "../support/postgres.ts";
import { eventually } from "../support/wait.ts";

/**
 * A provider whose usage is wrong in the ways real ones have been: the upstream model name picks which. The bodies
 * are written by hand, so a count of 2^63 reaches the gateway as the JSON number it is.
 */
function startGarbageUsageUpstream() {
  const usageFor: Record<string, string> = {
    "no-completion": `{"prompt_tokens":5,"total_tokens":5}`,
    "string-completion": `{"prompt_tokens":5,"completion_tokens":"7","total_tokens":"12"}`,
    "huge-completion": `{"prompt_tokens":5,"completion_tokens":9223372036854775808,"total_tokens":9223372036854775813}`,
    "negative-prompt": `{"prompt_tokens":-3,"completion_tokens":2,"total_tokens":-1}`,
    normal: `{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}`,
  };
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const body = (await req.json()) as { model: string };
      const usage = usageFor[body.model] ?? usageFor.normal;
      const text = `{"id":"chatcmpl-g","object":"chat.completion","created":1,"model":"${body.model}","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":${usage}}`;
      return new Response(text, { headers: { "content-type": "application/json" } });
    },
  });
  return { url: `http://127.0.0.1:${server.port}/v1`, stop: () => server.stop(true) };
}

const KEY_A = "sk-ledger-poison-a-0001";
const KEY_B = "sk-ledger-poison-b-0002";
const MODELS = ["no-completion", "string-completion", "huge-completion", "negative-prompt", "normal"];

const { freshUrl } = storesUnderTest("poison");
let up: ReturnType<typeof startGarbageUsageUpstream>;
beforeAll(() => {
  up = startGarbageUsageUpstream();
});
afterAll(() => up?.stop());

for (const kind of ["sqlite", "postgres"] as const) {
  describe(`the ledger on ${kind}`, () => {
    let store: Store;
    let g: GatewayHandle;
    beforeAll(async () => {
      store = await openStore(await freshUrl(kind));
      g = await startGateway(
        {
          providers: { up: { type: "openai", base_url: up.url, api_key: "sk-up" } },
          models: MODELS.map((id) => ({ id, provider: "up" })),
          prices: Object.fromEntries(MODELS.map((id) => [id, { input_per_mtok: 1, output_per_mtok: 2 }])),
          keys: [
            { name: "poison-a", key: KEY_A },
            { name: "poison-b", key: KEY_B, budget: { usd: 10, period: "day" } },
          ],
        },
        { store },
      );
    });
    afterAll(async () => {
      await g?.stop();
      await store?.close();
    });
    const chat = (model: string, key = KEY_A) => post(`${g.baseURL}/chat/completions`, { model, messages: [{ role: "user", content: "hi" }] }, key);
    const eventsOf = async (keyName: string) => (await store.listEvents({ limit: 1000 })).rows.filter((e) => e.keyName === keyName);

    test("a model id with NUL, then garbage usage: every later event is still written (events written after a poisoned one)", async () => {
      expect((await chat("x\u0000y")).status).toBe(404);
      for (const m of ["string-completion", "huge-completion", "negative-prompt"]) expect((await chat(m)).status).toBe(200);
      const after = 20;
      for (let i = 0; i < after; i++) expect((await chat("normal")).status).toBe(200);
      await g.gateway.control!.writer.flush();
      const events = await eventually(() => eventsOf("poison-a"), (evs) => evs.length >= 4 + after);
      // Recorded for the issue: events written after the poisoned one.
      const written = events.filter((e) => e.model === "normal").length;
      console.log(`[figure] ${kind}: events written after a poisoned one: ${written} of ${after}`);
      expect(written).toBe(after);
      const byModel = new Map(events.map((e) => [e.model, e]));
      // NUL kept visible, never stored raw (PostgreSQL refuses it in text).
      expect(byModel.get("x\\0y")).toMatchObject({ status: 404, promptTokens: 0, completionTokens: 0 });
      expect(byModel.get("string-completion")).toMatchObject({ promptTokens: 5, completionTokens: 0, usageSource: "estimated" });
      expect(byModel.get("huge-completion")).toMatchObject({ promptTokens: 5, completionTokens: Number.MAX_SAFE_INTEGER, usageSource: "provider" });
      expect(byModel.get("negative-prompt")).toMatchObject({ promptTokens: 0, completionTokens: 2, usageSource: "estimated" });
      expect(byModel.get("normal")).toMatchObject({ promptTokens: 5, completionTokens: 2, usageSource: "provider" });
      expect(g.gateway.control!.writer.stats()).toMatchObject({ failures: 0, deadLettered: 0, queued: 0 });
      expect((await fetch(`${g.url}/health/ready`)).status).toBe(200);
    });

    test("usage without completion_tokens on a key with a budget: spend stays a number, the key keeps working", async () => {
      expect((await chat("no-completion", KEY_B)).status).toBe(200);
      const info = (await (await fetch(`${g.baseURL}/key/info`, { headers: { authorization: `Bearer ${KEY_B}` } })).json()) as { budget: { spent_usd: unknown } };
      expect(typeof info.budget.spent_usd).toBe("number");
      expect(Number.isFinite(info.budget.spent_usd)).toBe(true);
      // Charged at least its reservation (the most it could have cost), not the undercount of 5 prompt tokens.
      expect(info.budget.spent_usd as number).toBeGreaterThan(5 / 1e6);
      expect((await chat("normal", KEY_B)).status).toBe(200);
      await g.gateway.control!.writer.flush();
      const ev = await eventually(async () => (await eventsOf("poison-b")).find((x) => x.model === "no-completion"));
      expect(ev).toMatchObject({ promptTokens: 5, completionTokens: 0, usageSource: "estimated" });
      // Spend recovered from the ledger equals what the budget counted.
      const spent = await store.spendSince(ev!.keyId, "2000-01-01");
      expect(spent).toBe(Math.round(info.budget.spent_usd as number * 1e6) + 5 * 1 + 2 * 2);
    });

    test("an event built with NUL, NaN and 2^63 straight into the store is written clean", async () => {
      const raw: UsageEvent = {
        id: `raw-${kind}`, requestId: "req\u0000raw", createdAt: Date.now(), keyId: "key_raw", keyName: "raw\u0000", model: "m\u0000", provider: "p", upstreamModel: "u\ud800",
        stream: false, status: 200, promptTokens: NaN, cachedTokens: -1, completionTokens: 2 ** 63, reasoningTokens: "3" as unknown as number,
        costMicros: Infinity, latencyMs: NaN, ttfbMs: -5, usageSource: "provider", endpoint: "chat.completions",
      };
      expect(await store.insertEvents([raw])).toBe(1);
      const [e] = (await store.listEvents({ limit: 1, keyId: "key_raw" })).rows;
      expect(e).toMatchObject({ requestId: "req\\0raw", keyName: "raw\\0", model: "m\\0", promptTokens: 0, cachedTokens: 0, completionTokens: Number.MAX_SAFE_INTEGER, reasoningTokens: 0, costMicros: 0 });
    });
  });
}

test("postgres: a daily total driven past BIGINT refuses its rows for real; they are dead-lettered and counted in /metrics, every other key's events are written", async () => {
  const store = await openStore(await freshUrl("postgres"));
  const g = await startGateway({ providers: { e: { type: "echo" } }, models: [{ id: "echo", provider: "e" }], keys: [{ name: "o", key: "sk-overflow-0001" }] }, { store });
  try {
    const w = g.gateway.control!.writer;
    const day = Date.UTC(2026, 10, 20, 12);
    const ev = (i: number, keyId: string, costMicros: number): UsageEvent => ({
      id: `ov-${i}`, requestId: `req-ov-${i}`, createdAt: day, keyId, keyName: keyId, model: "echo", provider: "e", upstreamModel: "echo",
      stream: false, status: 200, promptTokens: 1, cachedTokens: 0, completionTokens: 1, reasoningTokens: 0, costMicros, latencyMs: 1, ttfbMs: null,
      usageSource: "provider", endpoint: "chat.completions",
    });
    // 2^63 / (2^53 − 1) ≈ 1024: the 1025th such event of the day cannot be added to the key's total.
    for (let i = 0; i < 1030; i++) {
      w.enqueue(ev(i, "key_huge", Number.MAX_SAFE_INTEGER));
      w.enqueue(ev(100_000 + i, "key_fine", 3));
    }
    await w.close(30_000);
    const stats = w.stats();
    expect(stats.queued).toBe(0);
    expect(stats.deadLettered).toBeGreaterThan(0);
    expect(stats.deadLettered).toBeLessThan(10);
    expect(stats.written + stats.deadLettered).toBe(2060);
    expect(await store.spendSince("key_fine", "2026-11-20")).toBe(1030 * 3);
    const lines = g.logs.filter((l) => l.msg === "usage event dead-lettered: the store refused it, the events around it were written");
    expect(lines.length).toBe(stats.deadLettered);
    expect(lines[0]).toMatchObject({ error_code: "22003", request_id: expect.stringMatching(/^req-ov-\d+$/) });
    const metrics = await (await fetch(`${g.url}/metrics`)).text();
    expect(metrics).toContain(`switchboard_usage_events_dead_lettered_total ${stats.deadLettered}`);
  } finally {
    await g.stop();
    await store.close();
  }
}, 60_000);

describe("a batch the store refuses for one row's content", () => {
  let n = 0;
  const event = (over: Partial<UsageEvent> = {}): UsageEvent => ({
    id: `dl-${++n}`, requestId: `req-dl-${n}`, createdAt: Date.now(), keyId: "key_dl", keyName: "dl", model: "m", provider: "p", upstreamModel: "m",
    stream: false, status: 200, promptTokens: 1, cachedTokens: 0, completionTokens: 1, reasoningTokens: 0, costMicros: 1, latencyMs: 1, ttfbMs: null,
    usageSource: "provider", endpoint: "chat.completions", ...over,
  });

  /** The real store behind a check that refuses one request id the way PostgreSQL refuses a row (SQLSTATE 22003). */
  function refusing(store: Store, badRequestId: string) {
    const calls: number[] = [];
    return {
      calls,
      async insertEvents(events: readonly UsageEvent[]) {
        calls.push(events.length);
        if (events.some((e) => e.requestId === badRequestId)) throw Object.assign(new Error("bigint out of range"), { name: "PostgresError", code: "ERR_POSTGRES_SERVER_ERROR", errno: "22003" });
        return store.insertEvents(events);
      },
    };
  }

  test("it is split until the bad row is alone; that row is dead-lettered with its request id and counted, the rest is written", async () => {
    const store = await openStore("sqlite://:memory:");
    try {
      const s = refusing(store, "req-bad");
      const logger = createMemoryLogger();
      const w = createUsageWriter({ store: s, logger, batchSize: 500, flushEveryMs: 50 });
      const evs = Array.from({ length: 300 }, (_, i) => event(i === 137 ? { requestId: "req-bad" } : {}));
      for (const e of evs) w.enqueue(e);
      for (let i = 0; i < 50; i++) w.enqueue(event());
      await w.close();
      expect(w.stats()).toMatchObject({ queued: 0, written: 349, deadLettered: 1, storeDown: false });
      const stored = (await store.listEvents({ limit: 1000, keyId: "key_dl" })).rows;
      expect(stored.length).toBe(349);
      expect(stored.some((e) => e.requestId === "req-bad")).toBe(false);
      const line = logger.lines.find((l) => l.msg === "usage event dead-lettered: the store refused it, the events around it were written");
      expect(line).toMatchObject({ request_id: "req-bad", error_code: "22003", error: "bigint out of range" });
      expect(JSON.parse(String(line!.event))).toMatchObject({ requestId: "req-bad", id: evs[137]!.id });
      // Splitting costs a handful of round trips, not one per row.
      expect(s.calls.length).toBeLessThan(25);
      // Not an outage: never logged as one.
      expect(logger.lines.some((l) => l.msg === "usage store unreachable: events are kept in memory and retried")).toBe(false);
    } finally {
      await store.close();
    }
  });

  test("a store that cannot be reached is not split: everything waits, and the log names the error", async () => {
    let failing = true;
    const batches: number[] = [];
    const logger = createMemoryLogger();
    const w = createUsageWriter({
      store: {
        async insertEvents(events) {
          batches.push(events.length);
          if (failing) throw Object.assign(new Error("Failed to connect"), { name: "PostgresError", code: "ERR_POSTGRES_CONNECTION_REFUSED" });
          return events.length;
        },
      },
      logger,
      batchSize: 100,
      flushEveryMs: 20,
      maxBackoffMs: 40,
    });
    for (let i = 0; i < 100; i++) w.enqueue(event());
    await Bun.sleep(200);
    expect(batches.every((b) => b === 100)).toBe(true);
    expect(w.stats()).toMatchObject({ queued: 100, deadLettered: 0, storeDown: true, flowing: false, lastError: { kind: "unavailable", code: "ERR_POSTGRES_CONNECTION_REFUSED" } });
    expect(logger.lines.find((l) => l.msg === "usage store unreachable: events are kept in memory and retried")).toMatchObject({ error_code: "ERR_POSTGRES_CONNECTION_REFUSED" });
    failing = false;
    await w.close();
    expect(w.stats()).toMatchObject({ queued: 0, written: 100, flowing: true });
  });
});
