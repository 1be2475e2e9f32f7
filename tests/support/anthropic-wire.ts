// Claude's Messages wire for the fakes (Anthropic's API, and Claude on Bedrock and Vertex): a neutral message as JSON or named SSE events.
import { stopReasonOf, type Json, type Message, type StreamError } from "./fake-core.ts";

const enc = new TextEncoder();

/** What one answer is called and counted as. */
export interface ClaudeStyle {
  id: string;
  model: string;
  /** The id of the i-th block when it is a tool call that names none. */
  toolId(i: number): string;
  /** Input and output tokens when the message leaves them unset. */
  counts(m: Message): { input: number; output: number };
  /** Anthropic's API sends a ping after message_start and a service_tier in usage; Claude on Bedrock neither. */
  ping: boolean;
}

/** A deterministic stand-in for token counting: about four characters a token, as Anthropic suggests for English. */
export const tokens = (v: unknown) => Math.max(1, Math.ceil(JSON.stringify(v ?? "").length / 4));

function usageOf(m: Message, s: ClaudeStyle) {
  const thinking = m.usage?.thinking_tokens ?? (m.content.some((c) => c.type === "thinking") ? tokens(m.content.filter((c) => c.type === "thinking")) : undefined);
  const d = m.usage?.input_tokens === undefined || m.usage.output_tokens === undefined ? s.counts(m) : { input: 0, output: 0 };
  return {
    input_tokens: m.usage?.input_tokens ?? d.input,
    cache_creation_input_tokens: m.usage?.cache_creation_input_tokens ?? 0,
    cache_read_input_tokens: m.usage?.cache_read_input_tokens ?? 0,
    output_tokens: m.usage?.output_tokens ?? d.output,
    // Usage.output_tokens_details (SDK 1.14): the thinking share of output_tokens, present when the model thought.
    ...(thinking !== undefined ? { output_tokens_details: { thinking_tokens: thinking } } : {}),
  };
}

/** The message's blocks as Claude writes them: tool calls with ids, thinking with a signature. */
function blocksOf(m: Message, s: ClaudeStyle): Json[] {
  return m.content.map((c, i) => {
    if (c.type === "tool_use") return { type: "tool_use", id: c.id ?? s.toolId(i), name: c.name, input: c.input };
    if (c.type === "thinking") return { type: "thinking", thinking: c.thinking, signature: c.signature ?? "sig-fake" };
    return c;
  });
}

export function claudeJson(m: Message, s: ClaudeStyle): Json {
  const tier = s.ping ? { service_tier: "standard" } : {};
  return { id: s.id, type: "message", role: "assistant", model: s.model, content: blocksOf(m, s), stop_reason: stopReasonOf(m), stop_sequence: m.stop_sequence ?? null, usage: { ...usageOf(m, s), ...tier } };
}

/** The event sequence Claude sends for a message: start, (ping), blocks in pieces, delta with usage, stop. */
export function claudeEvents(m: Message, s: ClaudeStyle): Json[] {
  const usage = usageOf(m, s);
  const tier = s.ping ? { service_tier: "standard" } : {};
  const out: Json[] = [{ type: "message_start", message: { id: s.id, type: "message", role: "assistant", model: s.model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1, ...tier } } }];
  if (s.ping) out.push({ type: "ping" });
  blocksOf(m, s).forEach((b, index) => {
    if (b.type === "thinking") {
      // As recorded: an empty thinking block, its text in thinking_delta pieces, then one signature_delta.
      out.push({ type: "content_block_start", index, content_block: { type: "thinking", thinking: "", signature: "" } });
      for (const piece of pieces(String(b.thinking), 9)) out.push({ type: "content_block_delta", index, delta: { type: "thinking_delta", thinking: piece } });
      out.push({ type: "content_block_delta", index, delta: { type: "signature_delta", signature: b.signature } });
    } else if (b.type === "redacted_thinking") {
      out.push({ type: "content_block_start", index, content_block: { type: "redacted_thinking", data: b.data } });
    } else if (b.type === "text") {
      out.push({ type: "content_block_start", index, content_block: { type: "text", text: "" } });
      for (const piece of pieces(String(b.text), 8)) out.push({ type: "content_block_delta", index, delta: { type: "text_delta", text: piece } });
    } else {
      out.push({ type: "content_block_start", index, content_block: { type: "tool_use", id: b.id, name: b.name, input: {} } });
      // The API opens with an empty fragment, then streams the JSON in arbitrary cuts.
      out.push({ type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: "" } });
      const json = JSON.stringify(b.input);
      for (const piece of json === "{}" ? [] : pieces(json, 7)) out.push({ type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: piece } });
    }
    out.push({ type: "content_block_stop", index });
  });
  out.push({ type: "message_delta", delta: { stop_reason: stopReasonOf(m), stop_sequence: m.stop_sequence ?? null }, usage });
  out.push({ type: "message_stop" });
  return out;
}

function pieces(s: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < s.length; i += size) out.push(s.slice(i, i + size));
  return out.length > 0 ? out : [""];
}

/** Claude's error type for an HTTP status. */
export function claudeErrorType(status: number): string {
  const types: Record<number, string> = { 400: "invalid_request_error", 401: "authentication_error", 403: "permission_error", 404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error", 529: "overloaded_error" };
  return types[status] ?? "api_error";
}

/** Claude's error body; `requestId` as Anthropic's API adds it. */
export const claudeError = (type: string, message: string, requestId?: string): Json => ({ type: "error", error: { type, message }, ...(requestId ? { request_id: requestId } : {}) });

/** The error event a Claude stream ends with when it fails after it began. */
export const claudeErrorEvent = (e: StreamError | undefined): Json => claudeError(e?.type ?? "overloaded_error", e?.message ?? "Overloaded");

/** An SSE frame as Claude writes it: `event: <type>`, the JSON on one `data:` line, a blank line. */
export const claudeFrame = (e: unknown): Uint8Array => enc.encode(`event: ${String((e as { type?: unknown }).type)}\ndata: ${JSON.stringify(e)}\n\n`);
