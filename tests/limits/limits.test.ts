// The Limiter contract, one suite run against both stores (memory, and Redis through a real redis-server).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Principal } from "../../src/auth/keys.ts";
import type { KeyConfig, Limits } from "../../src/config/schema.ts";
import { countTokens } from "gpt-tokenizer/encoding/o200k_base";
import { buildConfig } from "../../src/config/load.ts";
import { slotLeaseMs } from "../../src/limits/create.ts";
import { completionAllowance, countPromptTokens, countTextTokens, EXACT_CHARS } from "../../src/limits/estimate.ts";
import type { Admission, Limiter } from "../../src/limits/limiter.ts";
import { createMemoryLimiter } from "../../src/limits/memory-store.ts";
import { createRedisLimiter } from "../../src/limits/redis-store.ts";
import { createMemoryLogger } from "../../src/observability/log.ts";
import { GatewayError } from "../../src/openai/errors.ts";
import type { ChatRequest } from "../../src/openai/schemas.ts";
import { startRedis, type RedisServer } from "../support/redis.ts";

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

interface MakeOpts {
  now?: () => number;
  defaults?: Limits;
  leaseMs?: number;
  prefix?: string;
}
let seq = 0;
const made: Limiter[] = [];
afterAll(async () => {
  await Promise.all(made.map((l) => l.close()));
});
const stores: [string, (o?: MakeOpts) => Limiter][] = [
  ["memory", (o = {}) => createMemoryLimiter(o)],
  [
    "redis",
    (o = {}) => {
      // Generous timeout: on a loaded 2-core CI box a slow answer must not look like an outage; deny makes one fail loudly.
      const l = createRedisLimiter({ url: redis.url, timeoutMs: 3000, onStoreError: "deny", logger: createMemoryLogger(), leaseMs: o.leaseMs ?? 600_000, prefix: o.prefix ?? `t${++seq}:`, ...o });
      made.push(l);
      return l;
    },
  ],
];

