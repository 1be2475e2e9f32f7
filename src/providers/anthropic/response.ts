// Pure translation of an Anthropic Messages API response into an OpenAI chat.completion (plus shared mappings).
import type { ChatCompletion, FinishReason, ReasoningDetail, Usage } from "../../openai/schemas.ts";
import { upstreamFailed } from "../../openai/errors.ts";
import { REASONING_FORMAT } from "./messages.ts";

type Finish = Exclude<FinishReason, null>;

/**
 * stop_reason → finish_reason. Takes whether tool calls were produced: a reason we do not know (or none at
 * all) still reports `tool_calls` when the client has calls to run, since that is what it must act on.
 */
export function mapStopReason(reason: unknown, hasToolCalls: boolean): Finish {
  switch (reason) {
    case "end_turn":
    case "stop_sequence":
    case "pause_turn": // a server-tool turn paused by Anthropic; for the client the answer simply ends here
      return hasToolCalls ? "tool_calls" : "stop";
    case "max_tokens":
    case "model_context_window_exceeded":
      return "length";
    case "tool_use":
      return "tool_calls";
    case "refusal":
      return "content_filter";
    default:
      return hasToolCalls ? "tool_calls" : "stop";
  }
}

/** Anthropic's usage fields as numbers (absent or null → undefined). */
export interface AnthropicUsage {
  input_tokens?: number;
  output_tokens?: number;
  cache_read_input_tokens?: number;
  cache_creation_input_tokens?: number;
  /** `output_tokens_details.thinking_tokens`: the part of output_tokens spent thinking. */
  thinking_tokens?: number;
}

/** Copies the numeric usage fields present in `raw` over `into` (a later message_delta updates earlier counts). */
export function mergeUsage(into: AnthropicUsage, raw: unknown): AnthropicUsage {
  if (!raw || typeof raw !== "object") return into;
  const r = raw as Record<string, unknown>;
  for (const k of ["input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"] as const) {
    const v = r[k];
    if (typeof v === "number" && Number.isFinite(v)) into[k] = v;
  }
  const details = r.output_tokens_details;
  if (details && typeof details === "object") {
    const t = (details as Record<string, unknown>).thinking_tokens;
    if (typeof t === "number" && Number.isFinite(t)) into.thinking_tokens = t;
  }
  return into;
}

/**
 * Anthropic counts cached input apart from `input_tokens`; OpenAI's prompt_tokens includes it. Cache reads are
 * OpenAI's `cached_tokens`; cache writes have no OpenAI name and go in `cache_creation_tokens` (LiteLLM's name).
 */
export function toUsage(u: AnthropicUsage): Usage {
  const cacheRead = u.cache_read_input_tokens ?? 0;
  const cacheWrite = u.cache_creation_input_tokens ?? 0;
  const prompt = (u.input_tokens ?? 0) + cacheRead + cacheWrite;
  const completion = u.output_tokens ?? 0;
  const usage: Usage = {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cacheRead, cache_creation_tokens: cacheWrite },
  };
  if (u.thinking_tokens !== undefined) usage.completion_tokens_details = { reasoning_tokens: u.thinking_tokens };
  return usage;
}

/** One thinking block as a `reasoning_details` entry: what the client sends back to continue a tool loop. */
export function thinkingDetail(block: Record<string, unknown>, index: number): ReasoningDetail | undefined {
  if (block.type === "thinking" && typeof block.thinking === "string") {
    const d: ReasoningDetail = { type: "reasoning.text", text: block.thinking, format: REASONING_FORMAT, index };
    if (typeof block.signature === "string") d.signature = block.signature;
    return d;
  }
  if (block.type === "redacted_thinking" && typeof block.data === "string") return { type: "reasoning.encrypted", data: block.data, format: REASONING_FORMAT, index };
  return undefined;
}

/** The explanation Anthropic attaches to a refusal (`stop_details.explanation`), if any. */
export function refusalText(stopDetails: unknown): string | undefined {
  if (!stopDetails || typeof stopDetails !== "object") return undefined;
  const e = (stopDetails as { explanation?: unknown }).explanation;
  return typeof e === "string" && e.length > 0 ? e : undefined;
}

interface AnthropicMessageBody {
  content: unknown[];
  stop_reason?: unknown;
  stop_details?: unknown;
  usage: Record<string, unknown>;
}

function isMessageBody(v: unknown): v is AnthropicMessageBody {
  if (!v || typeof v !== "object") return false;
  const b = v as Record<string, unknown>;
  return b.type === "message" && Array.isArray(b.content) && !!b.usage && typeof b.usage === "object";
}

export interface ResponseContext {
  requestId: string;
  publicModel: string;
  /** Epoch seconds. */
  created: number;
  /** The tool that carries a `response_format` answer: its input is the message's content, not a tool call. */
  structuredTool?: string;
}

export function fromAnthropicResponse(body: unknown, ctx: ResponseContext): ChatCompletion {
  if (!isMessageBody(body)) throw upstreamFailed("The provider returned an unexpected response shape.");
  let text = "";
  let hasText = false;
  let structured = false;
  let reasoning: string | undefined;
  const details: ReasoningDetail[] = [];
  const toolCalls: { id: string; type: "function"; function: { name: string; arguments: string } }[] = [];
  for (const raw of body.content) {
    if (!raw || typeof raw !== "object") continue;
    const block = raw as Record<string, unknown>;
    if (block.type === "text" && typeof block.text === "string") {
      text += block.text;
      hasText = true;
    } else if (block.type === "tool_use" && block.name === ctx.structuredTool && ctx.structuredTool) {
      // The JSON answer given through the response_format tool: it is the content.
      text += JSON.stringify(block.input ?? {});
      hasText = true;
      structured = true;
    } else if (block.type === "tool_use" && typeof block.id === "string" && typeof block.name === "string") {
      toolCalls.push({ id: block.id, type: "function", function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) } });
    } else {
      const d = thinkingDetail(block, details.length);
      if (d) {
        details.push(d);
        if (d.text !== undefined) reasoning = (reasoning ?? "") + d.text;
      }
    }
    // Server-tool blocks have no place in a chat completion: dropped.
  }
  const message: ChatCompletion["choices"][number]["message"] = {
    role: "assistant",
    // OpenAI sends null content beside tool calls; an answer with neither is an empty string, never null.
    // A refusal without text is content null, as OpenAI sends its own refusals.
    content: hasText ? text : toolCalls.length > 0 || body.stop_reason === "refusal" ? null : "",
  };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  if (body.stop_reason === "refusal") message.refusal = refusalText(body.stop_details) ?? null;
  if (reasoning !== undefined) message.reasoning_content = reasoning;
  if (details.length > 0) message.reasoning_details = details;
  // Claude stopped to "use" the answer tool; for the client the answer is simply complete.
  const finish = structured && toolCalls.length === 0 && body.stop_reason === "tool_use" ? "stop" : mapStopReason(body.stop_reason, toolCalls.length > 0);
  return {
    id: `chatcmpl-${ctx.requestId}`,
    object: "chat.completion",
    created: ctx.created,
    model: ctx.publicModel,
    choices: [{ index: 0, message, finish_reason: finish, logprobs: null }],
    usage: toUsage(mergeUsage({}, body.usage)),
  };
}
