// The chat-chunk → Anthropic-event translator, replayed over recorded provider streams (golden files) and checked for the contract.
import { describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createMessagesStreamTranslator, type AnthropicEvent, type StreamContext } from "../../../src/protocols/messages/stream.ts";
import { pipeChatToMessages } from "../../../src/protocols/messages/sse.ts";
import { GatewayError } from "../../../src/openai/errors.ts";
import { expectValidMessageStream, parseAnthropicSse, type Event } from "./invariants.ts";
import { fixturesDir, jsonLines, plainSealer } from "./helpers.ts";

const ctx = (over: Partial<StreamContext> = {}): StreamContext => ({
  requestId: "req1",
  publicModel: "public-model",
  provider: "prov",
  sealer: plainSealer,
  thinking: true,
  inputTokens: 42,
  ...over,
});

function run(chunks: unknown[], c = ctx()): AnthropicEvent[] {
  const t = createMessagesStreamTranslator(c);
  const out: AnthropicEvent[] = [];
  for (const chunk of chunks) out.push(...t.push(chunk));
  out.push(...t.end());
  return out;
}

// Inputs: the chat chunks each provider's translator makes of a recorded stream (their own golden files), and a
// few of our own where no recording shows the case. Outputs: tests/fixtures/messages/<case>.events.jsonl.
const CASES: Record<string, string> = {
  "anthropic-text": "anthropic/anthropic-text.expected.jsonl",
  "anthropic-thinking": "anthropic/anthropic-thinking.expected.jsonl",
  "anthropic-several-tools": "anthropic/anthropic-several-tools.expected.jsonl",
  "anthropic-tool-no-args": "anthropic/anthropic-tool-no-args.expected.jsonl",
  "anthropic-max-tokens": "anthropic/anthropic-max-tokens.expected.jsonl",
  "anthropic-refusal": "anthropic/anthropic-refusal.expected.jsonl",
  "gemini-thinking": "gemini/gemini-thinking.expected.jsonl",
  "google-tool-call": "gemini/google-tool-call.expected.jsonl",
  "gemini-parallel-calls": "gemini/gemini-parallel-calls.expected.jsonl",
  "gemini-safety": "gemini/gemini-safety.expected.jsonl",
  "openai-text": "openai/openai-text.chunks.txt",
  "openai-tool-empty-args": "messages/openai-tool-empty-args.chunks.jsonl",
  "openai-parallel-tools": "messages/openai-parallel-tools.chunks.jsonl",
  "openai-reasoning-interleaved": "messages/openai-reasoning-interleaved.chunks.jsonl",
  "openai-refusal": "messages/openai-refusal.chunks.jsonl",
};

describe("recorded streams → Anthropic events", () => {
  for (const [name, input] of Object.entries(CASES)) {
    test(name, () => {
      const events = run(jsonLines(input));
      expectValidMessageStream(events as Event[], { model: "public-model", inputTokens: 42 });
      const golden = join(fixturesDir, "messages", `${name}.events.jsonl`);
      // Golden files are written only on request (and then read by eye); a missing one fails.
      if (process.env.UPDATE_GOLDEN === "1") writeFileSync(golden, events.map((e) => JSON.stringify(e)).join("\n") + "\n");
      expect(existsSync(golden)).toBe(true);
      expect(events).toEqual(jsonLines(`messages/${name}.events.jsonl`) as AnthropicEvent[]);
    });
  }
});

const blocks = (events: AnthropicEvent[]) => expectValidMessageStream(events as Event[]).content as Record<string, unknown>[];