const key = (name: string, c: Omit<KeyConfig, "name"> = {}): Principal => ({ id: `key_${name}`, name, source: "config", config: { name, ...c }, allowed: null, budget: null });
const est = (n: number) => () => n;
const noTokens = () => {
  throw new Error("estimateTokens must not be called without a tpm limit");
};
/** The rate_limited failure of a refused admission (fails the test if it was admitted or failed otherwise). */
async function refused(p: Promise<Admission>): Promise<GatewayError> {
  const e = await p.then(
    () => new Error("admitted, expected a 429"),
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(GatewayError);
  expect((e as GatewayError).kind).toBe("rate_limited");
  return e as GatewayError;
}
const clock = () => {
  const c = { t: 1_700_000_000_000, now: () => c.t };
  return c;
};

describe.each(stores)("limiter contract: %s store", (_name, make) => {
  test("N concurrent requests against rpm L admit exactly L", async () => {
    const l = make();
    const p = key("exact", { rpm: 10 });
    const results = await Promise.allSettled(Array.from({ length: 60 }, () => l.admit({ principal: p, model: "m", estimateTokens: noTokens })));
    expect(results.filter((r) => r.status === "fulfilled").length).toBe(10);
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === "rejected").map((r) => r.reason as GatewayError);
    expect(rejected.length).toBe(50);
    for (const e of rejected) {
      expect(e.kind).toBe("rate_limited");
      expect(e.message).toContain("requests: 10 per minute");
    }
  });

  test("N concurrent requests against max_concurrent C admit exactly C", async () => {
    const l = make();
    const p = key("exact-conc", { max_concurrent: 5 });
    const results = await Promise.allSettled(Array.from({ length: 40 }, () => l.admit({ principal: p, model: "m", estimateTokens: noTokens })));
    expect(results.filter((r) => r.status === "fulfilled").length).toBe(5);
  });

  test("N concurrent reservations against tpm admit exactly what fits", async () => {
    const l = make();
    const p = key("exact-tpm", { tpm: 1000 });
    const results = await Promise.allSettled(Array.from({ length: 30 }, () => l.admit({ principal: p, model: "m", estimateTokens: est(100) })));
    expect(results.filter((r) => r.status === "fulfilled").length).toBe(10);
  });

  test("the window slides: a request frees its place exactly one window after it was made", async () => {
    const c = clock();
    const t0 = c.t;
    const l = make({ now: c.now });
    const p = key("slide", { rpm: 3 });
    const admit = () => l.admit({ principal: p, model: "m", estimateTokens: noTokens });
    await admit();
    c.t = t0 + 20_000;
    await admit();
    c.t = t0 + 40_000;
    await admit();
    c.t = t0 + 50_000;
    expect((await refused(admit())).init.retryAfter).toBe(10);
    c.t = t0 + 59_999;
    expect((await refused(admit())).init.retryAfter).toBe(1);
    // A fixed one-minute bucket would now admit 3 more; the sliding window admits exactly the one that left.
    c.t = t0 + 60_000;
    await admit();
    expect((await refused(admit())).init.retryAfter).toBe(20);
    c.t = t0 + 80_000;
    await admit();
  });

  test("headers: limit, remaining and reset of requests and tokens, formatted as OpenAI does", async () => {
    const c = clock();
    const t0 = c.t;
    const l = make({ now: c.now });
    const p = key("headers", { rpm: 5, tpm: 1000 });
    const a = await l.admit({ principal: p, model: "m", estimateTokens: est(100) });
    expect(a.metersTokens).toBe(true);
    expect(a.headers).toEqual({
      "x-ratelimit-limit-requests": "5",
      "x-ratelimit-remaining-requests": "4",
      "x-ratelimit-reset-requests": "1m0s",
      "x-ratelimit-limit-tokens": "1000",
      "x-ratelimit-remaining-tokens": "900",
      "x-ratelimit-reset-tokens": "1m0s",
    });
    c.t = t0 + 1_500;
    const h = await l.peek(p);
    expect(h["x-ratelimit-remaining-requests"]).toBe("4");
    expect(h["x-ratelimit-reset-requests"]).toBe("58.5s");
    c.t = t0 + 59_941;
    expect((await l.peek(p))["x-ratelimit-reset-tokens"]).toBe("59ms");
    c.t = t0 + 60_000;
    expect(await l.peek(p)).toMatchObject({ "x-ratelimit-remaining-requests": "5", "x-ratelimit-reset-requests": "0s", "x-ratelimit-remaining-tokens": "1000" });
  });

  test("tpm: reserve before, settle to usage after; a full window refuses with Retry-After from the reservations", async () => {
    const c = clock();
    const t0 = c.t;
    const l = make({ now: c.now });
    const p = key("tpm", { tpm: 1000 });
    const a = await l.admit({ principal: p, model: "m", estimateTokens: est(400) });
    expect(a.headers["x-ratelimit-remaining-tokens"]).toBe("600");
    a.settle(100);
    expect((await l.peek(p))["x-ratelimit-remaining-tokens"]).toBe("900");
    c.t = t0 + 10_000;
    await l.admit({ principal: p, model: "m", estimateTokens: est(500) });
    c.t = t0 + 20_000;
    const e = await refused(l.admit({ principal: p, model: "m", estimateTokens: est(500) }));
    expect(e.message).toContain("tokens: 1000 per minute");
    expect(e.message).toContain("600 used");
    // 100 tokens must leave: the first reservation (settled to 100) does at t0 + 60 s, 40 s from now.
    expect(e.init.retryAfter).toBe(40);
    c.t = t0 + 60_000;
    const b = await l.admit({ principal: p, model: "m", estimateTokens: est(500) });
    expect(b.headers["x-ratelimit-remaining-tokens"]).toBe("0");
  });

  test("a settle that raises the usage counts the extra tokens; null keeps the reservation", async () => {
    const l = make({ now: clock().now });
    const p = key("settle-up", { tpm: 1000 });
    const a = await l.admit({ principal: p, model: "m", estimateTokens: est(100) });
    a.settle(700);
    expect((await l.peek(p))["x-ratelimit-remaining-tokens"]).toBe("300");
    const b = await l.admit({ principal: p, model: "m", estimateTokens: est(200) });
    b.settle(null);
    expect((await l.peek(p))["x-ratelimit-remaining-tokens"]).toBe("100");
  });

  test("a call that outlived the window is charged the tokens beyond its expired reservation", async () => {
    const c = clock();
    const l = make({ now: c.now });
    const p = key("late", { tpm: 1000 });
    const a = await l.admit({ principal: p, model: "m", estimateTokens: est(100) });
    c.t += 61_000;
    a.settle(700);
    expect((await l.peek(p))["x-ratelimit-remaining-tokens"]).toBe("400");
  });

  test("a reservation larger than tpm is refused at once and consumes nothing", async () => {
    const l = make();
    const p = key("too-large", { rpm: 5, tpm: 1000 });
    const e = await refused(l.admit({ principal: p, model: "m", estimateTokens: est(1001) }));
    expect(e.message).toContain("needs about 1001 tokens");
    expect(e.message).toContain("retrying will not help");
    expect(await l.peek(p)).toMatchObject({ "x-ratelimit-remaining-requests": "5", "x-ratelimit-remaining-tokens": "1000" });
  });

  test("without a tpm limit the prompt is never tokenised and no token headers are sent", async () => {
    const l = make();
    const a = await l.admit({ principal: key("no-tpm", { rpm: 5 }), model: "m", estimateTokens: noTokens });
    expect(a.metersTokens).toBe(false);
    expect(a.headers["x-ratelimit-limit-tokens"]).toBeUndefined();
    expect(a.headers["x-ratelimit-limit-requests"]).toBe("5");
    // A key with no limits at all is not tracked.
    expect((await l.admit({ principal: key("free"), model: "m", estimateTokens: noTokens })).headers).toEqual({});
  });

  test("concurrency: max_concurrent in flight; settle frees the slot, a second settle frees nothing", async () => {
    const l = make();
    const p = key("conc", { max_concurrent: 2 });
    const admit = () => l.admit({ principal: p, model: "m", estimateTokens: noTokens });
    const a1 = await admit();
    await admit();
    const e = await refused(admit());
    expect(e.message).toContain("concurrency: 2 requests in flight");
    expect(e.init.retryAfter).toBe(1);
    a1.settle(null);
    a1.settle(null);
    await admit();
    await refused(admit());
  });

  test("every limit hit is named, and Retry-After is the longest wait", async () => {
    const l = make({ now: clock().now });
    const p = key("both", { rpm: 1, max_concurrent: 1 });
    await l.admit({ principal: p, model: "m", estimateTokens: noTokens });
    const e = await refused(l.admit({ principal: p, model: "m", estimateTokens: noTokens }));
    expect(e.message).toContain("requests: 1 per minute");
    expect(e.message).toContain("concurrency: 1 requests in flight");
    expect(e.init.retryAfter).toBe(60);
  });

  test("per-model limits apply on top of the key's; refused requests are recorded nowhere; headers show the binding limit", async () => {
    const l = make();
    const p = key("per-model", { rpm: 10, limits: { "gpt-4o": { rpm: 2 } } });
    await l.admit({ principal: p, model: "gpt-4o", estimateTokens: noTokens });
    const second = await l.admit({ principal: p, model: "gpt-4o", estimateTokens: noTokens });
    expect(second.headers).toMatchObject({ "x-ratelimit-limit-requests": "2", "x-ratelimit-remaining-requests": "0" });
    const e = await refused(l.admit({ principal: p, model: "gpt-4o", estimateTokens: noTokens }));
    expect(e.message).toContain("key 'per-model' on model 'gpt-4o'");
    const other = await l.admit({ principal: p, model: "mini", estimateTokens: noTokens });
    expect(other.headers).toMatchObject({ "x-ratelimit-limit-requests": "10", "x-ratelimit-remaining-requests": "7" });
  });

  test("rate_limit.defaults apply to keys that set no limits of their own", async () => {
    const l = make({ defaults: { rpm: 1 } });
    const bare = key("bare");
    await l.admit({ principal: bare, model: "m", estimateTokens: noTokens });
    await refused(l.admit({ principal: bare, model: "m", estimateTokens: noTokens }));
    const own = key("own", { rpm: 5 });
    await l.admit({ principal: own, model: "m", estimateTokens: noTokens });
    expect((await l.admit({ principal: own, model: "m", estimateTokens: noTokens })).headers["x-ratelimit-remaining-requests"]).toBe("3");
  });
});

