// Pure state machine: chat completion chunks → Responses output items and their typed stream events, as OpenAI emits them.
import type { ChatCompletionChunk, ReasoningDetail, Usage } from "../../openai/schemas.ts";
import type { ResponsesRequest } from "./schema.ts";
import { itemId } from "./ids.ts";
import {
  responseSkeleton,
  toResponsesUsage,
  type FunctionCallOutput,
  type ItemStatus,
  type MessageOutput,
  type OutputItem,
  type OutputTextPart,
  type RefusalPart,
  type ReasoningOutput,
  type ResponseEvent,
  type ResponseObject,
} from "./objects.ts";
import { isEmptyState, withState, type ReasoningState } from "./reasoning-state.ts";
import { declaredName, type ToolNames } from "./tools.ts";

export interface OutputContext {
  /** The response's random key: its id and its items' ids derive from it. */
  key: string;
  /** The model id the client asked for. */
  publicModel: string;
  /** Epoch seconds. */
  createdAt: number;
  request: ResponsesRequest;
  names: ToolNames;
  /** Reasoning summaries were asked for (`reasoning.summary`): the thinking text becomes summary text. */
  summary: boolean;
  /** Seals a reasoning item's provider state into `encrypted_content` (include asked for it); absent: none. */
  seal?: (s: ReasoningState) => string;
  /** The response is stored: reasoning items keep their provider state for the store (and sig-only items are worth making). */
  keepState: boolean;
}

export interface OutputResult {
  /** The response object as the client sees it. */
  response: ResponseObject;
  /** The output items with their provider state, for the store. */
  stored: OutputItem[];
}

type Open =
  | { kind: "reasoning"; index: number; item: ReasoningOutput; text: string; partOpen: boolean; state: ReasoningState }
  | { kind: "message"; index: number; item: MessageOutput; part: OutputTextPart | RefusalPart | null }
  | { kind: "call"; index: number; item: FunctionCallOutput; chatIndex: number };

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Gemini's thought signature on a chat tool call (`extra_content.google.thought_signature`), if any. */
function signatureOf(tc: unknown): string | undefined {
  if (!isObj(tc) || !isObj(tc.extra_content) || !isObj(tc.extra_content.google)) return undefined;
  const s = tc.extra_content.google.thought_signature;
  return typeof s === "string" && s.length > 0 ? s : undefined;
}

/**
 * One per response. Items are opened one at a time and each is closed (`.done`) before the next opens, as OpenAI does;
 * sequence numbers count from 0 without gaps. `end()` or `fail()` closes what is open and gives the terminal event.
 */
