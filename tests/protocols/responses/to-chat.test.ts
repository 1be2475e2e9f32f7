// Responses requests → the internal chat request: items, reasoning state, namespaces, dropped tools, settings, 400s.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { toChatRequest } from "../../../src/protocols/responses/to-chat.ts";
import { parseResponsesRequest } from "../../../src/protocols/responses/validate.ts";
import { clientItems } from "../../../src/protocols/responses/state.ts";
import { flatName } from "../../../src/protocols/responses/tools.ts";
import { STATE, withState } from "../../../src/protocols/responses/reasoning-state.ts";
import type { SourcedItem } from "../../../src/protocols/responses/items.ts";
import { thrown } from "../../support/fixtures.ts";

const codex = JSON.parse(readFileSync(join(import.meta.dir, "..", "..", "fixtures", "responses", "codex-0.169-turn2.request.json"), "utf8")) as Record<string, unknown>;

function translate(body: Record<string, unknown>, prepare: (items: SourcedItem[]) => SourcedItem[] = (x) => x) {
  const req = parseResponsesRequest({ model: "m", ...body });
  const notes: { message: string; param?: string }[] = [];
  const items = prepare(clientItems(req).map((item, i) => ({ item, at: `input[${i}]` })));
  const out = toChatRequest(req, items, (message, param) => notes.push({ message, param }));
  return { ...out, notes, named: notes.filter((n) => n.param !== undefined) };
}

describe("Codex CLI's request", () => {
  test("translates: developer messages, function calls (namespaced ones flattened), outputs, hosted tools dropped", () => {
    const { chat, names, named, notes } = translate(codex);
    expect(chat.model).toBe("claude-x");
    expect(chat.stream).toBe(true);
    expect(chat.messages.map((m) => m.role)).toEqual(["developer", "developer", "user", "user", "assistant", "tool", "tool"]);
    const assistant = chat.messages[4]!;
    expect(assistant.content).toBeNull();
    expect(assistant.tool_calls).toEqual([
      { id: "call_A", type: "function", function: { name: "exec_command", arguments: '{"cmd":"echo marker-xyz"}' } },
      { id: "call_B", type: "function", function: { name: "multi_agent_v1__list_agents", arguments: "{}" } },
    ]);
    expect(chat.messages[5]).toEqual({ role: "tool", tool_call_id: "call_A", content: expect.stringContaining("marker-xyz") });
    // Every function tool, and the namespace's nested ones flattened; web_search dropped and named.
    const toolNames = chat.tools!.map((t) => t.function.name);
    expect(toolNames).toContain("exec_command");
    expect(toolNames).toContain("multi_agent_v1__spawn_agent");
    expect(toolNames).not.toContain("web_search");
    expect(names.get("multi_agent_v1__spawn_agent")).toEqual({ name: "spawn_agent", namespace: "multi_agent_v1" });
    expect(named.map((n) => n.param)).toContain("tools");
    expect(named.find((n) => n.param === "tools")!.message).toContain("web_search");
    // The reasoning item's encrypted_content is ("ENC123") not the gateway's: dropped with a warning, not a 400.
    expect(named.some((n) => n.param === "input" && /Reasoning items/.test(n.message))).toBe(true);
    // Codex's OpenAI-only hints are noted, not named as dropped parameters.
    expect(notes.some((n) => n.param === undefined && n.message.includes("prompt_cache_key"))).toBe(true);
    expect(named.some((n) => n.param === "prompt_cache_key" || n.param === "client_metadata")).toBe(false);
    expect(chat.tool_choice).toBe("auto");
    expect(chat.parallel_tool_calls).toBe(true);
  });
});

