// OpenAI's Responses API as the fake OpenAI server speaks it: JSON and typed SSE events shaped like OpenAI's recordings.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { isObj, stopReasonOf, type Message } from "./fake-core.ts";
import { sampleFor } from "./json-sample.ts";

const enc = new TextEncoder();

/** A recorded OpenAI stream (gpt-5.1-codex-max: reasoning with encrypted content, then a function call), its first response. */
export const RECORDED_REASONING_EVENTS: Record<string, unknown>[] = (() => {
  const lines = readFileSync(join(import.meta.dir, "..", "fixtures", "responses", "openai-reasoning-encrypted-content.1.chunks.txt"), "utf8").trim().split("\n");
  const events = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const end = events.findIndex((e) => e.type === "response.completed");
  return events.slice(0, end + 1);
})();

/** The text a request's input ends with, and what kind of item ends it. */
function lastInput(body: Record<string, unknown>): { kind: string; text: string } {
  const input = body.input;
  if (typeof input === "string") return { kind: "user", text: input };
  const items = Array.isArray(input) ? input.filter(isObj) : [];
  const last = items[items.length - 1];
  if (!last) return { kind: "none", text: "" };
  if (last.type === "function_call_output") return { kind: "tool", text: typeof last.output === "string" ? last.output : JSON.stringify(last.output) };
  const content = last.content;
  const text = typeof content === "string" ? content : Array.isArray(content) ? content.filter(isObj).map((p) => (typeof p.text === "string" ? p.text : "")).join("") : "";
  return { kind: last.role === "user" ? "user" : String(last.role ?? last.type), text };
}

let counter = 0;
const hex = (n: number) => Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join("");

export interface ResponsesAnswer {
  response: Record<string, unknown>;
  events: Record<string, unknown>[];
}

/**
 * What the model says by default: a function call when function tools are offered and a user message ends the input,
 * text otherwise (the tool's output quoted after a function_call_output; a sample of the schema for text.format json_schema).
 */
export function responsesDefault(body: Record<string, unknown>): Message {
  const tools = Array.isArray(body.tools) ? body.tools.filter((t): t is Record<string, unknown> => isObj(t) && t.type === "function") : [];
  const last = lastInput(body);
  if (tools.length > 0 && last.kind === "user" && body.tool_choice !== "none") {
    return { content: [{ type: "tool_use", name: String(tools[0]!.name), input: { city: "Paris", unit: "celsius" } }], usage: { input_tokens: 19, output_tokens: 17 } };
  }
  const format = isObj(body.text) && isObj(body.text.format) ? body.text.format : { type: "text" };
  const text =
    format.type === "json_schema" ? JSON.stringify(sampleFor(format.schema, format.schema)) : format.type === "json_object" ? "{}" : last.kind === "tool" ? `The tool said: ${last.text}` : `Echo from upstream: ${last.text}`;
  return { content: [{ type: "text", text }], usage: { input_tokens: 19, output_tokens: 10 } };
}

/**
 * OpenAI's answer to a Responses request for a message (the upstream model's own name in `model`): its output items
 * (reasoning, a message with the text, function calls), usage, and every stream event.
 */
