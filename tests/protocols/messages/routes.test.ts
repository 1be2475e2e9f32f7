// The Messages routes over HTTP: prefixes, passthrough headers, streams that fail or are left, failover, accounting.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startGateway, type GatewayHandle } from "../../support/gateway.ts";
import { startOpenAIUpstream, type OpenAIUpstream } from "../../support/openai-upstream.ts";
import { startGeminiUpstream, type GeminiUpstream } from "../../support/gemini-upstream.ts";
import { startAnthropicUpstream, text as anthropicText, type AnthropicUpstream } from "../../support/anthropic-upstream.ts";
import { recordedEvents } from "../../support/fixtures.ts";
import { expectValidMessageStream, parseAnthropicSse } from "./invariants.ts";

const KEY = "sk-routes-0123456789";
let oa: OpenAIUpstream;
let goog: GeminiUpstream;
let claude: AnthropicUpstream;
let gw: GatewayHandle;

beforeAll(async () => {
  [oa, goog, claude] = await Promise.all([startOpenAIUpstream(), startGeminiUpstream(), startAnthropicUpstream()]);
  gw = await startGateway({
    providers: {
      oa: { type: "openai", base_url: oa.url, api_key: oa.apiKey },
      goog: { type: "gemini", base_url: goog.url, api_key: goog.apiKey },
      claude: { type: "anthropic", base_url: claude.url, api_key: claude.apiKey, headers: { "anthropic-beta": "operator-beta" } },
    },
    models: [
      { id: "gpt-4o", provider: "oa" },
      { id: "slow", provider: "oa", upstream_model: "fault-slow" },
      { id: "reset", provider: "oa", upstream_model: "fault-reset" },
      { id: "gemini-broken", provider: "goog", upstream_model: "fault-midstream-error" },
      { id: "claude", provider: "claude", upstream_model: "claude-sonnet-4-5-20250929" },
      // Claude first; when it fails before its first byte, the OpenAI model answers.
      { id: "claude-then-gpt", targets: [{ provider: "claude", upstream_model: "claude-sonnet-4-5-20250929" }, { provider: "oa", upstream_model: "gpt-4o" }], strategy: "ordered" },
    ],
    keys: [{ name: "r", key: KEY }],
  });
});
afterAll(async () => {
  await gw?.stop();
  await Promise.all([oa?.stop(), goog?.stop(), claude?.stop()]);
});

const post = (path: string, body: object, headers: Record<string, string> = {}) =>
  fetch(gw.url + path, { method: "POST", headers: { "content-type": "application/json", "x-api-key": KEY, "anthropic-version": "2023-06-01", ...headers }, body: JSON.stringify(body) });
const ask = (model: string, extra: object = {}) => ({ model, max_tokens: 100, messages: [{ role: "user", content: "Hello" }], ...extra });

describe("routes", () => {
  test("under /api/v1 too, and ?beta=true accepted", async () => {
    const res = await post("/api/v1/messages?beta=true", ask("gpt-4o"));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { type: string }).type).toBe("message");
    const count = await post("/api/v1/messages/count_tokens?beta=true", { model: "gpt-4o", messages: [{ role: "user", content: "Hello" }] });
    expect(((await count.json()) as { input_tokens: number }).input_tokens).toBeGreaterThan(0);
  });

  test("validation, model and method errors in Anthropic's shape", async () => {
    const bad = await post("/v1/messages", { model: "gpt-4o", messages: [] });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ type: "error", error: { type: "invalid_request_error", message: "max_tokens: Field required" } });
    const malformed = await fetch(gw.url + "/v1/messages", { method: "POST", headers: { "x-api-key": KEY, "content-type": "application/json" }, body: "{nope" });
    expect(((await malformed.json()) as { type: string; error: { type: string } }).error.type).toBe("invalid_request_error");
    const missing = await post("/v1/messages", ask("nope"));
    expect([missing.status, ((await missing.json()) as { error: { type: string } }).error.type]).toEqual([404, "not_found_error"]);
  });

  test("refusals made before any route runs are in Anthropic's shape too: a wrong method, a body declared too large", async () => {
    // Both are decided before the route's own hooks (Elysia's router; the declared length, checked on every request).
    const get = await fetch(gw.url + "/v1/messages", { headers: { "x-api-key": KEY } });
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
    expect(((await get.json()) as { type: string; error: { type: string } }).type).toBe("error");
    const big = JSON.stringify(ask("gpt-4o", { system: "x".repeat(10 * 1024 * 1024) }));
    for (const path of ["/v1/messages", "/api/v1/messages/count_tokens"]) {
      const res = await fetch(gw.url + path, { method: "POST", headers: { "x-api-key": KEY, "content-type": "application/json" }, body: big });
      expect(res.status).toBe(413);
      const body = (await res.json()) as { type: string; error: { type: string; message: string } };
      expect([body.type, body.error.type]).toEqual(["error", "request_too_large"]);
      expect(body.error.message).toContain("10485760");
    }
    // The same refusal on an OpenAI route stays in OpenAI's shape.
    const chat = await fetch(gw.url + "/v1/chat/completions", { method: "POST", headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" }, body: big });
    expect(((await chat.json()) as { error: { code: string } }).error.code).toBe("request_too_large");
  });
});

