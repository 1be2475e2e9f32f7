// Pure translation of a Gemini `GenerateContentResponse` into an OpenAI chat completion (and the pieces streams share).
import type { Warn } from "../types.ts";
import type { ChatCompletion, FinishReason, Logprobs, Usage } from "../../openai/schemas.ts";
import { upstreamFailed } from "../../openai/errors.ts";
import { geminiStreamError, readGoogleError } from "./errors.ts";
import { isObj } from "../shared/json.ts";

/** What a translated response needs from the call: all ids and clocks come in from outside. */
export interface ResponseMeta {
  /** `chatcmpl-<requestId>`. */
  id: string;
  /** Unix seconds. */
  created: number;
  /** The model id the client asked for. */
  model: string;
  /** Seeds the tool call ids, so a replayed response yields the same ids. */
  requestId: string;
}

/** A tool call as Gemini-aware clients see it: the thought signature rides along as Google's OpenAI endpoint sends it. */
export interface GeminiToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
  extra_content?: { google: { thought_signature: string } };
}

/** The parts of one candidate that matter to an OpenAI client, already read through guards. */
export interface CandidateView {
  /** The candidate's `index` (several with `candidateCount`): the OpenAI choice index. */
  index: number;
  text: string;
  /** Thought summaries (`thought: true` parts): the reasoning, not the answer. */
  reasoning: string;
  logprobs?: Logprobs;
  calls: { name: string; args: unknown; thoughtSignature?: string }[];
  finishReason?: string;
}

const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);

/** Deterministic per response; a second candidate's calls get their own series. */
export const toolCallId = (requestId: string, index: number, candidate = 0) => (candidate === 0 ? `call_${requestId}_${index}` : `call_${requestId}_c${candidate}_${index}`);

/** Gemini says STOP after a function call; OpenAI clients loop on `tool_calls`. */
export function mapGeminiFinishReason(c: { reason: string | undefined; hasToolCalls: boolean }): Exclude<FinishReason, null> {
  switch (c.reason) {
    case "MAX_TOKENS":
      return "length";
    case "SAFETY":
    case "RECITATION":
    case "BLOCKLIST":
    case "PROHIBITED_CONTENT":
    case "SPII":
    case "IMAGE_SAFETY":
    case "IMAGE_PROHIBITED_CONTENT":
    case "IMAGE_RECITATION":
      return "content_filter";
    default:
      // STOP, and the reasons OpenAI has no word for (OTHER, LANGUAGE, MALFORMED_FUNCTION_CALL…): the caller warns for those.
      return c.hasToolCalls ? "tool_calls" : "stop";
  }
}

/** Reasons that map without loss; anything else is logged so an operator can see why a reply ended early. */
export const PLAIN_REASONS = new Set(["STOP", "MAX_TOKENS", "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION"]);

/**
 * Gemini counts thinking apart from the answer; OpenAI counts reasoning inside completion_tokens (as o-series
 * models report it). Totals are recomputed so prompt + completion = total holds even when Google's total also
 * counts tool-use prompt tokens, which join the prompt here.
 */
export function mapGeminiUsage(meta: unknown): Usage {
  const m = isObj(meta) ? meta : {};
  const prompt = num(m.promptTokenCount) + num(m.toolUsePromptTokenCount);
  const thoughts = num(m.thoughtsTokenCount);
  const completion = num(m.candidatesTokenCount) + thoughts;
  const usage: Usage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  // Implicit and explicit cache hits are reads; Gemini writes no cache as a side effect of a request.
  usage.prompt_tokens_details = { cached_tokens: num(m.cachedContentTokenCount), cache_creation_tokens: 0 };
  if (m.thoughtsTokenCount !== undefined) usage.completion_tokens_details = { reasoning_tokens: thoughts };
  return usage;
}

/** Reads every candidate: text, thought summaries, function calls, finish reason, log probabilities. */
export function readCandidates(body: Record<string, unknown>): CandidateView[] {
  const cands = Array.isArray(body.candidates) ? body.candidates : [];
  return cands.filter(isObj).map((c, i) => readOne(c, typeof c.index === "number" ? c.index : i));
}

/** The first candidate (or undefined when Gemini sent none, e.g. a blocked prompt). */
export function readCandidate(body: Record<string, unknown>): CandidateView | undefined {
  return readCandidates(body)[0];
}

