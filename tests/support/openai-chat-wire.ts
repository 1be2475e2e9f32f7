// OpenAI's chat completions wire for the fakes (OpenAI's and Azure's): a neutral message as a completion or a chunk stream.
import { stopReasonOf, type Block, type Json, type Message, type StreamError } from "./fake-core.ts";

const enc = new TextEncoder();

/** What one answer is called and counted as. */
export interface ChatStyle {
  id: string;
  created: number;
  model: string;
  fingerprint: string;
  /** The usage object of a message (OpenAI's field names). */
  usage(m: Message): Json;
  /** The id of the message's i-th tool call when the message gives none. */
  toolCallId(i: number): string;
  /** Choices asked for (`n`); each carries the same message. */
  choices: number;
  /** stream_options.include_usage: a usage chunk last, and `usage: null` on every other chunk. */
  includeUsage: boolean;
  /** Azure sends the role in a chunk of its own before a tool call's; OpenAI sends them together. */
  roleApart?: boolean;
}

/** OpenAI's finish_reason for a neutral stop reason. */
export function finishOf(m: Message): string {
  const r = stopReasonOf(m);
  return r === "tool_use" ? "tool_calls" : r === "max_tokens" ? "length" : r === "end_turn" || r === "stop_sequence" ? "stop" : r;
}

/** The usage OpenAI reports: prompt and completion tokens, with the reasoning share when the model thought. */
export function chatUsage(m: Message, prompt: number, completion: number): Json {
  const p = m.usage?.input_tokens ?? prompt;
  const c = m.usage?.output_tokens ?? completion;
  const thinking = m.usage?.thinking_tokens;
  return { prompt_tokens: p, completion_tokens: c, total_tokens: p + c, ...(thinking !== undefined ? { completion_tokens_details: { reasoning_tokens: thinking } } : {}) };
}

const textOf = (m: Message) => m.content.map((b) => (b.type === "text" ? b.text : "")).join("");
const callsOf = (m: Message) => m.content.filter((b): b is Extract<Block, { type: "tool_use" }> => b.type === "tool_use");

function toolCalls(m: Message, s: ChatStyle) {
  return callsOf(m).map((b, i) => ({ id: b.id ?? s.toolCallId(i), type: "function", function: { name: b.name, arguments: JSON.stringify(b.input) } }));
}

/** The completion (`object: chat.completion`): content null when the model only called tools. */
export function chatJson(m: Message, s: ChatStyle): Json {
  const calls = toolCalls(m, s);
  const text = textOf(m);
  const message = { role: "assistant", content: calls.length > 0 && text === "" ? null : text, ...(calls.length > 0 ? { tool_calls: calls } : {}), refusal: null };
  const choices = Array.from({ length: s.choices }, (_, index) => ({ index, message, logprobs: null, finish_reason: finishOf(m) }));
  return { id: s.id, object: "chat.completion", created: s.created, model: s.model, choices, usage: s.usage(m), system_fingerprint: s.fingerprint };
}

/**
 * The chunks OpenAI streams for a message, per choice: the role, the text a word at a time, each tool call's header then
 * its arguments in two pieces, the finish; then the usage chunk when asked for, and `[DONE]`.
 */
export function chatChunks(m: Message, s: ChatStyle): unknown[] {
  const base = { id: s.id, object: "chat.completion.chunk", created: s.created, model: s.model, system_fingerprint: s.fingerprint };
  const out: unknown[] = [];
  for (let index = 0; index < s.choices; index++) {
    const chunk = (delta: object, finish: string | null = null) => ({ ...base, choices: [{ index, delta, logprobs: null, finish_reason: finish }], ...(s.includeUsage ? { usage: null } : {}) });
    const calls = toolCalls(m, s);
    const text = textOf(m);
    const role = { role: "assistant", content: calls.length > 0 && text === "" ? null : "", refusal: null };
    const together = calls.length > 0 && text === "" && !s.roleApart;
    if (!together) out.push(chunk(s.roleApart ? { ...role, content: "" } : role));
    if (text !== "") for (const w of text.split(/(?<= )/)) out.push(chunk({ content: w }));
    calls.forEach((c, i) => {
      const header = { index: i, id: c.id, type: "function", function: { name: c.function.name, arguments: "" } };
      out.push(chunk(together && i === 0 ? { ...role, tool_calls: [header] } : { tool_calls: [header] }));
      const args = c.function.arguments;
      for (const piece of [args.slice(0, 9), args.slice(9)]) out.push(chunk({ tool_calls: [{ index: i, function: { arguments: piece } }] }));
    });
    out.push(chunk({}, finishOf(m)));
  }
  if (s.includeUsage) out.push({ ...base, choices: [], usage: s.usage(m) });
  out.push("[DONE]");
  return out;
}

/** OpenAI's error body. */
export const openAIError = (message: string, type: string, code: string | null = null, param: string | null = null) => ({ error: { message, type, param, code } });

/** An SSE frame as OpenAI writes it: `data: <json>` (or `[DONE]`) and a blank line. */
export const chatFrame = (e: unknown): Uint8Array => enc.encode(`data: ${typeof e === "string" ? e : JSON.stringify(e)}\n\n`);

/** The error object OpenAI sends inside a stream that fails after it began. */
export const chatErrorEvent = (e: StreamError | undefined) => openAIError(e?.message ?? "The server had an error while processing your request.", e?.type ?? "server_error");
