// Routing through HTTP with fixture upstreams: strategies, retries, fallback to Anthropic, cool-downs, deadlines, /health/providers.
import { afterEach, beforeAll, afterAll, describe, expect, test } from "bun:test";
import { startOpenAIUpstream, type OpenAIUpstream } from "../support/openai-upstream.ts";
import { startAnthropicUpstream, type AnthropicUpstream } from "../support/anthropic-upstream.ts";
import { post, startGateway, type GatewayHandle } from "../support/gateway.ts";
import { dataPayloads, expectValidStream, assemble } from "../support/stream-invariants.ts";
import type { AppDeps } from "../../src/entry/app.ts";

const KEY = "sk-test-routing-0001";
const ADMIN = "admin-secret-routing-1";
let a: OpenAIUpstream;
let b: OpenAIUpstream;
let claude: AnthropicUpstream;
const open: GatewayHandle[] = [];

beforeAll(async () => {
  [a, b, claude] = await Promise.all([startOpenAIUpstream(), startOpenAIUpstream(), startAnthropicUpstream()]);
});
afterAll(async () => {
  await Promise.all([a.stop(), b.stop(), claude.stop()]);
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((g) => g.stop()));
  for (const u of [a, b]) {
    u.script.length = 0;
    u.delayMs = 0;
  }
});

/** Records backoff waits instead of sleeping them. */
function fakeSleep() {
  const slept: number[] = [];
  return { slept, sleep: async (ms: number) => void slept.push(ms) };
}

/** A small seeded PRNG (mulberry32): weighted choices are then repeatable run to run. */
function seeded(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function gateway(models: object[], opts: { routing?: object; server?: object; deps?: AppDeps } = {}) {
  const g = await startGateway(
    {
      server: { admin_key: ADMIN, ...opts.server },
      providers: {
        a: { type: "openai", base_url: a.url, api_key: a.apiKey },
        b: { type: "openai", base_url: b.url, api_key: b.apiKey },
        claude: { type: "anthropic", base_url: claude.url, api_key: claude.apiKey },
        dead: { type: "openai", base_url: "http://127.0.0.1:1/v1", api_key: "sk-dead" },
      },
      models,
      keys: [{ name: "t", key: KEY, rpm: 100000 }],
      ...(opts.routing ? { routing: opts.routing } : {}),
    },
    { routing: { sleep: fakeSleep().sleep }, ...opts.deps },
  );
  open.push(g);
  return g;
}

const chat = (g: GatewayHandle, model: string, opts: { stream?: boolean; id?: string; signal?: AbortSignal } = {}) =>
  fetch(`${g.baseURL}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${KEY}`, ...(opts.id ? { "x-request-id": opts.id } : {}) },
    body: JSON.stringify({ model, stream: opts.stream ?? false, messages: [{ role: "user", content: "hi" }] }),
    signal: opts.signal,
  });
const logOf = (g: GatewayHandle, id: string) => g.logs.find((l) => l.request_id === id && l.msg === "request")!;
const counts = () => ({ a: a.calls.length, b: b.calls.length, claude: claude.calls.length });
const delta = (before: ReturnType<typeof counts>) => {
  const now = counts();
  return { a: now.a - before.a, b: now.b - before.b, claude: now.claude - before.claude };
};

