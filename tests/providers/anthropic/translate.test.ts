// Pure Anthropic translation: recorded streams and responses replayed, the error table checked (requests: anthropic-request.test.ts).
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import type { ChatCompletionChunk } from "../../../src/openai/schemas.ts";
import { GatewayError, errorBody, statusOf } from "../../../src/openai/errors.ts";
import { createAnthropicStreamTranslator, parseAnthropicEvent, type AnthropicStreamEvent } from "../../../src/providers/anthropic/stream.ts";
import { fromAnthropicResponse, mapStopReason } from "../../../src/providers/anthropic/response.ts";
import { mapAnthropicError, mapAnthropicStreamError } from "../../../src/providers/anthropic/errors.ts";
import { assemble, expectValidStream } from "../../support/stream-invariants.ts";

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/anthropic/${name}`, import.meta.url), "utf8");
const lines = (name: string) => fixture(name).split("\n").filter((l) => l.trim() !== "");
const idn = { id: "chatcmpl-test", created: 1700000000, publicModel: "claude-test" };

/** Feeds a recorded stream line by line; returns what was emitted and the error that ended it, if any. */
function replay(name: string) {
  const tr = createAnthropicStreamTranslator(idn);
  const out: ChatCompletionChunk[] = [];
  try {
    for (const l of lines(`${name}.chunks.txt`)) {
      const ev = parseAnthropicEvent(l);
      if (ev) out.push(...tr.push(ev));
    }
    out.push(...tr.end());
  } catch (err) {
    return { out, error: err };
  }
  return { out, error: undefined };
}
const expected = (name: string) => lines(`${name}.expected.jsonl`).map((l) => JSON.parse(l) as ChatCompletionChunk);
const payloads = (chunks: ChatCompletionChunk[]) => [...chunks.map((c) => JSON.stringify(c)), "[DONE]"];

describe("stream translation of recorded Anthropic streams", () => {
  const cases: [string, { content: string; tools: { name: string; args: unknown }[]; finish: string }][] = [
    ["anthropic-text", { content: "Hello! I'm doing well, thank you for asking. How are you doing today? Is there anything I can help you with?", tools: [], finish: "stop" }],
    ["anthropic-json-tool.1", { content: "", tools: [{ name: "json", args: { elements: [{ location: "San Francisco", temperature: 58, condition: "sunny" }] } }], finish: "tool_calls" }],
    ["anthropic-tool-no-args", { content: "I'll update the issue list for you.", tools: [{ name: "updateIssueList", args: {} }], finish: "tool_calls" }],
    ["anthropic-text-then-tool", { content: "Let me check.", tools: [{ name: "get_weather", args: { city: "San Francisco" } }], finish: "tool_calls" }],
    ["anthropic-several-tools", { content: "Checking both cities.", tools: [{ name: "get_weather", args: { city: "Paris" } }, { name: "get_weather", args: { city: "Tokyo", unit: "c" } }, { name: "get_time", args: {} }], finish: "tool_calls" }],
    ["anthropic-quoted-tool-input", { content: "", tools: [{ name: "website_update", args: { website_path: "/home/user/pace-landing", tasks: [{ description: 'Today you post every run to Strava, but Strava does not answer the question: "What should I do next after this run?". It is a great log, but it is not adaptive.', type: "feature", passes: false }] } }], finish: "tool_calls" }],
    ["anthropic-refusal", { content: "", tools: [], finish: "content_filter" }],
    ["anthropic-message-delta-input-tokens", { content: "pong", tools: [], finish: "stop" }],
    ["anthropic-stop-sequence", { content: "1, 2, 3", tools: [], finish: "stop" }],
    ["anthropic-max-tokens", { content: "Once upon a time", tools: [], finish: "length" }],
    ["anthropic-thinking", { content: "925 ÷ 5 = 185", tools: [], finish: "stop" }],
    ["anthropic-clear-tool-uses.1", { content: expect.stringContaining("San Francisco is the better choice right now.") as unknown as string, tools: [], finish: "stop" }],
  ];
  for (const [name, want] of cases) {
    test(name, () => {
      const { out, error } = replay(name);
      expect(error).toBeUndefined();
      expect(out).toEqual(expected(name));
      const chunks = expectValidStream(payloads(out), { model: "claude-test" });
      const got = assemble(chunks);
      expect(got.content).toEqual(want.content);
      expect(got.finish).toBe(want.finish);
      expect(got.tools.map((t) => ({ name: t.name, args: JSON.parse(t.arguments) }))).toEqual(want.tools);
    });
  }

  test("tool indexes are dense from 0 even when the tool is Anthropic block 1", () => {
    const tools = replay("anthropic-text-then-tool").out.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    expect(new Set(tools.map((t) => t.index))).toEqual(new Set([0]));
  });

  test("message_delta's updated input tokens win over message_start's", () => {
    const last = replay("anthropic-message-delta-input-tokens").out.at(-1)!;
    expect(last.usage).toEqual({ prompt_tokens: 61, completion_tokens: 2, total_tokens: 63, prompt_tokens_details: { cached_tokens: 0, cache_creation_tokens: 0 } });
  });

  test("cached input counts in prompt_tokens and in cached_tokens", () => {
    expect(replay("anthropic-several-tools").out.at(-1)!.usage).toEqual({
      prompt_tokens: 1610, completion_tokens: 96, total_tokens: 1706, prompt_tokens_details: { cached_tokens: 1200, cache_creation_tokens: 0 },
    });
  });

  test("an error event mid-stream throws the mapped failure after what was already sent", () => {
    const { out, error } = replay("anthropic-error-midstream");
    expect(out).toEqual(expected("anthropic-error-midstream"));
    expect(error).toBeInstanceOf(GatewayError);
    const g = error as GatewayError;
    expect(statusOf(g)).toBe(502);
    expect(g.retryable).toBe(true);
    expect(errorBody(g).error.message).toContain("overloaded");
  });

  test("a stream cut before message_stop ends in a 502, not a silent finish", () => {
    const { out, error } = replay("anthropic-cut");
    expect(out).toEqual(expected("anthropic-cut"));
    expect(out.some((c) => c.choices.some((ch) => ch.finish_reason))).toBe(false);
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).kind).toBe("upstream_failed");
  });

  test("a cut after message_delta (stop reason known, no message_stop) is still a failure", () => {
    const tr = createAnthropicStreamTranslator(idn);
    for (const l of lines("anthropic-text.chunks.txt").slice(0, -1)) tr.push(parseAnthropicEvent(l)!);
    expect(() => tr.end()).toThrow(GatewayError);
  });

  test("role chunk comes first even if content arrives before message_start; unknown events yield nothing", () => {
    const tr = createAnthropicStreamTranslator(idn);
    expect(tr.push({ type: "brand_new_event", foo: 1 })).toEqual([]);
    expect(tr.push({ type: "ping" })).toEqual([]);
    tr.push({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } });
    const out = tr.push({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "hi" } });
    expect(out.length).toBe(1);
    // The role chunk went out with content_block_start, before any text.
    expect(out[0]!.choices[0]!.delta).toEqual({ content: "hi" });
    expect(tr.push({ type: "content_block_delta", index: 7, delta: { type: "text_delta", text: "orphan" } })).toEqual([]);
  });

  test("nothing is emitted after message_stop, and end() adds nothing", () => {
    const tr = createAnthropicStreamTranslator(idn);
    for (const l of lines("anthropic-text.chunks.txt")) tr.push(parseAnthropicEvent(l)!);
    expect(tr.push({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "late" } })).toEqual([]);
    expect(tr.end()).toEqual([]);
  });

  test("event parsing: JSON type wins, SSE event name is the fallback, bad JSON is a 502", () => {
    expect(parseAnthropicEvent('{"type":"ping"}', "other")?.type).toBe("ping");
    expect(parseAnthropicEvent('{"error":{"type":"api_error","message":"x"}}', "error")?.type).toBe("error");
    expect(parseAnthropicEvent("")).toBeUndefined();
    expect(() => parseAnthropicEvent("{not json")).toThrow(GatewayError);
  });
});

describe("response translation", () => {
  const ctx = { requestId: "abc", publicModel: "claude-3-5-sonnet", created: 1700000000 };
  const body = (name: string): unknown => JSON.parse(fixture(name));

  test("text", () => {
    expect(fromAnthropicResponse(body("anthropic-text.json"), ctx)).toEqual({
      id: "chatcmpl-abc",
      object: "chat.completion",
      created: 1700000000,
      model: "claude-3-5-sonnet",
      choices: [{
        index: 0,
        message: { role: "assistant", content: "Hello! I'm doing well, thanks for asking. How are you doing today? Is there anything I can help you with?" },
        finish_reason: "stop",
        logprobs: null,
      }],
      usage: { prompt_tokens: 12, completion_tokens: 29, total_tokens: 41, prompt_tokens_details: { cached_tokens: 0, cache_creation_tokens: 0 } },
    });
  });

  test("tool use only: content null, arguments a JSON string", () => {
    const r = fromAnthropicResponse(body("anthropic-json-tool.1.json"), ctx);
    const m = r.choices[0]!.message;
    expect(m.content).toBeNull();
    expect(r.choices[0]!.finish_reason).toBe("tool_calls");
    expect(m.tool_calls!.length).toBe(1);
    expect(m.tool_calls![0]!.id).toBe("toolu_01Q9ExVZnzZj7E2QQYHYtNUa");
    expect(m.tool_calls![0]!.type).toBe("function");
    expect(m.tool_calls![0]!.function.name).toBe("json");
    expect(JSON.parse(m.tool_calls![0]!.function.arguments).elements).toHaveLength(4);
    expect(r.usage).toMatchObject({ prompt_tokens: 1151, completion_tokens: 87, total_tokens: 1238 });
  });

  test("text and a no-argument tool: both kept, arguments '{}'", () => {
    const m = fromAnthropicResponse(body("anthropic-tool-no-args.json"), ctx).choices[0]!.message;
    expect(m.content).toStartWith("<thinking>");
    expect(m.tool_calls).toEqual([{ id: "toolu_01LRmxn9vGM1d2DZSDBowdZ1", type: "function", function: { name: "updateIssueList", arguments: "{}" } }]);
  });

  test("refusal → content_filter, with Anthropic's explanation as the refusal", () => {
    const r = fromAnthropicResponse(body("anthropic-refusal.json"), ctx);
    expect(r.choices[0]!.finish_reason).toBe("content_filter");
    // content null beside the refusal, as OpenAI sends its own (regression: it was "").
    expect(r.choices[0]!.message.content).toBeNull();
    expect(r.choices[0]!.message.refusal).toContain("Usage Policy");
  });

  test("longer text response", () => {
    const r = fromAnthropicResponse(body("anthropic-clear-tool-uses.1.json"), ctx);
    expect(r.choices[0]!.message.content).toContain("| **Temperature** | 72°F | 65°F |");
    expect(r.usage!.total_tokens).toBe(859 + 132);
  });

  test("cache read and creation tokens count as prompt tokens; thinking comes back as reasoning with its signature", () => {
    const r = fromAnthropicResponse({
      type: "message", role: "assistant",
      content: [{ type: "thinking", thinking: "hmm", signature: "sig" }, { type: "text", text: "A" }, { type: "text", text: "B" }],
      stop_reason: "max_tokens",
      usage: { input_tokens: 5, cache_read_input_tokens: 100, cache_creation_input_tokens: 20, output_tokens: 7 },
    }, ctx);
    expect(r.choices[0]!.message.content).toBe("AB");
    expect(r.choices[0]!.message.reasoning_content).toBe("hmm");
    expect(r.choices[0]!.message.reasoning_details).toEqual([{ type: "reasoning.text", text: "hmm", signature: "sig", format: "anthropic-claude-v1", index: 0 }]);
    expect(r.choices[0]!.finish_reason).toBe("length");
    expect(r.usage).toEqual({ prompt_tokens: 125, completion_tokens: 7, total_tokens: 132, prompt_tokens_details: { cached_tokens: 100, cache_creation_tokens: 20 } });
  });

  test("a body that is not a message is a 502", () => {
    for (const bad of [null, "text", { type: "error", error: {} }, { type: "message", content: "x", usage: {} }, { type: "message", content: [] }]) {
      expect(() => fromAnthropicResponse(bad, ctx)).toThrow(GatewayError);
      try { fromAnthropicResponse(bad, ctx); } catch (e) { expect(statusOf(e)).toBe(502); }
    }
  });

  test("stop reason table", () => {
    expect(mapStopReason("end_turn", false)).toBe("stop");
    expect(mapStopReason("stop_sequence", false)).toBe("stop");
    expect(mapStopReason("max_tokens", true)).toBe("length");
    expect(mapStopReason("model_context_window_exceeded", false)).toBe("length");
    expect(mapStopReason("tool_use", true)).toBe("tool_calls");
    expect(mapStopReason("refusal", false)).toBe("content_filter");
    expect(mapStopReason("something_new", true)).toBe("tool_calls");
    expect(mapStopReason(null, false)).toBe("stop");
  });
});

describe("error mapping", () => {
  const body = (type: string, message: string) => JSON.stringify({ type: "error", error: { type, message }, request_id: "req_1" });
  const map = (status: number, type: string, message = "provider says", headers: Record<string, string> = {}) =>
    mapAnthropicError(status, body(type, message), new Headers(headers));

  test("invalid_request_error → 400 with the provider's message", () => {
    const g = map(400, "invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum");
    expect(statusOf(g)).toBe(400);
    expect(errorBody(g).error).toEqual({ message: "prompt is too long: 210000 tokens > 200000 maximum", type: "invalid_request_error", param: null, code: null });
    expect(g.retryable).toBe(false);
  });

  test("authentication and permission errors → 502 without the provider's message", () => {
    for (const [status, type] of [[401, "authentication_error"], [403, "permission_error"], [402, "billing_error"]] as const) {
      const g = map(status, type, "invalid x-api-key sk-ant-secret");
      expect(statusOf(g)).toBe(502);
      expect(JSON.stringify(errorBody(g))).not.toContain("sk-ant");
      expect(JSON.stringify(errorBody(g))).not.toContain("invalid x-api-key");
    }
    expect(statusOf(mapAnthropicError(401, "<html>nope</html>", new Headers()))).toBe(502);
  });

  test("not_found → 404; request_too_large → 413", () => {
    expect(statusOf(map(404, "not_found_error", "model: claude-nope"))).toBe(404);
    const big = map(413, "request_too_large", "Request exceeds the maximum allowed number of bytes.");
    expect(statusOf(big)).toBe(413);
    expect(errorBody(big).error.code).toBe("request_too_large");
  });

  test("rate_limit_error → 429, retryable, with the provider's Retry-After", () => {
    const g = map(429, "rate_limit_error", "Number of requests has exceeded your rate limit", { "retry-after": "17" });
    expect(statusOf(g)).toBe(429);
    expect(g.retryable).toBe(true);
    expect(g.init.retryAfter).toBe(17);
    expect(errorBody(g).error.type).toBe("rate_limit_error");
  });

  test("overloaded (529) and api_error (500) → 502 retryable; timeout_error → 504", () => {
    for (const [status, type] of [[529, "overloaded_error"], [500, "api_error"], [503, "something_else"]] as const) {
      const g = map(status, type);
      expect(statusOf(g)).toBe(502);
      expect(g.retryable).toBe(true);
    }
    expect(statusOf(map(504, "timeout_error"))).toBe(504);
  });

  test("unparseable bodies → 502", () => {
    expect(statusOf(mapAnthropicError(400, "not json", new Headers()))).toBe(502);
    expect(statusOf(mapAnthropicError(500, "", new Headers()))).toBe(502);
    expect(mapAnthropicError(500, "", new Headers()).retryable).toBe(true);
  });

  test("stream error events map by type", () => {
    expect(statusOf(mapAnthropicStreamError({ type: "error", error: { type: "invalid_request_error", message: "bad" } }))).toBe(400);
    expect(statusOf(mapAnthropicStreamError({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } }))).toBe(502);
    expect(statusOf(mapAnthropicStreamError({ type: "error", error: { type: "rate_limit_error", message: "slow" } }))).toBe(429);
    expect(statusOf(mapAnthropicStreamError({ type: "error" }))).toBe(502);
  });

  test("the translator throws the mapped error for an error event", () => {
    const tr = createAnthropicStreamTranslator(idn);
    const ev: AnthropicStreamEvent = { type: "error", error: { type: "api_error", message: "Internal server error" } };
    expect(() => tr.push(ev)).toThrow(GatewayError);
  });
});