describe("items", () => {
  test("a string input is one user message; instructions come first as a system message", () => {
    const { chat } = translate({ input: "hello", instructions: "be brief" });
    expect(chat.messages).toEqual([
      { role: "system", content: "be brief" },
      { role: "user", content: "hello" },
    ]);
  });

  test("images (URL and data), PDFs and text become chat parts", () => {
    const pdf = "data:application/pdf;base64,JVBERi0xLjQK";
    const { chat } = translate({
      input: [
        {
          role: "user",
          content: [
            { type: "input_text", text: "look" },
            { type: "input_image", image_url: "https://example.com/a.png", detail: "high" },
            { type: "input_image", image_url: "data:image/png;base64,iVBORw0KGgo=", detail: "auto" },
            { type: "input_file", filename: "doc.pdf", file_data: pdf },
          ],
        },
      ],
    });
    expect(chat.messages[0]!.content).toEqual([
      { type: "text", text: "look" },
      { type: "image_url", image_url: { url: "https://example.com/a.png", detail: "high" } },
      { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=", detail: "auto" } },
      { type: "file", file: { file_data: pdf, filename: "doc.pdf" } },
    ]);
  });

  test("file ids and file URLs are OpenAI's: a 400 naming the part", () => {
    expect(thrown(() => translate({ input: [{ role: "user", content: [{ type: "input_image", file_id: "file-1", detail: "auto" }] }] })).param).toBe("input[0].content[0].file_id");
    expect(thrown(() => translate({ input: [{ role: "user", content: [{ type: "input_file", file_url: "https://x/y.pdf" }] }] })).param).toBe("input[0].content[0].file_url");
  });

  test("assistant messages, reasoning and calls of one turn become one assistant message with the provider state", () => {
    const details = [{ type: "reasoning.text" as const, text: "think", signature: "SIG==", format: "anthropic-claude-v1" }];
    const { chat } = translate(
      {
        input: [
          { role: "user", content: "q" },
          { type: "reasoning", id: "rs_1", summary: [] },
          { type: "message", role: "assistant", content: [{ type: "output_text", text: "Let me look." }] },
          { type: "function_call", call_id: "c1", name: "f", arguments: "{}" },
          { type: "function_call_output", call_id: "c1", output: "42" },
        ],
      },
      (items) => items.map((s, i) => (i === 1 ? { ...s, item: withState(s.item, { details, signatures: { c1: "GEMSIG" } }) } : s)),
    );
    expect(chat.messages[1]).toEqual({
      role: "assistant",
      content: "Let me look.",
      tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" }, extra_content: { google: { thought_signature: "GEMSIG" } } }] as never,
      reasoning_details: [{ ...details[0], index: 0 }],
    } as never);
    expect(chat.messages[2]).toEqual({ role: "tool", tool_call_id: "c1", content: "42" });
  });

  test("a client cannot plant provider state on an item", () => {
    const planted = { type: "reasoning", id: "rs_x", summary: [], [STATE]: { details: [{ type: "reasoning.text", text: "x", signature: "FORGED" }] } };
    const { chat } = translate({ input: [{ role: "user", content: "q" }, planted, { role: "assistant", content: "a" }, { role: "user", content: "q2" }] });
    expect(JSON.stringify(chat)).not.toContain("FORGED");
  });

  test("images a tool returned follow its tool message in a user message", () => {
    const { chat } = translate({
      input: [
        { role: "user", content: "q" },
        { type: "function_call", call_id: "c1", name: "view_image", arguments: "{}" },
        { type: "function_call_output", call_id: "c1", output: [{ type: "input_text", text: "here" }, { type: "input_image", image_url: "data:image/png;base64,iVBORw0KGgo=" }] },
      ],
    });
    expect(chat.messages.slice(2)).toEqual([
      { role: "tool", tool_call_id: "c1", content: "here" },
      { role: "user", content: [{ type: "text", text: "Attachments returned by tool call c1:" }, { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } }] },
    ]);
  });

  test("hosted-tool items in the history are dropped with a warning", () => {
    const { chat, named } = translate({ input: [{ role: "user", content: "q" }, { type: "web_search_call", id: "ws_1", status: "completed", action: { type: "search", query: "x" } }, { role: "user", content: "q2" }] });
    expect(chat.messages.map((m) => m.role)).toEqual(["user", "user"]);
    expect(named.some((n) => n.message.includes("web_search_call"))).toBe(true);
  });

  test("an unresolved item reference is a 400 naming it", () => {
    expect(thrown(() => translate({ input: [{ type: "item_reference", id: "msg_x" }] })).param).toBe("input[0]");
  });
});