export function createOutputBuilder(ctx: OutputContext) {
  const response = responseSkeleton(ctx.request, { id: `resp_sb${ctx.key}`, createdAt: ctx.createdAt, model: ctx.publicModel });
  const output: OutputItem[] = [];
  const stored: OutputItem[] = [];
  const calls = new Map<number, FunctionCallOutput>();
  let seq = 0;
  let current: Open | null = null;
  let finish: string | null = null;
  let usage: Usage | null = null;
  let events: ResponseEvent[] = [];
  const emit = (type: string, fields: Record<string, unknown>) => {
    events.push({ type, sequence_number: seq++, ...fields });
  };
  const snapshot = (): ResponseObject => ({ ...response, output: output.map((o) => structuredClone(o)) });
  const add = (item: OutputItem) => {
    const index = output.length;
    output.push(item);
    emit("response.output_item.added", { output_index: index, item: structuredClone(item) });
    return index;
  };
  const done = (index: number, item: OutputItem, state?: ReasoningState) => {
    output[index] = item;
    stored[index] = ctx.keepState ? withState(item, state) : item;
    emit("response.output_item.done", { output_index: index, item: structuredClone(item) });
  };

  function openReasoning(): Extract<Open, { kind: "reasoning" }> {
    closeCurrent();
    const item: ReasoningOutput = { id: itemId("rs", ctx.key, output.length), type: "reasoning", summary: [] };
    const r = { kind: "reasoning" as const, index: add(item), item, text: "", partOpen: false, state: {} };
    current = r;
    return r;
  }
  const reasoning = () => (current?.kind === "reasoning" ? current : openReasoning());

  function closeReasoning(r: Extract<Open, { kind: "reasoning" }>) {
    const base = { item_id: r.item.id, output_index: r.index, summary_index: 0 };
    const summary: ReasoningOutput["summary"] = [];
    if (r.partOpen) {
      const part = { type: "summary_text" as const, text: r.text };
      emit("response.reasoning_summary_text.done", { ...base, text: r.text });
      emit("response.reasoning_summary_part.done", { ...base, part });
      summary.push(part);
    }
    const sealed = ctx.seal && !isEmptyState(r.state) ? { encrypted_content: ctx.seal(r.state) } : {};
    // OpenAI's field order: encrypted_content before summary.
    done(r.index, { id: r.item.id, type: "reasoning", ...sealed, summary }, isEmptyState(r.state) ? undefined : r.state);
  }

  function message(): Extract<Open, { kind: "message" }> {
    if (current?.kind === "message") return current;
    closeCurrent();
    const item: MessageOutput = { id: itemId("msg", ctx.key, output.length), type: "message", status: "in_progress", content: [], role: "assistant" };
    const m = { kind: "message" as const, index: add(item), item, part: null };
    current = m;
    return m;
  }

  function closePart(m: Extract<Open, { kind: "message" }>) {
    const p = m.part;
    if (!p) return;
    const base = { item_id: m.item.id, output_index: m.index, content_index: m.item.content.length };
    if (p.type === "output_text") emit("response.output_text.done", { ...base, text: p.text, logprobs: [] });
    else emit("response.refusal.done", { ...base, refusal: p.refusal });
    emit("response.content_part.done", { ...base, part: { ...p } });
    m.item.content.push(p);
    m.part = null;
  }

  function openPart(m: Extract<Open, { kind: "message" }>, part: OutputTextPart | RefusalPart) {
    closePart(m);
    m.part = part;
    emit("response.content_part.added", { item_id: m.item.id, output_index: m.index, content_index: m.item.content.length, part: { ...part } });
  }

  function text(delta: string) {
    const m = message();
    if (m.part?.type !== "output_text") openPart(m, { type: "output_text", annotations: [], logprobs: [], text: "" });
    (m.part as OutputTextPart).text += delta;
    emit("response.output_text.delta", { item_id: m.item.id, output_index: m.index, content_index: m.item.content.length, delta, logprobs: [] });
  }

  function refusal(delta: string) {
    const m = message();
    if (m.part?.type !== "refusal") openPart(m, { type: "refusal", refusal: "" });
    (m.part as RefusalPart).refusal += delta;
    emit("response.refusal.delta", { item_id: m.item.id, output_index: m.index, content_index: m.item.content.length, delta });
  }

  function closeCurrent(status: ItemStatus = "completed") {
    const c = current;
    current = null;
    if (!c) return;
    if (c.kind === "reasoning") return closeReasoning(c);
    if (c.kind === "message") {
      closePart(c);
      return done(c.index, { ...c.item, content: c.item.content.map((p) => ({ ...p })), status });
    }
    emit("response.function_call_arguments.done", { item_id: c.item.id, output_index: c.index, arguments: c.item.arguments });
    done(c.index, { ...c.item, status: "completed" });
  }

  function toolCall(tc: NonNullable<ChatCompletionChunk["choices"][number]["delta"]["tool_calls"]>[number]) {
    const known = calls.get(tc.index);
    if (!known) {
      const callId = tc.id ?? `call_${ctx.key.slice(0, 12)}${tc.index}`;
      const sig = signatureOf(tc);
      if (sig && (ctx.keepState || ctx.seal)) {
        // Gemini signs the call itself: the signature rides on the reasoning item before it (the open one when the
        // thoughts streamed just before, else one of its own), which the client sends back with the call.
        const r = reasoning();
        r.state.signatures = { ...r.state.signatures, [callId]: sig };
      }
      closeCurrent();
      const declared = declaredName(ctx.names, tc.function?.name ?? "");
      const item: FunctionCallOutput = { id: itemId("fc", ctx.key, output.length), type: "function_call", status: "in_progress", arguments: "", call_id: callId, name: declared.name };
      if (declared.namespace) item.namespace = declared.namespace;
      calls.set(tc.index, item);
      current = { kind: "call", index: add(item), item, chatIndex: tc.index };
    } else if (current?.kind !== "call" || current.chatIndex !== tc.index) {
      // A fragment for a call already closed (chat servers interleaving parallel calls): it cannot be sent any more.
      return;
    }
    const args = tc.function?.arguments;
    if (args && current?.kind === "call") {
      current.item.arguments += args;
      emit("response.function_call_arguments.delta", { item_id: current.item.id, output_index: current.index, delta: args });
    }
  }

  function push(chunk: ChatCompletionChunk): ResponseEvent[] {
    if (chunk.usage) usage = chunk.usage;
    const choice = chunk.choices.find((c) => c.index === 0);
    if (choice) {
      const d = choice.delta;
      if (d.reasoning_content) {
        const r = reasoning();
        r.text += d.reasoning_content;
        if (ctx.summary) {
          const base = { item_id: r.item.id, output_index: r.index, summary_index: 0 };
          if (!r.partOpen) {
            r.partOpen = true;
            emit("response.reasoning_summary_part.added", { ...base, part: { type: "summary_text", text: "" } });
          }
          emit("response.reasoning_summary_text.delta", { ...base, delta: d.reasoning_content });
        }
      }
      if (d.reasoning_details?.length) {
        const r = reasoning();
        r.state.details = [...(r.state.details ?? []), ...d.reasoning_details.map(({ index: _, ...rest }) => rest as ReasoningDetail)];
      }
      if (d.content) text(d.content);
      if (d.refusal) refusal(d.refusal);
      for (const tc of d.tool_calls ?? []) toolCall(tc);
      if (choice.finish_reason) {
        finish = choice.finish_reason;
        closeCurrent(finish === "length" ? "incomplete" : "completed");
      }
    }
    return take();
  }

  function take(): ResponseEvent[] {
    const out = events;
    events = [];
    return out;
  }

  return {
    /** response.created and response.in_progress. */
    start(): ResponseEvent[] {
      emit("response.created", { response: snapshot() });
      emit("response.in_progress", { response: snapshot() });
      return take();
    },
    push,
    /** Closes what is open; `final` is response.completed or response.incomplete (send it once the response is saved). */
    end(): { events: ResponseEvent[]; final: ResponseEvent; result: OutputResult } {
      closeCurrent(finish === "length" ? "incomplete" : "completed");
      if (output.length === 0) {
        // No text and no call (an empty answer): OpenAI still answers with a message holding empty text.
        message();
        openPart(current as Extract<Open, { kind: "message" }>, { type: "output_text", annotations: [], logprobs: [], text: "" });
        closeCurrent();
      }
      const incomplete = finish === "length" ? "max_output_tokens" : finish === "content_filter" ? "content_filter" : null;
      response.status = incomplete ? "incomplete" : "completed";
      response.incomplete_details = incomplete ? { reason: incomplete } : null;
      response.usage = toResponsesUsage(usage);
      const closing = take();
      emit(incomplete ? "response.incomplete" : "response.completed", { response: snapshot() });
      return { events: closing, final: take()[0]!, result: { response: snapshot(), stored: [...stored] } };
    },
    /** The provider failed after the stream began: open items end incomplete, then response.failed. */
    fail(code: string, message: string): ResponseEvent[] {
      closeCurrent("incomplete");
      response.status = "failed";
      response.error = { code, message };
      if (usage) response.usage = toResponsesUsage(usage);
      emit("response.failed", { response: snapshot() });
      return take();
    },
  };
}

export type OutputBuilder = ReturnType<typeof createOutputBuilder>;
