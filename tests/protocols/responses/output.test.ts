// Chat chunks of recorded provider streams → Responses events, against reviewed expectations and the stream invariants.
import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ChatCompletion, ChatCompletionChunk } from "../../../src/openai/schemas.ts";
import { createOutputBuilder, type OutputContext } from "../../../src/protocols/responses/output.ts";
import { completionToResponse } from "../../../src/protocols/responses/from-chat.ts";
import { parseResponsesRequest } from "../../../src/protocols/responses/validate.ts";
import type { ReasoningState } from "../../../src/protocols/responses/reasoning-state.ts";
import { STATE } from "../../../src/protocols/responses/reasoning-state.ts";
import { recordedEvents } from "../../support/fixtures.ts";
import { checkResponseEvents } from "../../support/responses-invariants.ts";

const KEY = "0123456789abcdef0123456789abcdef";
const FIXTURES = join(import.meta.dir, "..", "..", "fixtures", "responses");

/** A seal whose output is readable, so expectations show exactly what was sealed (the real one is tested in seal.test.ts). */
const visibleSeal = (s: ReasoningState) => `sealed:${JSON.stringify(s)}`;

function ctx(over: Omit<Partial<OutputContext>, "request"> & { request?: Record<string, unknown> } = {}): OutputContext {
  const { request: body, ...rest } = over;
  const request = parseResponsesRequest({ model: "pub-model", input: "hi", ...body });
  return { key: KEY, publicModel: "pub-model", createdAt: 1700000000, names: new Map(), summary: false, keepState: false, ...rest, request };
}

function run(chunks: ChatCompletionChunk[], c: OutputContext) {
  const b = createOutputBuilder(c);
  const events = [...b.start()];
  for (const ch of chunks) events.push(...b.push(ch));
  const end = b.end();
  events.push(...end.events, end.final);
  return { events, result: end.result };
}