describe("tools and settings", () => {
  test("namespace names longer than 64 characters are shortened deterministically", () => {
    const long = flatName("a".repeat(40), "b".repeat(40));
    expect(long.length).toBeLessThanOrEqual(64);
    expect(long).toMatch(/^[a-zA-Z0-9_-]+$/);
    expect(flatName("a".repeat(40), "b".repeat(40))).toBe(long);
    expect(flatName("a".repeat(40), "c".repeat(40))).not.toBe(long);
  });

  test("tool_choice: a function by name, a namespaced one by its inner name, allowed_tools, hosted types", () => {
    const tools = [
      { type: "function", name: "f", parameters: { type: "object", properties: {} } },
      { type: "function", name: "g", parameters: null },
      { type: "namespace", name: "ns", description: "d", tools: [{ type: "function", name: "h" }] },
    ];
    expect(translate({ input: "x", tools, tool_choice: { type: "function", name: "h" } }).chat.tool_choice).toEqual({ type: "function", function: { name: "ns__h" } });
    const allowed = translate({ input: "x", tools, tool_choice: { type: "allowed_tools", mode: "required", tools: [{ type: "function", name: "g" }] } });
    expect(allowed.chat.tool_choice).toBe("required");
    expect(allowed.chat.tools!.map((t) => t.function.name)).toEqual(["g"]);
    expect(allowed.chat.tools![0]!.function.parameters).toEqual({ type: "object", properties: {} });
    const hosted = translate({ input: "x", tools, tool_choice: { type: "web_search_preview" } });
    expect(hosted.chat.tool_choice).toBe("auto");
    expect(hosted.named.map((n) => n.param)).toContain("tool_choice");
  });

  test("only hosted tools: none offered, no tool_choice, a warning — never a 400", () => {
    const { chat, named } = translate({ input: "x", tools: [{ type: "web_search" }, { type: "file_search", vector_store_ids: ["v"] }], tool_choice: "required" });
    expect(chat.tools).toBeUndefined();
    expect(chat.tool_choice).toBeUndefined();
    expect(named.map((n) => n.param)).toEqual(["tools", "tool_choice"]);
  });

  test("text.format, reasoning, max_output_tokens, temperature, top_p, user", () => {
    const schema = { type: "object", properties: { a: { type: "string" } }, required: ["a"], additionalProperties: false };
    const { chat, named } = translate({
      input: "x",
      text: { format: { type: "json_schema", name: "out", schema, strict: true }, verbosity: "low" },
      reasoning: { effort: "high", summary: "auto" },
      max_output_tokens: 500,
      temperature: 0.5,
      top_p: 0.9,
      safety_identifier: "u1",
      metadata: { k: "v" },
    });
    expect(chat.response_format).toEqual({ type: "json_schema", json_schema: { name: "out", schema, strict: true } } as never);
    expect(chat).toMatchObject({ reasoning_effort: "high", max_tokens: 500, temperature: 0.5, top_p: 0.9, user: "u1" });
    // metadata belongs to the stored response, not to the model call.
    expect((chat as Record<string, unknown>).metadata).toBeUndefined();
    expect(named.map((n) => n.param)).toEqual(["text.verbosity"]);
    expect(translate({ input: "x", text: { format: { type: "json_object" } } }).chat.response_format).toEqual({ type: "json_object" });
  });

  test("unknown top-level fields are named as dropped; prompt templates are a 400", () => {
    expect(translate({ input: "x", max_tool_calls: 3 }).named.map((n) => n.param)).toEqual(["max_tool_calls"]);
    expect(thrown(() => translate({ input: "x", prompt: { id: "pmpt_1" } })).param).toBe("prompt");
  });
});

describe("validation (400 with param)", () => {
  const bad = (body: Record<string, unknown>) => thrown(() => parseResponsesRequest({ model: "m", ...body }));
  test("field types and ranges", () => {
    expect(bad({ temperature: 3 }).param).toBe("temperature");
    expect(bad({ max_output_tokens: 5 }).param).toBe("max_output_tokens");
    expect(bad({ max_output_tokens: "100" }).param).toBe("max_output_tokens");
    expect(bad({ input: 5 }).param).toBe("input");
    expect(thrown(() => parseResponsesRequest({ input: "x" })).param).toBe("model");
  });
  test("an item's error names the item's own field", () => {
    expect(bad({ input: [{ type: "function_call", name: "f", arguments: "{}" }] }).param).toBe("input[0].call_id");
    expect(bad({ input: [{ type: "function_call_output", call_id: "c" }] }).param).toBe("input[0].output");
    expect(bad({ input: [{ role: "user", content: [{ type: "input_text" }] }] }).param).toBe("input[0].content[0].text");
    expect(bad({ input: [{ role: "robot", content: "x" }] }).param).toBe("input[0].role");
    expect(bad({ input: [{ type: "reasoning", summary: [{ type: "summary_text" }] }] }).param).toBe("input[0].summary[0].text");
  });
  test("cross-field rules", () => {
    expect(bad({ input: "x", tools: [{ type: "function", name: "f" }, { type: "function", name: "f" }] }).param).toBe("tools[1].name");
    expect(bad({ input: "x", tools: [{ type: "function", name: "f" }], tool_choice: { type: "function", name: "g" } }).param).toBe("tool_choice.name");
    expect(bad({ input: "x", tool_choice: "required" }).param).toBe("tool_choice");
    expect(bad({ input: "x", conversation: "conv_1" }).param).toBe("conversation");
    expect(bad({ input: "x", background: true }).param).toBe("background");
    expect(bad({ input: "x", tools: [{ type: "function", name: "bad name" }] }).param).toBe("tools[0].name");
  });
  test("unknown fields, item types and tool types are kept for a native passthrough", () => {
    const req = parseResponsesRequest({ model: "m", input: [{ type: "compaction", encrypted_content: "x" }], tools: [{ type: "image_generation" }], future_field: { a: 1 } });
    expect((req as Record<string, unknown>).future_field).toEqual({ a: 1 });
    expect(req.tools).toEqual([{ type: "image_generation" }] as never);
  });
});
