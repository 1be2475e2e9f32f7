// Messages request validation and its translation to the chat request each kind of provider gets.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseCountTokensRequest, parseMessagesRequest } from "../../../src/protocols/messages/validate.ts";
import { toChatRequest, effortOfBudget } from "../../../src/protocols/messages/to-chat.ts";
import type { TargetProfile } from "../../../src/protocols/messages/target.ts";
import { countTokensLocally } from "../../../src/protocols/messages/count.ts";
import { thrown } from "../../support/fixtures.ts";
import { fixturesDir, plainSealer } from "./helpers.ts";

const claudeCode = () => JSON.parse(readFileSync(join(fixturesDir, "messages", "claude-code-request.json"), "utf8")) as Record<string, unknown>;
const OPENAI: TargetProfile = { provider: "oai", kind: "openai", upstreamModel: "gpt-4o" };
const O3: TargetProfile = { provider: "oai", kind: "openai", upstreamModel: "o3-mini" };
const GEMINI: TargetProfile = { provider: "goog", kind: "gemini", upstreamModel: "gemini-2.5-flash" };
const CLAUDE: TargetProfile = { provider: "claude", kind: "anthropic", upstreamModel: "claude-sonnet-4-5" };

function translate(body: Record<string, unknown>, target: TargetProfile) {
  const warnings: { message: string; param?: string }[] = [];
  const chat = toChatRequest(parseMessagesRequest(body), { target, warn: (message, param) => void warnings.push({ message, param }), sealer: plainSealer });
  return { chat, warnings, params: warnings.map((w) => w.param).filter((p) => p !== undefined) };
}
const base = (over: Record<string, unknown> = {}) => ({ model: "m", max_tokens: 100, messages: [{ role: "user", content: "hi" }], ...over });

describe("validation", () => {
  test("Claude Code's request passes, unknown fields kept", () => {
    const req = parseMessagesRequest(claudeCode());
    expect((req as Record<string, unknown>).context_management).toBeDefined();
    expect((req.tools![1] as Record<string, unknown>).defer_loading).toBe(true);
  });

  test.each([
    [{ max_tokens: undefined }, "max_tokens", "max_tokens: Field required"],
    [{ max_tokens: "5" }, "max_tokens", "max_tokens: Expected integer"],
    [{ messages: [] }, "messages", "messages: Expected array length to be greater or equal to 1"],
    [{ messages: [{ role: "tool", content: "x" }] }, "messages.0.role", undefined],
    [{ messages: [{ role: "user", content: [{ type: "text" }] }] }, "messages.0.content.0.text", "messages.0.content.0.text: Field required"],
    [{ messages: [{ role: "user", content: [{ type: "image", source: { type: "base64", media_type: "image/png" } }] }] }, "messages.0.content.0.source.data", undefined],
    [{ thinking: { type: "enabled", budget_tokens: 100 } }, "thinking.budget_tokens", undefined],
    [{ tool_choice: { type: "tool" } }, "tool_choice.name", undefined],
    [{ tools: [{ name: "t" }] }, "tools.0.input_schema", undefined],
    [{ messages: [{ role: "user", content: [{ type: "tool_use", id: "a", name: "b", input: {} }] }] }, "messages.0.content.0", undefined],
    [{ temperature: 1.5 }, "temperature", undefined],
  ])("%j → 400 naming %s", (over, param, message) => {
    // As JSON sends it: a field set to undefined is a field left out.
    const e = thrown(() => parseMessagesRequest(JSON.parse(JSON.stringify({ ...base(), ...over }))));
    expect(e.kind).toBe("invalid_request");
    expect(e.param).toBe(param);
    if (message) expect(e.message).toBe(message);
  });

  test("unknown block types are kept for passthrough; count_tokens needs no max_tokens", () => {
    expect(() => parseMessagesRequest(base({ messages: [{ role: "user", content: [{ type: "search_result", source: "s", title: "t", content: [] }] }] }))).not.toThrow();
    expect(() => parseCountTokensRequest({ model: "m", messages: [{ role: "user", content: "hi" }] })).not.toThrow();
  });
});

