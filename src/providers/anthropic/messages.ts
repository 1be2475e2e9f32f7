// Pure translation of OpenAI messages into Anthropic's `system` and turns: parts, documents, cache breakpoints, thinking replay.
import type { ChatContentPart, ChatMessage } from "../../openai/schemas.ts";
import { invalidRequest } from "../../openai/errors.ts";
import type { Warn } from "../types.ts";
import type {
  AnthropicBlock,
  AnthropicContentBlock,
  AnthropicDocumentBlock,
  AnthropicImageSource,
  AnthropicMessage,
  AnthropicTextBlock,
  AnthropicToolResultBlock,
  CacheControl,
} from "./wire.ts";
import { isObj, parseToolArguments } from "../shared/json.ts";
import { parseDataUri } from "../shared/data-uri.ts";
import { appendTurn } from "../shared/turns.ts";

const IMAGE_TYPES = new Set(["image/jpeg", "image/png", "image/gif", "image/webp"]);
/** The `format` Claude's blocks carry in `reasoning_details`, so they are told apart from other providers' reasoning. */
export const REASONING_FORMAT = "anthropic-claude-v1";


/** `{type: "ephemeral", ttl?}` on a part, a message or a tool (LiteLLM's and Anthropic's own spelling); anything else is a 400. */
export function cacheControlOf(holder: unknown, param: string): CacheControl | undefined {
  if (!isObj(holder) || holder.cache_control === undefined || holder.cache_control === null) return undefined;
  const cc = holder.cache_control;
  if (!isObj(cc) || cc.type !== "ephemeral" || (cc.ttl !== undefined && cc.ttl !== "5m" && cc.ttl !== "1h")) {
    throw invalidRequest("cache_control must be {\"type\": \"ephemeral\"} with an optional ttl of \"5m\" or \"1h\".", `${param}.cache_control`);
  }
  return cc.ttl === undefined ? { type: "ephemeral" } : { type: "ephemeral", ttl: cc.ttl };
}

export interface ConvertOptions {
  /** Replay Claude thinking blocks kept in assistant messages (`reasoning_details`/`thinking_blocks`): only when thinking is on. */
  replayThinking: boolean;
}

