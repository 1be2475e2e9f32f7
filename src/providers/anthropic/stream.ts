// Pure state machine: Anthropic stream events (one per SSE `data:`) → OpenAI chat.completion.chunk objects.
import type { ChatCompletionChunk, ChunkToolCall, FinishReason } from "../../openai/schemas.ts";
import { upstreamFailed } from "../../openai/errors.ts";
import type { StreamTranslator } from "../types.ts";
import { mapAnthropicStreamError } from "./errors.ts";
import { mapStopReason, mergeUsage, refusalText, thinkingDetail, toUsage, type AnthropicUsage } from "./response.ts";

/** One parsed event; only `type` is trusted, every other field is checked before use. */
export type AnthropicStreamEvent = { type: string } & Record<string, unknown>;

export interface StreamIdentity {
  id: string;
  /** Epoch seconds. */
  created: number;
  publicModel: string;
  /** The tool that carries a `response_format` answer: its input streams as content. */
  structuredTool?: string;
}

type Delta = ChatCompletionChunk["choices"][number]["delta"];

/** Where an Anthropic content block goes: text, a tool call with its dense OpenAI index, or nowhere. */
type Block =
  | { kind: "text" }
  | { kind: "tool"; index: number; startInput: unknown; argsSent: boolean }
  | { kind: "structured"; startInput: unknown; sent: boolean }
  | { kind: "thinking"; text: string; signature?: string; detail: number }
  | { kind: "ignored" };

const obj = (v: unknown): Record<string, unknown> | undefined =>
  v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

