// Pure state machine: ConverseStream events (decoded event-stream messages) → OpenAI chat.completion.chunk objects.
import type { ChatCompletionChunk, FinishReason } from "../../openai/schemas.ts";
import { upstreamFailed } from "../../openai/errors.ts";
import type { StreamTranslator, Warn } from "../types.ts";
import { mapStreamException } from "./errors.ts";
import { mapStopReason, mapUsage, reasoningDetail, type ResponseMeta } from "./response.ts";
import { isObj } from "../shared/json.ts";

/** One ConverseStream message: its `:event-type` (or `:exception-type` with `exception` set) and its JSON payload. */
export interface ConverseStreamEvent {
  type: string;
  exception?: boolean;
  payload: Record<string, unknown>;
}

type Delta = ChatCompletionChunk["choices"][number]["delta"];

/** What a content block index carries: text needs no state; a tool call its dense OpenAI index; reasoning its parts. */
type Block =
  | { kind: "tool"; index: number; argsSent: boolean }
  | { kind: "reasoning"; text: string; signature: string; redacted?: string }
  | { kind: "text" };


/**
 * One per stream. Converse sends `messageStop` (the stop reason) and then `metadata` (usage): the finish and usage
 * chunks go out at `metadata`, or at the end of the body when it never came. Tool calls are numbered densely from 0
 * in the order their blocks start, whatever their content block index.
 */
export function createConverseStreamTranslator(meta: ResponseMeta, warn: Warn = () => {}): StreamTranslator<ConverseStreamEvent> {
  const blocks = new Map<number, Block>();
  let roleSent = false;
  let toolCount = 0;
  let details = 0;
  let stopReason: unknown;
  let stopped = false;
  let finished = false;

  const chunk = (delta: Delta, finish: FinishReason = null): ChatCompletionChunk => ({
    id: meta.id,
    object: "chat.completion.chunk",
    created: meta.created,
    model: meta.model,
    choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
  });
  const withRole = (out: ChatCompletionChunk[]): ChatCompletionChunk[] => {
    if (roleSent) return out;
    roleSent = true;
    return [chunk({ role: "assistant", content: "" }), ...out];
  };
  const blockAt = (p: Record<string, unknown>, kind: "text" | "reasoning"): Block => {
    const i = typeof p.contentBlockIndex === "number" ? p.contentBlockIndex : -1;
    let b = blocks.get(i);
    if (!b) {
      b = kind === "text" ? { kind: "text" } : { kind: "reasoning", text: "", signature: "" };
      blocks.set(i, b);
    }
    return b;
  };

  function delta(p: Record<string, unknown>): ChatCompletionChunk[] {
    const d = isObj(p.delta) ? p.delta : {};
    if (typeof d.text === "string") {
      blockAt(p, "text");
      return d.text.length > 0 ? withRole([chunk({ content: d.text })]) : [];
    }
    if (isObj(d.toolUse) && typeof d.toolUse.input === "string") {
      const b = blocks.get(typeof p.contentBlockIndex === "number" ? p.contentBlockIndex : -1);
      if (b?.kind !== "tool" || d.toolUse.input.length === 0) return [];
      b.argsSent = true;
      return [chunk({ tool_calls: [{ index: b.index, function: { arguments: d.toolUse.input } }] })];
    }
    if (isObj(d.reasoningContent)) {
      const b = blockAt(p, "reasoning");
      if (b.kind !== "reasoning") return [];
      const r = d.reasoningContent;
      if (typeof r.signature === "string") b.signature += r.signature;
      if (typeof r.redactedContent === "string") b.redacted = (b.redacted ?? "") + r.redactedContent;
      if (typeof r.text === "string" && r.text.length > 0) {
        b.text += r.text;
        return withRole([chunk({ reasoning_content: r.text })]);
      }
    }
    // Citations and other deltas carry nothing a chat completion has.
    return [];
  }

  function stop(p: Record<string, unknown>): ChatCompletionChunk[] {
    const i = typeof p.contentBlockIndex === "number" ? p.contentBlockIndex : -1;
    const b = blocks.get(i);
    if (b?.kind === "reasoning" && meta.claude) {
      // The whole signed block once complete: what the client sends back in its next assistant message.
      const source = b.redacted !== undefined ? { redactedContent: b.redacted } : { reasoningText: { text: b.text, ...(b.signature ? { signature: b.signature } : {}) } };
      const detail = reasoningDetail(source, details++);
      return detail ? withRole([chunk({ reasoning_details: [detail] })]) : [];
    }
    if (b?.kind === "tool" && !b.argsSent) {
      // A tool without arguments streams no input; clients JSON.parse the arguments, so send "{}".
      b.argsSent = true;
      return [chunk({ tool_calls: [{ index: b.index, function: { arguments: "{}" } }] })];
    }
    return [];
  }

  function finish(usage: unknown): ChatCompletionChunk[] {
    finished = true;
    const reason = mapStopReason(stopReason, toolCount > 0, warn);
    return withRole([chunk({}, reason), { id: meta.id, object: "chat.completion.chunk", created: meta.created, model: meta.model, choices: [], usage: mapUsage(usage) }]);
  }

  return {
    push(ev) {
      if (finished) return [];
      if (ev.exception) throw mapStreamException(ev.type, ev.payload);
      const p = ev.payload;
      switch (ev.type) {
        case "messageStart":
          return withRole([]);
        case "contentBlockStart": {
          const start = isObj(p.start) ? p.start : {};
          if (!isObj(start.toolUse) || typeof start.toolUse.toolUseId !== "string" || typeof start.toolUse.name !== "string") return [];
          const index = toolCount++;
          blocks.set(typeof p.contentBlockIndex === "number" ? p.contentBlockIndex : -1, { kind: "tool", index, argsSent: false });
          return withRole([chunk({ tool_calls: [{ index, id: start.toolUse.toolUseId, type: "function", function: { name: start.toolUse.name, arguments: "" } }] })]);
        }
        case "contentBlockDelta":
          return delta(p);
        case "contentBlockStop":
          return stop(p);
        case "messageStop":
          stopped = true;
          stopReason = p.stopReason;
          return [];
        case "metadata":
          return finish(p.usage);
        default:
          return [];
      }
    },
    end() {
      if (finished) return [];
      // The stop reason came but the usage did not: the answer is whole, its usage unknown (counted from the text).
      if (stopped) return finish(undefined);
      throw upstreamFailed("The provider's stream ended before the message was complete.");
    },
  };
}
