// Pure translation of an OpenAI chat request into an Anthropic Messages API body (no I/O, no clock).
import type { ChatContentPart, ChatMessage, ChatRequest, ChatTool, ChatToolChoice } from "../../openai/schemas.ts";
import { invalidRequest } from "../../openai/errors.ts";
import type { Deployment, Warn } from "../types.ts";

export type AnthropicImageSource =
  | { type: "base64"; media_type: string; data: string }
  | { type: "url"; url: string };
export type AnthropicTextBlock = { type: "text"; text: string };
export type AnthropicImageBlock = { type: "image"; source: AnthropicImageSource };
export type AnthropicToolUseBlock = { type: "tool_use"; id: string; name: string; input: Record<string, unknown> };
export type AnthropicToolResultBlock = {
  type: "tool_result";
  tool_use_id: string;
  content?: string | (AnthropicTextBlock | AnthropicImageBlock)[];
};
export type AnthropicBlock = AnthropicTextBlock | AnthropicImageBlock | AnthropicToolUseBlock | AnthropicToolResultBlock;
export interface AnthropicMessage {
  role: "user" | "assistant";
  content: AnthropicBlock[];
}
export interface AnthropicTool {
  name: string;
  description?: string;
  input_schema: Record<string, unknown>;
  strict?: boolean;
}
export type AnthropicToolChoice =
  | { type: "auto" | "any"; disable_parallel_tool_use?: boolean }
  | { type: "tool"; name: string; disable_parallel_tool_use?: boolean }
  | { type: "none" };

export interface AnthropicRequest {
  model: string;
  max_tokens: number;
  messages: AnthropicMessage[];
  system?: AnthropicTextBlock[];
  tools?: AnthropicTool[];
  tool_choice?: AnthropicToolChoice;
  stop_sequences?: string[];
  temperature?: number;
  top_p?: number;
  metadata?: { user_id: string };
  stream?: boolean;
}

export interface AnthropicRequestOptions {
  /** The `anthropic-version` header the provider sends; decides whether sampling parameters exist at all. */
  anthropicVersion?: string;
}

/** Used when neither the request nor the model config gives one: every Claude model can produce this many. */
export const DEFAULT_MAX_TOKENS = 4096;
export const DEFAULT_ANTHROPIC_VERSION = "2023-06-01";

const IMAGE_TYPES = new Set(["image/jpeg", "image/png", "image/gif", "image/webp"]);

/** Fields this translator reads; anything else on the request is dropped with a warning. */
const HANDLED = new Set([
  "model", "messages", "stream", "stream_options", "temperature", "max_tokens", "max_completion_tokens", "top_p",
  "stop", "tools", "tool_choice", "user", "n", "parallel_tool_calls",
]);

/** OpenAI-only fields with no Anthropic counterpart: dropped, but only worth a warning when actually set. */
const UNSUPPORTED = new Set([
  "frequency_penalty", "presence_penalty", "seed", "logit_bias", "logprobs", "top_logprobs", "response_format",
  "metadata", "reasoning_effort", "service_tier", "store", "modalities", "audio", "prediction", "web_search_options",
]);

