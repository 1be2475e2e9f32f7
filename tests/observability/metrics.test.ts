// GET /metrics against real traffic: every counter moves by exactly what was sent, refusals by reason, bounded labels, metrics.key.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { post, startGateway, type GatewayHandle } from "../support/gateway.ts";
import { startOpenAIUpstream, type OpenAIUpstream } from "../support/openai-upstream.ts";
import { startAnthropicUpstream, text, type AnthropicUpstream } from "../support/anthropic-upstream.ts";
import { delta, parseProm, scrape, series } from "../support/prometheus.ts";

const KEY = "sk-metrics-main-0001";
const K = { rpm: "sk-metrics-rpm-0001", tpm: "sk-metrics-tpm-0001", conc: "sk-metrics-conc-0001", limited: "sk-metrics-limited-01", broke: "sk-metrics-broke-0001" };
/** USD per million tokens for gpt: a request of 19 prompt and 10 completion tokens costs 39 micro-USD. */
const GPT_PRICE = { input_per_mtok: 1, output_per_mtok: 2 };
let up: OpenAIUpstream;
let claude: AnthropicUpstream;
let g: GatewayHandle;

interface Usage {
  prompt_tokens: number;
  completion_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number };
  completion_tokens_details?: { reasoning_tokens?: number };
}

beforeAll(async () => {
  [up, claude] = await Promise.all([startOpenAIUpstream(), startAnthropicUpstream()]);
  g = await startGateway(
    {
      providers: {
        up: { type: "openai", base_url: up.url, api_key: up.apiKey },
        up2: { type: "openai", base_url: up.url, api_key: up.apiKey },
        claude: { type: "anthropic", base_url: claude.url, api_key: claude.apiKey },
      },
      models: [
        { id: "gpt", provider: "up" },
        { id: "emb", provider: "up", upstream_model: "text-embedding-3-small" },
        { id: "claude", provider: "claude", upstream_model: "claude-sonnet-4-5" },
        { id: "slow", provider: "up", upstream_model: "fault-slow" },
        // Two failing attempts on one deployment: a retry, then a failure (and its breaker opens: cooldown_failures 2).
        { id: "broken", provider: "up", upstream_model: "fault-503", max_attempts: 2 },
        // One failing attempt, then the fallback model answers.
        { id: "fb", provider: "up2", upstream_model: "fault-503", max_attempts: 1, fallbacks: ["gpt"] },
      ],
      keys: [
        { name: "main", key: KEY },
        { name: "rpm", key: K.rpm, rpm: 1 },
        { name: "tpm", key: K.tpm, tpm: 50 },
        { name: "conc", key: K.conc, max_concurrent: 1 },
        { name: "limited", key: K.limited, models: ["gpt"] },
        // Ten micro-dollars: no request's reservation fits.
        { name: "broke", key: K.broke, budget: { usd: 0.00001, period: "day" } },
      ],
      prices: { gpt: GPT_PRICE },
      routing: { cooldown_failures: 2 },
      server: { body_limit_bytes: 65_536 },
    },
    { routing: { sleep: async () => {} } },
  );
});
afterAll(async () => {
  await g.stop();
  await Promise.all([up.stop(), claude.stop()]);
});

const chat = (body: object, key = KEY) => post(`${g.baseURL}/chat/completions`, { messages: [{ role: "user", content: "Hello metrics" }], ...body }, key);

/** The usage chunk of an SSE answer. */
function streamUsage(sse: string): Usage {
  const last = sse
    .split("\n")
    .filter((l) => l.startsWith("data: {"))
    .map((l) => JSON.parse(l.slice(6)) as { usage?: Usage | null })
    .findLast((c) => c.usage);
  if (!last?.usage) throw new Error("no usage chunk");
  return last.usage;
}