describe("Claude Code's request, translated", () => {
  test("for gpt-4o: system blocks, the trailing system message, tools; what it cannot use named once each", () => {
    const { chat, warnings, params } = translate(claudeCode(), OPENAI);
    expect(chat.messages.map((m) => m.role)).toEqual(["system", "user", "system"]);
    expect(chat.messages[0]!.content).toEqual([
      { type: "text", text: "x-anthropic-billing-header: cc_version=2.1.328; cc_entrypoint=sdk-cli" },
      { type: "text", text: "You are Claude Code, Anthropic's official CLI for Claude." },
      { type: "text", text: "You are an interactive CLI tool that helps users with software engineering tasks." },
    ]);
    // A single text part goes as a plain string, which every chat server takes.
    expect(chat.messages[2]!.content).toBe("The model gpt-4o is not a Claude model; tool use follows the definitions given.");
    // Nothing OpenAI refuses: no cache_control on any part, no reasoning_effort for gpt-4o.
    expect(JSON.stringify(chat)).not.toContain("cache_control");
    expect(chat.reasoning_effort).toBeUndefined();
    expect(chat.tools!.map((t) => t.function.name)).toEqual(["Write", "DeferredToolPlaceholder"]);
    expect(chat.tools![0]!.function.parameters).toMatchObject({ type: "object", required: ["file_path", "content"] });
    expect(chat).toMatchObject({ model: "gpt-4o", max_tokens: 32000, stream: true, user: "{\"device_id\":\"d4c6\",\"account_uuid\":\"\",\"session_id\":\"d867\"}" });
    expect(params.sort()).toEqual(["context_management", "system.1.cache_control", "thinking", "tools.1.defer_loading"]);
    expect(warnings.filter((w) => w.message.includes("cache_control")).length).toBe(1);
  });

  test("for Gemini: thinking at the effort Claude Code asks (high); metadata.user_id named as dropped", () => {
    const { chat, params } = translate(claudeCode(), GEMINI);
    expect(chat.reasoning_effort).toBe("high");
    expect(translate({ ...claudeCode(), output_config: undefined }, GEMINI).chat.reasoning_effort).toBe("medium");
    expect(chat.user).toBeUndefined();
    expect(params).toContain("metadata.user_id");
  });

  test("a model's configured max_tokens caps Claude Code's 32000", () => {
    const { chat, params } = translate(claudeCode(), { ...OPENAI, maxTokens: 16384 });
    expect(chat.max_tokens).toBe(16384);
    expect(params).toContain("max_tokens");
  });

  test("for an Anthropic-type target (translated), breakpoints are kept", () => {
    const { chat, params } = translate(claudeCode(), CLAUDE);
    expect((chat.messages[0]!.content as Record<string, unknown>[])[1]!.cache_control).toEqual({ type: "ephemeral" });
    expect(params).not.toContain("system.1.cache_control");
  });
});

describe("fields", () => {
  test("thinking budgets map to efforts on reasoning models; adaptive leaves OpenAI's default", () => {
    expect(translate(base({ thinking: { type: "enabled", budget_tokens: 31999 } }), O3).chat.reasoning_effort).toBe("high");
    expect(translate(base({ thinking: { type: "enabled", budget_tokens: 2048 } }), O3).chat.reasoning_effort).toBe("low");
    expect(translate(base({ thinking: { type: "adaptive" } }), O3).chat.reasoning_effort).toBeUndefined();
    expect(translate(base({ thinking: { type: "adaptive" }, output_config: { effort: "high" } }), O3).chat.reasoning_effort).toBe("high");
    expect(translate(base({ thinking: { type: "disabled" } }), GEMINI).chat.reasoning_effort).toBeUndefined();
    expect([1024, 4096, 16384].map(effortOfBudget)).toEqual(["low", "medium", "high"]);
  });

  test("sampling, stops, tool choice, structured output", () => {
    const { chat, params } = translate(
      base({
        temperature: 0.2,
        top_p: 0.9,
        top_k: 5,
        stop_sequences: ["a", "b", "c", "d", "e"],
        tools: [{ name: "f", input_schema: { type: "object" } }],
        tool_choice: { type: "any", disable_parallel_tool_use: true },
        output_config: { format: { type: "json_schema", schema: { type: "object", properties: {} } } },
      }),
      OPENAI,
    );
    expect(chat).toMatchObject({ temperature: 0.2, top_p: 0.9, stop: ["a", "b", "c", "d"], tool_choice: "required", parallel_tool_calls: false });
    expect(chat.response_format).toEqual({ type: "json_schema", json_schema: { name: "response", schema: { type: "object", properties: {} } } } as never);
    expect(params.sort()).toEqual(["stop_sequences", "top_k"]);
    expect(translate(base({ tools: [{ name: "f", input_schema: { type: "object" } }], tool_choice: { type: "tool", name: "f" } }), OPENAI).chat.tool_choice).toEqual({ type: "function", function: { name: "f" } });
    expect(translate(base({ tools: [{ name: "f", input_schema: { type: "object" } }], tool_choice: { type: "none" } }), OPENAI).chat.tool_choice).toBe("none");
  });

  test("server tools are not offered, and named", () => {
    const { chat, params } = translate(base({ tools: [{ type: "web_search_20250305", name: "web_search" }, { name: "f", input_schema: { type: "object" } }] }), OPENAI);
    expect(chat.tools!.map((t) => t.function.name)).toEqual(["f"]);
    expect(params).toEqual(["tools.0"]);
  });

  test("max_tokens 0 (a cache warm-up) is Anthropic's alone", () => {
    expect(thrown(() => translate(base({ max_tokens: 0 }), OPENAI)).param).toBe("max_tokens");
  });
});

