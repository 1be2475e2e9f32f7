// Pure translation of Anthropic `system` and `messages` (blocks, tool results, thinking) into chat messages for one target.
import type { ChatContentPart, ChatMessage, ChatToolCall, ReasoningDetail } from "../../openai/schemas.ts";
import { invalidRequest } from "../../openai/errors.ts";
import { REASONING_FORMAT } from "../../providers/anthropic/messages.ts";
import type { Warn } from "../../providers/types.ts";
import type { ContentBlock, DocumentBlock, ImageBlock, MessageParam, MessagesRequest, TextBlock, ToolResultBlock } from "./schema.ts";
import { isGatewaySignature, type ThinkingSealer } from "./seal.ts";
import { keepsCacheControl, replaysClaudeThinking, type TargetProfile } from "./target.ts";

export interface MessageContext {
  target: TargetProfile;
  warn: Warn;
  sealer: ThinkingSealer;
}

type Part = ChatContentPart & { cache_control?: unknown };
type Block = ContentBlock & Record<string, unknown>;

/** Names a dropped breakpoint once per request (Claude Code puts them on every request). */
function cacheNote(ctx: MessageContext, holder: { cache_control?: unknown } | Record<string, unknown>, param: string, seen: { cache: boolean }): boolean {
  if (holder.cache_control == null) return false;
  if (keepsCacheControl(ctx.target)) return true;
  if (!seen.cache) {
    seen.cache = true;
    ctx.warn(`cache_control ignored: ${ctx.target.kind} providers have no prompt-cache breakpoints.`, param);
  }
  return false;
}

export function convertSystem(system: MessagesRequest["system"], ctx: MessageContext, seen: { cache: boolean }): ChatMessage[] {
  if (system === undefined) return [];
  if (typeof system === "string") return system.length > 0 ? [{ role: "system", content: system }] : [];
  const parts = textParts(system, "system", ctx, seen);
  return parts.length > 0 ? [simplify({ role: "system", content: parts })] : [];
}

function textParts(blocks: TextBlock[], at: string, ctx: MessageContext, seen: { cache: boolean }): Part[] {
  const out: Part[] = [];
  blocks.forEach((b, i) => {
    if (b.text.length === 0) return;
    const part: Part = { type: "text", text: b.text };
    if (cacheNote(ctx, b, `${at}.${i}.cache_control`, seen)) part.cache_control = b.cache_control;
    out.push(part);
  });
  return out;
}

/** One plain text part as a string: what every chat server takes (some older ones take nothing else). */
export function simplify(m: ChatMessage): ChatMessage {
  const c = m.content;
  if (!Array.isArray(c) || c.length !== 1) return m;
  const only = c[0] as Part;
  return only.type === "text" && only.cache_control === undefined ? { ...m, content: only.text } : m;
}

/** Every message, in order; a user turn with tool results becomes tool messages, then the rest of the turn. */
export function convertMessages(messages: MessageParam[], ctx: MessageContext, seen: { cache: boolean }): ChatMessage[] {
  return convertAll(messages, ctx, seen).map(simplify);
}

function convertAll(messages: MessageParam[], ctx: MessageContext, seen: { cache: boolean }): ChatMessage[] {
  const out: ChatMessage[] = [];
  messages.forEach((m, i) => {
    const at = `messages.${i}`;
    const blocks: Block[] = typeof m.content === "string" ? [{ type: "text", text: m.content }] : (m.content as Block[]);
    if (m.role === "system") {
      // Claude Code appends these for model ids it does not know; every chat provider has system messages
      // (Gemini's and Anthropic's translators fold them into their system instruction).
      const parts = textParts(blocks as TextBlock[], `${at}.content`, ctx, seen);
      if (parts.length > 0) out.push({ role: "system", content: parts });
    } else if (m.role === "user") {
      out.push(...userTurn(blocks, at, ctx, seen));
    } else {
      const a = assistantTurn(blocks, at, ctx, seen);
      if (a) out.push(a);
    }
  });
  return out;
}

