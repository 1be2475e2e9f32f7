// A chat completion as an Anthropic message; the error mapping; the sealer.
import { describe, expect, test } from "bun:test";
import { fromChatCompletion, toolInput, type AnswerContext } from "../../../src/protocols/messages/from-chat.ts";
import { toAnthropicErrorResponse } from "../../../src/protocols/messages/errors.ts";
import { SEAL_PREFIX, THINKING_PURPOSE, thinkingSealer } from "../../../src/protocols/messages/seal.ts";
import { createSealer as sharedSealer } from "../../../src/protocols/shared/seal.ts";

const createSealer = (secret: string) => thinkingSealer(sharedSealer(secret, THINKING_PURPOSE));
import { GatewayError, invalidRequest, modelNotAllowed, modelNotFound, rateLimited, unauthorized, upstreamFailed, upstreamTimeout } from "../../../src/openai/errors.ts";
import { mapAnthropicError } from "../../../src/providers/anthropic/errors.ts";
import type { ChatCompletion } from "../../../src/openai/schemas.ts";
import { plainSealer } from "./helpers.ts";

const ctx = (over: Partial<AnswerContext> = {}): AnswerContext => ({ requestId: "req-9", publicModel: "pub", provider: "goog", sealer: plainSealer, thinking: true, ...over });
const completion = (message: Record<string, unknown>, finish: string, usage?: Record<string, unknown>): ChatCompletion =>
  ({ id: "chatcmpl-x", object: "chat.completion", created: 1, model: "up", choices: [{ index: 0, message: { role: "assistant", ...message }, finish_reason: finish }], usage }) as ChatCompletion;

describe("chat completion → message", () => {
  test("text, usage with cached input apart, end_turn", () => {
    const m = fromChatCompletion(completion({ content: "Hi there" }, "stop", { prompt_tokens: 120, completion_tokens: 8, total_tokens: 128, prompt_tokens_details: { cached_tokens: 100 } }), ctx());
    expect(m).toEqual({
      id: "msg_req-9",
      type: "message",
      role: "assistant",
      model: "pub",
      content: [{ type: "text", text: "Hi there" }],
      stop_reason: "end_turn",
      stop_sequence: null,
      usage: { input_tokens: 20, output_tokens: 8, cache_creation_input_tokens: 0, cache_read_input_tokens: 100 },
    });
  });

  test("tool calls: tool_use blocks, input objects (empty → {}), stop_reason tool_use even when the provider said stop", () => {
    const m = fromChatCompletion(
      completion(
        {
          content: null,
          tool_calls: [
            { id: "call_1", type: "function", function: { name: "a", arguments: '{"x":1}' } },
            { id: "call_2", type: "function", function: { name: "b", arguments: "" } },
          ],
        },
        "stop",
      ),
      ctx(),
    );
    expect(m.content).toEqual([
      { type: "tool_use", id: "call_1", name: "a", input: { x: 1 } },
      { type: "tool_use", id: "call_2", name: "b", input: {} },
    ]);
    expect(m.stop_reason).toBe("tool_use");
    expect(toolInput('{"cut')).toEqual({ _raw_arguments: '{"cut' });
  });

  test("reasoning → one thinking block first, its signature sealing Gemini's thought signatures; none unless asked", () => {
    const msg = {
      content: null,
      reasoning_content: "Thinking about Paris.",
      tool_calls: [{ id: "call_1", type: "function", function: { name: "w", arguments: "{}" }, extra_content: { google: { thought_signature: "sig-1" } } }],
    };
    const m = fromChatCompletion(completion(msg, "tool_calls"), ctx());
    expect(m.content.map((b) => b.type)).toEqual(["thinking", "tool_use"]);
    const t = m.content[0] as { thinking: string; signature: string };
    expect(t.thinking).toBe("Thinking about Paris.");
    expect(plainSealer.open(t.signature)).toEqual({ provider: "goog", toolSignatures: { call_1: "sig-1" } });
    expect(fromChatCompletion(completion(msg, "tool_calls"), ctx({ thinking: false })).content.map((b) => b.type)).toEqual(["tool_use"]);
  });

  test("length → max_tokens; content_filter and refusals → refusal", () => {
    expect(fromChatCompletion(completion({ content: "Once" }, "length"), ctx()).stop_reason).toBe("max_tokens");
    expect(fromChatCompletion(completion({ content: null }, "content_filter"), ctx()).stop_reason).toBe("refusal");
    const r = fromChatCompletion(completion({ content: null, refusal: "I can't." }, "stop"), ctx());
    expect(r).toMatchObject({ stop_reason: "refusal", content: [{ type: "text", text: "I can't." }] });
  });
});