export function responsesOf(m: Message, body: Record<string, unknown>, model: string): ResponsesAnswer {
  const n = ++counter;
  const id = `resp_${hex(8)}${String(n).padStart(4, "0")}${hex(36)}`;
  const created = 1770000000 + n;
  const format = isObj(body.text) && isObj(body.text.format) ? body.text.format : { type: "text" };
  const base = {
    id,
    object: "response",
    created_at: created,
    status: "in_progress",
    background: false,
    error: null,
    incomplete_details: null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    max_tool_calls: null,
    model,
    output: [] as unknown[],
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: body.previous_response_id ?? null,
    prompt_cache_key: body.prompt_cache_key ?? null,
    prompt_cache_retention: null,
    reasoning: { effort: null, summary: null },
    safety_identifier: null,
    service_tier: "auto",
    store: body.store ?? true,
    temperature: body.temperature ?? 1,
    text: { format, verbosity: "medium" },
    tool_choice: body.tool_choice ?? "auto",
    tools: body.tools ?? [],
    top_logprobs: 0,
    top_p: body.top_p ?? 1,
    truncation: "disabled",
    usage: null as unknown,
    user: null,
    metadata: body.metadata ?? {},
  };
  const events: Record<string, unknown>[] = [];
  let seq = 0;
  const ev = (type: string, fields: Record<string, unknown>) => events.push({ type, sequence_number: seq++, ...fields });
  const snap = (over: Record<string, unknown> = {}) => structuredClone({ ...base, ...over });
  ev("response.created", { response: snap() });
  ev("response.in_progress", { response: snap() });
  const items: Record<string, unknown>[] = [];
  const thinking = m.content.filter((b) => b.type === "thinking").map((b) => b.thinking).join("");
  if (thinking) {
    const item = { id: `rs_${hex(48)}`, type: "reasoning", summary: [{ type: "summary_text", text: thinking }] };
    ev("response.output_item.added", { output_index: items.length, item: { ...item, summary: [] } });
    ev("response.output_item.done", { output_index: items.length, item: structuredClone(item) });
    items.push(item);
  }
  const text = m.content.map((b) => (b.type === "text" ? b.text : "")).join("");
  if (text !== "" || !m.content.some((b) => b.type === "tool_use")) {
    const at = items.length;
    const msg = { id: `msg_${hex(48)}`, type: "message", status: "in_progress", content: [] as unknown[], role: "assistant" };
    const part = { type: "output_text", annotations: [], logprobs: [], text: "" };
    ev("response.output_item.added", { output_index: at, item: structuredClone(msg) });
    ev("response.content_part.added", { item_id: msg.id, output_index: at, content_index: 0, part: { ...part } });
    for (const w of text.split(/(?<= )/)) ev("response.output_text.delta", { item_id: msg.id, output_index: at, content_index: 0, delta: w, logprobs: [], obfuscation: hex(6) });
    ev("response.output_text.done", { item_id: msg.id, output_index: at, content_index: 0, text, logprobs: [] });
    ev("response.content_part.done", { item_id: msg.id, output_index: at, content_index: 0, part: { ...part, text } });
    const item = { ...msg, status: "completed", content: [{ ...part, text }] };
    ev("response.output_item.done", { output_index: at, item: structuredClone(item) });
    items.push(item);
  }
  for (const b of m.content) {
    if (b.type !== "tool_use") continue;
    const at = items.length;
    const args = JSON.stringify(b.input);
    const fc = { id: `fc_${hex(48)}`, type: "function_call", status: "in_progress", arguments: "", call_id: b.id ?? `call_${hex(24)}`, name: b.name };
    ev("response.output_item.added", { output_index: at, item: { ...fc } });
    for (const piece of [args.slice(0, 9), args.slice(9)]) ev("response.function_call_arguments.delta", { item_id: fc.id, output_index: at, delta: piece, obfuscation: hex(8) });
    ev("response.function_call_arguments.done", { item_id: fc.id, output_index: at, arguments: args });
    const item = { ...fc, status: "completed", arguments: args };
    ev("response.output_item.done", { output_index: at, item: structuredClone(item) });
    items.push(item);
  }
  const input = m.usage?.input_tokens ?? 19;
  const output = m.usage?.output_tokens ?? 10;
  const usage = { input_tokens: input, input_tokens_details: { cached_tokens: m.usage?.cache_read_input_tokens ?? 0 }, output_tokens: output, output_tokens_details: { reasoning_tokens: m.usage?.thinking_tokens ?? 0 }, total_tokens: input + output };
  const incomplete = stopReasonOf(m) === "max_tokens";
  const response = snap({ status: incomplete ? "incomplete" : "completed", ...(incomplete ? { incomplete_details: { reason: "max_output_tokens" } } : {}), output: items, usage, service_tier: "default" });
  ev(incomplete ? "response.incomplete" : "response.completed", { response });
  return { response, events };
}

/** Events as OpenAI frames them on the wire: an `event:` line, the JSON on one `data:` line, a blank line. */
export const sseFrame = (e: unknown): Uint8Array => enc.encode(`event: ${String((e as { type?: unknown }).type)}\ndata: ${JSON.stringify(e)}\n\n`);
