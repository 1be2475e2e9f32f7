// Pure translation of a Responses request (its items already restored and unsealed) into the internal chat request.
import type { ChatRequest } from "../../openai/schemas.ts";
import { GatewayError, invalidRequest } from "../../openai/errors.ts";
import type { Warn } from "../../providers/types.ts";
import { parseChatRequest } from "../../http/validate.ts";
import type { ResponsesRequest } from "./schema.ts";
import { toChatMessages, type SourcedItem } from "./items.ts";
import { planTools, type ToolNames } from "./tools.ts";

export interface ChatTranslation {
  chat: ChatRequest;
  /** Chat tool name → the client's (namespaced) name, for the calls coming back. */
  names: ToolNames;
}

/** Fields this translation reads or the gateway handles itself (state, streaming, the echo in the answer). */
const HANDLED = new Set([
  "model", "input", "instructions", "stream", "store", "previous_response_id", "include", "tools", "tool_choice",
  "parallel_tool_calls", "text", "reasoning", "max_output_tokens", "temperature", "top_p", "metadata", "user",
  "safety_identifier", "stream_options", "background", "truncation", "top_logprobs",
]);
/**
 * Hints about OpenAI's own caching, billing tier and client bookkeeping: no other provider has them, and clients send
 * them on every call (Codex: prompt_cache_key, client_metadata). Noted in the log, not named as dropped parameters.
 */
const HINTS = new Set(["prompt_cache_key", "prompt_cache_retention", "prompt_cache_options", "service_tier", "client_metadata"]);

/** The include values the gateway honours; others ask for data only OpenAI's hosted tools produce. */
export const ENCRYPTED_REASONING = "reasoning.encrypted_content";

export function toChatRequest(req: ResponsesRequest, items: SourcedItem[], warn: Warn): ChatTranslation {
  const raw = req as Record<string, unknown>;
  if (raw.prompt != null) {
    throw invalidRequest("Prompt templates ('prompt') live in OpenAI's dashboard: this model cannot resolve them. Send 'instructions' and 'input' instead.", "prompt");
  }
  const messages = toChatMessages(req.instructions, items, warn);
  if (!messages.some((m) => m.role !== "system" && m.role !== "developer")) {
    throw invalidRequest("Missing required parameter: 'input' (the model needs at least one input item).", "input");
  }
  const tools = planTools(req, warn);
  const chat: ChatRequest = { model: req.model, messages };
  if (req.stream === true) chat.stream = true;
  if (tools.tools) chat.tools = tools.tools;
  if (tools.toolChoice !== undefined) chat.tool_choice = tools.toolChoice;
  if (req.parallel_tool_calls != null && tools.tools) chat.parallel_tool_calls = req.parallel_tool_calls;
  if (req.max_output_tokens != null) chat.max_tokens = req.max_output_tokens;
  if (req.temperature != null) chat.temperature = req.temperature;
  if (req.top_p != null) chat.top_p = req.top_p;
  const user = req.safety_identifier ?? req.user;
  if (user) chat.user = user;
  if (req.reasoning?.effort != null) chat.reasoning_effort = req.reasoning.effort;
  const format = req.text?.format;
  if (format?.type === "json_object") chat.response_format = { type: "json_object" };
  else if (format?.type === "json_schema") {
    const { type: _, ...schema } = format as Record<string, unknown>;
    chat.response_format = { type: "json_schema", json_schema: schema } as ChatRequest["response_format"];
  }
  if (req.text?.verbosity != null) warn(`text.verbosity '${req.text.verbosity}' dropped: only OpenAI's models take it.`, "text.verbosity");
  if (req.truncation === "auto") warn("truncation 'auto' dropped: the conversation is sent whole (a context overflow is the provider's error).", "truncation");
  if (req.top_logprobs != null && req.top_logprobs > 0) warn("top_logprobs dropped: log probabilities are not translated for this model.", "top_logprobs");
  for (const v of req.include ?? []) if (v !== ENCRYPTED_REASONING) warn(`include '${v}' dropped: it names data only OpenAI's hosted tools produce.`, "include");
  for (const k of Object.keys(raw).sort()) {
    if (HANDLED.has(k) || raw[k] == null) continue;
    if (HINTS.has(k)) warn(`'${k}' ignored: an OpenAI-only hint.`);
    else warn(`'${k}' is not supported for this model and was dropped.`, k);
  }
  return { chat: checked(chat), names: tools.names };
}

/**
 * The chat request must pass chat's own rules before a provider sees it. The items were checked already, so a
 * failure here is a combination chat refuses (an image in a tool result, say): reported against `input`.
 */
function checked(chat: ChatRequest): ChatRequest {
  try {
    return parseChatRequest(chat);
  } catch (err) {
    if (err instanceof GatewayError && err.kind === "invalid_request") throw invalidRequest(`The input cannot be sent to this model: ${err.message}`, "input");
    throw err;
  }
}