/** A stream's chunks folded into the completion a JSON call would have returned. */
function fold(chunks: ChatCompletionChunk[]): ChatCompletion {
  const first = chunks[0]!;
  const msg: ChatCompletion["choices"][number]["message"] = { role: "assistant", content: null };
  const calls: { id: string; type: "function"; function: { name: string; arguments: string } }[] = [];
  let finish: ChatCompletion["choices"][number]["finish_reason"] = null;
  let usage;
  for (const ch of chunks) {
    if (ch.usage) usage = ch.usage;
    for (const c of ch.choices) {
      const d = c.delta;
      if (d.content) msg.content = (msg.content ?? "") + d.content;
      if (d.refusal) msg.refusal = (msg.refusal ?? "") + d.refusal;
      if (d.reasoning_content) msg.reasoning_content = (msg.reasoning_content ?? "") + d.reasoning_content;
      if (d.reasoning_details) msg.reasoning_details = [...(msg.reasoning_details ?? []), ...d.reasoning_details];
      for (const tc of d.tool_calls ?? []) {
        const at = calls[tc.index] ?? (calls[tc.index] = { ...(tc as object), id: tc.id!, type: "function", function: { name: tc.function!.name!, arguments: "" } } as never);
        at.function.arguments += tc.function?.arguments ?? "";
      }
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  if (calls.length) msg.tool_calls = calls;
  return { id: first.id, object: "chat.completion", created: first.created, model: first.model, choices: [{ index: 0, message: msg, finish_reason: finish }], usage };
}

interface Case {
  name: string;
  source: [string, string];
  context: Omit<Partial<OutputContext>, "request">;
}
const CASES: Case[] = [
  { name: "anthropic-text", source: ["anthropic", "anthropic-text.expected.jsonl"], context: {} },
  { name: "anthropic-thinking-summary-sealed", source: ["anthropic", "anthropic-thinking.expected.jsonl"], context: { summary: true, seal: visibleSeal, keepState: true } },
  { name: "anthropic-thinking-plain", source: ["anthropic", "anthropic-thinking.expected.jsonl"], context: {} },
  { name: "anthropic-text-then-tool", source: ["anthropic", "anthropic-text-then-tool.expected.jsonl"], context: {} },
  { name: "anthropic-several-tools", source: ["anthropic", "anthropic-several-tools.expected.jsonl"], context: {} },
  { name: "anthropic-max-tokens", source: ["anthropic", "anthropic-max-tokens.expected.jsonl"], context: {} },
  { name: "anthropic-refusal", source: ["anthropic", "anthropic-refusal.expected.jsonl"], context: {} },
  { name: "gemini-thinking-summary", source: ["gemini", "gemini-thinking.expected.jsonl"], context: { summary: true } },
  { name: "google-tool-call-sealed", source: ["gemini", "google-tool-call.expected.jsonl"], context: { seal: visibleSeal, keepState: true } },
  { name: "google-tool-call-stateless", source: ["gemini", "google-tool-call.expected.jsonl"], context: {} },
  { name: "gemini-parallel-calls", source: ["gemini", "gemini-parallel-calls.expected.jsonl"], context: { keepState: true } },
  { name: "openai-text", source: ["openai", "openai-text.chunks.txt"], context: {} },
];

describe("chat chunks → Responses events (recorded provider streams)", () => {
  for (const c of CASES) {
    test(c.name, () => {
      const chunks = recordedEvents(...c.source) as unknown as ChatCompletionChunk[];
      const { events, result } = run(chunks, ctx(c.context));
      const final = checkResponseEvents(events);
      expect(final).toEqual(result.response as unknown as Record<string, unknown>);
      const file = join(FIXTURES, `${c.name}.events.jsonl`);
      const text = events.map((e) => JSON.stringify(e)).join("\n") + "\n";
      if (process.env.UPDATE_FIXTURES === "1") writeFileSync(file, text);
      expect(text).toBe(readFileSync(file, "utf8"));
      // The JSON answer of the same completion is the stream's final response, item for item.
      const json = completionToResponse(fold(chunks), ctx(c.context));
      expect(json.response).toEqual(result.response);
      expect(json.stored).toEqual(result.stored);
    });
  }
});

describe("output details", () => {
  const chunk = (delta: object, finish: string | null = null, usage?: object): ChatCompletionChunk =>
    ({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: usage ? [] : [{ index: 0, delta, finish_reason: finish }], ...(usage ? { usage } : {}) }) as ChatCompletionChunk;

  test("tool arguments sent whole still stream as one function_call_arguments.delta", () => {
    const { events } = run([chunk({ tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "f", arguments: '{"a":1}' } }] }), chunk({}, "tool_calls")], ctx());
    const deltas = events.filter((e) => e.type === "response.function_call_arguments.delta");
    expect(deltas.map((d) => d.delta)).toEqual(['{"a":1}']);
  });

  test("a namespaced tool's call comes back addressed as declared", () => {
    const names = new Map([["crm__lookup", { name: "lookup", namespace: "crm" }]]);
    const { result } = run([chunk({ tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "crm__lookup", arguments: "{}" } }] }), chunk({}, "tool_calls")], ctx({ names }));
    expect(result.response.output[0]).toMatchObject({ type: "function_call", name: "lookup", namespace: "crm", call_id: "call_1" });
  });

  test("stored items keep the provider state; the client's do not", () => {
    const details = [{ type: "reasoning.text", text: "t", signature: "SIG", format: "anthropic-claude-v1", index: 0 }];
    const { result } = run([chunk({ reasoning_content: "t" }), chunk({ reasoning_details: details }), chunk({ content: "x" }), chunk({}, "stop")], ctx({ keepState: true }));
    expect(STATE in result.response.output[0]!).toBe(false);
    expect((result.stored[0] as unknown as Record<string, unknown>)[STATE]).toEqual({ details: [{ type: "reasoning.text", text: "t", signature: "SIG", format: "anthropic-claude-v1" }] });
    expect(result.response.output[0]).toEqual({ id: `rs_sb${KEY}_0`, type: "reasoning", summary: [] });
  });

  test("an empty answer is a message with empty text", () => {
    const { events, result } = run([chunk({ role: "assistant", content: "" }), chunk({}, "stop")], ctx());
    checkResponseEvents(events);
    expect(result.response.output).toEqual([{ id: `msg_sb${KEY}_0`, type: "message", status: "completed", content: [{ type: "output_text", annotations: [], logprobs: [], text: "" }], role: "assistant" }]);
  });

  test("a failure after the first byte closes the open item and ends with response.failed", () => {
    const b = createOutputBuilder(ctx());
    const events = [...b.start(), ...b.push(chunk({ content: "Hel" })), ...b.fail("server_error", "The provider stream failed.")];
    const final = checkResponseEvents(events);
    expect(final.status).toBe("failed");
    expect(final.error).toEqual({ code: "server_error", message: "The provider stream failed." });
    expect((final.output as { status: string }[])[0]!.status).toBe("incomplete");
  });

  test("usage maps to input/output tokens with their details", () => {
    const usage = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15, prompt_tokens_details: { cached_tokens: 4 }, completion_tokens_details: { reasoning_tokens: 2 } };
    const { result } = run([chunk({ content: "x" }), chunk({}, "stop"), chunk({}, null, usage)], ctx());
    expect(result.response.usage).toEqual({ input_tokens: 10, input_tokens_details: { cached_tokens: 4 }, output_tokens: 5, output_tokens_details: { reasoning_tokens: 2 }, total_tokens: 15 });
  });

  test("the response echoes the request's settings", () => {
    const c = ctx({ request: { instructions: "be brief", temperature: 0.3, max_output_tokens: 100, metadata: { a: "b" }, store: false, tool_choice: "none", tools: [{ type: "function", name: "f", parameters: {} }] } });
    const { result } = run([chunk({ content: "x" }), chunk({}, "stop")], c);
    expect(result.response).toMatchObject({ instructions: "be brief", temperature: 0.3, max_output_tokens: 100, metadata: { a: "b" }, store: false, tool_choice: "none", model: "pub-model", status: "completed" });
    expect(result.response.tools).toEqual([{ type: "function", name: "f", parameters: {} }]);
  });
});
