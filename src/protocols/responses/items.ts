// Pure translation of Responses input items (restored history first) into chat messages, reasoning state included.
import type { ChatContentPart, ChatMessage, ChatToolCall, ReasoningDetail } from "../../openai/schemas.ts";
import { invalidRequest } from "../../openai/errors.ts";
import type { Warn } from "../../providers/types.ts";
import type { ContentPart, FunctionCallItem, FunctionCallOutputItem, InputItem, MessageItem } from "./schema.ts";
import { stateOf } from "./reasoning-state.ts";
import { flatName } from "./tools.ts";

/** An item and the parameter that names it in an error: `input[3]`, or `previous_response_id` for restored history. */
export interface SourcedItem {
  item: InputItem;
  at: string;
}

/** Items a client sends without `type` are messages (they have a role) or item references (they have only an id). */
export function kindOf(item: InputItem): string {
  const type = (item as { type?: unknown }).type;
  if (typeof type === "string") return type;
  return "role" in item ? "message" : "item_reference";
}

/** The assistant turn being gathered: a run of assistant messages, reasoning and function calls becomes one message. */
interface Turn {
  text: string[];
  calls: ChatToolCall[];
  details: ReasoningDetail[];
  signatures: Record<string, string>;
}

/**
 * `instructions` (a system message) and the items, in order, as chat messages. Reasoning items give their state to the
 * assistant message they belong to (Claude's blocks as `reasoning_details`, Gemini's signatures on the tool calls);
 * reasoning the gateway cannot read (another provider's encrypted content) and hosted-tool items are dropped with a
 * warning.
 */
export function toChatMessages(instructions: string | null | undefined, items: SourcedItem[], warn: Warn): ChatMessage[] {
  const out: ChatMessage[] = [];
  if (instructions) out.push({ role: "system", content: instructions });
  let turn: Turn | null = null;
  const droppedTypes = new Set<string>();
  let foreignReasoning = false;
  const open = (): Turn => (turn ??= { text: [], calls: [], details: [], signatures: {} });
  const flush = () => {
    const t = turn;
    turn = null;
    if (!t || (t.text.length === 0 && t.calls.length === 0)) return; // reasoning alone has nothing to attach to
    const msg: ChatMessage = { role: "assistant", content: t.text.length > 0 ? t.text.join("") : null };
    if (t.calls.length > 0) {
      msg.tool_calls = t.calls.map((c) => {
        const sig = t.signatures[c.id];
        return sig ? ({ ...c, extra_content: { google: { thought_signature: sig } } } as ChatToolCall) : c;
      });
    }
    if (t.details.length > 0) (msg as Record<string, unknown>).reasoning_details = t.details.map((d, index) => ({ ...d, index }));
    out.push(msg);
  };

  for (const { item, at } of items) {
    switch (kindOf(item)) {
      case "message": {
        const m = item as MessageItem;
        if (m.role === "assistant") {
          open().text.push(assistantText(m, at));
          break;
        }
        flush();
        out.push(m.role === "user" ? { role: "user", content: userContent(m.content, `${at}.content`) } : { role: m.role, content: plainText(m.content, `${at}.content`, m.role) });
        break;
      }
      case "function_call": {
        const c = item as FunctionCallItem;
        open().calls.push({ id: c.call_id, type: "function", function: { name: flatName(c.namespace, c.name), arguments: c.arguments } });
        break;
      }
      case "reasoning": {
        const state = stateOf(item);
        if (!state) {
          // Summary only, or sealed by someone else (OpenAI's own encrypted_content): nothing a translated provider can use.
          const enc = (item as { encrypted_content?: unknown }).encrypted_content;
          if (typeof enc === "string" && enc.length > 0) foreignReasoning = true;
          break;
        }
        const t = open();
        if (state.details) t.details.push(...state.details);
        if (state.signatures) Object.assign(t.signatures, state.signatures);
        break;
      }
      case "function_call_output": {
        flush();
        out.push(...toolResult(item as FunctionCallOutputItem, at));
        break;
      }
      case "item_reference":
        // Resolved from the store before translation; one left here names an item the store does not hold.
        throw invalidRequest(`Item with id '${String((item as { id?: unknown }).id)}' not found. Items are kept only for responses created with 'store' true, by the same key, within the retention period.`, at);
      default:
        droppedTypes.add(kindOf(item));
    }
  }
  flush();
  if (foreignReasoning) warn("Reasoning items with encrypted content from another provider were dropped: this model cannot read them.", "input");
  if (droppedTypes.size > 0) warn(`Input items this provider cannot use were dropped: ${[...droppedTypes].join(", ")}.`, "input");
  return out;
}

