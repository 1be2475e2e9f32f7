// Pure translation of an OpenAI chat request into an Anthropic Messages API body (no I/O, no clock).
import type { ChatRequest, ChatTool, ChatToolChoice } from "../../openai/schemas.ts";
import { invalidRequest } from "../../openai/errors.ts";
import type { Deployment, Warn } from "../types.ts";
import { cacheControlOf, convertMessages } from "./messages.ts";
import { defaultMaxTokens, rejectsSampling } from "./models.ts";
import { applyReasoning } from "./reasoning.ts";
import { structuredOutput } from "./structured.ts";
import type { AnthropicRequest, AnthropicTool, AnthropicToolChoice } from "./wire.ts";

export type * from "./wire.ts";

export interface AnthropicRequestOptions {
  /** The `anthropic-version` header the provider sends; decides whether sampling parameters exist at all. */
  anthropicVersion?: string;
}

export { imageSource } from "./messages.ts";
export { rejectsSampling } from "./models.ts";
export const DEFAULT_ANTHROPIC_VERSION = "2023-06-01";

/** Fields this translator reads; anything else on the request is dropped with a warning. */
const HANDLED = new Set([
  "model", "messages", "stream", "stream_options", "temperature", "max_tokens", "max_completion_tokens", "top_p",
  "stop", "tools", "tool_choice", "user", "n", "parallel_tool_calls", "reasoning_effort", "response_format", "logprobs",
  "top_logprobs",
]);

/** OpenAI-only fields with no Anthropic counterpart: dropped, but only worth a warning when actually set. */
const UNSUPPORTED = new Set([
  "frequency_penalty", "presence_penalty", "seed", "logit_bias", "metadata", "service_tier", "store", "modalities",
  "audio", "prediction", "web_search_options",
]);

export function toAnthropicRequest(
  req: ChatRequest,
  d: Deployment,
  warn: Warn,
  opts: AnthropicRequestOptions = {},
): AnthropicRequest {
  if (req.n != null && req.n > 1) throw invalidRequest("n > 1 is not supported by Anthropic models.", "n");
  // Token log probabilities change the answer's shape; Anthropic has none to give, so this is refused, not dropped.
  if (req.logprobs === true) throw invalidRequest("logprobs are not available from Anthropic models.", "logprobs");
  for (const [key, value] of Object.entries(req)) {
    if (HANDLED.has(key) || value === undefined || value === null) continue;
    if (UNSUPPORTED.has(key)) warn(`'${key}' is not supported by Anthropic and was ignored.`, key);
    else warn(`Unknown field '${key}' was dropped for the Anthropic provider.`, key);
  }

  const thinkingRequested = !!req.reasoning_effort && req.reasoning_effort !== "none";
  const { system, messages } = convertMessages(req.messages, warn, { replayThinking: thinkingRequested });
  if (messages.length === 0) {
    throw invalidRequest("At least one user or assistant message is required for Anthropic models.", "messages");
  }
  const out: AnthropicRequest = {
    model: d.upstreamModel,
    max_tokens: req.max_completion_tokens ?? req.max_tokens ?? d.model.max_tokens ?? defaultMaxTokens(d.upstreamModel),
    messages,
  };
  if (system.length > 0) out.system = system;

  applySampling(out, req, d.upstreamModel, opts.anthropicVersion ?? DEFAULT_ANTHROPIC_VERSION, warn);

  if (req.stop != null) {
    const seqs = (typeof req.stop === "string" ? [req.stop] : req.stop).filter((s) => s.length > 0);
    if (seqs.length > 0) out.stop_sequences = seqs;
  }
  if (req.user) out.metadata = { user_id: req.user };

  if (req.tools && req.tools.length > 0) {
    out.tools = req.tools.map((t, i) => convertTool(t, `tools[${i}]`));
    const choice = convertToolChoice(req.tool_choice, req.parallel_tool_calls === false);
    if (choice) out.tool_choice = choice;
  } else if (req.tool_choice !== undefined && req.tool_choice !== "none") {
    warn("'tool_choice' was ignored because the request has no tools.", "tool_choice");
  }

  const structured = structuredOutput(req, d.upstreamModel);
  if (structured?.output_config) out.output_config = { ...out.output_config, ...structured.output_config };
  if (structured?.tool) {
    out.tools = [...(out.tools ?? []), structured.tool];
    const parallel = req.parallel_tool_calls === false ? { disable_parallel_tool_use: true } : {};
    out.tool_choice = { ...structured.tool_choice!, ...(structured.tool_choice!.type === "none" ? {} : parallel) } as AnthropicToolChoice;
  }
  applyReasoning(out, req, warn);
  return out;
}