describe("strategies", () => {
  test("weighted 3:1 spreads 400 requests within tolerance, and the header names the deployment", async () => {
    const g = await gateway([{ id: "pool", targets: [{ provider: "a", upstream_model: "gpt-4o", weight: 3 }, { provider: "b", upstream_model: "gpt-4o-mini", weight: 1 }] }], {
      deps: { routing: { random: seeded(42) } },
    });
    const before = counts();
    const seen = new Map<string, number>();
    for (let batch = 0; batch < 20; batch++) {
      const rs = await Promise.all(Array.from({ length: 20 }, () => chat(g, "pool")));
      for (const r of rs) {
        expect(r.status).toBe(200);
        expect(((await r.json()) as { model: string }).model).toBe("pool");
        const d = r.headers.get("x-switchboard-deployment")!;
        seen.set(d, (seen.get(d) ?? 0) + 1);
      }
    }
    const d = delta(before);
    expect(d.a + d.b).toBe(400);
    expect(d.a / 400).toBeGreaterThan(0.68);
    expect(d.a / 400).toBeLessThan(0.82);
    expect(seen.get("a/gpt-4o")).toBe(d.a);
    expect(seen.get("b/gpt-4o-mini")).toBe(d.b);
  });

  test("least-busy sends new requests to the idle target while the other holds a stream", async () => {
    const g = await gateway([{ id: "lb", strategy: "least-busy", targets: [{ provider: "a", upstream_model: "gpt-4o" }, { provider: "b", upstream_model: "gpt-4o" }] }]);
    // Whichever target takes the first request holds its stream open (headers and one chunk, then silence).
    a.script.push("hang-stream");
    b.script.push("hang-stream");
    const ctrl = new AbortController();
    const held = await chat(g, "lb", { stream: true, signal: ctrl.signal });
    expect(held.status).toBe(200);
    const reader = held.body!.getReader();
    await reader.read();
    const busy = held.headers.get("x-switchboard-deployment")!.startsWith("a/") ? "a" : "b";
    a.script.length = 0;
    b.script.length = 0;
    const before = counts();
    for (let i = 0; i < 6; i++) expect((await chat(g, "lb")).status).toBe(200);
    const d = delta(before);
    expect(d[busy]).toBe(0);
    expect(d[busy === "a" ? "b" : "a"]).toBe(6);
    ctrl.abort();
    await reader.cancel().catch(() => {});
  });

  test("latency prefers the faster deployment once both are measured", async () => {
    const g = await gateway([{ id: "fast", strategy: "latency", targets: [{ provider: "a", upstream_model: "gpt-4o" }, { provider: "b", upstream_model: "gpt-4o" }] }]);
    a.delayMs = 60;
    const before = counts();
    for (let i = 0; i < 12; i++) expect((await chat(g, "fast")).status).toBe(200);
    const d = delta(before);
    expect(d.a).toBeLessThanOrEqual(1);
    expect(d.b).toBeGreaterThanOrEqual(11);
  });
});

describe("retries", () => {
  for (const stream of [false, true]) {
    test(`${stream ? "stream" : "json"}: a 503 then a success is one client success with two upstream attempts`, async () => {
      const s = fakeSleep();
      const g = await gateway([{ id: "gpt-4o", provider: "a" }], { deps: { routing: { sleep: s.sleep, random: () => 0.5 } } });
      a.script.push(503);
      const before = counts();
      const r = await chat(g, "gpt-4o", { stream, id: `retry-503-${stream}` });
      expect(r.status).toBe(200);
      const text = await r.text();
      if (stream) expect(dataPayloads(text).at(-1)).toBe("[DONE]");
      else expect(JSON.parse(text).choices[0].message.content).toBe("Echo from upstream: hi");
      expect(delta(before).a).toBe(2);
      // One backoff, within the first step's jitter range (base 200 ms: 100–200).
      expect(s.slept).toEqual([150]);
      const line = logOf(g, `retry-503-${stream}`);
      expect(line.status).toBe(200);
      expect(line.attempts).toBe(2);
      expect((line.retries as { deployment: string; error: string }[]).map((x) => x.deployment)).toEqual(["a/gpt-4o"]);
      expect(String((line.retries as { error: string }[])[0]!.error)).toContain("status 503");
    });
  }

  test("a failing target fails over to the next one at once, without a backoff", async () => {
    const s = fakeSleep();
    const g = await gateway([{ id: "m", strategy: "ordered", targets: [{ provider: "a", upstream_model: "gpt-4o" }, { provider: "b", upstream_model: "gpt-4o" }] }], { deps: { routing: { sleep: s.sleep } } });
    a.script.push(502);
    const before = counts();
    const r = await chat(g, "m");
    expect(r.status).toBe(200);
    expect(r.headers.get("x-switchboard-deployment")).toBe("b/gpt-4o");
    expect(delta(before)).toEqual({ a: 1, b: 1, claude: 0 });
    expect(s.slept).toEqual([]);
  });

  test("a 400 is not retried, nor failed over, nor fallen back", async () => {
    const g = await gateway([
      { id: "m", strategy: "ordered", targets: [{ provider: "a", upstream_model: "gpt-4o" }, { provider: "b", upstream_model: "gpt-4o" }], fallbacks: ["c"] },
      { id: "c", provider: "claude", upstream_model: "claude-3-5-sonnet-20241022" },
    ]);
    a.script.push(400);
    const before = counts();
    const r = await chat(g, "m", { id: "no-retry-400" });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe("context_length_exceeded");
    expect(delta(before)).toEqual({ a: 1, b: 0, claude: 0 });
    expect(logOf(g, "no-retry-400").attempts).toBe(1);
  });

  test("a mid-stream failure is not retried: the stream ends with one error event", async () => {
    const g = await gateway([{ id: "m", strategy: "ordered", targets: [{ provider: "a", upstream_model: "fault-reset" }, { provider: "b", upstream_model: "gpt-4o" }], fallbacks: ["c"] }, { id: "c", provider: "b" }]);
    const before = counts();
    const r = await chat(g, "m", { stream: true });
    expect(r.status).toBe(200);
    const p = dataPayloads(await r.text());
    expect(JSON.parse(p[0]!).choices[0].delta.role).toBe("assistant");
    expect(JSON.parse(p.at(-1)!).error.type).toBe("upstream_error");
    expect(p).not.toContain("[DONE]");
    expect(delta(before)).toEqual({ a: 1, b: 0, claude: 0 });
    // Not retried, but still held against the deployment.
    const h = g.gateway.router.health().find((t) => t.id === "a/fault-reset")!;
    expect(h.errors.total).toBe(1);
    expect(h.in_flight).toBe(0);
  });

  test("a Retry-After within the cap is waited out on the same target; a longer one moves on", async () => {
    const s = fakeSleep();
    const g = await gateway(
      [
        { id: "one", provider: "a", upstream_model: "gpt-4o" },
        { id: "two", strategy: "ordered", targets: [{ provider: "a", upstream_model: "gpt-4o-2" }, { provider: "b", upstream_model: "gpt-4o" }] },
      ],
      { routing: { retry_after_cap_ms: 10000 }, deps: { routing: { sleep: s.sleep } } },
    );
    a.script.push(429); // Retry-After: 7
    expect((await chat(g, "one")).status).toBe(200);
    expect(s.slept).toEqual([7000]);

    const g2 = await gateway([{ id: "two", strategy: "ordered", targets: [{ provider: "a", upstream_model: "gpt-4o" }, { provider: "b", upstream_model: "gpt-4o" }] }], { deps: { routing: { sleep: s.sleep } } });
    a.script.push(429); // 7 s > the default 5 s cap
    const before = counts();
    const r = await chat(g2, "two");
    expect(r.status).toBe(200);
    expect(delta(before)).toEqual({ a: 1, b: 1, claude: 0 });
    expect(s.slept).toEqual([7000]);
  });
});

