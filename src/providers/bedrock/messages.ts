// Pure translation of OpenAI messages into Converse `system` and turns, keeping Bedrock's rules (no blank text, merged turns).
import type { ChatContentPart, ChatMessage } from "../../openai/schemas.ts";
import { invalidRequest } from "../../openai/errors.ts";
import type { Warn } from "../types.ts";
import { cacheControlOf, thinkingBlocks } from "../anthropic/messages.ts";
import { parseToolArguments } from "../shared/json.ts";
import { parseDataUri } from "../shared/data-uri.ts";
import type { ContentBlock, ConverseMessage, DocumentBlock, DocumentFormat, ImageBlock, ImageFormat, SystemBlock, ToolResultContent } from "./wire.ts";
import { appendTurn } from "../shared/turns.ts";

const IMAGE_FORMATS: Record<string, ImageFormat> = { "image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/gif": "gif", "image/webp": "webp" };
const DOCUMENT_FORMATS: Record<string, DocumentFormat> = {
  "application/pdf": "pdf",
  "text/plain": "txt",
  "text/csv": "csv",
  "text/html": "html",
  "text/markdown": "md",
  "application/msword": "doc",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
  "application/vnd.ms-excel": "xls",
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
};

/**
 * Bedrock refuses a tool result without content when its status is error, and blank text anywhere: a result that
 * carried nothing gets this text, so the turn stays valid and the model still learns the call returned nothing.
 */
export const EMPTY_RESULT = "(no output)";
export const EMPTY_ERROR_RESULT = "(the tool reported an error without a message)";

const CACHE_POINT = { cachePoint: { type: "default" } } as const;
const blank = (s: string) => s.trim().length === 0;

export interface ConvertOptions {
  /** Replay Claude's signed thinking (reasoning_details) in assistant turns: only when thinking is on. */
  replayThinking: boolean;
}

/**
 * System and developer messages go to `system`; the rest become alternating user/assistant turns. Tool messages
 * become `toolResult` blocks of a user turn (first in it, as Claude requires). `is_error: true` on a tool message
 * (Anthropic's name, which the Messages API carries over) sets `status: "error"`.
 */
export function convertMessages(msgs: ChatMessage[], warn: Warn, opts: ConvertOptions): { system: SystemBlock[]; messages: ConverseMessage[] } {
  const system: SystemBlock[] = [];
  const messages: ConverseMessage[] = [];
  const names = new Map<string, number>();
  let warnedName = false;
  const push = (role: "user" | "assistant", blocks: ContentBlock[]) => appendTurn(messages, role, blocks);
  msgs.forEach((m, i) => {
    const at = `messages[${i}]`;
    if (m.name !== undefined && !warnedName) {
      warnedName = true;
      warn("Message 'name' fields are not supported by Bedrock and were ignored.", `${at}.name`);
    }
    // A breakpoint on the message itself (LiteLLM's form) becomes a cache point after its content.
    const messageCache = cacheControlOf(m, at) ? [CACHE_POINT] : [];
    switch (m.role) {
      case "system":
      case "developer": {
        for (const b of contentBlocks(m.content, `${at}.content`, false, names)) {
          if (!("text" in b) && !("cachePoint" in b)) throw invalidRequest(`${m.role} messages may contain text only.`, `${at}.content`);
          system.push(b as SystemBlock);
        }
        if (messageCache.length > 0 && system.length > 0) system.push(CACHE_POINT);
        return;
      }
      case "user":
        push("user", [...contentBlocks(m.content, `${at}.content`, true, names), ...messageCache]);
        return;
      case "assistant": {
        const blocks: ContentBlock[] = opts.replayThinking ? reasoningBlocks(m, `${at}.reasoning_details`) : [];
        blocks.push(...contentBlocks(m.content, `${at}.content`, false, names));
        (m.tool_calls ?? []).forEach((tc, j) => {
          blocks.push({ toolUse: { toolUseId: tc.id, name: tc.function.name, input: parseToolArguments(tc.function.arguments, `${at}.tool_calls[${j}].function.arguments`) } });
        });
        push("assistant", blocks.length > 0 ? [...blocks, ...messageCache] : blocks);
        return;
      }
      case "tool": {
        if (!m.tool_call_id) throw invalidRequest("A tool message needs 'tool_call_id'.", `${at}.tool_call_id`);
        const isError = (m as Record<string, unknown>).is_error === true;
        const content = toolResultContent(m.content, `${at}.content`, names);
        if (content.length === 0) content.push({ text: isError ? EMPTY_ERROR_RESULT : EMPTY_RESULT });
        push("user", [{ toolResult: { toolUseId: m.tool_call_id, content, ...(isError ? { status: "error" as const } : {}) } }, ...messageCache]);
        return;
      }
    }
  });
  for (const msg of messages) {
    if (msg.role === "user" && msg.content.some((b) => "toolResult" in b)) {
      msg.content = [...msg.content.filter((b) => "toolResult" in b), ...msg.content.filter((b) => !("toolResult" in b))];
    }
  }
  return { system, messages };
}

/** Claude's signed thinking blocks, as the gateway returned them, in Converse's reasoningContent form. */
function reasoningBlocks(m: ChatMessage, param: string): ContentBlock[] {
  return thinkingBlocks(m, param).flatMap((b): ContentBlock[] => {
    if (b.type === "thinking") return [{ reasoningContent: { reasoningText: { text: b.thinking, signature: b.signature } } }];
    if (b.type === "redacted_thinking") return [{ reasoningContent: { redactedContent: b.data } }];
    return [];
  });
}