/** The answer tool's name when `response_format` is answered through a tool (its input becomes `content`). */
export function structuredToolOf(req: ChatRequest, body: AnthropicRequest): string | undefined {
  const rf = req.response_format?.type;
  if (!rf || rf === "text" || body.output_config?.format) return undefined;
  // structuredOutput appends its tool after the client's.
  return body.tools?.[body.tools.length - 1]?.name;
}

/**
 * The sampling rule (documented in the provider README):
 * - API versions after 2023-06-01 removed temperature/top_p (any value is a 400), so both are dropped;
 * - Claude models from 4.7 on reject them under 2023-06-01 too, so they are dropped for those ids;
 * - otherwise temperature above Anthropic's maximum of 1 is clamped to 1 (0–1 means the same on both sides,
 *   and OpenAI's default of 1 stays Anthropic's default), and when both are set only temperature is sent,
 *   as Anthropic asks callers to alter one of the two and newer models reject the pair.
 */
function applySampling(out: AnthropicRequest, req: ChatRequest, model: string, version: string, warn: Warn) {
  const t = req.temperature ?? undefined;
  const p = req.top_p ?? undefined;
  if (t === undefined && p === undefined) return;
  const names = [t !== undefined && "temperature", p !== undefined && "top_p"].filter(Boolean).join(" and ");
  if (version > DEFAULT_ANTHROPIC_VERSION) {
    warn(`${names} ignored: anthropic-version ${version} does not accept sampling parameters.`, t !== undefined ? "temperature" : "top_p");
    return;
  }
  if (rejectsSampling(model)) {
    warn(`${names} ignored: ${model} does not accept sampling parameters.`, t !== undefined ? "temperature" : "top_p");
    return;
  }
  if (t !== undefined) {
    if (t > 1) warn(`temperature ${t} clamped to 1, the maximum Anthropic accepts.`, "temperature");
    out.temperature = Math.min(t, 1);
    if (p !== undefined) warn("top_p ignored: Anthropic takes temperature or top_p, not both; temperature was kept.", "top_p");
  } else if (p !== undefined) {
    out.top_p = p;
  }
}

function convertTool(t: ChatTool, param: string): AnthropicTool {
  const schema = t.function.parameters ?? { type: "object", properties: {} };
  // Anthropic requires an object schema with an explicit type; OpenAI tolerates it missing.
  const input_schema = "type" in schema ? schema : { type: "object", ...schema };
  const out: AnthropicTool = { name: t.function.name, input_schema };
  if (t.function.description) out.description = t.function.description;
  if (t.function.strict === true) out.strict = true;
  // The breakpoint may sit on the tool (LiteLLM) or on its function.
  const cc = cacheControlOf(t, param) ?? cacheControlOf(t.function, `${param}.function`);
  if (cc) out.cache_control = cc;
  return out;
}

function convertToolChoice(choice: ChatToolChoice | undefined, noParallel: boolean): AnthropicToolChoice | undefined {
  const parallel = noParallel ? { disable_parallel_tool_use: true } : {};
  // "none" keeps the tools and sends {type:"none"}: Anthropic rejects a history with tool_use blocks and no tools.
  if (choice === "none") return { type: "none" };
  if (choice === "required") return { type: "any", ...parallel };
  if (choice === "auto") return { type: "auto", ...parallel };
  if (choice && typeof choice === "object") return { type: "tool", name: choice.function.name, ...parallel };
  return noParallel ? { type: "auto", ...parallel } : undefined;
}