describe("passthrough to Anthropic", () => {
  test("the client's betas join the operator's; the client's version is sent; unknown fields kept", async () => {
    claude.reply(anthropicText("hi"));
    const res = await post("/v1/messages", ask("claude", { context_management: { edits: [] }, speed: "standard" }), { "anthropic-beta": "client-beta-1,client-beta-2" });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchboard-warnings")).toBeNull();
    const sent = claude.calls.at(-1)!;
    expect(sent.headers["anthropic-beta"]).toBe("operator-beta,client-beta-1,client-beta-2");
    expect(sent.headers["anthropic-version"]).toBe("2023-06-01");
    expect(sent.body).toMatchObject({ model: "claude-sonnet-4-5-20250929", context_management: { edits: [] }, speed: "standard" });
    expect(((await res.json()) as { model: string }).model).toBe("claude");
  });

  test("a recorded stream passes event for event, with the public model and usage accounted", async () => {
    const events = recordedEvents("anthropic", "anthropic-text.chunks.txt");
    claude.reply({ kind: "events", events });
    const res = await post("/v1/messages", ask("claude", { stream: true }));
    const got = parseAnthropicSse(await res.text());
    expectValidMessageStream(got, { model: "claude" });
    expect(got.slice(1)).toEqual(events.slice(1) as never);
    const id = res.headers.get("x-request-id");
    const line = gw.logs.find((l) => l.msg === "request" && l.request_id === id)!;
    const delta = events.find((e) => e.type === "message_delta")!.usage as Record<string, number>;
    expect(line.tokens_out).toBe(delta.output_tokens);
  });

  test("Claude failing before its first byte: the next target answers, in the same dialect", async () => {
    claude.reply({ kind: "error", status: 529, type: "overloaded_error", message: "Overloaded" });
    const res = await post("/v1/messages", ask("claude-then-gpt", { stream: true }));
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchboard-deployment")).toBe("oa/gpt-4o");
    expectValidMessageStream(parseAnthropicSse(await res.text()), { model: "claude-then-gpt" });
  });
});

test("Claude's stream opening with an overloaded error event: still before the first byte, so the next target answers", async () => {
  claude.reply({ kind: "events", events: [{ type: "error", error: { type: "overloaded_error", message: "Overloaded" } }] });
  const res = await post("/v1/messages", ask("claude-then-gpt", { stream: true }));
  expect(res.headers.get("x-switchboard-deployment")).toBe("oa/gpt-4o");
  expectValidMessageStream(parseAnthropicSse(await res.text()), { model: "claude-then-gpt" });
});

describe("streams that fail or are left", () => {
  test("an OpenAI-type stream cut mid-answer ends with event: error", async () => {
    const res = await post("/v1/messages", ask("reset", { stream: true }));
    const events = parseAnthropicSse(await res.text());
    expect(events[0]!.type).toBe("message_start");
    expect(events.at(-1)!.type).toBe("error");
    expect(events.some((e) => e.type === "message_stop")).toBe(false);
  });

  test("Gemini's error mid-stream ends with event: error, Anthropic's error object", async () => {
    const res = await post("/v1/messages", ask("gemini-broken", { stream: true }));
    const events = parseAnthropicSse(await res.text());
    expect(events.at(-1)).toMatchObject({ type: "error", error: { type: "api_error" } });
    expect(events.filter((e) => e.type === "content_block_delta").length).toBeGreaterThan(0);
  });

  test("a client that leaves mid-stream aborts the provider call", async () => {
    const aborted = oa.calls.filter((c) => c.aborted).length;
    const ac = new AbortController();
    const res = await fetch(gw.url + "/v1/messages", { method: "POST", signal: ac.signal, headers: { "content-type": "application/json", "x-api-key": KEY }, body: JSON.stringify(ask("slow", { stream: true })) });
    const reader = res.body!.getReader();
    await reader.read();
    ac.abort();
    await oa.waitForAbort(aborted + 1, 5000);
  });
});
