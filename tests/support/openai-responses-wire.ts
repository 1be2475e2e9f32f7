// OpenAI's Responses API as the fake OpenAI server speaks it: JSON and typed SSE events shaped like OpenAI's recordings.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { sampleFor } from "./json-sample.ts";

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
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
 * OpenAI's answer to a Responses request (the upstream model's own name in `model`): a function call when function
 * tools are offered and a user message ends the input, text otherwise (the tool's output quoted after a
 * function_call_output; a sample of the schema for text.format json_schema), with usage and every stream event.
 */
export function responsesAnswer(body: Record<string, unknown>, model: string): ResponsesAnswer {
  const n = ++counter;
  const id = `resp_${hex(8)}${String(n).padStart(4, "0")}${hex(36)}`;
  const created = 1770000000 + n;
  const tools = Array.isArray(body.tools) ? body.tools.filter((t): t is Record<string, unknown> => isObj(t) && t.type === "function") : [];
  const last = lastInput(body);
  const wantsTool = tools.length > 0 && last.kind === "user" && body.tool_choice !== "none";
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
  let item: Record<string, unknown>;
  if (wantsTool) {
    const args = '{"city":"Paris","unit":"celsius"}';
    const fc = { id: `fc_${hex(48)}`, type: "function_call", status: "in_progress", arguments: "", call_id: `call_${hex(24)}`, name: String(tools[0]!.name) };
    ev("response.output_item.added", { output_index: 0, item: { ...fc } });
    for (const piece of [args.slice(0, 9), args.slice(9)]) ev("response.function_call_arguments.delta", { item_id: fc.id, output_index: 0, delta: piece, obfuscation: hex(8) });
    ev("response.function_call_arguments.done", { item_id: fc.id, output_index: 0, arguments: args });
    item = { ...fc, status: "completed", arguments: args };
  } else {
    const text =
      format.type === "json_schema" ? JSON.stringify(sampleFor(format.schema, format.schema)) : format.type === "json_object" ? "{}" : last.kind === "tool" ? `The tool said: ${last.text}` : `Echo from upstream: ${last.text}`;
    const msg = { id: `msg_${hex(48)}`, type: "message", status: "in_progress", content: [] as unknown[], role: "assistant" };
    const part = { type: "output_text", annotations: [], logprobs: [], text: "" };
    ev("response.output_item.added", { output_index: 0, item: structuredClone(msg) });
    ev("response.content_part.added", { item_id: msg.id, output_index: 0, content_index: 0, part: { ...part } });
    for (const w of text.split(/(?<= )/)) ev("response.output_text.delta", { item_id: msg.id, output_index: 0, content_index: 0, delta: w, logprobs: [], obfuscation: hex(6) });
    ev("response.output_text.done", { item_id: msg.id, output_index: 0, content_index: 0, text, logprobs: [] });
    ev("response.content_part.done", { item_id: msg.id, output_index: 0, content_index: 0, part: { ...part, text } });
    item = { ...msg, status: "completed", content: [{ ...part, text }] };
  }
  ev("response.output_item.done", { output_index: 0, item: structuredClone(item) });
  const usage = { input_tokens: 19, input_tokens_details: { cached_tokens: 0 }, output_tokens: wantsTool ? 17 : 10, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: wantsTool ? 36 : 29 };
  const response = snap({ status: "completed", output: [item], usage, service_tier: "default" });
  ev("response.completed", { response });
  return { response, events };
}

/** Events as OpenAI frames them on the wire: an `event:` line, the JSON on one `data:` line, a blank line. */
export const sseFrame = (e: Record<string, unknown>): Uint8Array => enc.encode(`event: ${String(e.type)}\ndata: ${JSON.stringify(e)}\n\n`);