describe("fallbacks", () => {
  const models = [
    { id: "gpt-4o", strategy: "ordered", targets: [{ provider: "a", upstream_model: "gpt-4o" }, { provider: "b", upstream_model: "gpt-4o" }], max_attempts: 2, fallbacks: ["claude-3-5-sonnet"] },
    { id: "claude-3-5-sonnet", provider: "claude", upstream_model: "claude-3-5-sonnet-20241022", max_tokens: 512 },
  ];
  test("json: every OpenAI target fails → the Anthropic model answers, in OpenAI format, as the model asked for", async () => {
    const g = await gateway(models);
    a.script.push(503);
    b.script.push(500);
    const before = counts();
    const r = await chat(g, "gpt-4o", { id: "fallback-json" });
    expect(r.status).toBe(200);
    expect(r.headers.get("x-switchboard-deployment")).toBe("claude/claude-3-5-sonnet-20241022");
    const body = (await r.json()) as { object: string; model: string; choices: { message: { role: string; content: string }; finish_reason: string }[]; usage: { total_tokens: number } };
    expect(body.object).toBe("chat.completion");
    expect(body.model).toBe("gpt-4o");
    expect(body.choices[0]!.message).toMatchObject({ role: "assistant", content: "Hello from the fixture." });
    expect(body.choices[0]!.finish_reason).toBe("stop");
    expect(body.usage.total_tokens).toBeGreaterThan(0);
    expect(delta(before)).toEqual({ a: 1, b: 1, claude: 1 });
    // The fallback's own settings were used (its max_tokens, its upstream name).
    expect(claude.calls.at(-1)!.body).toMatchObject({ model: "claude-3-5-sonnet-20241022", max_tokens: 512 });
    const line = logOf(g, "fallback-json");
    expect(line).toMatchObject({ status: 200, attempts: 3, fallback_from: "gpt-4o", fallback_model: "claude-3-5-sonnet", provider: "claude" });
    expect((line.retries as unknown[]).length).toBe(2);
  });

  test("stream: the fallback's stream keeps every invariant and carries the model asked for", async () => {
    const g = await gateway(models);
    a.script.push(503);
    b.script.push(503);
    const r = await chat(g, "gpt-4o", { stream: true });
    expect(r.status).toBe(200);
    const chunks = expectValidStream(dataPayloads(await r.text()), { model: "gpt-4o" });
    expect(assemble(chunks).content).toBe("Hello from the fixture.");
  });

  test("when the fallbacks fail too, the client gets the last failure", async () => {
    const g = await gateway([{ id: "m", provider: "a", upstream_model: "gpt-4o", max_attempts: 1, fallbacks: ["n"] }, { id: "n", provider: "dead", max_attempts: 1 }]);
    a.script.push(503);
    const r = await chat(g, "m");
    expect(r.status).toBe(502);
    expect(((await r.json()) as { error: { type: string } }).error.type).toBe("upstream_error");
  });
});