describe("redis store specifics", () => {
  const make = stores[1]![1];

  test("a slot held by an instance that died is reclaimed when its lease runs out", async () => {
    const c = clock();
    const l = make({ now: c.now, leaseMs: 5_000 });
    const p = key("lease", { max_concurrent: 1 });
    await l.admit({ principal: p, model: "m", estimateTokens: noTokens });
    c.t += 4_999;
    await refused(l.admit({ principal: p, model: "m", estimateTokens: noTokens }));
    c.t += 1;
    await l.admit({ principal: p, model: "m", estimateTokens: noTokens });
  });

  test("every key expires by itself: PTTL within the window (slots: within the lease)", async () => {
    const l = make({ prefix: "ttl:", leaseMs: 200_000 });
    await l.admit({ principal: key("ttl", { rpm: 5, tpm: 1000, max_concurrent: 2 }), model: "m", estimateTokens: est(10) });
    const r = redis.client();
    const keys = (await r.send("KEYS", ["ttl:*"])) as string[];
    expect(keys.length).toBe(4);
    for (const k of keys) {
      const ttl = (await r.send("PTTL", [k])) as number;
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(k.endsWith(":c") ? 200_000 : 60_000);
    }
  });

  test("after SCRIPT FLUSH (or a restart) the script is sent again: NOSCRIPT falls back to EVAL", async () => {
    const l = make();
    const p = key("noscript", { rpm: 2 });
    await l.admit({ principal: p, model: "m", estimateTokens: noTokens });
    await redis.client().send("SCRIPT", ["FLUSH"]);
    const a = await l.admit({ principal: p, model: "m", estimateTokens: noTokens });
    expect(a.headers["x-ratelimit-remaining-requests"]).toBe("0");
    expect(l.stats()).toEqual({ store: "redis", storeErrors: 0, storeDown: false });
  });

  test("two limiters (two instances) on one Redis share one limit exactly", async () => {
    const a = make({ prefix: "shared:" });
    const b = make({ prefix: "shared:" });
    const p = key("shared", { rpm: 10, max_concurrent: 50 });
    const results = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).admit({ principal: p, model: "m", estimateTokens: noTokens })));
    expect(results.filter((r) => r.status === "fulfilled").length).toBe(10);
  });
});