export function createAnthropicStreamTranslator(idn: StreamIdentity): StreamTranslator<AnthropicStreamEvent> {
  // All state belongs to this one stream.
  const blocks = new Map<number, Block>();
  const usage: AnthropicUsage = {};
  let roleSent = false;
  let toolCount = 0;
  let details = 0;
  let structuredUsed = false;
  let stopReason: unknown = null;
  let finished = false;

  const chunk = (delta: Delta, finish: FinishReason = null): ChatCompletionChunk => ({
    id: idn.id,
    object: "chat.completion.chunk",
    created: idn.created,
    model: idn.publicModel,
    choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
  });
  /** The role chunk goes first whatever event comes first, so clients always see it before content. */
  const withRole = (out: ChatCompletionChunk[]): ChatCompletionChunk[] => {
    if (roleSent) return out;
    roleSent = true;
    return [chunk({ role: "assistant", content: "" }), ...out];
  };
  const toolDelta = (tc: ChunkToolCall) => chunk({ tool_calls: [tc] });

  function blockStart(ev: AnthropicStreamEvent): ChatCompletionChunk[] {
    const cb = obj(ev.content_block);
    if (typeof ev.index !== "number" || !cb) return [];
    if (cb.type === "text") {
      blocks.set(ev.index, { kind: "text" });
      // A text block may start with text already in it (e.g. replayed content); usually it is "".
      return typeof cb.text === "string" && cb.text.length > 0 ? withRole([chunk({ content: cb.text })]) : withRole([]);
    }
    if (cb.type === "tool_use" && idn.structuredTool && cb.name === idn.structuredTool) {
      structuredUsed = true;
      blocks.set(ev.index, { kind: "structured", startInput: cb.input, sent: false });
      return withRole([]);
    }
    if (cb.type === "thinking") {
      blocks.set(ev.index, { kind: "thinking", text: typeof cb.thinking === "string" ? cb.thinking : "", detail: details++ });
      return typeof cb.thinking === "string" && cb.thinking.length > 0 ? withRole([chunk({ reasoning_content: cb.thinking })]) : withRole([]);
    }
    if (cb.type === "redacted_thinking") {
      // Nothing readable, but the client needs the block to continue a tool loop: sent whole, at once.
      blocks.set(ev.index, { kind: "ignored" });
      const d = thinkingDetail(cb, details++);
      return d ? withRole([chunk({ reasoning_details: [d] })]) : [];
    }
    if (cb.type === "tool_use" && typeof cb.id === "string" && typeof cb.name === "string") {
      // OpenAI indexes count tool calls only, from 0; the Anthropic block index also counts text blocks.
      const index = toolCount++;
      blocks.set(ev.index, { kind: "tool", index, startInput: cb.input, argsSent: false });
      return withRole([toolDelta({ index, id: cb.id, type: "function", function: { name: cb.name, arguments: "" } })]);
    }
    // server_tool_use and result blocks: nothing for a chat completion client.
    blocks.set(ev.index, { kind: "ignored" });
    return [];
  }

  function blockDelta(ev: AnthropicStreamEvent): ChatCompletionChunk[] {
    const d = obj(ev.delta);
    const b = typeof ev.index === "number" ? blocks.get(ev.index) : undefined;
    if (!d || !b) return [];
    if (b.kind === "text" && d.type === "text_delta" && typeof d.text === "string" && d.text.length > 0) {
      return withRole([chunk({ content: d.text })]);
    }
    if (b.kind === "structured" && d.type === "input_json_delta" && typeof d.partial_json === "string" && d.partial_json.length > 0) {
      b.sent = true;
      return withRole([chunk({ content: d.partial_json })]);
    }
    if (b.kind === "thinking") {
      if (d.type === "thinking_delta" && typeof d.thinking === "string" && d.thinking.length > 0) {
        b.text += d.thinking;
        return withRole([chunk({ reasoning_content: d.thinking })]);
      }
      if (d.type === "signature_delta" && typeof d.signature === "string") b.signature = (b.signature ?? "") + d.signature;
      return [];
    }
    if (b.kind === "tool" && d.type === "input_json_delta" && typeof d.partial_json === "string" && d.partial_json.length > 0) {
      b.argsSent = true;
      return [toolDelta({ index: b.index, function: { arguments: d.partial_json } })];
    }
    // citations_delta and empty fragments carry nothing to send.
    return [];
  }

  function blockStop(ev: AnthropicStreamEvent): ChatCompletionChunk[] {
    const b = typeof ev.index === "number" ? blocks.get(ev.index) : undefined;
    if (b?.kind === "thinking") {
      // The whole signed block once it is complete: what the client sends back in its next assistant message.
      const d = thinkingDetail({ type: "thinking", thinking: b.text, signature: b.signature }, b.detail);
      return d ? [chunk({ reasoning_details: [d] })] : [];
    }
    if (b?.kind === "structured") {
      if (b.sent) return [];
      b.sent = true;
      return [chunk({ content: JSON.stringify(obj(b.startInput) ?? {}) })];
    }
    if (!b || b.kind !== "tool" || b.argsSent) return [];
    // A tool with no arguments streams only "" fragments; clients JSON.parse the arguments, so send "{}"
    // (or the input the start event carried), as the non-streaming translation does.
    b.argsSent = true;
    const input = obj(b.startInput) ?? {};
    return [toolDelta({ index: b.index, function: { arguments: JSON.stringify(input) } })];
  }

  function finish(): ChatCompletionChunk[] {
    finished = true;
    const reason = structuredUsed && toolCount === 0 && stopReason === "tool_use" ? "stop" : mapStopReason(stopReason, toolCount > 0);
    const usageChunk: ChatCompletionChunk = {
      id: idn.id,
      object: "chat.completion.chunk",
      created: idn.created,
      model: idn.publicModel,
      choices: [],
      usage: toUsage(usage),
    };
    return withRole([chunk({}, reason), usageChunk]);
  }

  return {
    push(ev) {
      if (finished) return [];
      switch (ev.type) {
        case "message_start": {
          mergeUsage(usage, obj(ev.message)?.usage);
          return withRole([]);
        }
        case "content_block_start":
          return blockStart(ev);
        case "content_block_delta":
          return blockDelta(ev);
        case "content_block_stop":
          return blockStop(ev);
        case "message_delta": {
          const d = obj(ev.delta);
          // Usage here is cumulative and may revise input_tokens upward: the latest value wins.
          mergeUsage(usage, ev.usage);
          if (d && d.stop_reason != null) stopReason = d.stop_reason;
          const refusal = d && d.stop_reason === "refusal" ? refusalText(d.stop_details) : undefined;
          return refusal ? withRole([chunk({ refusal })]) : [];
        }
        case "message_stop":
          // Finish now rather than at end(): the client need not wait for the upstream to close its socket.
          return finish();
        case "error":
          throw mapAnthropicStreamError(ev);
        default:
          return []; // ping and event types added later
      }
    },
    end() {
      if (finished) return [];
      throw upstreamFailed("The provider's stream ended before the message was complete.");
    },
  };
}

/** Reads one SSE `data:` payload; the JSON `type` names the event (the SSE `event:` line is only a fallback). */
export function parseAnthropicEvent(data: string, eventName?: string): AnthropicStreamEvent | undefined {
  if (data.trim() === "") return undefined;
  let v: unknown;
  try {
    v = JSON.parse(data);
  } catch {
    throw upstreamFailed("The provider sent a stream event that is not valid JSON.");
  }
  const o = obj(v);
  if (!o) return undefined;
  const type = typeof o.type === "string" ? o.type : eventName;
  return type ? { ...o, type } : undefined;
}