export function toAnthropicRequest(
  req: ChatRequest,
  d: Deployment,
  warn: Warn,
  opts: AnthropicRequestOptions = {},
): AnthropicRequest {
  if (req.n != null && req.n > 1) throw invalidRequest("n > 1 is not supported by Anthropic models.", "n");
  for (const [key, value] of Object.entries(req)) {
    if (HANDLED.has(key) || value === undefined || value === null) continue;
    // Plain text is what Anthropic answers anyway.
    if (key === "response_format" && (value as { type?: unknown }).type === "text") continue;
    if (UNSUPPORTED.has(key)) warn(`'${key}' is not supported by Anthropic and was ignored.`, key);
    else warn(`Unknown field '${key}' was dropped for the Anthropic provider.`, key);
  }

  const { system, messages } = convertMessages(req.messages, warn);
  if (messages.length === 0) {
    throw invalidRequest("At least one user or assistant message is required for Anthropic models.", "messages");
  }
  const out: AnthropicRequest = {
    model: d.upstreamModel,
    max_tokens: req.max_completion_tokens ?? req.max_tokens ?? d.model.max_tokens ?? DEFAULT_MAX_TOKENS,
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
    out.tools = req.tools.map(convertTool);
    const choice = convertToolChoice(req.tool_choice, req.parallel_tool_calls === false);
    if (choice) out.tool_choice = choice;
  } else if (req.tool_choice !== undefined) {
    warn("'tool_choice' was ignored because the request has no tools.", "tool_choice");
  }
  return out;
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

/** Claude ids named family-major[-minor] (claude-opus-4-7, claude-sonnet-5, anthropic.claude-fable-5…) at 4.7 or later. */
export function rejectsSampling(model: string): boolean {
  const m = /claude-[a-z]+-(\d+)(?:-(\d{1,2})(?!\d))?/.exec(model);
  if (!m) return false;
  const major = Number(m[1]);
  const minor = m[2] === undefined ? 0 : Number(m[2]);
  return major > 4 || (major === 4 && minor >= 7);
}

function convertTool(t: ChatTool): AnthropicTool {
  const schema = t.function.parameters ?? { type: "object", properties: {} };
  // Anthropic requires an object schema with an explicit type; OpenAI tolerates it missing.
  const input_schema = "type" in schema ? schema : { type: "object", ...schema };
  const out: AnthropicTool = { name: t.function.name, input_schema };
  if (t.function.description) out.description = t.function.description;
  if (t.function.strict === true) out.strict = true;
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

/** System and developer messages go to `system`; the rest become alternating user/assistant turns. */
function convertMessages(msgs: ChatMessage[], warn: Warn) {
  const system: AnthropicTextBlock[] = [];
  const messages: AnthropicMessage[] = [];
  let warnedName = false;
  const push = (role: "user" | "assistant", blocks: AnthropicBlock[]) => {
    if (blocks.length === 0) return;
    const last = messages[messages.length - 1];
    if (last && last.role === role) last.content.push(...blocks);
    else messages.push({ role, content: blocks });
  };
  msgs.forEach((m, i) => {
    const at = `messages[${i}]`;
    if (m.name !== undefined && !warnedName) {
      warnedName = true;
      warn("Message 'name' fields are not supported by Anthropic and were ignored.", `${at}.name`);
    }
    switch (m.role) {
      case "system":
      case "developer":
        for (const b of contentBlocks(m.content, `${at}.content`, false)) {
          if (b.type !== "text") throw invalidRequest(`${m.role} messages may contain text only.`, `${at}.content`);
          system.push(b);
        }
        return;
      case "user":
        push("user", contentBlocks(m.content, `${at}.content`, true));
        return;
      case "assistant": {
        const blocks: AnthropicBlock[] = contentBlocks(m.content, `${at}.content`, false);
        (m.tool_calls ?? []).forEach((tc, j) => {
          blocks.push({ type: "tool_use", id: tc.id, name: tc.function.name, input: parseArguments(tc.function.arguments, `${at}.tool_calls[${j}].function.arguments`) });
        });
        push("assistant", blocks);
        return;
      }
      case "tool": {
        if (!m.tool_call_id) throw invalidRequest("A tool message needs 'tool_call_id'.", `${at}.tool_call_id`);
        const result: AnthropicToolResultBlock = { type: "tool_result", tool_use_id: m.tool_call_id };
        if (typeof m.content === "string") {
          if (m.content.length > 0) result.content = m.content;
        } else if (Array.isArray(m.content)) {
          const parts = contentBlocks(m.content, `${at}.content`, true).filter((b) => b.type === "text" || b.type === "image");
          if (parts.length > 0) result.content = parts;
        }
        push("user", [result]);
        return;
      }
    }
  });
  // Anthropic wants a user turn's tool_result blocks before any other content; a merged turn may not have them first.
  for (const msg of messages) {
    if (msg.role === "user" && msg.content.some((b) => b.type === "tool_result")) {
      msg.content = [...msg.content.filter((b) => b.type === "tool_result"), ...msg.content.filter((b) => b.type !== "tool_result")];
    }
  }
  return { system, messages };
}

function contentBlocks(content: ChatMessage["content"], param: string, imagesAllowed: boolean): (AnthropicTextBlock | AnthropicImageBlock)[] {
  if (content == null) return [];
  // Anthropic rejects empty text blocks; an empty string adds nothing, so it is skipped.
  if (typeof content === "string") return content.length > 0 ? [{ type: "text", text: content }] : [];
  const out: (AnthropicTextBlock | AnthropicImageBlock)[] = [];
  content.forEach((part: ChatContentPart, k) => {
    if (part.type === "text") {
      if (part.text.length > 0) out.push({ type: "text", text: part.text });
    } else if (part.type === "image_url") {
      if (!imagesAllowed) throw invalidRequest("Images are only allowed in user and tool messages.", `${param}[${k}]`);
      out.push({ type: "image", source: imageSource(part.image_url.url, `${param}[${k}].image_url.url`) });
    } else {
      throw invalidRequest(`Unsupported content part type for Anthropic models.`, `${param}[${k}].type`);
    }
  });
  return out;
}

export function imageSource(url: string, param: string): AnthropicImageSource {
  if (url.startsWith("https://")) return { type: "url", url };
  const m = /^data:([^;,]+)((?:;[^;,]*)*),(.*)$/s.exec(url);
  if (!m) throw invalidRequest("Image URLs must be https:// or a data: URI.", param);
  const mediaType = m[1]!.toLowerCase();
  if (!IMAGE_TYPES.has(mediaType)) {
    throw invalidRequest(`Image type '${mediaType}' is not supported; use image/jpeg, image/png, image/gif or image/webp.`, param);
  }
  if (!m[2]!.split(";").includes("base64")) throw invalidRequest("Image data: URIs must be base64-encoded.", param);
  return { type: "base64", media_type: mediaType, data: m[3]! };
}

/** Tool-call arguments arrive as a JSON string; Anthropic wants the object. "" (sent by some clients for no-arg tools) is {}. */
function parseArguments(args: string, param: string): Record<string, unknown> {
  if (args.trim() === "") return {};
  let v: unknown;
  try {
    v = JSON.parse(args);
  } catch {
    throw invalidRequest("Tool call arguments must be a JSON object; this string is not valid JSON.", param);
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) throw invalidRequest("Tool call arguments must be a JSON object.", param);
  return v as Record<string, unknown>;
}