function userTurn(blocks: Block[], at: string, ctx: MessageContext, seen: { cache: boolean }): ChatMessage[] {
  const tools: ChatMessage[] = [];
  const parts: Part[] = [];
  blocks.forEach((b, j) => {
    const bat = `${at}.content.${j}`;
    if (b.type === "tool_result") {
      const r = toolResult(b as ToolResultBlock, bat, ctx, seen);
      tools.push(r.message);
      // A chat tool message carries text only: what else the tool returned follows in the user turn.
      parts.push(...r.media);
      return;
    }
    parts.push(...contentParts(b, bat, ctx, seen));
  });
  const out = [...tools];
  if (parts.length > 0) out.push({ role: "user", content: parts });
  return out;
}

function toolResult(b: ToolResultBlock, at: string, ctx: MessageContext, seen: { cache: boolean }): { message: ChatMessage; media: Part[] } {
  let text = "";
  const media: Part[] = [];
  if (typeof b.content === "string") text = b.content;
  else {
    (b.content ?? []).forEach((c, k) => {
      const parts = contentParts(c as Block, `${at}.content.${k}`, ctx, seen);
      for (const p of parts) {
        if (p.type === "text") text += (text ? "\n" : "") + p.text;
        else media.push(p);
      }
    });
  }
  if (!text && media.length > 0) text = "(The tool returned the attachments in the next message.)";
  // Chat has no error flag on a tool result: the text says it, as Anthropic's models are told.
  if (b.is_error === true) text = `Error: ${text}`;
  const message: ChatMessage = { role: "tool", tool_call_id: b.tool_use_id, content: text };
  cacheNote(ctx, b, `${at}.cache_control`, seen);
  return { message, media };
}

/** A user-side block as chat parts: text, image, document; others are dropped with a warning. */
function contentParts(b: Block, at: string, ctx: MessageContext, seen: { cache: boolean }): Part[] {
  let parts: Part[];
  switch (b.type as string) {
    case "text":
      parts = (b as TextBlock).text.length > 0 ? [{ type: "text", text: (b as TextBlock).text }] : [];
      break;
    case "image":
      parts = [imagePart(b as ImageBlock, at)];
      break;
    case "document":
      parts = documentParts(b as DocumentBlock, at, ctx, seen);
      break;
    case "search_result": {
      // Text the client found for the model: kept as text with its source.
      const r = b as Record<string, unknown>;
      const content = Array.isArray(r.content) ? (r.content as { text?: unknown }[]).map((c) => (typeof c.text === "string" ? c.text : "")).join("\n") : "";
      parts = [{ type: "text", text: `${typeof r.title === "string" ? `${r.title}\n` : ""}${typeof r.source === "string" ? `Source: ${r.source}\n` : ""}${content}` }];
      break;
    }
    default:
      ctx.warn(`Content block type '${String(b.type)}' is not supported by ${ctx.target.kind} providers and was dropped.`, `${at}.type`);
      return [];
  }
  const keep = cacheNote(ctx, b, `${at}.cache_control`, seen);
  const last = parts[parts.length - 1];
  if (keep && last) last.cache_control = b.cache_control;
  return parts;
}

function imagePart(b: ImageBlock, at: string): Part {
  const s = b.source as Record<string, unknown>;
  if (s.type === "base64") return { type: "image_url", image_url: { url: `data:${String(s.media_type)};base64,${String(s.data)}` } };
  if (s.type === "url") return { type: "image_url", image_url: { url: String(s.url) } };
  throw invalidRequest("An image given by file_id (Anthropic's Files API) can only be read by Anthropic models; send it as base64 or a URL.", `${at}.source`);
}