async function answer(err: unknown) {
  const res = toAnthropicErrorResponse(err);
  return { status: res.status, headers: Object.fromEntries(res.headers), body: (await res.json()) as { type: string; error: { type: string; message: string } } };
}

describe("errors in Anthropic's dialect", () => {
  test.each([
    [invalidRequest("bad", "x"), 400, "invalid_request_error"],
    [unauthorized(), 401, "authentication_error"],
    [modelNotAllowed("m"), 403, "permission_error"],
    [modelNotFound("m"), 404, "not_found_error"],
    [new GatewayError("request_too_large", "big"), 413, "request_too_large"],
    [upstreamFailed("down"), 502, "api_error"],
    [upstreamTimeout(1000), 504, "timeout_error"],
    [new GatewayError("internal", "bug"), 500, "api_error"],
    [new Error("raw"), 500, "api_error"],
  ])("%s → %i %s", async (err, status, type) => {
    const a = await answer(err);
    expect(a.status).toBe(status);
    expect(a.body.type).toBe("error");
    expect(a.body.error.type).toBe(type);
  });

  test("a rate limit carries retry-after; a budget refusal says x-should-retry: false and no retry-after", async () => {
    const rl = await answer(rateLimited("slow down", 7, { "x-ratelimit-limit-requests": "5" }));
    expect(rl.status).toBe(429);
    expect(rl.headers["retry-after"]).toBe("7");
    expect(rl.headers["x-ratelimit-limit-requests"]).toBe("5");
    const budget = await answer(new GatewayError("budget_exceeded", "The key's budget is spent.", { retryAfter: 86400 }));
    expect(budget.status).toBe(429);
    expect(budget.body.error.type).toBe("rate_limit_error");
    expect(budget.headers["x-should-retry"]).toBe("false");
    expect(budget.headers["retry-after"]).toBeUndefined();
  });

  test("Anthropic's own answers keep their meaning: overload → 529, 404 → not_found_error, 429 with its retry-after", async () => {
    const body = (type: string) => JSON.stringify({ type: "error", error: { type, message: `it is ${type}` } });
    const overload = await answer(mapAnthropicError(529, body("overloaded_error"), new Headers()));
    expect([overload.status, overload.body.error.type]).toEqual([529, "overloaded_error"]);
    const missing = await answer(mapAnthropicError(404, body("not_found_error"), new Headers()));
    expect([missing.status, missing.body.error.type, missing.body.error.message]).toEqual([404, "not_found_error", "it is not_found_error"]);
    const limited = await answer(mapAnthropicError(429, body("rate_limit_error"), new Headers({ "retry-after": "12" })));
    expect([limited.status, limited.body.error.type, limited.headers["retry-after"]]).toEqual([429, "rate_limit_error", "12"]);
  });
});

describe("the sealer", () => {
  const a = createSealer("a-server-secret-of-enough-length");
  test("round trip; the same secret opens it on another instance", () => {
    const s = a.seal({ provider: "goog", toolSignatures: { c: "sig" } });
    expect(s.startsWith(SEAL_PREFIX)).toBe(true);
    expect(createSealer("a-server-secret-of-enough-length").open(s)).toEqual({ provider: "goog", toolSignatures: { c: "sig" } });
  });

  test("another secret, an altered byte, or a Claude signature opens to nothing", () => {
    const s = a.seal({ provider: "p", details: [{ type: "reasoning.text", text: "t" }] });
    expect(createSealer("another-secret-of-enough-length!").open(s)).toBeUndefined();
    const body = Buffer.from(s.slice(SEAL_PREFIX.length), "base64url");
    body[20] = body[20]! ^ 1;
    expect(a.open(SEAL_PREFIX + body.toString("base64url"))).toBeUndefined();
    expect(a.open("EvQBCkYICxgCKkAxhD4NUKFzudtZ6NzbZdEiBACIScTzqjPViM5")).toBeUndefined();
  });

  test("what it seals cannot be read from the signature", () => {
    const s = a.seal({ provider: "my-gemini", toolSignatures: { call_1: "thought-signature-bytes" } });
    expect(s).not.toContain("my-gemini");
    expect(Buffer.from(s.slice(SEAL_PREFIX.length), "base64url").toString("latin1")).not.toContain("thought");
  });

  test("a short secret is refused at start", () => {
    expect(() => createSealer("short")).toThrow();
  });
});
