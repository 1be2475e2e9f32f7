// Google's generateContent wire for the fakes (the Gemini API, and Gemini on Vertex): errors, a neutral message as events, SSE, merged JSON.
import { isObj, stopReasonOf, type Json, type Message, type StreamError } from "./fake-core.ts";

const enc = new TextEncoder();
export const JSON_TYPE = { "content-type": "application/json; charset=UTF-8" };
export const SSE_TYPE = { "content-type": "text/event-stream", "cache-control": "no-cache" };

const STATUS: Record<number, string> = { 400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED" };
export const MESSAGE: Record<number, string> = {
  400: 'Invalid JSON payload received. Unknown name "bogus": Cannot find field.',
  429: "You exceeded your current quota, please check your plan and billing details.",
  500: "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
  503: "The model is overloaded. Please try again later.",
  504: "The request timed out. Please try again.",
};
/** What Google attaches to a quota error: when to retry. */
export const RETRY_INFO = [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "27s" }];

/** Google's error answer: `{error: {code, message, status, details?}}`, pretty-printed as Google sends it. */
export function googleError(code: number, message: string, details?: unknown[], status?: string): Response {
  const error: Json = { code, message, status: status ?? STATUS[code] ?? "UNKNOWN" };
  if (details) error.details = details;
  return new Response(JSON.stringify({ error }, null, 2), { status: code, headers: JSON_TYPE });
}

/** The error object Google puts in a stream that fails after it began. */
export const googleErrorEvent = (e: StreamError | undefined): Json => {
  const code = e?.status ?? 503;
  return { error: { code, message: e?.message ?? MESSAGE[code] ?? "Request failed.", status: e?.type ?? STATUS[code] ?? "UNKNOWN" } };
};

/** Google ends each SSE event with \r\n\r\n. */
export const googleFrame = (e: unknown): Uint8Array => enc.encode(`data: ${JSON.stringify(e)}\r\n\r\n`);

/** What one answer is called and counted as. */
export interface GeminiStyle {
  model: string;
  responseId: string;
  /** The thought signature on a function call that brings none of its own. */
  signature: string;
  /** generationConfig.thinkingConfig.includeThoughts: thinking blocks become thought parts (otherwise Google drops them). */
  thoughts: boolean;
  /** Prompt and candidate tokens when the message leaves them unset. */
  counts: { input: number; output: number };
}

/** Google's finishReason for a neutral stop reason. */
export function finishReasonOf(m: Message): string {
  const r = stopReasonOf(m);
  return r === "max_tokens" ? "MAX_TOKENS" : r === "end_turn" || r === "tool_use" || r === "stop_sequence" ? "STOP" : r.toUpperCase();
}

/**
 * A message as Gemini streams it: thought parts first (when asked for), the text in two events (its first 12
 * characters, then the rest), function calls with their thought signatures and the finish in the last.
 */
export function geminiEvents(m: Message, s: GeminiStyle): Json[] {
  const thoughts = s.thoughts ? m.content.flatMap((b) => (b.type === "thinking" ? [{ text: b.thinking, thought: true }] : [])) : [];
  const text = m.content.map((b) => (b.type === "text" ? b.text : "")).join("");
  const calls = m.content.flatMap((b) => (b.type === "tool_use" ? [{ functionCall: { name: b.name, args: b.input }, thoughtSignature: b.signature ?? s.signature }] : []));
  const thinking = m.usage?.thinking_tokens ?? (thoughts.length > 0 ? 6 : undefined);
  const prompt = m.usage?.input_tokens ?? s.counts.input;
  // Neutral output_tokens include the thinking share; Google counts candidates without thoughts.
  const out = m.usage?.output_tokens ?? s.counts.output + (thinking ?? 0);
  const usageMetadata = { promptTokenCount: prompt, candidatesTokenCount: out - (thinking ?? 0), totalTokenCount: prompt + out, ...(thinking !== undefined ? { thoughtsTokenCount: thinking } : {}) };
  const ev = (parts: Json[], last: boolean) => ({ candidates: [{ content: { parts, role: "model" }, ...(last ? { finishReason: finishReasonOf(m) } : {}), index: 0 }], usageMetadata, modelVersion: s.model, responseId: s.responseId });
  const head = text.length > 12 ? [{ text: text.slice(0, 12) }] : [];
  const rest = [...(text.length > 12 ? [{ text: text.slice(12) }] : text ? [{ text }] : []), ...calls];
  return head.length > 0 || thoughts.length > 0 ? [ev([...thoughts, ...head], false), ev(rest, true)] : [ev(rest, true)];
}

type Part = Json;

/** Folds stream events into one response, as Google's own JSON is: per candidate, texts joined per run, parts in order, last finish; last usage. */
export function merge(events: unknown[]): unknown {
  const objs = events.filter(isObj);
  const err = objs.find((e) => isObj(e.error));
  if (err) return err;
  const lastEv = objs[objs.length - 1] ?? {};
  const byIndex = new Map<number, { parts: Part[]; finishReason?: unknown; extra: Json; logprobs?: Record<string, unknown[]> }>();
  for (const e of objs) {
    for (const cand of Array.isArray(e.candidates) ? e.candidates.filter(isObj) : []) {
      const { content, finishReason: f, index, logprobsResult, ...rest } = cand;
      const k = typeof index === "number" ? index : 0;
      const acc = byIndex.get(k) ?? { parts: [], extra: {} };
      byIndex.set(k, acc);
      if (f !== undefined) acc.finishReason = f;
      acc.extra = { ...acc.extra, ...rest };
      if (isObj(logprobsResult)) {
        acc.logprobs ??= { chosenCandidates: [], topCandidates: [] };
        acc.logprobs.chosenCandidates!.push(...((logprobsResult.chosenCandidates as unknown[]) ?? []));
        acc.logprobs.topCandidates!.push(...((logprobsResult.topCandidates as unknown[]) ?? []));
      }
      for (const p of isObj(content) && Array.isArray(content.parts) ? content.parts.filter(isObj) : []) {
        const prev = acc.parts[acc.parts.length - 1];
        if (typeof p.text === "string" && prev && typeof prev.text === "string" && !!prev.thought === !!p.thought) prev.text += p.text;
        else if (!(typeof p.text === "string" && p.text === "" && !p.thoughtSignature)) acc.parts.push({ ...p });
      }
    }
  }
  if (!Array.isArray(lastEv.candidates)) return lastEv;
  return {
    candidates: [...byIndex.entries()].sort((a, b) => a[0] - b[0]).map(([index, c]) => ({
      content: { parts: c.parts, role: "model" },
      ...(c.finishReason ? { finishReason: c.finishReason } : {}),
      index,
      ...(c.logprobs ? { logprobsResult: c.logprobs } : {}),
      ...c.extra,
    })),
    usageMetadata: lastEv.usageMetadata,
    modelVersion: lastEv.modelVersion,
    responseId: lastEv.responseId,
  };
}

/** A JSON answer as Google writes it (pretty-printed). */
export const googleJson = (body: unknown): Response => new Response(JSON.stringify(body, null, 2), { headers: JSON_TYPE });
