// Limits after a Redis outage: exact from the first request once Redis answers again, and no entry left by an admit we gave up on.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { post, startGateway, type GatewayHandle } from "../support/gateway.ts";
import { startRedis, type RedisServer } from "../support/redis.ts";
import { startTcpProxy } from "../support/tcp-proxy.ts";
import { eventually } from "../support/wait.ts";

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

const counts = (statuses: number[]) => statuses.reduce<Record<number, number>>((m, s) => ((m[s] = (m[s] ?? 0) + 1), m), {});
const chat = { model: "echo", messages: [{ role: "user", content: "hi" }] };

async function burst(g: GatewayHandle, key: string, n: number): Promise<number[]> {
  const rs = await Promise.all(Array.from({ length: n }, () => post(`${g.baseURL}/chat/completions`, chat, key)));
  await Promise.all(rs.map((r) => r.arrayBuffer()));
  return rs.map((r) => r.status);
}

describe.each(["allow", "deny"] as const)("Redis killed while requests flow, then back on the same port (on_store_error: %s)", (mode) => {
  const KEY = `sk-burst-${mode}-000001`;
  let g: GatewayHandle;
  beforeAll(async () => {
    g = await startGateway({
      providers: { echo: { type: "echo" } },
      models: [{ id: "echo", provider: "echo" }],
      keys: [{ name: `burst-${mode}`, key: KEY, rpm: 5 }],
      rate_limit: { store: "redis", redis_url: redis.url, on_store_error: mode, store_timeout_ms: 300 },
    });
  });
  afterAll(() => g.stop());

  test("the first burst after Redis answers again admits exactly rpm, and none is refused for the outage", async () => {
    // Traffic flows (4 at a time) while Redis dies and stays down a while.
    let flowing = true;
    const seen: number[] = [];
    const flow = Promise.all(
      Array.from({ length: 4 }, async () => {
        while (flowing) seen.push(...(await burst(g, KEY, 1)));
      }),
    );
    await Bun.sleep(100);
    await redis.kill();
    expect(await eventually(() => g.gateway.limiter.stats().storeDown, (v) => v)).toBe(true);
    await Bun.sleep(300);
    flowing = false;
    await flow;
    expect(seen.filter((s) => s === (mode === "allow" ? 200 : 503)).length).toBeGreaterThan(0);

    await redis.restart();
    // Fired the moment Redis accepts connections again: Redis restarted empty, so exactly 5 fit.
    const statuses = await burst(g, KEY, 200);
    expect(counts(statuses)).toEqual({ 200: 5, 429: 195 });
    expect(g.gateway.limiter.stats().storeDown).toBe(false);
    expect(g.logs.filter((l) => l.msg === "rate-limit store reachable again").length).toBe(1);
  }, 20_000);
});

describe("an admit the gateway gave up on (no answer within store_timeout_ms) is taken back", () => {
  test("timed-out admits that ran in Redis leave no request, token or slot entry behind", async () => {
    const proxy = startTcpProxy(redis.port);
    const KEY = "sk-late-replies-0001";
    const g = await startGateway({
      providers: { echo: { type: "echo" } },
      models: [{ id: "echo", provider: "echo" }],
      keys: [{ name: "late", key: KEY, rpm: 10, tpm: 100_000, max_concurrent: 8 }],
      rate_limit: { store: "redis", redis_url: `redis://127.0.0.1:${proxy.port}`, on_store_error: "deny", store_timeout_ms: 150 },
    });
    const r = redis.client();
    const base = "switchboard:rl:{late}:late:";
    try {
      expect(await burst(g, KEY, 1)).toEqual([200]);
      await eventually(() => r.send("ZCARD", [`${base}c`]), (v) => v === 0);
      await r.send("DEL", [`${base}r`, `${base}t`, `${base}h`, `${base}c`]);

      // Redis runs each admit at once; its answer reaches the gateway after the gateway stopped waiting.
      proxy.delayReplies(500);
      expect(await burst(g, KEY, 4)).toEqual([503, 503, 503, 503]);
      // The scripts did run: 4 requests are recorded in Redis right now.
      expect(await r.send("ZCARD", [`${base}r`])).toBe(4);
      proxy.delayReplies(0);

      // Replies are prompt again: the next request that gets through is served (the refused ones are not recorded).
      expect(await eventually(() => burst(g, KEY, 1), (v) => v[0] === 200)).toEqual([200]);
      // Only the served request counts: its request entry, its tokens, no slot once it ended.
      expect(await eventually(() => r.send("ZCARD", [`${base}r`]), (v) => v === 1)).toBe(1);
      expect(await eventually(() => r.send("ZCARD", [`${base}c`]), (v) => v === 0)).toBe(0);
      expect(await r.send("ZCARD", [`${base}t`])).toBe(1);
      const fields = (await r.send("HGETALL", [`${base}h`])) as Record<string, string>;
      const ids = Object.keys(fields).filter((f) => f !== "sum");
      expect(ids.length).toBe(1);
      expect(Number(fields.sum)).toBe(Number(fields[ids[0]!]));
      const after = await fetch(`${g.baseURL}/models`, { headers: { authorization: `Bearer ${KEY}` } });
      expect(after.headers.get("x-ratelimit-remaining-requests")).toBe("9");
    } finally {
      await g.stop();
      proxy.stop();
    }
  }, 20_000);
});
