// Rate limits through the gateway's HTTP API, against both stores: exactness, headers, 429 bodies, TPM settle, slot release.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { countPromptTokens, completionAllowance } from "../../src/limits/estimate.ts";
import type { ChatRequest } from "../../src/openai/schemas.ts";
import { post, startGateway, type GatewayHandle } from "../support/gateway.ts";
import { startOpenAIUpstream, type OpenAIUpstream } from "../support/openai-upstream.ts";
import { startRedis, type RedisServer } from "../support/redis.ts";
import { eventually } from "../support/wait.ts";

let up: OpenAIUpstream;
let redis: RedisServer;
beforeAll(async () => {
  [up, redis] = await Promise.all([startOpenAIUpstream(), startRedis()]);
});
afterAll(async () => {
  await Promise.all([up.stop(), redis.stop()]);
});

const K = {
  exact: "sk-limits-exact-0001",
  tokens: "sk-limits-tokens-0001",
  hdr: "sk-limits-headers-0001",
  abort: "sk-limits-abort-0001",
  early: "sk-limits-early-0001",
  small: "sk-limits-small-0001",
  conc: "sk-limits-conc-0001",
  sdk: "sk-limits-sdk-0001",
};

function config(store: "memory" | "redis") {
  return {
    providers: {
      up: { type: "openai", base_url: up.url, api_key: up.apiKey },
      // Same fixture, with a short deadline: "fault-hang" through it is a 504.
      slow: { type: "openai", base_url: up.url, api_key: up.apiKey, timeout_ms: 200 },
    },
    models: [
      { id: "gpt-4o", provider: "up" },
      { id: "fault-slow", provider: "up" },
      { id: "fault-hang", provider: "up" },
      { id: "fault-hang-stream", provider: "up" },
      { id: "fault-reset", provider: "up" },
      { id: "fault-400", provider: "up" },
      { id: "timeout", provider: "slow", upstream_model: "fault-hang" },
      // Every target fails retryably, then the fallback does too: a 502 after several attempts.
      { id: "failing", targets: [{ provider: "up", upstream_model: "fault-503" }, { provider: "up", upstream_model: "fault-500" }], fallbacks: ["failing-too"] },
      { id: "failing-too", provider: "up", upstream_model: "fault-502" },
    ],
    keys: [
      { name: "exact", key: K.exact, rpm: 10 },
      { name: "tokens", key: K.tokens, tpm: 5000 },
      { name: "hdr", key: K.hdr, rpm: 100, tpm: 5000 },
      { name: "abort", key: K.abort, tpm: 10000 },
      { name: "early", key: K.early, tpm: 10000 },
      { name: "small", key: K.small, tpm: 100 },
      { name: "conc", key: K.conc, max_concurrent: 2 },
      { name: "sdk", key: K.sdk, rpm: 1 },
    ],
    rate_limit: { store, ...(store === "redis" ? { redis_url: redis.url, store_timeout_ms: 3000, on_store_error: "deny" } : {}) },
    // Breakers would take the failing targets out of rotation; here every attempt should reach the fixture.
    routing: { cooldown_failures: 1000, backoff_base_ms: 1, backoff_max_ms: 1 },
  };
}

const chat = (model: string, extra: Partial<ChatRequest> = {}): ChatRequest => ({ model, messages: [{ role: "user", content: "one two three four five six" }], ...extra });