function contentBlocks(content: ChatMessage["content"], param: string, mediaAllowed: boolean, names: Map<string, number>): ContentBlock[] {
  if (content == null) return [];
  if (typeof content === "string") return blank(content) ? [] : [{ text: content }];
  const out: ContentBlock[] = [];
  content.forEach((part: ChatContentPart, k) => {
    const at = `${param}[${k}]`;
    const block = partBlock(part, at, mediaAllowed, names);
    if (!block) return;
    out.push(block);
    if (cacheControlOf(part, at)) out.push(CACHE_POINT);
  });
  return out;
}

function partBlock(part: ChatContentPart, at: string, mediaAllowed: boolean, names: Map<string, number>): ContentBlock | undefined {
  if (part.type === "text") return blank(part.text) ? undefined : { text: part.text };
  if (part.type === "image_url") {
    if (!mediaAllowed) throw invalidRequest("Images are only allowed in user and tool messages.", at);
    return { image: imageBlock(part.image_url.url, `${at}.image_url.url`) };
  }
  if (part.type === "file") {
    if (!mediaAllowed) throw invalidRequest("Files are only allowed in user and tool messages.", at);
    return fileBlock(part.file, `${at}.file`, names);
  }
  if (part.type === "input_audio") throw invalidRequest("Bedrock's Converse API does not accept audio input.", `${at}.type`);
  throw invalidRequest(`Content part type '${String(part.type)}' is not supported by Bedrock models.`, `${at}.type`);
}

function toolResultContent(content: ChatMessage["content"], param: string, names: Map<string, number>): ToolResultContent[] {
  // Cache points have no place inside a tool result; text, images and documents map one to one.
  return contentBlocks(content, param, true, names).filter((b) => "text" in b || "image" in b || "document" in b) as ToolResultContent[];
}

/** An image as Bedrock takes it: bytes (from a data: URI) or an S3 object; Bedrock fetches no http(s) URLs. */
export function imageBlock(url: string, param: string): ImageBlock {
  if (url.startsWith("s3://")) {
    const ext = /\.([a-z]+)$/i.exec(url)?.[1]?.toLowerCase();
    const format = ext ? IMAGE_FORMATS[`image/${ext}`] : undefined;
    if (!format) throw invalidRequest("An s3:// image URL must end in .png, .jpeg, .jpg, .gif or .webp so its format is known.", param);
    return { format, source: { s3Location: { uri: url } } };
  }
  if (url.startsWith("http://") || url.startsWith("https://")) {
    throw invalidRequest("Bedrock models cannot fetch image URLs: send the image as a data: URI (or an s3:// URI), or turn on the provider's image_fetch.", param);
  }
  const d = parseDataUri(url);
  if (!d) throw invalidRequest("Image URLs must be data: URIs or s3:// URIs for Bedrock models.", param);
  const format = IMAGE_FORMATS[d.mediaType];
  if (!format) throw invalidRequest(`Image type '${d.mediaType}' is not supported; use image/png, image/jpeg, image/gif or image/webp.`, param);
  if (!d.base64) throw invalidRequest("Image data: URIs must be base64-encoded.", param);
  return { format, source: { bytes: d.data } };
}

/**
 * Bedrock's document names allow letters, digits, single spaces, hyphens, parentheses and square brackets only, and
 * must differ within a request: other characters become hyphens and a repeated name gets a number.
 */
export function documentName(filename: string | undefined, names: Map<string, number>): string {
  const base = (filename ?? "").replace(/[^A-Za-z0-9\s\-()[\]]/g, "-").replace(/\s+/g, " ").trim() || "document";
  const n = (names.get(base) ?? 0) + 1;
  names.set(base, n);
  return n === 1 ? base : `${base} (${n})`;
}

function fileBlock(file: { file_data?: string; file_id?: string; filename?: string }, param: string, names: Map<string, number>): ContentBlock {
  if (file.file_data === undefined) {
    throw invalidRequest("Bedrock models need the file's content: send 'file_data' as a data: URL (a 'file_id' of OpenAI's Files API means nothing to Bedrock).", `${param}.file_data`);
  }
  // A bare base64 string (no data: prefix) is taken as a PDF, the type OpenAI documents for file_data.
  const d = parseDataUri(file.file_data) ?? { mediaType: "application/pdf", base64: true, data: file.file_data };
  if (d.mediaType.startsWith("image/")) return { image: imageBlock(file.file_data, `${param}.file_data`) };
  const format = DOCUMENT_FORMATS[d.mediaType];
  if (!format) {
    throw invalidRequest(`File type '${d.mediaType}' is not supported by Bedrock; send a PDF, CSV, DOC(X), XLS(X), HTML, TXT or Markdown file, or an image.`, `${param}.file_data`);
  }
  const bytes = d.base64 ? d.data : Buffer.from(safeDecode(d.data, `${param}.file_data`), "utf8").toString("base64");
  const doc: DocumentBlock = { format, name: documentName(file.filename, names), source: { bytes } };
  return { document: doc };
}

function safeDecode(s: string, param: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw invalidRequest("The file's data is not valid percent-encoded text.", param);
  }
}

/** Whether the conversation holds tool calls or results: Bedrock then needs `toolConfig` even when no tool is offered. */
export const usesTools = (messages: ConverseMessage[]): boolean =>
  messages.some((m) => m.content.some((b) => "toolUse" in b || "toolResult" in b));