describe("cool-downs", () => {
  test("a target failing repeatedly gets no traffic for the cool-down, then is probed back in", async () => {
    const clock = { t: Date.UTC(2030, 0, 1) };
    const g = await gateway([{ id: "m", strategy: "ordered", targets: [{ provider: "a", upstream_model: "gpt-4o" }, { provider: "b", upstream_model: "gpt-4o" }] }], {
      routing: { cooldown_failures: 3, failure_window_ms: 60000, cooldown_ms: 30000 },
      deps: { routing: { now: () => clock.t, sleep: fakeSleep().sleep } },
    });
    a.script.push(503, 503, 503);
    let before = counts();
    for (let i = 0; i < 3; i++) expect((await chat(g, "m")).headers.get("x-switchboard-deployment")).toBe("b/gpt-4o");
    expect(delta(before)).toEqual({ a: 3, b: 3, claude: 0 });
    const cooling = g.gateway.router.health().find((t) => t.id === "a/gpt-4o")!;
    expect(cooling.state).toBe("cooling_down");
    expect(cooling.cooling_down_until).toBe(new Date(clock.t + 30000).toISOString());

    // Out of rotation: ordered would pick `a` first, yet it sees nothing.
    before = counts();
    clock.t += 29000;
    for (let i = 0; i < 5; i++) expect((await chat(g, "m")).status).toBe(200);
    expect(delta(before)).toEqual({ a: 0, b: 5, claude: 0 });

    // After the period one probe goes to `a`; it answers, and `a` is back.
    clock.t += 1001;
    before = counts();
    const r = await chat(g, "m");
    expect(r.headers.get("x-switchboard-deployment")).toBe("a/gpt-4o");
    expect(delta(before)).toEqual({ a: 1, b: 0, claude: 0 });
    expect(g.gateway.router.health().find((t) => t.id === "a/gpt-4o")!.state).toBe("healthy");
  });

  test("a dead single deployment costs one fast failure per request during its cool-down, with Retry-After", async () => {
    const clock = { t: Date.UTC(2030, 0, 1) };
    const g = await gateway([{ id: "m", provider: "a", upstream_model: "gpt-4o", max_attempts: 1 }], {
      routing: { cooldown_failures: 2, cooldown_ms: 20000 },
      deps: { routing: { now: () => clock.t } },
    });
    a.script.push(503, 503);
    const before = counts();
    expect((await chat(g, "m")).status).toBe(502);
    expect((await chat(g, "m")).status).toBe(502);
    const r = await chat(g, "m", { id: "cooling-fast" });
    expect(r.status).toBe(502);
    expect(r.headers.get("retry-after")).toBe("20");
    expect(((await r.json()) as { error: { message: string } }).error.message).toContain("cooling down");
    expect(delta(before).a).toBe(2);
    expect(logOf(g, "cooling-fast").attempts).toBe(0);
  });
});

