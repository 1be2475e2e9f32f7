// Pure translation of a chat completion into an Anthropic `message`, and the mappings the stream translator shares.
import type { ChatCompletion, FinishReason, Usage } from "../../openai/schemas.ts";
import type { ThinkingSealer, ThinkingSeal } from "./seal.ts";

export type StopReason = "end_turn" | "max_tokens" | "stop_sequence" | "tool_use" | "refusal";

export interface AnthropicUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  output_tokens_details?: { thinking_tokens: number };
}

export type AnthropicBlock =
  | { type: "thinking"; thinking: string; signature: string }
  | { type: "text"; text: string }
  | { type: "tool_use"; id: string; name: string; input: Record<string, unknown> };

export interface AnthropicMessage {
  id: string;
  type: "message";
  role: "assistant";
  model: string;
  content: AnthropicBlock[];
  stop_reason: StopReason | null;
  stop_sequence: string | null;
  usage: AnthropicUsage;
}

export interface AnswerContext {
  requestId: string;
  /** The model id the client asked for. */
  publicModel: string;
  /** The provider instance that answered: sealed reasoning state goes back only to it. */
  provider: string;
  sealer: ThinkingSealer;
  /** Whether the client asked for thinking: only then does reasoning come back, as thinking blocks. */
  thinking: boolean;
  /** `thinking.display: "omitted"`: the blocks come back signed but without their text (as Anthropic sends them). */
  omitThinkingText?: boolean;
}

/** `msg_…` from the request id (kept to the characters Anthropic's ids use). */
export const messageId = (requestId: string) => `msg_${requestId.replace(/[^A-Za-z0-9_-]/g, "")}`;

/** finish_reason → stop_reason. Tool calls present mean tool_use whatever the provider said (Gemini says STOP). */
export function stopReasonOf(finish: FinishReason | undefined, hasToolCalls: boolean): StopReason {
  if (hasToolCalls) return "tool_use";
  switch (finish) {
    case "length":
      return "max_tokens";
    case "tool_calls":
    case "function_call":
      return "tool_use";
    case "content_filter":
      return "refusal";
    default:
      return "end_turn";
  }
}

/**
 * Chat usage → Anthropic's: chat's prompt_tokens includes cached input, Anthropic's input_tokens does not (cache
 * reads and writes are counted beside it).
 */
export function anthropicUsage(u: Usage | null | undefined): AnthropicUsage {
  const read = u?.prompt_tokens_details?.cached_tokens ?? 0;
  const write = u?.prompt_tokens_details?.cache_creation_tokens ?? 0;
  const out: AnthropicUsage = {
    input_tokens: Math.max(0, (u?.prompt_tokens ?? 0) - read - write),
    output_tokens: u?.completion_tokens ?? 0,
    cache_creation_input_tokens: write,
    cache_read_input_tokens: read,
  };
  const thinking = u?.completion_tokens_details?.reasoning_tokens;
  if (typeof thinking === "number") out.output_tokens_details = { thinking_tokens: thinking };
  return out;
}

/** Tool arguments as the object Anthropic's `input` is; empty arguments are `{}`, never a string. */
export function toolInput(args: string | undefined): Record<string, unknown> {
  if (!args || args.trim() === "") return {};
  try {
    const v: unknown = JSON.parse(args);
    if (v && typeof v === "object" && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // Not JSON (a model cut off mid-call): kept whole so nothing is lost, under a name that says so.
  }
  return { _raw_arguments: args };
}

/** The thinking block's signature: the provider's reasoning state, sealed, so the next turn can give it back. */
export function sealFor(ctx: AnswerContext, details: unknown[], toolSignatures: Record<string, string>): string {
  const payload: ThinkingSeal = { provider: ctx.provider };
  if (details.length > 0) payload.details = details;
  if (Object.keys(toolSignatures).length > 0) payload.toolSignatures = toolSignatures;
  return ctx.sealer.seal(payload);
}

/** The Gemini thought signature a chat tool call carries (`extra_content.google.thought_signature`), if any. */
export function thoughtSignatureOf(tc: unknown): string | undefined {
  const extra = (tc as { extra_content?: { google?: { thought_signature?: unknown } } } | null)?.extra_content;
  const s = extra?.google?.thought_signature;
  return typeof s === "string" && s.length > 0 ? s : undefined;
}

export function fromChatCompletion(c: ChatCompletion, ctx: AnswerContext): AnthropicMessage {
  const choice = c.choices[0];
  const m = choice?.message;
  const content: AnthropicBlock[] = [];
  const calls = m?.tool_calls ?? [];
  if (ctx.thinking && m) {
    const details = (m.reasoning_details ?? []) as unknown[];
    const signatures: Record<string, string> = {};
    for (const tc of calls) {
      const s = thoughtSignatureOf(tc);
      if (s) signatures[tc.id] = s;
    }
    const text = m.reasoning_content ?? (m as { reasoning?: unknown }).reasoning;
    if ((typeof text === "string" && text) || details.length > 0 || Object.keys(signatures).length > 0) {
      content.push({ type: "thinking", thinking: typeof text === "string" && !ctx.omitThinkingText ? text : "", signature: sealFor(ctx, details, signatures) });
    }
  }
  const text = typeof m?.content === "string" ? m.content : "";
  if (text) content.push({ type: "text", text });
  // An OpenAI refusal is the model's answer: its words, with stop_reason refusal.
  const refusal = typeof m?.refusal === "string" && m.refusal ? m.refusal : undefined;
  if (refusal && !text) content.push({ type: "text", text: refusal });
  calls.forEach((tc) => content.push({ type: "tool_use", id: tc.id, name: tc.function.name, input: toolInput(tc.function.arguments) }));
  if (m?.function_call) content.push({ type: "tool_use", id: `toolu_${ctx.requestId}_fc`, name: m.function_call.name, input: toolInput(m.function_call.arguments) });
  const hasCalls = calls.length > 0 || !!m?.function_call;
  return {
    id: messageId(ctx.requestId),
    type: "message",
    role: "assistant",
    model: ctx.publicModel,
    content,
    stop_reason: refusal ? "refusal" : stopReasonOf(choice?.finish_reason ?? null, hasCalls),
    stop_sequence: null,
    usage: anthropicUsage(c.usage),
  };
}
