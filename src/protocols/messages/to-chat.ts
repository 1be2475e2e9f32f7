// Pure translation of a Messages request into the internal chat request for one target: fields, tools, thinking, warnings.
import type { ChatRequest, ChatTool, ReasoningEffort } from "../../openai/schemas.ts";
import { invalidRequest } from "../../openai/errors.ts";
import type { Warn } from "../../providers/types.ts";
import type { CountTokensRequest, MessagesRequest, ThinkingConfig, ToolChoice, ToolParam } from "./schema.ts";
import type { ThinkingSealer } from "./seal.ts";
import { keepsCacheControl, speaksPlainChat, takesReasoningEffort, takesUser, type TargetProfile } from "./target.ts";
import { convertMessages, convertSystem, type MessageContext } from "./to-chat-messages.ts";

export interface ToChatOptions {
  target: TargetProfile;
  warn: Warn;
  sealer: ThinkingSealer;
}

/** Fields this translation reads; any other top-level field is dropped and named in x-switchboard-warnings. */
const HANDLED = new Set([
  "model", "messages", "system", "max_tokens", "stream", "stop_sequences", "temperature", "top_p", "top_k", "metadata",
  "tools", "tool_choice", "thinking", "output_config",
]);
/** Chat caps stop sequences at four (OpenAI's limit). */
const MAX_STOP = 4;
/** The tool properties a chat function has; others (defer_loading, input_examples, …) are named when dropped. */
const TOOL_FIELDS = new Set(["name", "type", "description", "input_schema", "cache_control", "strict"]);

export function toChatRequest(req: MessagesRequest, opts: ToChatOptions): ChatRequest {
  const { target, warn } = opts;
  for (const [k, v] of Object.entries(req)) {
    if (HANDLED.has(k) || v === undefined || v === null) continue;
    warn(`'${k}' is not supported by ${target.kind} providers and was ignored.`, k);
  }
  const out = baseRequest(req, opts);
  if (req.max_tokens === 0) throw invalidRequest("max_tokens 0 (a prompt-cache warm-up) is only possible on Anthropic models.", "max_tokens");
  out.max_tokens = req.max_tokens;
  if (target.maxTokens !== undefined && req.max_tokens > target.maxTokens) {
    // Claude Code asks for 32000 whatever the model; a chat model with a smaller output limit answers 400 to that.
    warn(`max_tokens ${req.max_tokens} lowered to ${target.maxTokens}, this model's max_tokens in the gateway's config.`, "max_tokens");
    out.max_tokens = target.maxTokens;
  }
  if (req.stream === true) out.stream = true;
  if (req.stop_sequences?.length) {
    const seqs = req.stop_sequences.filter((s) => s.length > 0);
    if (seqs.length > MAX_STOP) warn(`Only the first ${MAX_STOP} stop_sequences were kept: chat providers take at most ${MAX_STOP}.`, "stop_sequences");
    if (seqs.length > 0) out.stop = seqs.slice(0, MAX_STOP);
  }
  if (req.temperature !== undefined) out.temperature = req.temperature;
  if (req.top_p !== undefined) out.top_p = req.top_p;
  if (req.top_k !== undefined) warn(`top_k ignored: the gateway sends no top_k to ${target.kind} providers.`, "top_k");
  const userId = req.metadata?.user_id;
  if (typeof userId === "string" && userId) {
    if (takesUser(target)) out.user = userId;
    else warn(`metadata.user_id ignored: ${target.kind} providers have no end-user id.`, "metadata.user_id");
  }
  for (const k of Object.keys(req.metadata ?? {})) if (k !== "user_id") warn(`metadata.${k} ignored: only metadata.user_id has a meaning.`, `metadata.${k}`);
  return out;
}

/** The part count_tokens shares with create: the prompt (system, messages, tools) and what shapes it. */
export function baseRequest(req: CountTokensRequest, opts: ToChatOptions): ChatRequest {
  const ctx: MessageContext = { target: opts.target, warn: opts.warn, sealer: opts.sealer };
  const seen = { cache: false };
  const messages = [...convertSystem(req.system, ctx, seen), ...convertMessages(req.messages, ctx, seen)];
  if (!messages.some((m) => m.role !== "system")) throw invalidRequest("messages: at least one user or assistant message is required.", "messages");
  const out: ChatRequest = { model: req.model, messages };
  const tools = convertTools(req.tools ?? [], opts, seen);
  if (tools.length > 0) {
    out.tools = tools;
    applyToolChoice(out, req.tool_choice, tools, opts.warn);
  }
  applyThinking(out, req, opts);
  const format = req.output_config?.format;
  // Anthropic's structured output guarantees the schema; OpenAI's strict mode would also demand every property be
  // required, so the schema is sent as guidance (strict off) rather than refused.
  if (format) out.response_format = { type: "json_schema", json_schema: { name: "response", schema: format.schema } } as ChatRequest["response_format"];
  for (const k of Object.keys(req.output_config ?? {})) {
    if (k !== "effort" && k !== "format") opts.warn(`output_config.${k} is not supported by ${opts.target.kind} providers and was ignored.`, `output_config.${k}`);
  }
  return out;
}