const img = { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } };
const pdf = { type: "document", source: { type: "base64", media_type: "application/pdf", data: "JVBERi0xLjQ=" }, title: "spec.pdf" };

describe("content blocks", () => {
  test("images, documents and text in a user turn", () => {
    const { chat } = translate(
      base({
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "look" },
              img,
              { type: "image", source: { type: "url", url: "https://x.test/a.png" } },
              pdf,
              { type: "document", source: { type: "text", media_type: "text/plain", data: "plain words" }, title: "notes" },
            ],
          },
        ],
      }),
      OPENAI,
    );
    expect(chat.messages[0]!.content).toEqual([
      { type: "text", text: "look" },
      { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
      { type: "image_url", image_url: { url: "https://x.test/a.png" } },
      { type: "file", file: { file_data: "data:application/pdf;base64,JVBERi0xLjQ=", filename: "spec.pdf" } },
      { type: "text", text: "notes\n\nplain words" },
    ]);
  });

  test("a tool loop: tool_use → tool_calls (ids kept), tool_result → tool messages first, then the rest of the turn", () => {
    const { chat } = translate(
      base({
        tools: [{ name: "read", input_schema: { type: "object" } }],
        messages: [
          { role: "user", content: "read both" },
          {
            role: "assistant",
            content: [
              { type: "text", text: "Reading." },
              { type: "tool_use", id: "toolu_1", name: "read", input: { path: "a" } },
              { type: "tool_use", id: "toolu_2", name: "read", input: {} },
            ],
          },
          {
            role: "user",
            content: [
              { type: "tool_result", tool_use_id: "toolu_1", content: "A" },
              { type: "tool_result", tool_use_id: "toolu_2", is_error: true, content: [{ type: "text", text: "no such file" }, img] },
              { type: "text", text: "go on" },
            ],
          },
        ],
      }),
      OPENAI,
    );
    expect(chat.messages).toEqual([
      { role: "user", content: "read both" },
      {
        role: "assistant",
        content: "Reading.",
        tool_calls: [
          { id: "toolu_1", type: "function", function: { name: "read", arguments: '{"path":"a"}' } },
          { id: "toolu_2", type: "function", function: { name: "read", arguments: "{}" } },
        ],
      },
      { role: "tool", tool_call_id: "toolu_1", content: "A" },
      { role: "tool", tool_call_id: "toolu_2", content: "Error: no such file" },
      { role: "user", content: [{ type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } }, { type: "text", text: "go on" }] },
    ]);
  });

  test("a file_id image is Anthropic's alone (400), an unknown block is dropped and named", () => {
    expect(thrown(() => translate(base({ messages: [{ role: "user", content: [{ type: "image", source: { type: "file", file_id: "f1" } }] }] }), OPENAI)).param).toBe("messages.0.content.0.source");
    const { chat, params } = translate(base({ messages: [{ role: "user", content: [{ type: "container_upload", file_id: "f" }, { type: "text", text: "x" }] }] }), OPENAI);
    expect(chat.messages[0]!.content).toBe("x");
    expect(params).toEqual(["messages.0.content.0.type"]);
  });
});

