// Pure state machine, one per stream: chat completion chunks → Anthropic stream events (message_start … message_stop).
import type { ChatCompletionChunk, FinishReason, Usage } from "../../openai/schemas.ts";
import { GatewayError, upstreamFailed } from "../../openai/errors.ts";
import { anthropicUsage, messageId, sealFor, stopReasonOf, thoughtSignatureOf, type AnswerContext } from "./from-chat.ts";
import { isObj } from "../../providers/shared/json.ts";

/** One Anthropic stream event; its `type` is also the SSE event name. */
export type AnthropicEvent = { type: string } & Record<string, unknown>;

export interface StreamContext extends AnswerContext {
  /**
   * The prompt's tokens as the gateway counted them: message_start must carry input usage (Claude Code reads the
   * context size from it), and chat streams report usage only at their end. The provider's count follows in
   * message_delta, whose usage is cumulative.
   */
  inputTokens: number;
}

export interface MessagesStreamTranslator {
  /** One chat chunk (the parsed `data:` of an OpenAI SSE event). Throws a GatewayError for an error event. */
  push(chunk: unknown): AnthropicEvent[];
  /** The chat stream's `[DONE]`: closes what is open, then message_delta and message_stop. */
  end(): AnthropicEvent[];
  /** Whether message_start went out (a failure after it is an `error` event in the same stream). */
  readonly started: boolean;
}

type Open = { kind: "thinking"; index: number } | { kind: "text"; index: number } | { kind: "tool"; index: number; tool: number };

interface ToolState {
  id: string;
  index: number;
  sent: boolean;
  closed: boolean;
}

type Delta = ChatCompletionChunk["choices"][number]["delta"] & { reasoning?: unknown };


/** An OpenAI-dialect error event inside a chat stream, as a gateway failure with its meaning kept. */
export function chatStreamError(body: Record<string, unknown>): GatewayError {
  const e = isObj(body.error) ? body.error : {};
  const message = typeof e.message === "string" && e.message ? e.message : "The provider's stream failed.";
  switch (e.type) {
    case "rate_limit_error":
      return new GatewayError("upstream_client_error", message, { status: 429 });
    case "timeout_error":
      return new GatewayError("upstream_timeout", message);
    case "invalid_request_error":
      return new GatewayError("upstream_client_error", message, { status: 400 });
    case "overloaded_error":
      return upstreamFailed(message, { type: "overloaded_error" });
    default:
      return upstreamFailed(message);
  }
}