function documentParts(b: DocumentBlock, at: string, ctx: MessageContext, seen: { cache: boolean }): Part[] {
  const s = b.source as Record<string, unknown>;
  const title = typeof b.title === "string" && b.title ? b.title : undefined;
  switch (s.type) {
    case "base64": {
      const type = String(s.media_type);
      const filename = title ?? (type === "application/pdf" ? "document.pdf" : "document");
      return [{ type: "file", file: { file_data: `data:${type};base64,${String(s.data)}`, filename } }];
    }
    case "text":
      return [{ type: "text", text: title ? `${title}\n\n${String(s.data)}` : String(s.data) }];
    case "content": {
      if (typeof s.content === "string") return [{ type: "text", text: s.content }];
      return (s.content as Block[]).flatMap((c, k) => contentParts(c, `${at}.source.content.${k}`, ctx, seen));
    }
    case "url":
      // Gemini reads a PDF by URL (fileData); OpenAI's file parts take only the bytes.
      if (ctx.target.kind === "gemini" || ctx.target.kind === "vertex") return [{ type: "image_url", image_url: { url: String(s.url) } }];
      throw invalidRequest(`A document given by URL cannot be read by ${ctx.target.kind} providers; send the PDF as base64.`, `${at}.source`);
    default:
      throw invalidRequest("A document given by file_id (Anthropic's Files API) can only be read by Anthropic models; send it as base64.", `${at}.source`);
  }
}

/** What the thinking blocks of one assistant turn give back to this target. */
interface Replay {
  details: ReasoningDetail[];
  toolSignatures: Record<string, string>;
}

function assistantTurn(blocks: Block[], at: string, ctx: MessageContext, seen: { cache: boolean }): ChatMessage | undefined {
  let text = "";
  const calls: ChatToolCall[] = [];
  const replay: Replay = { details: [], toolSignatures: {} };
  blocks.forEach((b, j) => {
    const bat = `${at}.content.${j}`;
    if (b.type === "text") text += (b as TextBlock).text;
    else if (b.type === "tool_use") {
      calls.push({ id: String(b.id), type: "function", function: { name: String(b.name), arguments: JSON.stringify(b.input ?? {}) } });
    } else if (b.type === "thinking" || b.type === "redacted_thinking") {
      thinking(b, ctx, replay);
      return;
    } else {
      ctx.warn(`Content block type '${String(b.type)}' is not supported by ${ctx.target.kind} providers and was dropped.`, `${bat}.type`);
      return;
    }
    cacheNote(ctx, b, `${bat}.cache_control`, seen);
  });
  if (!text && calls.length === 0 && replay.details.length === 0) return undefined;
  const msg: ChatMessage & { reasoning_details?: ReasoningDetail[] } = { role: "assistant", content: text || (calls.length > 0 ? null : "") };
  if (calls.length > 0) {
    msg.tool_calls = calls.map((c) => {
      const sig = replay.toolSignatures[c.id];
      return sig ? { ...c, extra_content: { google: { thought_signature: sig } } } : c;
    });
  }
  if (replay.details.length > 0) msg.reasoning_details = replay.details;
  return msg;
}

/**
 * A thinking block in the history. Ours (sealed by this gateway) gives back the provider's own reasoning state, but
 * only to the provider that made it. A Claude-signed block (a conversation that was on Claude) can only be replayed to
 * Claude. Everything else is dropped: reasoning is never sent as plain text to another model.
 */
function thinking(b: Block, ctx: MessageContext, replay: Replay): void {
  const sig = b.type === "thinking" ? b.signature : undefined;
  if (isGatewaySignature(sig)) {
    const sealed = ctx.sealer.open(sig);
    if (!sealed) {
      ctx.warn("A thinking block's signature was not made by this gateway's secret (altered, or sealed under another secret): dropped.");
      return;
    }
    if (sealed.provider !== ctx.target.provider) return; // another provider's reasoning: nothing to give back here
    for (const d of sealed.details ?? []) if (d && typeof d === "object") replay.details.push(d as ReasoningDetail);
    Object.assign(replay.toolSignatures, sealed.toolSignatures ?? {});
    return;
  }
  if (!replaysClaudeThinking(ctx.target)) return;
  const index = replay.details.length;
  if (b.type === "thinking" && typeof sig === "string" && sig) {
    replay.details.push({ type: "reasoning.text", text: String(b.thinking), signature: sig, format: REASONING_FORMAT, index });
  } else if (b.type === "redacted_thinking" && typeof b.data === "string") {
    replay.details.push({ type: "reasoning.encrypted", data: b.data, format: REASONING_FORMAT, index });
  }
}