function assistantText(m: MessageItem, at: string): string {
  if (typeof m.content === "string") return m.content;
  return m.content
    .map((p, j) => {
      if (p.type === "output_text" || p.type === "input_text") return p.text;
      if (p.type === "refusal") return p.refusal;
      throw invalidRequest(`Invalid '${at}.content[${j}]': an assistant message may contain text only (output_text or refusal).`, `${at}.content[${j}].type`);
    })
    .join("");
}

/** System and developer messages: their text (chat providers take nothing else there). */
function plainText(content: MessageItem["content"], at: string, role: string): string {
  if (typeof content === "string") return content;
  return content
    .map((p, j) => {
      if (p.type === "input_text" || p.type === "output_text") return p.text;
      throw invalidRequest(`Invalid '${at}[${j}]': ${role} messages may contain text only.`, `${at}[${j}].type`);
    })
    .join("");
}

/** A user message's parts: text, images (URL or data), files (PDF and the like, as data). */
function userContent(content: MessageItem["content"], at: string): string | ChatContentPart[] {
  if (typeof content === "string") return content;
  return content.map((p, j) => chatPart(p, `${at}[${j}]`));
}

function chatPart(p: ContentPart, at: string): ChatContentPart {
  switch (p.type) {
    case "input_text":
    case "output_text":
      return { type: "text", text: p.text };
    case "refusal":
      return { type: "text", text: p.refusal };
    case "input_image": {
      if (!p.image_url) {
        throw invalidRequest(
          p.file_id ? "This model cannot read OpenAI file ids: send the image as 'image_url' (an https URL or a data: URI)." : "An input_image needs 'image_url'.",
          p.file_id ? `${at}.file_id` : `${at}.image_url`,
        );
      }
      const detail = p.detail === "low" || p.detail === "high" || p.detail === "auto" ? { detail: p.detail } : {};
      return { type: "image_url", image_url: { url: p.image_url, ...detail } };
    }
    case "input_file": {
      if (p.file_data === undefined) {
        const param = p.file_url !== undefined ? `${at}.file_url` : p.file_id ? `${at}.file_id` : `${at}.file_data`;
        throw invalidRequest("This model needs the file's content: send 'file_data' as a data: URL (data:application/pdf;base64,…); file ids and file URLs are OpenAI's.", param);
      }
      const file: { file_data: string; filename?: string } = { file_data: p.file_data };
      if (p.filename) file.filename = p.filename;
      return { type: "file", file };
    }
    default:
      throw invalidRequest(`Content part type '${String(p.type)}' is not supported by this model.`, `${at}.type`);
  }
}

/**
 * A function's result as a tool message. Chat carries only text in tool messages, so images and files a tool returned
 * (Codex's view_image) follow in a user message right after it, which providers merge into the same turn.
 */
function toolResult(o: FunctionCallOutputItem, at: string): ChatMessage[] {
  if (typeof o.output === "string") return [{ role: "tool", tool_call_id: o.call_id, content: o.output }];
  const text: string[] = [];
  const media: ChatContentPart[] = [];
  o.output.forEach((p, j) => {
    const part = chatPart(p as ContentPart, `${at}.output[${j}]`);
    if (part.type === "text") text.push(part.text);
    else media.push(part);
  });
  const out: ChatMessage[] = [{ role: "tool", tool_call_id: o.call_id, content: text.join("\n") }];
  if (media.length > 0) out.push({ role: "user", content: [{ type: "text", text: `Attachments returned by tool call ${o.call_id}:` }, ...media] });
  return out;
}