describe.each(["memory", "redis"] as const)("rate limits over HTTP: %s store", (store) => {
  let gw: GatewayHandle;
  const url = () => `${gw.baseURL}/chat/completions`;
  const remainingTokens = async (key: string) => {
    const res = await fetch(`${gw.baseURL}/models`, { headers: { authorization: `Bearer ${key}` } });
    return Number(res.headers.get("x-ratelimit-remaining-tokens"));
  };

  beforeAll(async () => {
    gw = await startGateway(config(store), { routing: { sleep: async () => {} } });
  });
  afterAll(async () => {
    await gw.stop();
  });

  test("N concurrent requests against rpm L: exactly L answered, the rest 429 with the contract's body and Retry-After", async () => {
    const responses = await Promise.all(Array.from({ length: 30 }, () => post(url(), chat("gpt-4o"), K.exact)));
    const ok = responses.filter((r) => r.status === 200);
    const limited = responses.filter((r) => r.status === 429);
    expect(ok.length).toBe(10);
    expect(limited.length).toBe(20);
    // Each admitted request saw a different count: 9 remaining down to 0.
    expect(ok.map((r) => Number(r.headers.get("x-ratelimit-remaining-requests"))).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const r of limited) {
      const body = (await r.json()) as { error: { message: string; type: string; param: unknown; code: string } };
      expect(body).toEqual({ error: { message: expect.stringContaining("requests: 10 per minute"), type: "rate_limit_error", param: null, code: "rate_limit_exceeded" } });
      const after = Number(r.headers.get("retry-after"));
      expect(Number.isInteger(after) && after >= 1 && after <= 60).toBe(true);
      expect(r.headers.get("x-ratelimit-limit-requests")).toBe("10");
      expect(r.headers.get("x-ratelimit-remaining-requests")).toBe("0");
      expect(r.headers.get("x-ratelimit-reset-requests")).toMatch(/^(\d+(\.\d+)?s|\d+ms|1m0s)$/);
    }
    await Promise.all(ok.map((r) => r.arrayBuffer()));
  });

  test("headers on every keyed response: model list, validation error, stream", async () => {
    const list = await fetch(`${gw.baseURL}/models`, { headers: { authorization: `Bearer ${K.hdr}` } });
    expect(list.headers.get("x-ratelimit-limit-tokens")).toBe("5000");
    expect(list.headers.get("x-ratelimit-limit-requests")).toBe("100");
    expect(list.headers.get("x-ratelimit-reset-requests")).toBe("0s");
    const invalid = await post(url(), { model: "gpt-4o", messages: [] }, K.hdr);
    expect(invalid.status).toBe(400);
    expect(invalid.headers.get("x-ratelimit-remaining-requests")).toBe("100");
    const s = await post(url(), chat("gpt-4o", { stream: true, max_tokens: 50 }), K.hdr);
    expect(s.headers.get("content-type")).toContain("text/event-stream");
    expect(s.headers.get("x-ratelimit-remaining-requests")).toBe("99");
    expect(s.headers.get("x-ratelimit-reset-requests")).toBe("1m0s");
    expect(s.headers.get("x-ratelimit-limit-tokens")).toBe("5000");
    expect(await s.text()).toContain("[DONE]");
    // A stream read to its end is logged as a success, not as a client that left.
    const id = s.headers.get("x-request-id");
    const line = await eventually(async () => gw.logs.find((l) => l.request_id === id), (l) => l !== undefined);
    expect(line?.status).toBe(200);
  });

  test("TPM: the stream reserves prompt + max_tokens, then settles to the usage chunk (openai SDK)", async () => {
    const client = new OpenAI({ baseURL: gw.baseURL, apiKey: K.tokens, maxRetries: 0 });
    const start = await eventually(() => remainingTokens(K.tokens), (v) => v === 5000);
    const req = chat("gpt-4o", { stream: true, max_tokens: 200 });
    const reserved = countPromptTokens(req) + completionAllowance(req, 1024);
    const { data: stream, response } = await client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "one two three four five six" }], stream: true, max_tokens: 200 }).withResponse();
    expect(Number(response.headers.get("x-ratelimit-remaining-tokens"))).toBe(start - reserved);
    let usage = 0;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage.total_tokens;
    // The fixture reports 29 tokens in its usage chunk: that, not the reservation, is what the window keeps.
    expect(usage).toBe(29);
    expect(await eventually(() => remainingTokens(K.tokens), (v) => v === start - 29)).toBe(start - 29);
  });

  test("a client leaving mid-stream settles to prompt + delivered text: never zero, never the reservation", async () => {
    const req = chat("fault-slow", { stream: true, max_tokens: 1000 });
    const prompt = countPromptTokens(req);
    const reserved = prompt + 1000;
    const res = await post(url(), req, K.abort);
    expect(Number(res.headers.get("x-ratelimit-remaining-tokens"))).toBe(10000 - reserved);
    const reader = res.body!.getReader();
    let text = "";
    while (!/"content":"[^"]+"/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    const aborts = up.calls.filter((c) => c.aborted).length;
    await reader.cancel();
    await up.waitForAbort(aborts + 1);
    const left = await eventually(() => remainingTokens(K.abort), (v) => v !== 10000 - reserved);
    const used = 10000 - left;
    // Some answer text was delivered before the client left: more than the prompt, far less than the allowance.
    expect(used).toBeGreaterThan(prompt);
    expect(used).toBeLessThan(prompt + 30);
  });

  test("a client leaving before the first byte settles to the prompt tokens", async () => {
    const req = chat("fault-hang", { max_tokens: 1000 });
    const prompt = countPromptTokens(req);
    const ac = new AbortController();
    const calls = up.calls.length;
    const p = fetch(url(), { method: "POST", headers: { authorization: `Bearer ${K.early}`, "content-type": "application/json" }, body: JSON.stringify(req), signal: ac.signal }).catch((e: unknown) => e);
    await eventually(async () => up.calls.length, (n) => n > calls);
    ac.abort();
    await p;
    expect(await eventually(() => remainingTokens(K.early), (v) => v === 10000 - prompt)).toBe(10000 - prompt);
  });

  test("a request whose estimate alone exceeds tpm is refused at once; the provider is never called", async () => {
    const calls = up.calls.length;
    const res = await post(url(), chat("gpt-4o", { max_tokens: 500 }), K.small);
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    const body = (await res.json()) as { error: { message: string; code: string } };
    expect(body.error.code).toBe("rate_limit_exceeded");
    expect(body.error.message).toContain("tokens");
    expect(body.error.message).toContain("more than the 100 tokens per minute");
    expect(res.headers.get("x-ratelimit-remaining-tokens")).toBe("100");
    expect(up.calls.length).toBe(calls);
  });

  test("concurrency slots are released after aborts, failures, timeouts and failed fallbacks (a leak would refuse the last two)", async () => {
    // Two at a time, so every request is admitted and takes a slot. A request's log line is written after its
    // settle is issued, so waiting for the lines orders each round after the previous round's releases.
    let sent = 0;
    const lines = () => gw.logs.filter((l) => l.msg === "request" && l.key === "conc").length;
    const pairs = async (run: () => Promise<void>) => {
      for (let i = 0; i < 2; i++) {
        sent += 2;
        await Promise.all([run(), run()]);
        expect(await eventually(async () => lines(), (n) => n >= sent)).toBe(sent);
      }
    };
    const expectStatus = async (model: string, status: number, extra: Partial<ChatRequest> = {}) => {
      const r = await post(url(), chat(model, extra), K.conc);
      expect(r.status).toBe(status);
      await r.arrayBuffer();
    };
    // Client leaves mid-stream.
    await pairs(async () => {
      const r = await post(url(), chat("fault-hang-stream", { stream: true }), K.conc);
      expect(r.status).toBe(200);
      const reader = r.body!.getReader();
      await reader.read();
      await reader.cancel();
    });
    // Client leaves before the provider answers.
    await pairs(async () => {
      const ac = new AbortController();
      const calls = up.calls.length;
      const p = fetch(url(), { method: "POST", headers: { authorization: `Bearer ${K.conc}` }, body: JSON.stringify(chat("fault-hang")), signal: ac.signal }).catch(() => null);
      expect(await eventually(async () => up.calls.length, (n) => n > calls)).toBeGreaterThan(calls);
      ac.abort();
      await p;
    });
    await pairs(() => expectStatus("failing", 502));
    await pairs(() => expectStatus("timeout", 504));
    await pairs(() => expectStatus("fault-400", 400));
    // The provider breaks mid-stream: the client gets an error event and the end.
    await pairs(async () => {
      const r = await post(url(), chat("fault-reset", { stream: true }), K.conc);
      expect(r.status).toBe(200);
      expect(await r.text()).toContain('"error"');
    });
    expect(gw.logs.filter((l) => l.key === "conc" && l.status === 429).length).toBe(0);
    // Both slots must be free again: two long streams are admitted, a third is refused for concurrency.
    const held = await eventually(
      async () => {
        const rs = await Promise.all([0, 1].map(() => post(url(), chat("fault-hang-stream", { stream: true }), K.conc)));
        if (rs.some((r) => r.status !== 200)) await Promise.all(rs.map((r) => r.body?.cancel()));
        return rs;
      },
      (rs) => rs.every((r) => r.status === 200),
    );
    expect(held.map((r) => r.status)).toEqual([200, 200]);
    const third = await post(url(), chat("gpt-4o"), K.conc);
    expect(third.status).toBe(429);
    expect(((await third.json()) as { error: { message: string } }).error.message).toContain("concurrency: 2 requests in flight");
    await Promise.all(held.map((r) => r.body!.cancel()));
    // …and freed once they are cancelled.
    const after = await eventually(async () => {
      const r = await post(url(), chat("gpt-4o"), K.conc);
      await r.arrayBuffer();
      return r.status;
    }, (s) => s === 200);
    expect(after).toBe(200);
  });

  test("the openai SDK sees a RateLimitError with Retry-After", async () => {
    const client = new OpenAI({ baseURL: gw.baseURL, apiKey: K.sdk, maxRetries: 0 });
    await client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] });
    const err = await client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    const e = err as InstanceType<typeof OpenAI.RateLimitError>;
    expect(e.status).toBe(429);
    expect(e.code).toBe("rate_limit_exceeded");
    expect(e.type).toBe("rate_limit_error");
    expect(Number(e.headers?.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(e.headers?.get("x-ratelimit-remaining-requests")).toBe("0");
  });
});