describe("thinking in the history", () => {
  const history = (blocks: unknown[]) =>
    base({
      thinking: { type: "enabled", budget_tokens: 2048 },
      tools: [{ name: "f", input_schema: { type: "object" } }],
      messages: [
        { role: "user", content: "q" },
        { role: "assistant", content: [...blocks, { type: "tool_use", id: "call_1", name: "f", input: {} }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "call_1", content: "r" }] },
      ],
    });
  const claudeBlock = { type: "thinking", thinking: "Claude thought", signature: "EvQBCkYICxgCKkAx" };
  const redacted = { type: "redacted_thinking", data: "EmwKAhgBEgy3" };
  const ours = (provider: string) => ({ type: "thinking", thinking: "seen", signature: plainSealer.seal({ provider, details: [{ type: "reasoning.text", text: "r", signature: "or-sig" }], toolSignatures: { call_1: "gem-sig" } }) });

  test("another provider's (Claude's) thinking never reaches an OpenAI-type model, as text or otherwise", () => {
    const { chat } = translate(history([claudeBlock, redacted]), O3);
    const text = JSON.stringify(chat);
    expect(text).not.toContain("Claude thought");
    expect(text).not.toContain("EvQBCkYICxgCKkAx");
    expect(chat.messages[1]).toEqual({ role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "f", arguments: "{}" } }] });
  });

  test("Claude's own signed blocks go back to Claude as reasoning_details, signatures intact", () => {
    const { chat } = translate(history([claudeBlock, redacted]), CLAUDE);
    expect((chat.messages[1] as Record<string, unknown>).reasoning_details).toEqual([
      { type: "reasoning.text", text: "Claude thought", signature: "EvQBCkYICxgCKkAx", format: "anthropic-claude-v1", index: 0 },
      { type: "reasoning.encrypted", data: "EmwKAhgBEgy3", format: "anthropic-claude-v1", index: 1 },
    ]);
  });

  test("the gateway's seal gives the provider back its own state: Gemini's thought signature on its call", () => {
    const { chat } = translate(history([ours("goog")]), GEMINI);
    const m = chat.messages[1] as Record<string, unknown>;
    expect(m.reasoning_details).toEqual([{ type: "reasoning.text", text: "r", signature: "or-sig" }]);
    expect((m.tool_calls as Record<string, unknown>[])[0]!.extra_content).toEqual({ google: { thought_signature: "gem-sig" } });
  });

  test("…and to no other provider", () => {
    const { chat } = translate(history([ours("goog")]), O3);
    expect(JSON.stringify(chat)).not.toContain("gem-sig");
    expect(JSON.stringify(chat)).not.toContain("or-sig");
  });

  test("a forged or foreign-secret seal is dropped with a note, never trusted", () => {
    const { chat, warnings } = translate(history([{ type: "thinking", thinking: "x", signature: "sb1.forged" }]), GEMINI);
    expect(JSON.stringify(chat)).not.toContain("forged");
    expect(warnings.some((w) => w.param === undefined && w.message.includes("signature"))).toBe(true);
  });
});

describe("count_tokens without the provider", () => {
  test("system, messages and tools all count", () => {
    const plain = countTokensLocally(parseCountTokensRequest({ model: "m", messages: [{ role: "user", content: "hello there" }] }));
    const withSystem = countTokensLocally(parseCountTokensRequest({ model: "m", system: "You are a careful assistant who checks everything twice.", messages: [{ role: "user", content: "hello there" }] }));
    const withTools = countTokensLocally(
      parseCountTokensRequest({ model: "m", messages: [{ role: "user", content: "hello there" }], tools: [{ name: "lookup", description: "Looks a word up in the dictionary.", input_schema: { type: "object", properties: { word: { type: "string" } } } }] }),
    );
    expect(plain).toBeGreaterThan(2);
    expect(withSystem).toBeGreaterThan(plain + 8);
    expect(withTools).toBeGreaterThan(plain + 15);
  });
});