describe("metrics", () => {
  test("a scrape before and after known traffic moves each counter by exactly what was sent", async () => {
    const before = await scrape(g.url);
    const used: Record<string, Usage[]> = { gpt: [], claude: [], emb: [], fb: [] };
    for (let i = 0; i < 3; i++) {
      const r = await chat({ model: "gpt" });
      expect(r.status).toBe(200);
      used.gpt!.push(((await r.json()) as { usage: Usage }).usage);
    }
    for (let i = 0; i < 2; i++) {
      const r = await chat({ model: "gpt", stream: true });
      expect(r.status).toBe(200);
      used.gpt!.push(streamUsage(await r.text()));
    }
    // Claude reports cache reads and thinking: the cached and reasoning token types.
    claude.reply(
      text("Hi", { usage: { input_tokens: 40, output_tokens: 12, cache_read_input_tokens: 25, thinking_tokens: 4 } }),
      text("Hi again", { usage: { input_tokens: 30, output_tokens: 9, cache_read_input_tokens: 7, thinking_tokens: 3 } }),
    );
    const c1 = await chat({ model: "claude" });
    expect(c1.status).toBe(200);
    used.claude!.push(((await c1.json()) as { usage: Usage }).usage);
    const c2 = await chat({ model: "claude", stream: true });
    expect(c2.status).toBe(200);
    used.claude!.push(streamUsage(await c2.text()));
    const e = await post(`${g.baseURL}/embeddings`, { model: "emb", input: ["one", "two"] }, KEY);
    expect(e.status).toBe(200);
    used.emb!.push(((await e.json()) as { usage: Usage }).usage);
    const f = await chat({ model: "fb" });
    expect(f.status).toBe(200);
    used.fb!.push(((await f.json()) as { usage: Usage }).usage);
    expect((await chat({ model: "broken" })).status).toBe(502);
    const after = await scrape(g.url);
    const d = (name: string, labels: Record<string, string | number>) => delta(before, after, series(name, labels));

    const req = "switchboard_requests_total";
    expect(d(req, { model: "gpt", provider: "up", status: 200 })).toBe(5);
    expect(d(req, { model: "claude", provider: "claude", status: 200 })).toBe(2);
    expect(d(req, { model: "emb", provider: "up", status: 200 })).toBe(1);
    // Counted under the model asked for and the provider that answered.
    expect(d(req, { model: "fb", provider: "up", status: 200 })).toBe(1);
    expect(d(req, { model: "broken", provider: "up", status: 502 })).toBe(1);

    const dur = "switchboard_request_duration_seconds";
    expect(d(`${dur}_count`, { model: "gpt", provider: "up" })).toBe(5);
    expect(d(`${dur}_bucket`, { model: "gpt", provider: "up", le: "+Inf" })).toBe(5);
    expect(d(`${dur}_count`, { model: "claude", provider: "claude" })).toBe(2);
    expect(d(`${dur}_count`, { model: "emb", provider: "up" })).toBe(1);
    expect(d(`${dur}_sum`, { model: "gpt", provider: "up" })).toBeGreaterThan(0);
    // Buckets are cumulative, from 5 ms to 5 minutes.
    expect(after.has(series(`${dur}_bucket`, { model: "gpt", provider: "up", le: 0.005 }))).toBe(true);
    expect(after.get(series(`${dur}_bucket`, { model: "gpt", provider: "up", le: 300 }))).toBe(after.get(series(`${dur}_count`, { model: "gpt", provider: "up" })));
    const ttft = "switchboard_time_to_first_token_seconds";
    expect(d(`${ttft}_count`, { model: "gpt", provider: "up" })).toBe(2);
    expect(d(`${ttft}_count`, { model: "claude", provider: "claude" })).toBe(1);
    expect(after.has(series(`${ttft}_count`, { model: "emb", provider: "up" }))).toBe(false);

    const tok = (model: string, provider: string, type: string) => d("switchboard_tokens_total", { model, provider, type });
    const sum = (list: Usage[], f: (u: Usage) => number | undefined) => list.reduce((n, u) => n + (f(u) ?? 0), 0);
    expect(tok("gpt", "up", "prompt")).toBe(sum(used.gpt!, (u) => u.prompt_tokens));
    expect(tok("gpt", "up", "completion")).toBe(sum(used.gpt!, (u) => u.completion_tokens));
    expect(tok("gpt", "up", "prompt")).toBe(5 * 19);
    expect(tok("claude", "claude", "prompt")).toBe(sum(used.claude!, (u) => u.prompt_tokens));
    expect(tok("claude", "claude", "completion")).toBe(sum(used.claude!, (u) => u.completion_tokens));
    expect(tok("claude", "claude", "cached")).toBe(sum(used.claude!, (u) => u.prompt_tokens_details?.cached_tokens));
    expect(tok("claude", "claude", "cached")).toBe(32);
    expect(tok("claude", "claude", "reasoning")).toBe(sum(used.claude!, (u) => u.completion_tokens_details?.reasoning_tokens));
    expect(tok("claude", "claude", "reasoning")).toBe(7);
    expect(tok("emb", "up", "prompt")).toBe(used.emb![0]!.prompt_tokens);
    expect(tok("fb", "up", "prompt")).toBe(used.fb![0]!.prompt_tokens);
    // Spend at the configured price, from each request's own usage.
    const spent = used.gpt!.reduce((n, u) => n + u.prompt_tokens * GPT_PRICE.input_per_mtok + (u.completion_tokens ?? 0) * GPT_PRICE.output_per_mtok, 0) / 1e6;
    expect(d("switchboard_cost_usd_total", { model: "gpt", provider: "up" })).toBeCloseTo(spent, 12);
    expect(spent).toBeCloseTo(5 * 39e-6, 12);

    const att = (provider: string, outcome: string) => d("switchboard_upstream_attempts_total", { provider, outcome });
    expect(att("up", "success")).toBe(7);
    expect(att("up", "retry")).toBe(1);
    expect(att("up", "failure")).toBe(1);
    expect(att("up2", "fallback")).toBe(1);
    expect(att("up2", "failure")).toBe(0);
    expect(att("claude", "success")).toBe(2);

    // The breaker of up/fault-503 opened after its two failures; up2's deployment failed once and stays in rotation.
    expect(after.get(series("switchboard_deployment_cooling", { provider: "up", upstream_model: "fault-503" }))).toBe(1);
    expect(after.get(series("switchboard_deployment_cooling", { provider: "up2", upstream_model: "fault-503" }))).toBe(0);
    expect(after.get(series("switchboard_deployment_cooling", { provider: "up", upstream_model: "gpt" }))).toBe(0);
    expect(after.get("switchboard_inflight_requests")).toBe(0);
    expect(after.get(series("switchboard_build_info", { version: (await import("../../package.json")).version }))).toBe(1);
    expect(after.get("process_resident_memory_bytes")).toBeGreaterThan(0);
  });

  test("the in-flight gauge counts a stream until its last byte", async () => {
    const r = await chat({ model: "slow", stream: true });
    const reader = r.body!.getReader();
    await reader.read();
    expect((await scrape(g.url)).get("switchboard_inflight_requests")).toBe(1);
    while (!(await reader.read()).done);
    await Bun.sleep(10);
    expect((await scrape(g.url)).get("switchboard_inflight_requests")).toBe(0);
  });

  test("refusals are counted by reason", async () => {
    const before = await scrape(g.url);
    expect((await chat({ model: "gpt" }, K.rpm)).status).toBe(200);
    expect((await chat({ model: "gpt" }, K.rpm)).status).toBe(429);
    // Larger than the key's tpm on its own: refused before any counting.
    expect((await chat({ model: "gpt", max_tokens: 1000 }, K.tpm)).status).toBe(429);
    const open = await chat({ model: "slow", stream: true }, K.conc);
    expect(open.status).toBe(200);
    expect((await chat({ model: "gpt" }, K.conc)).status).toBe(429);
    await open.text();
    expect((await chat({ model: "gpt" }, "sk-metrics-wrong-0001")).status).toBe(401);
    expect((await post(`${g.baseURL}/chat/completions`, { model: "gpt", messages: [] })).status).toBe(401);
    expect((await chat({ model: "claude" }, K.limited)).status).toBe(403);
    expect((await post(`${g.baseURL}/chat/completions`, { model: "gpt" }, KEY)).status).toBe(400);
    expect((await chat({ model: "no-such-model" })).status).toBe(404);
    expect((await post(`${g.baseURL}/embeddings`, { model: "emb", input: "" }, KEY)).status).toBe(400);
    // Declared larger than the body limit: refused before a route is chosen.
    const huge = await chat({ model: "gpt", messages: [{ role: "user", content: "x".repeat(70_000) }] });
    expect(huge.status).toBe(413);
    const broke = await chat({ model: "gpt" }, K.broke);
    expect(broke.status).toBe(429);
    expect(((await broke.json()) as { error: { code: string } }).error.code).toBe("budget_exceeded");
    const after = await scrape(g.url);
    const r = (reason: string) => delta(before, after, series("switchboard_rejections_total", { reason }));
    expect(r("rpm")).toBe(1);
    expect(r("tpm")).toBe(1);
    expect(r("concurrency")).toBe(1);
    expect(r("auth")).toBe(3);
    expect(r("validation")).toBe(4);
    expect(r("budget")).toBe(1);
    const req = (labels: Record<string, string | number>) => delta(before, after, series("switchboard_requests_total", labels));
    expect(req({ model: "gpt", provider: "up", status: 429 })).toBe(4);
    expect(req({ model: "other", provider: "", status: 401 })).toBe(2);
    expect(req({ model: "other", provider: "", status: 404 })).toBe(1);
    expect(req({ model: "other", provider: "", status: 400 })).toBe(2);
  });

  test("unknown model names add no series: they are all `other`", async () => {
    expect((await chat({ model: "warm-up-unknown" })).status).toBe(404);
    const before = await fetch(`${g.url}/metrics`).then((r) => r.text());
    const names = Array.from({ length: 60 }, (_, i) => `made-up-${i}-${crypto.randomUUID()}`);
    for (const [i, model] of names.entries()) {
      const r = i % 3 === 0 ? await post(`${g.baseURL}/embeddings`, { model, input: "x" }, KEY) : await chat({ model, stream: i % 2 === 0 });
      expect(r.status).toBe(404);
    }
    const after = await fetch(`${g.url}/metrics`).then((r) => r.text());
    const switchboardSeries = (t: string) => [...parseProm(t).keys()].filter((k) => k.startsWith("switchboard_")).sort();
    expect(switchboardSeries(after)).toEqual(switchboardSeries(before));
    for (const n of names) expect(after.includes(n)).toBe(false);
    expect(delta(parseProm(before), parseProm(after), series("switchboard_requests_total", { model: "other", provider: "", status: 404 }))).toBe(60);
  });
});

