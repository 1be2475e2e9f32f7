// Pure translation of an OpenAI chat request into a Bedrock Converse / ConverseStream body (no I/O, no clock).
import type { ChatRequest, ChatTool, ChatToolChoice } from "../../openai/schemas.ts";
import { invalidRequest } from "../../openai/errors.ts";
import type { Warn } from "../types.ts";
import { cacheControlOf } from "../anthropic/messages.ts";
import { defaultMaxTokens, rejectsSampling } from "../anthropic/models.ts";
import { applyReasoning } from "../anthropic/reasoning.ts";
import { toAnthropicSchema } from "../anthropic/structured.ts";
import type { AnthropicRequest, AnthropicToolChoice } from "../anthropic/wire.ts";
import { convertMessages, usesTools } from "./messages.ts";
import { baseModelId, isClaude } from "./models.ts";
import type { ConverseRequest, ToolChoice, ToolSpec } from "./wire.ts";

export interface ConverseOptions {
  warn: Warn;
  /** The Bedrock model id (or profile / ARN) the request goes to. */
  model: string;
  /** The model entry's `max_tokens`, used when the client sets none. */
  defaultMaxTokens?: number;
}

/** Fields this translator reads, or the gateway handles itself; any other top-level field is dropped with a warning. */
const HANDLED = new Set([
  "model", "messages", "stream", "stream_options", "temperature", "max_tokens", "max_completion_tokens", "top_p",
  "stop", "tools", "tool_choice", "n", "parallel_tool_calls", "reasoning_effort", "response_format", "logprobs", "top_logprobs",
]);

/** What a json_object request adds to the system prompt: Converse has JSON output only with a schema. */
export const JSON_OBJECT_INSTRUCTION = "Answer with a single valid JSON object and nothing else.";

export function toConverseRequest(req: ChatRequest, opts: ConverseOptions): ConverseRequest {
  const { warn, model } = opts;
  const claude = isClaude(model);
  if (req.n != null && req.n > 1) throw invalidRequest("n > 1 is not supported by Bedrock's Converse API.", "n");
  if (req.logprobs === true) throw invalidRequest("logprobs are not available from Bedrock's Converse API.", "logprobs");
  for (const [key, value] of Object.entries(req)) {
    if (HANDLED.has(key) || value === undefined || value === null) continue;
    warn(`'${key}' is not supported by Bedrock's Converse API and was ignored.`, key);
  }

  const thinking = !!req.reasoning_effort && req.reasoning_effort !== "none";
  const { system, messages } = convertMessages(req.messages, warn, { replayThinking: thinking && claude });
  if (messages.length === 0) throw invalidRequest("At least one user or assistant message is required for Bedrock models.", "messages");
  const out: ConverseRequest = { messages };
  if (system.length > 0) out.system = system;

  const inference: NonNullable<ConverseRequest["inferenceConfig"]> = {};
  // Claude needs a maximum; the Converse default for it (4096 or less) would cut long answers short.
  const maxTokens = req.max_completion_tokens ?? req.max_tokens ?? opts.defaultMaxTokens ?? (claude ? defaultMaxTokens(baseModelId(model)) : undefined);
  if (maxTokens !== undefined) inference.maxTokens = maxTokens;
  applySampling(inference, req, model, claude, warn);
  if (req.stop != null) {
    const seqs = (typeof req.stop === "string" ? [req.stop] : req.stop).filter((s) => s.length > 0);
    if (seqs.length > 0) inference.stopSequences = seqs;
  }

  applyTools(out, req, warn);
  applyResponseFormat(out, req, claude, warn);
  // Inference settings go last: reasoning may raise maxTokens or remove sampling.
  out.inferenceConfig = inference;
  if (thinking) applyBedrockReasoning(out, req, model, claude, warn);
  if (Object.keys(out.inferenceConfig).length === 0) delete out.inferenceConfig;
  return out;
}

/**
 * Bedrock's models take temperature and top_p in 0–1: a temperature above 1 is clamped. Claude keeps the Anthropic
 * rules (one of the two, none from 4.7 on), since Bedrock passes them to the same model.
 */
function applySampling(inf: NonNullable<ConverseRequest["inferenceConfig"]>, req: ChatRequest, model: string, claude: boolean, warn: Warn) {
  const t = req.temperature ?? undefined;
  const p = req.top_p ?? undefined;
  if (t === undefined && p === undefined) return;
  if (claude && rejectsSampling(model)) {
    warn(`Sampling parameters ignored: ${model} does not accept them.`, t !== undefined ? "temperature" : "top_p");
    return;
  }
  if (t !== undefined) {
    if (t > 1) warn(`temperature ${t} clamped to 1, the maximum Bedrock models accept.`, "temperature");
    inf.temperature = Math.min(t, 1);
  }
  if (p !== undefined) {
    if (claude && t !== undefined) warn("top_p ignored: Claude takes temperature or top_p, not both; temperature was kept.", "top_p");
    else inf.topP = p;
  }
}

