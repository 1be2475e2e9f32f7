// OpenTelemetry traces through a local OTLP receiver: W3C context continued to the provider, GenAI attributes, no prompts, a dead collector costs nothing.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { post, startGateway, type GatewayHandle } from "../support/gateway.ts";
import { startOpenAIUpstream, type OpenAIUpstream } from "../support/openai-upstream.ts";
import { startAnthropicUpstream, type AnthropicUpstream } from "../support/anthropic-upstream.ts";
import { attr, startOtlpReceiver, type OtlpReceiver, type OtlpSpan } from "../support/otlp-receiver.ts";
import { scrape, series } from "../support/prometheus.ts";
import { freePort } from "../support/process.ts";

const KEY = "sk-traces-main-00001";
const PROMPT = "a secret prompt that must never leave the gateway";
let up: OpenAIUpstream;
let claude: AnthropicUpstream;
let rx: OtlpReceiver;
let g: GatewayHandle;

const SERVER = 2;
const CLIENT = 3;
const ERROR = 2;

const providers = () => ({
  up: { type: "openai", base_url: up.url, api_key: up.apiKey },
  claude: { type: "anthropic", base_url: claude.url, api_key: claude.apiKey },
});
const models = [
  { id: "gpt", provider: "up" },
  { id: "claude", provider: "claude", upstream_model: "claude-sonnet-4-5" },
  { id: "fb", provider: "up", upstream_model: "fault-500", max_attempts: 1, fallbacks: ["gpt"] },
];

beforeAll(async () => {
  [up, claude] = await Promise.all([startOpenAIUpstream(), startAnthropicUpstream()]);
  rx = startOtlpReceiver();
  g = await startGateway(
    { telemetry: { otlp_endpoint: rx.url, batch_delay_ms: 20 }, providers: providers(), models, keys: [{ name: "main", key: KEY }] },
    { routing: { sleep: async () => {} } },
  );
});
afterAll(async () => {
  await g.stop();
  rx.stop();
  await Promise.all([up.stop(), claude.stop()]);
});

const hex = (n: number) => Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => b.toString(16).padStart(2, "0")).join("");
const chat = (body: object, headers: Record<string, string> = {}) =>
  post(`${g.baseURL}/chat/completions`, { messages: [{ role: "user", content: PROMPT }], ...body }, KEY, headers);

const traceOf = (traceId: string, n: number) => rx.waitForTrace(traceId, n);

