// Pure translation of OpenAI chat requests into Anthropic Messages API bodies: mapping, refusals, warnings.
import { describe, expect, test } from "bun:test";
import type { ChatRequest } from "../../../src/openai/schemas.ts";
import { GatewayError, statusOf } from "../../../src/openai/errors.ts";
import type { Deployment } from "../../../src/providers/types.ts";
import { rejectsSampling, toAnthropicRequest } from "../../../src/providers/anthropic/request.ts";

describe("request translation", () => {
  const d: Deployment = { provider: "claude", upstreamModel: "claude-3-5-sonnet-20241022", model: { id: "claude-3-5-sonnet", provider: "claude" } };
  const run = (req: Partial<ChatRequest> & Record<string, unknown>, dep: Deployment = d, version?: string) => {
    const warnings: string[] = [];
    const out = toAnthropicRequest({ model: "claude-3-5-sonnet", ...req } as ChatRequest, dep, (m) => warnings.push(m), { anthropicVersion: version });
    return { out, warnings };
  };
  const err = (fn: () => unknown) => {
    try { fn(); } catch (e) { return e as GatewayError; }
    throw new Error("expected a GatewayError");
  };

  test("system and developer messages go to `system`, in order; the rest keep theirs", () => {
    const { out } = run({ messages: [
      { role: "system", content: "Be brief." },
      { role: "user", content: "Hi" },
      { role: "developer", content: [{ type: "text", text: "Answer in French." }] },
      { role: "assistant", content: "Salut" },
    ] });
    expect(out.system).toEqual([{ type: "text", text: "Be brief." }, { type: "text", text: "Answer in French." }]);
    expect(out.messages).toEqual([
      { role: "user", content: [{ type: "text", text: "Hi" }] },
      { role: "assistant", content: [{ type: "text", text: "Salut" }] },
    ]);
    expect(out.model).toBe("claude-3-5-sonnet-20241022");
  });

  test("consecutive same-role messages merge into one turn", () => {
    const { out } = run({ messages: [
      { role: "user", content: "a" }, { role: "user", content: [{ type: "text", text: "b" }] },
      { role: "assistant", content: "c" }, { role: "assistant", content: "d" }, { role: "user", content: "e" },
    ] });
    expect(out.messages.map((m) => [m.role, m.content.length])).toEqual([["user", 2], ["assistant", 2], ["user", 1]]);
  });

  test("images: data URIs become base64 sources with their media type, https URLs url sources", () => {
    const { out, warnings } = run({ messages: [{ role: "user", content: [
      { type: "text", text: "What is this?" },
      { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
      { type: "image_url", image_url: { url: "https://example.com/cat.jpg", detail: "high" } },
    ] }] });
    expect(out.messages[0]!.content).toEqual([
      { type: "text", text: "What is this?" },
      { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
      { type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } },
    ]);
    expect(warnings).toEqual([]);
  });

  test("unsupported images are a 400 naming the part", () => {
    const e1 = err(() => run({ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "data:image/svg+xml;base64,PHN2Zz4=" } }] }] }));
    expect(statusOf(e1)).toBe(400);
    expect(e1.param).toBe("messages[0].content[0].image_url.url");
    const e2 = err(() => run({ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "data:image/png,rawbytes" } }] }] }));
    expect(e2.message).toContain("base64");
    expect(statusOf(err(() => run({ messages: [{ role: "system", content: [{ type: "image_url", image_url: { url: "https://x.y/z.png" } }] }] })))).toBe(400);
  });

  test("tool round trip: tool_calls → tool_use, tool messages → tool_result first in one user turn", () => {
    const { out } = run({
      messages: [
        { role: "user", content: "Weather in Paris and Tokyo?" },
        { role: "assistant", content: null, tool_calls: [
          { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
          { id: "call_2", type: "function", function: { name: "get_weather", arguments: "" } },
        ] },
        { role: "tool", tool_call_id: "call_1", content: "18C" },
        { role: "tool", tool_call_id: "call_2", content: [{ type: "text", text: "25C" }] },
        { role: "user", content: "Thanks" },
      ],
      tools: [{ type: "function", function: { name: "get_weather", description: "Weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }],
    });
    expect(out.messages).toEqual([
      { role: "user", content: [{ type: "text", text: "Weather in Paris and Tokyo?" }] },
      { role: "assistant", content: [
        { type: "tool_use", id: "call_1", name: "get_weather", input: { city: "Paris" } },
        { type: "tool_use", id: "call_2", name: "get_weather", input: {} },
      ] },
      { role: "user", content: [
        { type: "tool_result", tool_use_id: "call_1", content: "18C" },
        { type: "tool_result", tool_use_id: "call_2", content: [{ type: "text", text: "25C" }] },
        { type: "text", text: "Thanks" },
      ] },
    ]);
    expect(out.tools).toEqual([{ name: "get_weather", description: "Weather", input_schema: { type: "object", properties: { city: { type: "string" } } } }]);
  });

  test("tool_result blocks are moved before text a client put first in the same turn", () => {
    const { out } = run({ messages: [
      { role: "user", content: "q" },
      { role: "assistant", content: null, tool_calls: [{ id: "t1", type: "function", function: { name: "f", arguments: "{}" } }] },
      { role: "user", content: "also this" },
      { role: "tool", tool_call_id: "t1", content: "r" },
    ] });
    expect(out.messages[2]!.content.map((b) => b.type)).toEqual(["tool_result", "text"]);
  });

  test("invalid tool-call arguments are a 400 naming the field", () => {
    for (const args of ["{oops", "[1,2]", "42"]) {
      const e = err(() => run({ messages: [{ role: "assistant", content: null, tool_calls: [{ id: "x", type: "function", function: { name: "f", arguments: args } }] }] }));
      expect(statusOf(e)).toBe(400);
      expect(e.param).toBe("messages[0].tool_calls[0].function.arguments");
    }
  });

  test("tools without parameters get an empty object schema; strict passes through", () => {
    const { out } = run({ messages: [{ role: "user", content: "x" }], tools: [
      { type: "function", function: { name: "ping" } },
      { type: "function", function: { name: "typed", parameters: { properties: { a: { type: "number" } } }, strict: true } },
    ] });
    expect(out.tools).toEqual([
      { name: "ping", input_schema: { type: "object", properties: {} } },
      { name: "typed", input_schema: { type: "object", properties: { a: { type: "number" } } }, strict: true },
    ]);
  });

  test("tool_choice forms and parallel_tool_calls:false", () => {
    const tools = [{ type: "function" as const, function: { name: "f" } }];
    const choice = (tool_choice: ChatRequest["tool_choice"], parallel_tool_calls?: boolean) =>
      run({ messages: [{ role: "user", content: "x" }], tools, tool_choice, parallel_tool_calls }).out.tool_choice;
    expect(choice("none")).toEqual({ type: "none" });
    expect(choice("auto")).toEqual({ type: "auto" });
    expect(choice("required")).toEqual({ type: "any" });
    expect(choice({ type: "function", function: { name: "f" } })).toEqual({ type: "tool", name: "f" });
    expect(choice(undefined)).toBeUndefined();
    expect(choice("required", false)).toEqual({ type: "any", disable_parallel_tool_use: true });
    expect(choice(undefined, false)).toEqual({ type: "auto", disable_parallel_tool_use: true });
    // tool_choice "none" keeps the tools: a history with tool_use blocks needs their definitions.
    expect(run({ messages: [{ role: "user", content: "x" }], tools, tool_choice: "none" }).out.tools).toHaveLength(1);
    const noTools = run({ messages: [{ role: "user", content: "x" }], tool_choice: "auto" });
    expect(noTools.out.tool_choice).toBeUndefined();
    expect(noTools.warnings.join()).toContain("tool_choice");
  });

  test("stop → stop_sequences; user → metadata.user_id", () => {
    expect(run({ messages: [{ role: "user", content: "x" }], stop: "END" }).out.stop_sequences).toEqual(["END"]);
    expect(run({ messages: [{ role: "user", content: "x" }], stop: ["a", "b"] }).out.stop_sequences).toEqual(["a", "b"]);
    expect(run({ messages: [{ role: "user", content: "x" }], stop: null }).out.stop_sequences).toBeUndefined();
    expect(run({ messages: [{ role: "user", content: "x" }], user: "u-42" }).out.metadata).toEqual({ user_id: "u-42" });
  });

  test("max_tokens: max_completion_tokens, then max_tokens, then the model entry's default, then the per-model table", () => {
    const msgs = [{ role: "user" as const, content: "x" }];
    expect(run({ messages: msgs, max_completion_tokens: 50, max_tokens: 70 }).out.max_tokens).toBe(50);
    expect(run({ messages: msgs, max_tokens: 70 }).out.max_tokens).toBe(70);
    expect(run({ messages: msgs }, { ...d, model: { ...d.model, max_tokens: 8192 } }).out.max_tokens).toBe(8192);
    // The model's own output limit from the table (claude-3-5-sonnet: 8192), else 4096 for an id it cannot read.
    expect(run({ messages: msgs }).out.max_tokens).toBe(8192);
    expect(run({ messages: msgs }, { ...d, upstreamModel: "claude-opus-4-6" }).out.max_tokens).toBe(128000);
    expect(run({ messages: msgs }, { ...d, upstreamModel: "claude-sonnet-4-5-20250929" }).out.max_tokens).toBe(64000);
    expect(run({ messages: msgs }, { ...d, upstreamModel: "claude-opus-4-1" }).out.max_tokens).toBe(32000);
    expect(run({ messages: msgs }, { ...d, upstreamModel: "claude-3-haiku-20240307" }).out.max_tokens).toBe(4096);
    expect(run({ messages: msgs }, { ...d, upstreamModel: "my-finetune" }).out.max_tokens).toBe(4096);
  });

  test("temperature rule: 0–1 kept, above 1 clamped with a warning; top_p alone kept, beside temperature dropped", () => {
    const msgs = [{ role: "user" as const, content: "x" }];
    expect(run({ messages: msgs, temperature: 0.3 })).toEqual(expect.objectContaining({ warnings: [] }));
    expect(run({ messages: msgs, temperature: 0.3 }).out.temperature).toBe(0.3);
    const hot = run({ messages: msgs, temperature: 1.7 });
    expect(hot.out.temperature).toBe(1);
    expect(hot.warnings.join()).toContain("clamped");
    expect(run({ messages: msgs, top_p: 0.9 }).out.top_p).toBe(0.9);
    const both = run({ messages: msgs, temperature: 0.5, top_p: 0.9 });
    expect([both.out.temperature, both.out.top_p]).toEqual([0.5, undefined]);
    expect(both.warnings.join()).toContain("top_p");
  });

  test("sampling is dropped with a warning for newer API versions and for models that reject it", () => {
    const msgs = [{ role: "user" as const, content: "x" }];
    const v2 = run({ messages: msgs, temperature: 0.2, top_p: 0.5 }, d, "2026-10-21");
    expect([v2.out.temperature, v2.out.top_p]).toEqual([undefined, undefined]);
    expect(v2.warnings.join()).toContain("2026-10-21");
    const opus = run({ messages: msgs, temperature: 0.2 }, { ...d, upstreamModel: "claude-opus-4-7" });
    expect(opus.out.temperature).toBeUndefined();
    expect(opus.warnings.join()).toContain("claude-opus-4-7");
    expect(rejectsSampling("claude-opus-4-7")).toBe(true);
    expect(rejectsSampling("claude-sonnet-5")).toBe(true);
    expect(rejectsSampling("anthropic.claude-fable-5-20260101-v1:0")).toBe(true);
    expect(rejectsSampling("claude-opus-4-20250514")).toBe(false);
    expect(rejectsSampling("claude-sonnet-4-5-20250929")).toBe(false);
    expect(rejectsSampling("claude-3-5-sonnet-20241022")).toBe(false);
    expect(rejectsSampling("claude-3-7-sonnet-latest")).toBe(false);
  });

  test("n > 1 is a 400; unsupported and unknown fields are dropped with a warning each", () => {
    expect(err(() => run({ messages: [{ role: "user", content: "x" }], n: 2 })).param).toBe("n");
    const { out, warnings } = run({ messages: [{ role: "user", content: "x" }], n: 1, seed: 7, presence_penalty: 0.5, response_format: { type: "text" }, logit_bias: null, my_field: true });
    expect(Object.keys(out).sort()).toEqual(["max_tokens", "messages", "model"]);
    expect(warnings.length).toBe(3);
    expect(warnings.join()).toContain("my_field");
  });

  test("a conversation without user or assistant messages is a 400", () => {
    expect(statusOf(err(() => run({ messages: [{ role: "system", content: "x" }] })))).toBe(400);
  });

  test("a tool message without tool_call_id is a 400", () => {
    expect(err(() => run({ messages: [{ role: "tool", content: "x" }] })).param).toBe("messages[0].tool_call_id");
  });
});
