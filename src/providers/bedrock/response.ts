// Pure translation of a Converse response into an OpenAI chat.completion, and the mappings the stream shares.
import type { ChatCompletion, FinishReason, ReasoningDetail, Usage } from "../../openai/schemas.ts";
import { upstreamFailed } from "../../openai/errors.ts";
import type { Warn } from "../types.ts";
import { REASONING_FORMAT } from "../anthropic/messages.ts";
import { toUsage } from "../anthropic/response.ts";
import type { TokenUsage } from "./wire.ts";
import { isObj } from "../shared/json.ts";

type Finish = Exclude<FinishReason, null>;

const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

/** Converse's stopReason → finish_reason; tool calls present win over a plain end, since the client must run them. */
export function mapStopReason(reason: unknown, hasToolCalls: boolean, warn: Warn = () => {}): Finish {
  switch (reason) {
    case "tool_use":
      return "tool_calls";
    case "max_tokens":
    case "model_context_window_exceeded":
      return "length";
    case "guardrail_intervened":
    case "content_filtered":
      return "content_filter";
    case "end_turn":
    case "stop_sequence":
    case undefined:
    case null:
      return hasToolCalls ? "tool_calls" : "stop";
    default:
      // malformed_model_output, malformed_tool_use and reasons added later: the answer ends here, and the log says why.
      warn(`Bedrock finished with stopReason ${String(reason)}.`);
      return hasToolCalls ? "tool_calls" : "stop";
  }
}

/** Converse usage in OpenAI's terms (prompt tokens include cache reads and writes, as Anthropic's mapping does). */
export function mapUsage(raw: unknown): Usage {
  const u: TokenUsage = isObj(raw) ? (raw as TokenUsage) : {};
  return toUsage({
    input_tokens: num(u.inputTokens),
    output_tokens: num(u.outputTokens),
    cache_read_input_tokens: num(u.cacheReadInputTokens),
    cache_creation_input_tokens: num(u.cacheWriteInputTokens),
  });
}

export interface ResponseMeta {
  id: string;
  created: number;
  model: string;
  /** Claude's reasoning comes with signatures the client must send back: kept in reasoning_details. */
  claude: boolean;
}

/** One reasoningContent block as a reasoning_details entry (Claude's format, so the Anthropic path can replay it too). */
export function reasoningDetail(block: Record<string, unknown>, index: number): ReasoningDetail | undefined {
  if (isObj(block.reasoningText) && typeof block.reasoningText.text === "string") {
    const d: ReasoningDetail = { type: "reasoning.text", text: block.reasoningText.text, format: REASONING_FORMAT, index };
    if (typeof block.reasoningText.signature === "string") d.signature = block.reasoningText.signature;
    return d;
  }
  if (typeof block.redactedContent === "string") return { type: "reasoning.encrypted", data: block.redactedContent, format: REASONING_FORMAT, index };
  return undefined;
}

export function fromConverseResponse(body: unknown, meta: ResponseMeta, warn: Warn = () => {}): ChatCompletion {
  const message = isObj(body) && isObj(body.output) && isObj(body.output.message) ? body.output.message : undefined;
  if (!isObj(body) || !message || !Array.isArray(message.content)) throw upstreamFailed("The provider returned an unexpected response shape.");
  let text = "";
  let hasText = false;
  let reasoning: string | undefined;
  const details: ReasoningDetail[] = [];
  const toolCalls: NonNullable<ChatCompletion["choices"][number]["message"]["tool_calls"]> = [];
  for (const block of message.content) {
    if (!isObj(block)) continue;
    if (typeof block.text === "string") {
      text += block.text;
      hasText = true;
    } else if (isObj(block.toolUse) && typeof block.toolUse.toolUseId === "string" && typeof block.toolUse.name === "string") {
      toolCalls.push({ id: block.toolUse.toolUseId, type: "function", function: { name: block.toolUse.name, arguments: JSON.stringify(block.toolUse.input ?? {}) } });
    } else if (isObj(block.reasoningContent)) {
      const d = reasoningDetail(block.reasoningContent, details.length);
      if (d?.text !== undefined) reasoning = (reasoning ?? "") + d.text;
      if (d && meta.claude) details.push(d);
    }
    // Citations, guard content and other blocks have no place in a chat completion: dropped.
  }
  const finish = mapStopReason(body.stopReason, toolCalls.length > 0, warn);
  const out: ChatCompletion["choices"][number]["message"] = {
    role: "assistant",
    content: hasText ? text : toolCalls.length > 0 || finish === "content_filter" ? null : "",
  };
  if (toolCalls.length > 0) out.tool_calls = toolCalls;
  if (reasoning !== undefined) out.reasoning_content = reasoning;
  if (details.length > 0) out.reasoning_details = details;
  return {
    id: meta.id,
    object: "chat.completion",
    created: meta.created,
    model: meta.model,
    choices: [{ index: 0, message: out, finish_reason: finish, logprobs: null }],
    usage: mapUsage(body.usage),
  };
}