describe("traces", () => {
  test("a request continues the incoming traceparent; its attempt's traceparent reaches the provider; GenAI attributes, no prompt", async () => {
    const traceId = hex(16);
    const parent = hex(8);
    const calls = up.calls.length;
    const r = await chat({ model: "gpt", max_tokens: 50, temperature: 0.5 }, { traceparent: `00-${traceId}-${parent}-01` });
    expect(r.status).toBe(200);
    const answer = (await r.json()) as { usage: { prompt_tokens: number; completion_tokens: number }; choices: { message: { content: string } }[] };
    const spans = await traceOf(traceId, 2);
    const server = spans.find((s) => s.kind === SERVER)!;
    const client = spans.find((s) => s.kind === CLIENT)!;
    expect(server.parentSpanId).toBe(parent);
    expect(client.parentSpanId).toBe(server.spanId);
    // The provider was called as the attempt span's child.
    expect(up.calls[calls]!.headers.traceparent).toBe(`00-${traceId}-${client.spanId}-01`);

    expect(server.name).toBe("chat gpt");
    expect(attr(server, "gen_ai.operation.name")).toBe("chat");
    expect(attr(server, "gen_ai.system")).toBe("openai");
    expect(attr(server, "gen_ai.request.model")).toBe("gpt");
    expect(attr(server, "gen_ai.response.model")).toBe("gpt");
    expect(attr(server, "gen_ai.request.max_tokens")).toBe(50);
    expect(attr(server, "gen_ai.request.temperature")).toBe(0.5);
    expect(attr(server, "gen_ai.usage.input_tokens")).toBe(answer.usage.prompt_tokens);
    expect(attr(server, "gen_ai.usage.output_tokens")).toBe(answer.usage.completion_tokens);
    expect(attr(server, "switchboard.request_id")).toBe(r.headers.get("x-request-id")!);
    expect(attr(server, "switchboard.key")).toBe("main");
    expect(attr(server, "switchboard.deployment")).toBe("up/gpt");
    expect(attr(server, "switchboard.attempts")).toBe(1);
    expect(attr(server, "switchboard.retries")).toBe(0);
    expect(attr(server, "http.response.status_code")).toBe(200);
    expect(attr(client, "gen_ai.system")).toBe("openai");
    expect(attr(client, "gen_ai.request.model")).toBe("gpt");
    expect(attr(client, "switchboard.deployment")).toBe("up/gpt");
    expect(attr(client, "server.address")).toBe("127.0.0.1");
    expect(server.resource["service.name"]).toBe("switchboard");
    expect(rx.contentTypes.every((t) => t.startsWith("application/json"))).toBe(true);

    // Neither the prompt nor the answer is ever exported.
    const exported = rx.bodies.join("\n");
    expect(exported.includes(PROMPT)).toBe(false);
    expect(exported.includes(answer.choices[0]!.message.content)).toBe(false);
    // The request's log line names the trace.
    const line = g.logs.find((l) => l.request_id === r.headers.get("x-request-id"));
    expect(line?.trace_id).toBe(traceId);
  });

  test("a retried stream: a span per attempt (the failed one marked), each attempt's own traceparent upstream", async () => {
    up.script.push(503);
    const calls = up.calls.length;
    const r = await chat({ model: "gpt", stream: true });
    expect(r.status).toBe(200);
    expect((await r.text()).trim().endsWith("data: [DONE]")).toBe(true);
    const line = g.logs.find((l) => l.request_id === r.headers.get("x-request-id"))!;
    const traceId = line.trace_id as string;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    const spans = await traceOf(traceId, 3);
    const server = spans.find((s) => s.kind === SERVER)!;
    const clients = spans.filter((s) => s.kind === CLIENT);
    expect(server.parentSpanId ?? "").toBe("");
    expect(clients.length).toBe(2);
    for (const c of clients) expect(c.parentSpanId).toBe(server.spanId);
    const [failed, ok] = [clients.find((c) => c.status?.code === ERROR)!, clients.find((c) => c.status?.code !== ERROR)!];
    expect(attr(failed, "error.type")).toBe("upstream_failed");
    expect(attr(ok, "error.type")).toBeUndefined();
    const sent = up.calls.slice(calls).map((c) => c.headers.traceparent);
    expect(sent.length).toBe(2);
    expect(new Set(sent)).toEqual(new Set(clients.map((c) => `00-${traceId}-${c.spanId}-01`)));
    expect(attr(server, "switchboard.attempts")).toBe(2);
    expect(attr(server, "switchboard.retries")).toBe(1);
    expect(attr(server, "switchboard.stream")).toBe(true);
    expect(attr(server, "gen_ai.usage.input_tokens")).toBe(19);
  });

  test("a fallback and an Anthropic attempt carry their deployment, system and fallback attributes", async () => {
    const r = await chat({ model: "fb" });
    expect(r.status).toBe(200);
    const traceId = g.logs.find((l) => l.request_id === r.headers.get("x-request-id"))!.trace_id as string;
    const server = (await traceOf(traceId, 3)).find((s) => s.kind === SERVER)!;
    expect(attr(server, "switchboard.fallback_from")).toBe("fb");
    expect(attr(server, "switchboard.fallback_model")).toBe("gpt");
    expect(attr(server, "gen_ai.request.model")).toBe("fb");
    const c = await chat({ model: "claude" });
    expect(c.status).toBe(200);
    const ct = g.logs.find((l) => l.request_id === c.headers.get("x-request-id"))!.trace_id as string;
    const spans = await traceOf(ct, 2);
    expect(attr(spans.find((s) => s.kind === CLIENT)!, "gen_ai.system")).toBe("anthropic");
    expect(attr(spans.find((s) => s.kind === CLIENT)!, "gen_ai.request.model")).toBe("claude-sonnet-4-5");
    expect(claude.calls.at(-1)!.headers.traceparent).toBe(`00-${ct}-${spans.find((s) => s.kind === CLIENT)!.spanId}-01`);
  });

  test("a refused request is traced too; an unsampled incoming trace is continued upstream and not exported", async () => {
    const traceId = hex(16);
    const r = await post(`${g.baseURL}/chat/completions`, { model: "gpt", messages: [{ role: "user", content: "x" }] }, "sk-traces-wrong-0001", { traceparent: `00-${traceId}-${hex(8)}-01` });
    expect(r.status).toBe(401);
    const [span] = await traceOf(traceId, 1);
    expect(attr(span!, "http.response.status_code")).toBe(401);
    expect(attr(span!, "error.type")).toBe("unauthorized");

    const quiet = hex(16);
    const calls = up.calls.length;
    expect((await chat({ model: "gpt" }, { traceparent: `00-${quiet}-${hex(8)}-00` })).status).toBe(200);
    expect(up.calls[calls]!.headers.traceparent).toMatch(new RegExp(`^00-${quiet}-[0-9a-f]{16}-00$`));
    await Bun.sleep(150);
    expect(rx.spans.some((s) => s.traceId === quiet)).toBe(false);
    // A malformed traceparent starts a new trace rather than failing the request.
    expect((await chat({ model: "gpt" }, { traceparent: "00-zz-not-a-trace" })).status).toBe(200);
  });
});