describe("memory store internals", () => {
  test("a reservation still open when older ones are pruned and the log compacted settles to its usage", async () => {
    const c = clock();
    const l = createMemoryLimiter({ now: c.now });
    const p = key("compact", { tpm: 10_000_000 });
    const t0 = c.t;
    // 2,000 settled requests early in the window, then one held open near its end.
    for (let i = 0; i < 2000; i++) {
      c.t = t0 + i;
      (await l.admit({ principal: p, model: "m", estimateTokens: est(100) })).settle(10);
    }
    c.t = t0 + 59_000;
    const held = await l.admit({ principal: p, model: "m", estimateTokens: est(500) });
    // The 2,000 leave the window (and the log is compacted); the held one stays in it.
    c.t = t0 + 62_000;
    expect((await l.peek(p))["x-ratelimit-remaining-tokens"]).toBe(String(10_000_000 - 500));
    held.settle(42);
    expect((await l.peek(p))["x-ratelimit-remaining-tokens"]).toBe(String(10_000_000 - 42));
    // And it leaves the window itself 60 s after it was admitted.
    c.t = t0 + 119_001;
    expect((await l.peek(p))["x-ratelimit-remaining-tokens"]).toBe("10000000");
  });
});

describe("token estimate and rate_limit config", () => {
  test("long text is counted exactly up to the cap and extrapolated beyond it, close to the exact count", () => {
    const text = "The quick brown fox jumps over the lazy dog, again and again. ".repeat(3000);
    expect(text.length).toBeGreaterThan(EXACT_CHARS * 5);
    const exact = countTokens(text);
    const estimated = countTextTokens(text);
    expect(Math.abs(estimated - exact) / exact).toBeLessThan(0.02);
    expect(countTextTokens("hello world")).toBe(countTokens("hello world"));
  });

  test("the prompt estimate counts text, tool calls, tool definitions, framing and images; allowance × n", () => {
    const base: ChatRequest = { model: "m", messages: [{ role: "user", content: "hello world" }] };
    const plain = countPromptTokens(base);
    expect(plain).toBe(countTokens("user\nhello world") + 3 + 3);
    const withImage = countPromptTokens({ ...base, messages: [{ role: "user", content: [{ type: "text", text: "hello world" }, { type: "image_url", image_url: { url: "https://x/y.png", detail: "low" } }] }] });
    expect(withImage).toBe(plain + 85);
    const withTools = countPromptTokens({ ...base, tools: [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }] });
    expect(withTools).toBeGreaterThan(plain + 10);
    expect(completionAllowance({ ...base, max_tokens: 50, n: 3 }, 1024)).toBe(150);
    expect(completionAllowance({ ...base, max_completion_tokens: 70 }, 1024)).toBe(70);
    expect(completionAllowance(base, 1024)).toBe(1024);
  });

  test("the tokenizer (~5 MiB resident) is loaded only by a gateway with a tpm limit somewhere", async () => {
    // A fresh process, since this one has loaded it already: build the app and ask whether the tables were loaded.
    const probe = (limits: object) => `
      import { buildConfig } from "./src/config/load.ts";
      import { createApp } from "./src/entry/app.ts";
      import { tokenizerLoaded } from "./src/limits/estimate.ts";
      import { createMemoryLogger } from "./src/observability/log.ts";
      const c = buildConfig({ providers: { e: { type: "echo" } }, models: [{ id: "m", provider: "e" }], keys: [{ name: "a", key: "sk-12345678", ...${JSON.stringify(limits)} }] }, "t", {});
      const g = createApp(c, { logger: createMemoryLogger() });
      console.log(tokenizerLoaded());
      await g.close();`;
    const loaded = async (limits: object) => {
      const p = Bun.spawn([process.execPath, "-e", probe(limits)], { cwd: `${import.meta.dir}/../..`, stdout: "pipe", stderr: "inherit" });
      const out = (await new Response(p.stdout).text()).trim();
      expect(await p.exited).toBe(0);
      return out;
    };
    expect(await loaded({ rpm: 5, max_concurrent: 2 })).toBe("false");
    expect(await loaded({ tpm: 1000 })).toBe("true");
    expect(await loaded({ limits: { m: { tpm: 1000 } } })).toBe("true");
  });

  test("invalid rate_limit values name the field; per-model limits must name a configured model", () => {
    const base = { providers: { e: { type: "echo" } }, models: [{ id: "m", provider: "e" }] };
    const fails = (raw: object, field: string) => expect(() => buildConfig(raw, "t", {})).toThrow(field);
    fails({ ...base, rate_limit: { on_store_error: "maybe" } }, "rate_limit.on_store_error");
    fails({ ...base, rate_limit: { store_timeout_ms: 0 } }, "rate_limit.store_timeout_ms");
    fails({ ...base, rate_limit: { defaults: { rpm: 0 } } }, "rate_limit.defaults.rpm");
    fails({ ...base, keys: [{ name: "a", key: "sk-12345678", limits: { nope: { rpm: 1 } } }] }, "keys[0].limits.nope");
    fails({ ...base, keys: [{ name: "a", key: "sk-12345678", limits: { m: { rpx: 1 } } }] }, "keys[0].limits.m.rpx");
    const ok = buildConfig({ ...base, rate_limit: { store: "redis", redis_url: "redis://127.0.0.1:6379" } }, "t", {});
    expect(ok.rate_limit).toMatchObject({ on_store_error: "allow", store_timeout_ms: 250, default_completion_tokens: 1024 });
  });

  test("a Redis slot's lease outlasts the longest upstream deadline", () => {
    const c = buildConfig({ server: { upstream_timeout_ms: 1000 }, providers: { e: { type: "echo", timeout_ms: 90_000 } }, models: [{ id: "m", provider: "e" }] }, "t", {});
    expect(slotLeaseMs(c)).toBe(150_000);
  });
});