export function createMessagesStreamTranslator(ctx: StreamContext): MessagesStreamTranslator {
  let started = false;
  let done = false;
  let next = 0;
  let open: Open | null = null;
  const tools = new Map<number, ToolState>();
  let toolCount = 0;
  let finish: FinishReason | undefined;
  let refused = false;
  let usage: Usage | null = null;
  // Reasoning state not yet sealed into a thinking block's signature.
  let details: unknown[] = [];
  let signatures: Record<string, string> = {};

  const start = (out: AnthropicEvent[]) => {
    if (started) return;
    started = true;
    out.push({
      type: "message_start",
      message: {
        id: messageId(ctx.requestId),
        type: "message",
        role: "assistant",
        model: ctx.publicModel,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: ctx.inputTokens, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
      },
    });
  };

  /** Seals what reasoning state has come in since the last signature (none twice: the next turn merges them all). */
  const signature = () => {
    const s = sealFor(ctx, details, signatures);
    details = [];
    signatures = {};
    return s;
  };

  const close = (out: AnthropicEvent[]) => {
    if (!open) return;
    if (open.kind === "thinking") out.push({ type: "content_block_delta", index: open.index, delta: { type: "signature_delta", signature: signature() } });
    if (open.kind === "tool") {
      const t = [...tools.values()].find((x) => x.index === open!.index)!;
      // A call with no arguments streamed nothing: clients parse the joined fragments, and "" is not JSON.
      if (!t.sent) out.push({ type: "content_block_delta", index: open.index, delta: { type: "input_json_delta", partial_json: "{}" } });
      t.closed = true;
    }
    out.push({ type: "content_block_stop", index: open.index });
    open = null;
  };

  const openBlock = (out: AnthropicEvent[], kind: "thinking" | "text", block: Record<string, unknown>) => {
    if (open?.kind === kind) return open.index;
    close(out);
    const index = next++;
    open = { kind, index };
    out.push({ type: "content_block_start", index, content_block: block });
    return index;
  };

  const toolDelta = (out: AnthropicEvent[], tc: Record<string, unknown>) => {
    const at = typeof tc.index === "number" ? tc.index : 0;
    const fn = isObj(tc.function) ? tc.function : {};
    let t = tools.get(at);
    if (!t) {
      close(out);
      const id = typeof tc.id === "string" && tc.id ? tc.id : `toolu_${ctx.requestId}_${at}`;
      t = { id, index: next++, sent: false, closed: false };
      tools.set(at, t);
      toolCount++;
      open = { kind: "tool", index: t.index, tool: at };
      out.push({ type: "content_block_start", index: t.index, content_block: { type: "tool_use", id, name: typeof fn.name === "string" ? fn.name : "", input: {} } });
    }
    const sig = thoughtSignatureOf(tc);
    if (sig && ctx.thinking) signatures[t.id] = sig;
    const args = typeof fn.arguments === "string" ? fn.arguments : "";
    if (args.length === 0) return;
    if (t.closed) {
      // Anthropic blocks cannot be reopened; a provider that interleaves calls' fragments cannot be streamed faithfully.
      throw upstreamFailed("The provider interleaved the arguments of several tool calls, which cannot be streamed as Anthropic blocks.");
    }
    t.sent = true;
    out.push({ type: "content_block_delta", index: t.index, delta: { type: "input_json_delta", partial_json: args } });
  };

  return {
    get started() {
      return started;
    },
    push(chunk) {
      if (done || !isObj(chunk)) return [];
      if (chunk.error !== undefined && !Array.isArray(chunk.choices)) throw chatStreamError(chunk);
      const out: AnthropicEvent[] = [];
      start(out);
      if (isObj(chunk.usage)) usage = chunk.usage as Usage;
      const choices = Array.isArray(chunk.choices) ? chunk.choices : [];
      for (const c of choices) {
        if (!isObj(c) || (c.index !== undefined && c.index !== 0)) continue;
        const d = (isObj(c.delta) ? c.delta : {}) as Delta;
        const reasoning = typeof d.reasoning_content === "string" ? d.reasoning_content : typeof d.reasoning === "string" ? d.reasoning : "";
        if (ctx.thinking && reasoning) {
          const index = openBlock(out, "thinking", { type: "thinking", thinking: "", signature: "" });
          if (!ctx.omitThinkingText) out.push({ type: "content_block_delta", index, delta: { type: "thinking_delta", thinking: reasoning } });
        }
        if (ctx.thinking && Array.isArray(d.reasoning_details)) details.push(...d.reasoning_details);
        const text = typeof d.content === "string" ? d.content : "";
        const refusal = typeof d.refusal === "string" ? d.refusal : "";
        if (refusal) refused = true;
        for (const piece of [text, refusal]) {
          if (!piece) continue;
          const index = openBlock(out, "text", { type: "text", text: "" });
          out.push({ type: "content_block_delta", index, delta: { type: "text_delta", text: piece } });
        }
        if (Array.isArray(d.tool_calls)) for (const tc of d.tool_calls) if (isObj(tc)) toolDelta(out, tc);
        if (typeof c.finish_reason === "string") finish = c.finish_reason as FinishReason;
      }
      return out;
    },
    end() {
      if (done) return [];
      done = true;
      const out: AnthropicEvent[] = [];
      start(out);
      close(out);
      if (ctx.thinking && (details.length > 0 || Object.keys(signatures).length > 0)) {
        // State that came after the last thinking block (Gemini's signatures ride on its tool calls): a block of its own.
        const index = next++;
        out.push({ type: "content_block_start", index, content_block: { type: "thinking", thinking: "", signature: "" } });
        out.push({ type: "content_block_delta", index, delta: { type: "signature_delta", signature: signature() } });
        out.push({ type: "content_block_stop", index });
      }
      const u = anthropicUsage(usage);
      if (!usage) u.input_tokens = ctx.inputTokens;
      out.push({
        type: "message_delta",
        delta: { stop_reason: refused ? "refusal" : stopReasonOf(finish, toolCount > 0), stop_sequence: null },
        usage: u,
      });
      out.push({ type: "message_stop" });
      return out;
    },
  };
}