describe("sampling: telemetry.sample_ratio, parent-based", () => {
  const gateway = (ratio: number) =>
    startGateway({ telemetry: { otlp_endpoint: rx.url, batch_delay_ms: 20, sample_ratio: ratio }, providers: providers(), models, keys: [{ name: "main", key: KEY }] });
  const send = (gw: GatewayHandle, headers: Record<string, string> = {}) => post(`${gw.baseURL}/chat/completions`, { model: "gpt", messages: [{ role: "user", content: "hi" }] }, KEY, headers);
  const spansOf = (id: string | null) => rx.spans.filter((sp) => attr(sp, "switchboard.request_id") === id);

  test("ratio 0: a new trace makes no span and sends no traceparent; a caller's sampled trace is still recorded", async () => {
    const gw = await gateway(0);
    try {
      const calls = up.calls.length;
      const r = await send(gw);
      expect(r.status).toBe(200);
      expect(up.calls[calls]!.headers.traceparent).toBeUndefined();
      const traceId = hex(16);
      const sampled = await send(gw, { traceparent: `00-${traceId}-${hex(8)}-01` });
      expect(sampled.status).toBe(200);
      expect((await traceOf(traceId, 2)).length).toBe(2);
      await Bun.sleep(150);
      expect(spansOf(r.headers.get("x-request-id"))).toEqual([]);
      // The log line names no trace for the unsampled request, and the caller's for the continued one.
      const line = (id: string | null) => gw.logs.find((l) => l.msg === "request" && l.request_id === id);
      expect(line(r.headers.get("x-request-id"))?.trace_id).toBeUndefined();
      expect(line(sampled.headers.get("x-request-id"))?.trace_id).toBe(traceId);
    } finally {
      await gw.stop();
    }
  });

  test("ratio 0.5: about half of 200 new traces are recorded, each whole (request and attempt span)", async () => {
    const gw = await gateway(0.5);
    try {
      const ids: string[] = [];
      for (let i = 0; i < 200; i++) ids.push((await send(gw)).headers.get("x-request-id")!);
      await Bun.sleep(300);
      const recorded = ids.filter((id) => spansOf(id).length > 0);
      // Binomial(200, 0.5): 60–140 is more than five standard deviations either side.
      expect(recorded.length).toBeGreaterThan(60);
      expect(recorded.length).toBeLessThan(140);
      const server = spansOf(recorded[0]!)[0]!;
      expect(rx.spans.filter((sp) => sp.traceId === server.traceId).map((sp) => sp.kind).sort()).toEqual([SERVER, CLIENT]);
    } finally {
      await gw.stop();
    }
  });
});

describe("a collector that is down or silent never slows a request", () => {
  const base = (endpoint: string, extra: object = {}) => ({
    telemetry: { otlp_endpoint: endpoint, batch_delay_ms: 10, max_batch_size: 5, max_queue_size: 10, export_timeout_ms: 3000, ...extra },
    providers: { e: { type: "echo" } },
    models: [{ id: "echo", provider: "e" }],
  });
  const burst = async (h: GatewayHandle, n: number) => {
    let worst = 0;
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      const r = await post(`${h.baseURL}/chat/completions`, { model: "echo", messages: [{ role: "user", content: "hi" }] });
      expect(r.status).toBe(200);
      await r.text();
      worst = Math.max(worst, performance.now() - t0);
    }
    return worst;
  };

  test("silent collector: requests stay fast, the queue stays bounded and what it drops is counted", async () => {
    const silent = startOtlpReceiver({ hang: true });
    const h = await startGateway(base(silent.url, { export_timeout_ms: 1500 }));
    try {
      const worst = await burst(h, 80);
      console.log(`silent collector: worst request ${worst.toFixed(1)} ms`);
      // An export waits up to 1.5 s; a request that waited on one would show it.
      expect(worst).toBeLessThan(500);
      const m = await scrape(h.url);
      // One batch in flight (5), ten queued: the other spans were dropped and counted, not held.
      expect(m.get(series("switchboard_trace_spans_dropped_total", { reason: "queue_full" }))).toBeGreaterThanOrEqual(80 - 15);
    } finally {
      silent.stop();
      await h.stop();
    }
  });

  test("collector down (connection refused): requests stay fast, failed exports are counted", async () => {
    const h = await startGateway(base(`http://127.0.0.1:${freePort()}`, { export_timeout_ms: 500 }));
    try {
      const worst = await burst(h, 30);
      console.log(`collector down: worst request ${worst.toFixed(1)} ms`);
      expect(worst).toBeLessThan(500);
      const until = Date.now() + 5000;
      let failed = 0;
      while (failed === 0 && Date.now() < until) {
        await Bun.sleep(100);
        failed = (await scrape(h.url)).get(series("switchboard_trace_spans_dropped_total", { reason: "export_failed" })) ?? 0;
      }
      expect(failed).toBeGreaterThan(0);
    } finally {
      await h.stop();
    }
  });
});