/** System and developer messages go to `system`; the rest become alternating user/assistant turns. */
export function convertMessages(msgs: ChatMessage[], warn: Warn, opts: ConvertOptions) {
  const system: AnthropicTextBlock[] = [];
  const messages: AnthropicMessage[] = [];
  let warnedName = false;
  const push = (role: "user" | "assistant", blocks: AnthropicBlock[]) => appendTurn(messages, role, blocks);
  msgs.forEach((m, i) => {
    const at = `messages[${i}]`;
    if (m.name !== undefined && !warnedName) {
      warnedName = true;
      warn("Message 'name' fields are not supported by Anthropic and were ignored.", `${at}.name`);
    }
    // A breakpoint on the message itself (LiteLLM's form) marks its last block.
    const messageCache = cacheControlOf(m, at);
    const mark = <T extends AnthropicBlock>(blocks: T[]): T[] => {
      const last = blocks[blocks.length - 1];
      if (messageCache && last && last.type !== "thinking" && last.type !== "redacted_thinking") (last as { cache_control?: CacheControl }).cache_control = messageCache;
      return blocks;
    };
    switch (m.role) {
      case "system":
      case "developer":
        for (const b of mark(contentBlocks(m.content, `${at}.content`, false))) {
          if (b.type !== "text") throw invalidRequest(`${m.role} messages may contain text only.`, `${at}.content`);
          system.push(b);
        }
        return;
      case "user":
        push("user", mark(contentBlocks(m.content, `${at}.content`, true)));
        return;
      case "assistant": {
        // Thinking first: Anthropic wants an assistant turn's thinking blocks before its text and tool calls.
        const blocks: AnthropicBlock[] = opts.replayThinking ? thinkingBlocks(m, `${at}.reasoning_details`) : [];
        blocks.push(...contentBlocks(m.content, `${at}.content`, false));
        (m.tool_calls ?? []).forEach((tc, j) => {
          blocks.push({ type: "tool_use", id: tc.id, name: tc.function.name, input: parseToolArguments(tc.function.arguments, `${at}.tool_calls[${j}].function.arguments`) });
        });
        push("assistant", mark(blocks));
        return;
      }
      case "tool": {
        if (!m.tool_call_id) throw invalidRequest("A tool message needs 'tool_call_id'.", `${at}.tool_call_id`);
        const result: AnthropicToolResultBlock = { type: "tool_result", tool_use_id: m.tool_call_id };
        if (typeof m.content === "string") {
          if (m.content.length > 0) result.content = m.content;
        } else if (Array.isArray(m.content)) {
          const parts = contentBlocks(m.content, `${at}.content`, true);
          if (parts.length > 0) result.content = parts;
        }
        push("user", mark([result]));
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

/**
 * Claude's thinking blocks as the gateway returned them (`reasoning_details`, OpenRouter's shape) or as LiteLLM does
 * (`thinking_blocks`, Anthropic's own shape). Only signed blocks can be replayed: Anthropic verifies the signature.
 */
export function thinkingBlocks(m: ChatMessage, param: string): AnthropicBlock[] {
  const raw = m as Record<string, unknown>;
  const out: AnthropicBlock[] = [];
  const details = Array.isArray(raw.reasoning_details) ? raw.reasoning_details : [];
  for (const d of details) {
    if (!isObj(d) || (d.format !== undefined && d.format !== REASONING_FORMAT)) continue;
    if (d.type === "reasoning.text" && typeof d.signature === "string" && d.signature) {
      out.push({ type: "thinking", thinking: typeof d.text === "string" ? d.text : "", signature: d.signature });
    } else if (d.type === "reasoning.encrypted" && typeof d.data === "string" && d.data) {
      out.push({ type: "redacted_thinking", data: d.data });
    }
  }
  if (out.length > 0) return out;
  const blocks = Array.isArray(raw.thinking_blocks) ? raw.thinking_blocks : [];
  for (const b of blocks) {
    if (!isObj(b)) continue;
    if (b.type === "thinking" && typeof b.thinking === "string" && typeof b.signature === "string") out.push({ type: "thinking", thinking: b.thinking, signature: b.signature });
    else if (b.type === "redacted_thinking" && typeof b.data === "string") out.push({ type: "redacted_thinking", data: b.data });
    else throw invalidRequest("thinking_blocks entries must be Anthropic thinking or redacted_thinking blocks.", param.replace(/reasoning_details$/, "thinking_blocks"));
  }
  return out;
}

function contentBlocks(content: ChatMessage["content"], param: string, mediaAllowed: boolean): AnthropicContentBlock[] {
  if (content == null) return [];
  // Anthropic rejects empty text blocks; an empty string adds nothing, so it is skipped.
  if (typeof content === "string") return content.length > 0 ? [{ type: "text", text: content }] : [];
  const out: AnthropicContentBlock[] = [];
  content.forEach((part: ChatContentPart, k) => {
    const at = `${param}[${k}]`;
    let block: AnthropicContentBlock | undefined;
    if (part.type === "text") {
      if (part.text.length > 0) block = { type: "text", text: part.text };
    } else if (part.type === "image_url") {
      if (!mediaAllowed) throw invalidRequest("Images are only allowed in user and tool messages.", at);
      block = { type: "image", source: imageSource(part.image_url.url, `${at}.image_url.url`) };
    } else if (part.type === "file") {
      if (!mediaAllowed) throw invalidRequest("Files are only allowed in user and tool messages.", at);
      block = fileBlock(part.file, `${at}.file`);
    } else if (part.type === "input_audio") {
      throw invalidRequest("Anthropic models do not accept audio input.", `${at}.type`);
    } else {
      throw invalidRequest(`Content part type '${String(part.type)}' is not supported by Anthropic models.`, `${at}.type`);
    }
    if (!block) return;
    const cc = cacheControlOf(part, at);
    if (cc) block.cache_control = cc;
    out.push(block);
  });
  return out;
}

export function imageSource(url: string, param: string): AnthropicImageSource {
  if (url.startsWith("https://") || url.startsWith("http://")) return { type: "url", url };
  const d = parseDataUri(url);
  if (!d) throw invalidRequest("Image URLs must be http(s):// or a data: URI.", param);
  if (!IMAGE_TYPES.has(d.mediaType)) {
    throw invalidRequest(`Image type '${d.mediaType}' is not supported; use image/jpeg, image/png, image/gif or image/webp.`, param);
  }
  if (!d.base64) throw invalidRequest("Image data: URIs must be base64-encoded.", param);
  return { type: "base64", media_type: d.mediaType, data: d.data };
}

/** A `file` part: a PDF → `document` (base64), text → `document` (plain text), an image → `image`. */
function fileBlock(file: { file_data?: string; file_id?: string; filename?: string }, param: string): AnthropicContentBlock {
  if (file.file_data === undefined) {
    throw invalidRequest("Anthropic models need the file's content: send 'file_data' as a data: URL (a 'file_id' of OpenAI's Files API means nothing to Anthropic).", `${param}.file_data`);
  }
  // A bare base64 string (no data: prefix) is taken as a PDF, the type OpenAI documents for file_data.
  const d = parseDataUri(file.file_data) ?? { mediaType: "application/pdf", base64: true, data: file.file_data };
  const title = file.filename ? { title: file.filename } : {};
  if (d.mediaType.startsWith("image/")) return { type: "image", source: imageSource(file.file_data, `${param}.file_data`) };
  if (d.mediaType === "application/pdf") {
    if (!d.base64) throw invalidRequest("A PDF must be base64-encoded (data:application/pdf;base64,...).", `${param}.file_data`);
    return { type: "document", source: { type: "base64", media_type: "application/pdf", data: d.data }, ...title } satisfies AnthropicDocumentBlock;
  }
  if (d.mediaType.startsWith("text/")) {
    let text: string;
    try {
      text = d.base64 ? Buffer.from(d.data, "base64").toString("utf8") : decodeURIComponent(d.data);
    } catch {
      throw invalidRequest("The text file's data is not valid percent-encoded text.", `${param}.file_data`);
    }
    return { type: "document", source: { type: "text", media_type: "text/plain", data: text }, ...title };
  }
  throw invalidRequest(`File type '${d.mediaType}' is not supported by Anthropic models; send a PDF, a text file or an image.`, `${param}.file_data`);
}