function applyTools(out: ConverseRequest, req: ChatRequest, warn: Warn) {
  const tools = req.tools ?? [];
  if (req.parallel_tool_calls === false) warn("'parallel_tool_calls: false' is not supported by Bedrock's Converse API and was ignored.", "parallel_tool_calls");
  if (tools.length === 0) {
    if (req.tool_choice !== undefined && req.tool_choice !== "none") warn("'tool_choice' was ignored because the request has no tools.", "tool_choice");
    return;
  }
  const history = usesTools(out.messages);
  // Converse has no "none": the tools are left out so nothing can be called, unless the history holds tool
  // calls, which Bedrock accepts only beside a toolConfig.
  if (req.tool_choice === "none" && !history) return;
  const specs: ToolConfigTools = [];
  tools.forEach((t, i) => {
    specs.push(toolSpec(t));
    if (cacheControlOf(t, `tools[${i}]`) ?? cacheControlOf(t.function, `tools[${i}].function`)) specs.push({ cachePoint: { type: "default" } });
  });
  out.toolConfig = { tools: specs };
  if (req.tool_choice === "none") {
    warn("tool_choice 'none' has no Converse equivalent while the conversation holds tool calls: the tools were kept and the model may call one.", "tool_choice");
    return;
  }
  const choice = toolChoice(req.tool_choice);
  if (choice) out.toolConfig.toolChoice = choice;
}

type ToolConfigTools = NonNullable<ConverseRequest["toolConfig"]>["tools"];

function toolSpec(t: ChatTool): ToolSpec {
  const schema = t.function.parameters ?? { type: "object", properties: {} };
  // Bedrock wants an object schema with an explicit type; OpenAI tolerates it missing.
  const json = "type" in schema ? schema : { type: "object", ...schema };
  return {
    toolSpec: {
      name: t.function.name,
      ...(t.function.description ? { description: t.function.description } : {}),
      inputSchema: { json },
      ...(t.function.strict === true ? { strict: true } : {}),
    },
  };
}

function toolChoice(choice: ChatToolChoice | undefined): ToolChoice | undefined {
  if (choice === "required") return { any: {} };
  if (choice === "auto") return { auto: {} };
  if (choice && typeof choice === "object") return { tool: { name: choice.function.name } };
  return undefined;
}

/**
 * json_schema → Converse's structured output (`outputConfig.textFormat`, the schema as a JSON string; for Claude in
 * the form Anthropic's decoder accepts). json_object has no Converse form: an instruction is added to the system
 * prompt and the change is named.
 */
function applyResponseFormat(out: ConverseRequest, req: ChatRequest, claude: boolean, warn: Warn) {
  const rf = req.response_format as ({ type: string; json_schema?: unknown } & Record<string, unknown>) | undefined;
  if (!rf || rf.type === "text") return;
  const js = rf.json_schema && typeof rf.json_schema === "object" ? (rf.json_schema as Record<string, unknown>) : undefined;
  if (rf.type === "json_schema" && !js) throw invalidRequest("response_format of type json_schema needs 'json_schema'.", "response_format.json_schema");
  if (rf.type === "json_schema" && js?.schema !== undefined) {
    const schema = claude ? toAnthropicSchema(js.schema) : js.schema;
    const jsonSchema: { schema: string; name?: string; description?: string } = { schema: JSON.stringify(schema) };
    if (typeof js.name === "string") jsonSchema.name = js.name;
    if (typeof js.description === "string") jsonSchema.description = js.description;
    out.outputConfig = { ...out.outputConfig, textFormat: { type: "json_schema", structure: { jsonSchema } } };
    return;
  }
  warn("response_format json_object has no Bedrock equivalent without a schema: the model was asked for JSON in the system prompt.", "response_format");
  out.system = [...(out.system ?? []), { text: JSON_OBJECT_INSTRUCTION }];
}

const LOW_MEDIUM_HIGH = { minimal: "low", low: "low", medium: "medium", high: "high", xhigh: "high", max: "high" } as const;

/**
 * reasoning_effort per model family: Claude's thinking (a budget on 3.7–4.5, adaptive with an effort from 4.6, by
 * Anthropic's own rules) through additionalModelRequestFields; gpt-oss's `reasoning_effort`; Nova 2's
 * `reasoningConfig`. Other models have no setting: the parameter is named as dropped.
 */
function applyBedrockReasoning(out: ConverseRequest, req: ChatRequest, model: string, claude: boolean, warn: Warn) {
  const effort = req.reasoning_effort;
  if (!effort || effort === "none") return;
  const inf = out.inferenceConfig!;
  const id = baseModelId(model);
  if (claude) {
    const tc = out.toolConfig?.toolChoice;
    const choice: AnthropicToolChoice | undefined = tc && "any" in tc ? { type: "any" } : tc && "tool" in tc ? { type: "tool", name: tc.tool.name } : undefined;
    // Anthropic's rules, applied to the same fields Converse carries under its own names.
    const shadow: AnthropicRequest = { model: id, max_tokens: inf.maxTokens ?? defaultMaxTokens(id), messages: [], temperature: inf.temperature, top_p: inf.topP, tool_choice: choice };
    applyReasoning(shadow, req, warn);
    if (!shadow.thinking) return;
    inf.maxTokens = shadow.max_tokens;
    if (shadow.temperature === undefined) delete inf.temperature;
    if (shadow.top_p !== undefined) inf.topP = shadow.top_p;
    out.additionalModelRequestFields = { ...out.additionalModelRequestFields, thinking: shadow.thinking };
    if (shadow.output_config?.effort) out.outputConfig = { ...out.outputConfig, effort: shadow.output_config.effort };
    return;
  }
  const level = LOW_MEDIUM_HIGH[effort];
  if (id.startsWith("openai.gpt-oss")) {
    out.additionalModelRequestFields = { ...out.additionalModelRequestFields, reasoning_effort: level };
  } else if (id.startsWith("amazon.nova-2")) {
    out.additionalModelRequestFields = { ...out.additionalModelRequestFields, reasoningConfig: { type: "enabled", maxReasoningEffort: level } };
  } else {
    warn(`reasoning_effort ignored: ${model} has no reasoning setting on Bedrock.`, "reasoning_effort");
  }
}