function convertTools(tools: ToolParam[], opts: ToChatOptions, seen: { cache: boolean }): ChatTool[] {
  const out: ChatTool[] = [];
  tools.forEach((t, i) => {
    const at = `tools.${i}`;
    if (t.type != null && t.type !== "custom") {
      // Server tools (web search, code execution, …) run inside Anthropic's API; nobody runs them elsewhere.
      opts.warn(`Tool '${t.name}' (${t.type}) is run by Anthropic's servers; ${opts.target.kind} providers cannot run it, so it was not offered.`, at);
      return;
    }
    const fn: ChatTool["function"] = { name: t.name, parameters: t.input_schema as Record<string, unknown> };
    if (t.description) fn.description = t.description;
    if ((t as Record<string, unknown>).strict === true) fn.strict = true;
    const tool: ChatTool & { cache_control?: unknown } = { type: "function", function: fn };
    if (t.cache_control != null) {
      if (keepsCacheControl(opts.target)) tool.cache_control = t.cache_control;
      else if (!seen.cache) {
        seen.cache = true;
        opts.warn(`cache_control ignored: ${opts.target.kind} providers have no prompt-cache breakpoints.`, `${at}.cache_control`);
      }
    }
    for (const [k, v] of Object.entries(t as Record<string, unknown>)) {
      if (TOOL_FIELDS.has(k) || v === undefined || v === null || v === false) continue;
      opts.warn(`${k} on tools is not supported by ${opts.target.kind} providers and was ignored.`, `${at}.${k}`);
    }
    out.push(tool);
  });
  return out;
}

function applyToolChoice(out: ChatRequest, choice: ToolChoice | undefined, tools: ChatTool[], warn: Warn): void {
  if (!choice) return;
  if (choice.type === "auto") out.tool_choice = "auto";
  else if (choice.type === "any") out.tool_choice = "required";
  else if (choice.type === "none") out.tool_choice = "none";
  else if (tools.some((t) => t.function.name === choice.name)) out.tool_choice = { type: "function", function: { name: choice.name } };
  else {
    warn(`tool_choice ignored: the tool '${choice.name}' was not offered to this provider.`, "tool_choice");
    return;
  }
  if (choice.type !== "none" && choice.disable_parallel_tool_use === true) out.parallel_tool_calls = false;
}

/** Claude's budget, read as an effort: the same bands the Anthropic translator turns efforts into budgets with. */
export function effortOfBudget(budget: number): ReasoningEffort {
  if (budget < 4096) return "low";
  if (budget < 16384) return "medium";
  return "high";
}

/**
 * `thinking` (and `output_config.effort`) → `reasoning_effort`. Adaptive thinking lets the model decide: OpenAI
 * reasoning models keep their own default, the others are asked for a medium effort so their reasoning comes back.
 */
function applyThinking(out: ChatRequest, req: CountTokensRequest, opts: ToChatOptions): void {
  const t: ThinkingConfig | undefined = req.thinking;
  const effort = req.output_config?.effort ?? undefined;
  const on = t !== undefined && t.type !== "disabled";
  if (!on && !effort) return;
  if (!takesReasoningEffort(opts.target)) {
    // gpt-4o and other chat models refuse reasoning_effort; what was asked is dropped, not failed.
    opts.warn(`${on ? "thinking" : "output_config.effort"} ignored: ${opts.target.upstreamModel} does not reason.`, on ? "thinking" : "output_config.effort");
    return;
  }
  let chosen: ReasoningEffort | undefined = effort ?? undefined;
  if (!chosen && t?.type === "enabled") chosen = effortOfBudget(t.budget_tokens);
  if (!chosen && on && !speaksPlainChat(opts.target)) chosen = "medium";
  if (chosen) out.reasoning_effort = chosen;
}

/** Whether the client asked to see reasoning (thinking blocks come back only then, as from Anthropic). */
export const wantsThinking = (req: CountTokensRequest): boolean => req.thinking !== undefined && req.thinking.type !== "disabled";

/** `display: "omitted"` (Claude Code's choice): thinking blocks come back with their signature and no text. */
export const omitsThinkingText = (req: CountTokensRequest): boolean => (req.thinking as { display?: unknown } | undefined)?.display === "omitted";