function readOne(c: Record<string, unknown>, index: number): CandidateView {
  const view: CandidateView = { index, text: "", reasoning: "", calls: [] };
  if (typeof c.finishReason === "string") view.finishReason = c.finishReason;
  const parts = isObj(c.content) && Array.isArray(c.content.parts) ? c.content.parts : [];
  for (const p of parts) {
    if (!isObj(p)) continue;
    if (p.thought === true) {
      if (typeof p.text === "string") view.reasoning += p.text;
      continue;
    }
    if (typeof p.text === "string") view.text += p.text;
    if (isObj(p.functionCall) && typeof p.functionCall.name === "string") {
      const call: CandidateView["calls"][number] = { name: p.functionCall.name, args: p.functionCall.args };
      if (typeof p.thoughtSignature === "string") call.thoughtSignature = p.thoughtSignature;
      view.calls.push(call);
    }
  }
  const lp = mapLogprobs(c.logprobsResult);
  if (lp) view.logprobs = lp;
  return view;
}

const utf8 = new TextEncoder();

/** `logprobsResult` (chosen token per step, top candidates per step) → OpenAI's `logprobs.content`. */
export function mapLogprobs(raw: unknown): Logprobs | undefined {
  if (!isObj(raw) || !Array.isArray(raw.chosenCandidates)) return undefined;
  const top = Array.isArray(raw.topCandidates) ? raw.topCandidates : [];
  const entry = (x: unknown) => {
    const o = isObj(x) ? x : {};
    const token = typeof o.token === "string" ? o.token : "";
    return { token, logprob: num(o.logProbability), bytes: [...utf8.encode(token)] };
  };
  const content = raw.chosenCandidates.map((chosen, i) => {
    const step = top[i];
    const alts = isObj(step) && Array.isArray(step.candidates) ? step.candidates.map(entry) : [];
    return { ...entry(chosen), top_logprobs: alts };
  });
  return { content, refusal: null };
}

export function toOpenAIToolCall(requestId: string, index: number, call: CandidateView["calls"][number], candidate = 0): GeminiToolCall {
  const tc: GeminiToolCall = {
    id: toolCallId(requestId, index, candidate),
    type: "function",
    function: { name: call.name, arguments: JSON.stringify(isObj(call.args) ? call.args : {}) },
  };
  if (call.thoughtSignature) tc.extra_content = { google: { thought_signature: call.thoughtSignature } };
  return tc;
}

/** `promptFeedback.blockReason` when Gemini refused the prompt itself (then there are no candidates). */
export function promptBlockReason(body: Record<string, unknown>): string | undefined {
  const fb = body.promptFeedback;
  return isObj(fb) && typeof fb.blockReason === "string" ? fb.blockReason : undefined;
}

/**
 * A blocked prompt is answered as a completion with finish_reason `content_filter` and the reason in `refusal`,
 * not as an error: it streams the same way, and the client still sees the prompt tokens it was charged.
 */
export const blockedRefusal = (reason: string) => `Gemini blocked the prompt (reason: ${reason}).`;

export function fromGeminiResponse(body: unknown, meta: ResponseMeta, warn: Warn): ChatCompletion {
  if (readGoogleError(body)) throw geminiStreamError(body);
  if (!isObj(body)) throw upstreamFailed("The provider returned a response that is not a JSON object.");
  const usage = mapGeminiUsage(body.usageMetadata);
  const base = { id: meta.id, object: "chat.completion" as const, created: meta.created, model: meta.model, usage };
  const cands = readCandidates(body);
  if (cands.length === 0) {
    const blocked = promptBlockReason(body);
    if (!blocked) throw upstreamFailed("The provider returned no candidates and no reason.");
    warn(blockedRefusal(blocked));
    return {
      ...base,
      choices: [{ index: 0, message: { role: "assistant", content: null, refusal: blockedRefusal(blocked) }, finish_reason: "content_filter", logprobs: null }],
    };
  }
  return { ...base, choices: cands.map((cand) => choiceOf(cand, meta, warn)) };
}

function choiceOf(cand: CandidateView, meta: ResponseMeta, warn: Warn): ChatCompletion["choices"][number] {
  const toolCalls = cand.calls.map((c, i) => toOpenAIToolCall(meta.requestId, i, c, cand.index));
  if (cand.finishReason && !PLAIN_REASONS.has(cand.finishReason)) warn(`Gemini finished with ${cand.finishReason}.`);
  const finish = mapGeminiFinishReason({ reason: cand.finishReason, hasToolCalls: toolCalls.length > 0 });
  const message: ChatCompletion["choices"][number]["message"] = {
    role: "assistant",
    // null, as OpenAI sends it, when the turn is only tool calls or was filtered before any text.
    content: cand.text === "" && (toolCalls.length > 0 || finish === "content_filter") ? null : cand.text,
  };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  if (cand.reasoning) message.reasoning_content = cand.reasoning;
  return { index: cand.index, message, finish_reason: finish, logprobs: cand.logprobs ?? null };
}