describe("deadlines and disconnects", () => {
  test("the overall deadline ends the request: hanging targets fail over by first-byte timeout, no retry storm past it", async () => {
    const g = await gateway(
      [{ id: "m", strategy: "ordered", first_byte_timeout_ms: 150, max_attempts: 20, targets: [{ provider: "a", upstream_model: "fault-hang" }, { provider: "b", upstream_model: "fault-hang" }] }],
      { server: { upstream_timeout_ms: 500 }, routing: { backoff_base_ms: 20, backoff_max_ms: 40, cooldown_failures: 100 }, deps: { routing: {} } },
    );
    const before = counts();
    const t0 = performance.now();
    const r = await chat(g, "m", { stream: true, id: "deadline" });
    const elapsed = performance.now() - t0;
    expect(r.status).toBe(504);
    expect(((await r.json()) as { error: { type: string } }).error.type).toBe("timeout_error");
    expect(elapsed).toBeGreaterThan(450);
    expect(elapsed).toBeLessThan(900);
    const made = delta(before);
    // a, b at once, then retries after 150 ms each: at most four fit into 500 ms.
    expect(made.a + made.b).toBeGreaterThanOrEqual(3);
    expect(made.a + made.b).toBeLessThanOrEqual(4);
    await Bun.sleep(300);
    expect(delta(before)).toEqual(made);
    expect(logOf(g, "deadline").status).toBe(504);
  });

  test("a backoff that cannot end before the deadline is not slept: the failure comes back at once", async () => {
    const g = await gateway([{ id: "m", provider: "a", upstream_model: "gpt-4o" }], { server: { upstream_timeout_ms: 1000 }, routing: { backoff_base_ms: 5000 }, deps: { routing: {} } });
    a.script.push(503);
    const before = counts();
    const t0 = performance.now();
    expect((await chat(g, "m")).status).toBe(502);
    expect(performance.now() - t0).toBeLessThan(500);
    expect(delta(before).a).toBe(1);
  });

  test("a client disconnect during a backoff stops everything: no further upstream call", async () => {
    let release: (() => void) | undefined;
    let sleeping: () => void = () => {};
    const asleep = new Promise<void>((r) => (sleeping = r));
    // A sleep that only ends when told to, or when its signal aborts: the test decides which comes first.
    const sleep = (_ms: number, signal: AbortSignal) =>
      new Promise<void>((resolve, reject) => {
        release = resolve;
        signal.addEventListener("abort", () => reject(signal.reason), { once: true });
        sleeping();
      });
    const g = await gateway([{ id: "m", provider: "a", upstream_model: "gpt-4o" }], { deps: { routing: { sleep } } });
    a.script.push(503);
    const before = counts();
    const ctrl = new AbortController();
    const pending = chat(g, "m", { signal: ctrl.signal, id: "gone" }).catch(() => "aborted");
    await asleep;
    ctrl.abort();
    expect(await pending).toBe("aborted");
    for (let i = 0; i < 50 && !g.logs.some((l) => l.request_id === "gone"); i++) await Bun.sleep(10);
    expect(logOf(g, "gone").status).toBe(499);
    release?.();
    await Bun.sleep(100);
    expect(delta(before).a).toBe(1);
  });
});

describe("GET /health/providers", () => {
  test("401 without or with a wrong admin key; a gateway key is not an admin key", async () => {
    const g = await gateway([{ id: "m", provider: "a" }]);
    for (const auth of [undefined, "Bearer nope-not-it", `Bearer ${KEY}`]) {
      const r = await fetch(`${g.url}/health/providers`, { headers: auth ? { authorization: auth } : {} });
      expect(r.status).toBe(401);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe("invalid_api_key");
    }
  });

  test("lists every deployment with state, errors and latency", async () => {
    const g = await gateway(
      [
        { id: "m", strategy: "ordered", targets: [{ provider: "a", upstream_model: "gpt-4o" }, { provider: "b", upstream_model: "gpt-4o" }], fallbacks: ["c"] },
        { id: "c", provider: "claude", upstream_model: "claude-3-5-sonnet-20241022" },
        { id: "m2", provider: "a", upstream_model: "gpt-4o" },
      ],
      { routing: { cooldown_failures: 1 } },
    );
    a.script.push(503);
    expect((await chat(g, "m")).status).toBe(200);
    const r = await fetch(`${g.url}/health/providers`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(r.status).toBe(200);
    const { data } = (await r.json()) as { data: Record<string, unknown>[] };
    expect(data.map((d) => d.id)).toEqual(["a/gpt-4o", "b/gpt-4o", "claude/claude-3-5-sonnet-20241022"]);
    const [ta, tb] = data;
    // One deployment, shared by the two models that use it.
    expect(ta).toMatchObject({ provider: "a", upstream_model: "gpt-4o", models: ["m", "m2"], state: "cooling_down", in_flight: 0, requests: 1 });
    expect(typeof ta!.cooling_down_until).toBe("string");
    expect(ta!.errors).toMatchObject({ recent: 1, total: 1 });
    expect(String((ta!.errors as { last: string }).last)).toContain("503");
    expect(tb).toMatchObject({ state: "healthy", cooling_down_until: null, requests: 1, errors: { recent: 0, total: 0, last: null } });
    expect((tb!.latency_ms as { ewma: number }).ewma).toBeGreaterThanOrEqual(0);
  });

  test("admin_key_sha256 works the same", async () => {
    const hex = new Bun.CryptoHasher("sha256").update(ADMIN).digest("hex");
    const g = await gateway([{ id: "m", provider: "a" }], { server: { admin_key: undefined, admin_key_sha256: hex } });
    expect((await fetch(`${g.url}/health/providers`, { headers: { authorization: `Bearer ${ADMIN}` } })).status).toBe(200);
  });
});