describe("metrics.key and metrics.key_labels", () => {
  let h: GatewayHandle;
  beforeAll(async () => {
    h = await startGateway({
      providers: { e: { type: "echo" } },
      models: [{ id: "echo", provider: "e" }],
      keys: [
        { name: "team-a", key: "sk-metrics-team-a-01" },
        { name: "team-b", key: "sk-metrics-team-b-01" },
      ],
      metrics: { key: "metrics-scrape-secret-1", key_labels: true },
    });
  });
  afterAll(() => h.stop());

  test("GET /metrics needs the metrics key when one is set", async () => {
    const none = await fetch(`${h.url}/metrics`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe("invalid_api_key");
    expect((await fetch(`${h.url}/metrics`, { headers: { authorization: "Bearer sk-metrics-team-a-01" } })).status).toBe(401);
    const ok = await fetch(`${h.url}/metrics`, { headers: { authorization: "Bearer metrics-scrape-secret-1" } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("content-type")).toContain("text/plain");
  });

  test("with key_labels the key's name labels requests and tokens", async () => {
    for (const [key, n] of [["sk-metrics-team-a-01", 2], ["sk-metrics-team-b-01", 1]] as const) {
      for (let i = 0; i < n; i++) expect((await post(`${h.baseURL}/chat/completions`, { model: "echo", messages: [{ role: "user", content: "count me" }] }, key)).status).toBe(200);
    }
    const m = await scrape(h.url, "metrics-scrape-secret-1");
    expect(m.get(series("switchboard_requests_total", { model: "echo", provider: "e", status: 200, key: "team-a" }))).toBe(2);
    expect(m.get(series("switchboard_requests_total", { model: "echo", provider: "e", status: 200, key: "team-b" }))).toBe(1);
    expect(m.get(series("switchboard_tokens_total", { model: "echo", provider: "e", type: "completion", key: "team-a" }))).toBeGreaterThan(0);
    // Histograms never carry the key (it would multiply their buckets).
    expect(m.get(series("switchboard_request_duration_seconds_count", { model: "echo", provider: "e" }))).toBe(3);
  });
});