describe("what the events say", () => {
  test("usage: message_start carries the gateway's count, message_delta the provider's (cache reads apart)", () => {
    const events = run(jsonLines("anthropic/anthropic-several-tools.expected.jsonl"));
    expect((events[0]!.message as { usage: unknown }).usage).toEqual({ input_tokens: 42, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
    const delta = events[events.length - 2]!;
    expect(delta.usage).toEqual({ input_tokens: 410, output_tokens: 96, cache_creation_input_tokens: 0, cache_read_input_tokens: 1200 });
    expect((delta.delta as { stop_reason: string }).stop_reason).toBe("tool_use");
  });

  test("tool calls become tool_use blocks with their ids, dense block indexes and JSON input; no-argument calls are {}", () => {
    const b = blocks(run(jsonLines("anthropic/anthropic-several-tools.expected.jsonl")));
    expect(b.map((x) => x.type)).toEqual(["text", "tool_use", "tool_use", "tool_use"]);
    expect(b[1]).toMatchObject({ id: "toolu_01AaaParisWeather000000", name: "get_weather", input: { city: "Paris" } });
    expect(b[3]).toMatchObject({ name: "get_time", input: {} });
    const empty = run(jsonLines("messages/openai-tool-empty-args.chunks.jsonl"));
    const deltas = empty.filter((e) => e.type === "content_block_delta").map((e) => e.delta);
    expect(deltas).toEqual([{ type: "input_json_delta", partial_json: "{}" }]);
  });

  test("reasoning after text opens a new thinking block: never a thinking_delta inside a text block", () => {
    const b = blocks(run(jsonLines("messages/openai-reasoning-interleaved.chunks.jsonl")));
    expect(b.map((x) => x.type)).toEqual(["thinking", "text", "thinking", "text"]);
    expect(b.map((x) => x.thinking ?? x.text)).toEqual(["First, think.", "Answer one.", "Reconsider.", " Answer two."]);
  });

  test("Gemini's thought signature is sealed into a trailing thinking block, for this provider only", () => {
    const b = blocks(run(jsonLines("gemini/google-tool-call.expected.jsonl")));
    expect(b.map((x) => x.type)).toEqual(["tool_use", "thinking"]);
    const sealed = plainSealer.open(String(b[1]!.signature))!;
    expect(sealed.provider).toBe("prov");
    expect(Object.keys(sealed.toolSignatures!)).toEqual(["call_req1_0"]);
    expect(sealed.toolSignatures!.call_req1_0).toStartWith("EqUCCqICAb4+");
  });

  test("Claude's signed thinking (reasoning_details) is sealed whole into the thinking block's signature", () => {
    const b = blocks(run(jsonLines("anthropic/anthropic-thinking.expected.jsonl")));
    const thinking = b.filter((x) => x.type === "thinking");
    const details = thinking.flatMap((x) => plainSealer.open(String(x.signature))?.details ?? []) as { signature?: string }[];
    expect(details.length).toBe(1);
    expect(details[0]!.signature).toStartWith("EvQBCkYICxgCKkAx");
  });

  test("without thinking asked for, reasoning is not sent", () => {
    const events = run(jsonLines("gemini/gemini-thinking.expected.jsonl"), ctx({ thinking: false }));
    expect(blocks(events).map((x) => x.type)).toEqual(["text"]);
    const tool = run(jsonLines("gemini/google-tool-call.expected.jsonl"), ctx({ thinking: false }));
    expect(blocks(tool).map((x) => x.type)).toEqual(["tool_use"]);
  });

  test("stop reasons: length → max_tokens, content_filter and refusals → refusal", () => {
    const stop = (f: string) => ((run(jsonLines(f)).at(-2)!.delta as { stop_reason: string }).stop_reason);
    expect(stop("anthropic/anthropic-max-tokens.expected.jsonl")).toBe("max_tokens");
    expect(stop("gemini/gemini-safety.expected.jsonl")).toBe("refusal");
    expect(stop("messages/openai-refusal.chunks.jsonl")).toBe("refusal");
    expect(stop("openai/openai-text.chunks.txt")).toBe("end_turn");
  });

  test("interleaved tool-call fragments are refused, never joined into broken JSON", () => {
    const t = createMessagesStreamTranslator(ctx());
    const chunks = jsonLines("messages/openai-interleaved-tools.chunks.jsonl");
    expect(() => chunks.forEach((c) => t.push(c))).toThrow(GatewayError);
  });
});

const sse = (lines: string[]) =>
  new ReadableStream<Uint8Array>({
    start(c) {
      for (const l of lines) c.enqueue(new TextEncoder().encode(l));
      c.close();
    },
  });

describe("the chat SSE piped into Anthropic's", () => {
  const chunks = jsonLines("gemini/google-text.expected.jsonl");
  const body = chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`);

  test("a complete stream ends message_delta, message_stop; each event named as its type", async () => {
    let ended: unknown = "not yet";
    const out = await new Response(pipeChatToMessages(sse([...body, "data: [DONE]\n\n"]), createMessagesStreamTranslator(ctx()), { onEnd: (f) => (ended = f) })).text();
    const events = parseAnthropicSse(out);
    expectValidMessageStream(events, { model: "public-model" });
    expect(ended).toBeUndefined();
  });

  test("an error event after the first byte becomes event: error with Anthropic's error object", async () => {
    const failed = [...body.slice(0, 2), `data: ${JSON.stringify({ error: { message: "Gemini is overloaded", type: "upstream_error", param: null, code: null } })}\n\n`];
    let ended: GatewayError | undefined;
    const out = await new Response(pipeChatToMessages(sse(failed), createMessagesStreamTranslator(ctx()), { onEnd: (f) => (ended = f) })).text();
    const events = parseAnthropicSse(out);
    expect(events[0]!.type).toBe("message_start");
    expect(events.at(-1)).toEqual({ type: "error", error: { type: "api_error", message: "Gemini is overloaded" } });
    expect(events.some((e) => e.type === "message_stop")).toBe(false);
    expect(ended?.kind).toBe("upstream_failed");
  });

  test("a stream that stops without [DONE] is a failure, not a made-up end", async () => {
    const out = await new Response(pipeChatToMessages(sse(body.slice(0, 3)), createMessagesStreamTranslator(ctx()))).text();
    const events = parseAnthropicSse(out);
    expect(events.at(-1)!.type).toBe("error");
    expect(events.some((e) => e.type === "message_delta")).toBe(false);
  });

  test("a rate-limit error event keeps its meaning", async () => {
    const out = await new Response(pipeChatToMessages(sse([`data: ${JSON.stringify({ error: { message: "slow down", type: "rate_limit_error" } })}\n\n`]), createMessagesStreamTranslator(ctx()))).text();
    expect(parseAnthropicSse(out)).toEqual([{ type: "error", error: { type: "rate_limit_error", message: "slow down" } }]);
  });

  test("the client leaving cancels the provider's stream", async () => {
    let cancelled = false;
    const upstream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode(body[0]!));
      },
      cancel() {
        cancelled = true;
      },
    });
    let ended: GatewayError | undefined;
    const reader = pipeChatToMessages(upstream, createMessagesStreamTranslator(ctx()), { onEnd: (f) => (ended = f) }).getReader();
    await reader.read();
    await reader.cancel();
    expect(cancelled).toBe(true);
    expect(ended?.kind).toBe("client_closed");
  });
});

test("thinking display omitted: blocks still come, signed, without their text", () => {
  const events = run(jsonLines("gemini/gemini-thinking.expected.jsonl"), ctx({ omitThinkingText: true }));
  const b = blocks(events);
  expect(b.map((x) => x.type)).toEqual(["thinking", "text"]);
  expect(b[0]!.thinking).toBe("");
  expect(String(b[0]!.signature)).toStartWith("sb1.");
});
