// A fake Gemini (Generative Language API v1beta) on port 0 (on the shared fake core): real paths, key check, generationConfig rules, Google's JSON and SSE.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { isObj, startFake, type Call, type Fake, type Json, type Reply, type Wire } from "./fake-core.ts";
import { googleError, googleErrorEvent, googleFrame, googleJson, geminiEvents, merge, JSON_TYPE, MESSAGE, RETRY_INFO, SSE_TYPE, type GeminiStyle } from "./gemini-wire.ts";
import { vectorFor } from "./embeddings-wire.ts";
import { sampleFor } from "./json-sample.ts";
import { greedyMessage, greedyTokens, isGreedy } from "./greedy.ts";

/**
 * Behaviour is picked per request by the model in the URL, so one fixture serves a whole config: the core's fault
 * names (`fault-<status>` is Google's error body, 429 with RetryInfo; `fault-hang`, `fault-hang-stream`, `fault-cut` (a
 * clean end before any finishReason), `fault-reset`, `fault-midstream-error` (an error object after the first event),
 * …), `safety` (SAFETY stop mid-answer), `blocked` (promptFeedback.blockReason, no candidates), `max-tokens`,
 * `recorded-text` / `recorded-tool` (the real recordings), `missing-*` (404 NOT_FOUND), `*greedy*` (every token
 * allowed). Anything else answers: a function call (with a thought signature) when tools are offered and the last
 * turn is the user's text, a reply quoting the function response after one, else an echo of the user text naming
 * any images. The core's `script`, `reply` and `respond` script the model (a tool call carries `signature`, or the
 * fake's own; thinking blocks become thought parts when includeThoughts is asked for).
 */
export interface GeminiUpstream extends Fake {
  /** Base URL as `@google/genai` (httpOptions.baseUrl) and the gateway's `base_url` take it. */
  url: string;
  apiKey: string;
  /** The thought signature the fixture attaches to its function calls. */
  signature: string;
}

const fixture = (name: string) => readFileSync(join(import.meta.dir, "..", "fixtures", "gemini", name), "utf8");
const recorded = (name: string) => fixture(name).split(/\r?\n/).filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as unknown);

type Part = Json;

const SAFETY_OK = ["SEXUALLY_EXPLICIT", "HATE_SPEECH", "HARASSMENT", "DANGEROUS_CONTENT"].map((c) => ({ category: `HARM_CATEGORY_${c}`, probability: "NEGLIGIBLE" }));

export async function startGeminiUpstream(apiKey = "gemini-upstream-secret-456"): Promise<GeminiUpstream> {
  const signature = "c2lnbmF0dXJlLWZyb20tZml4dHVyZQ==";
  let seq = 0;

  const fake = await startFake<Call>(async (req, url, kit) => {
    const m = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent|batchEmbedContents)$/.exec(url.pathname);
    if (!m || req.method !== "POST") return googleError(404, `Method not found: ${url.pathname}`);
    const [, model = "", method] = m;
    const key = req.headers.get("x-goog-api-key");
    if (!key) return googleError(403, "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.");
    if (key !== apiKey) {
      return googleError(400, "API key not valid. Please pass a valid API key.", [
        { "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "API_KEY_INVALID", domain: "googleapis.com", metadata: { service: "generativelanguage.googleapis.com" } },
      ]);
    }
    let body: Json;
    try {
      const parsed: unknown = await req.json();
      body = isObj(parsed) ? parsed : {};
    } catch {
      return googleError(400, "Invalid JSON payload received.");
    }
    const call = kit.record(req, { body, model });
    const gen = isObj(body.generationConfig) ? body.generationConfig : {};
    const style: GeminiStyle = { model, responseId: `resp${++seq}`, signature, thoughts: isObj(gen.thinkingConfig) && gen.thinkingConfig.includeThoughts === true, counts: { input: 40, output: 12 } };
    const wire = geminiWire(style);
    if (method === "batchEmbedContents") return kit.answer(req, call, wire, { stream: false, answer: () => batchEmbed(model, body) });
    if (model.startsWith("missing")) {
      return googleError(404, `models/${model} is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.`);
    }
    const problem = checkGenerationConfig(body);
    if (problem) return googleError(400, problem);
    const stream = method === "streamGenerateContent";
    return kit.answer(req, call, wire, {
      stream,
      answer: (): Reply | Response => {
        const events = defaultEvents(model, body, signature, style.responseId);
        if (!stream) return googleJson(merge(events));
        // Without alt=sse Google streams one JSON array; the gateway must never ask for that.
        if (url.searchParams.get("alt") !== "sse") return new Response(JSON.stringify(events), { headers: JSON_TYPE });
        return { kind: "events", events };
      },
    });
  });
  return Object.assign(fake, { apiKey, signature });
}

/** Google's wire for one answer: errors by status (429 with RetryInfo), messages as events or their merge. */
export function geminiWire(style: GeminiStyle): Wire {
  return {
    error: (e) => googleError(e.status, e.message ?? MESSAGE[e.status] ?? "Request failed.", e.status === 429 ? RETRY_INFO : undefined, e.type),
    json: (m) => googleJson(merge(geminiEvents(m, style))),
    events: (m) => geminiEvents(m, style),
    frame: googleFrame,
    errorEvent: googleErrorEvent,
    streamHeaders: SSE_TYPE,
  };
}

/**
 * `models/{m}:batchEmbedContents` as the REST API (and @google/genai's embedContent) speaks it: `requests[]`, each
 * `{model: "models/{m}", content: {parts: [{text}]}, outputDimensionality?}`, answered by `{embeddings: [{values}]}`.
 */
function batchEmbed(model: string, body: Record<string, unknown>): Response {
  const requests = Array.isArray(body.requests) ? body.requests.filter(isObj) : [];
  if (requests.length === 0) return googleError(400, "* BatchEmbedContentsRequest.requests: contents is not specified");
  const embeddings: { values: number[] }[] = [];
  for (const [i, r] of requests.entries()) {
    if (r.model !== `models/${model}`) return googleError(400, `* BatchEmbedContentsRequest.requests[${i}].model: the model must match the batch model models/${model}`);
    const parts = isObj(r.content) && Array.isArray(r.content.parts) ? r.content.parts.filter(isObj) : [];
    const text = parts.map((p) => (typeof p.text === "string" ? p.text : "")).join("");
    if (!text) return googleError(400, `* BatchEmbedContentsRequest.requests[${i}].content: contents is not specified`);
    const dims = typeof r.outputDimensionality === "number" ? r.outputDimensionality : 8;
    embeddings.push({ values: vectorFor(text, dims) });
  }
  return new Response(JSON.stringify({ embeddings }), { headers: JSON_TYPE });
}

/** The stream events a request gets; a non-streaming answer is their merge, as Google's own is. */
function defaultEvents(model: string, body: Record<string, unknown>, signature: string, responseId: string): unknown[] {
  if (model === "recorded-text") return recorded("google-text.chunks.txt");
  if (model === "recorded-tool") return recorded("google-tool-call.chunks.txt");
  const tail = { modelVersion: model, responseId };
  const usage = (prompt: number, out: number) => ({ promptTokenCount: prompt, candidatesTokenCount: out, totalTokenCount: prompt + out });
  const ev = (parts: Part[] | null, finishReason: string | null, u: object, extra: object = {}) => ({
    candidates: [{ ...(parts ? { content: { parts, role: "model" } } : {}), ...(finishReason ? { finishReason } : {}), index: 0, ...extra }],
    usageMetadata: u,
    ...tail,
  });
  if (isGreedy(model)) return geminiEvents(greedyGemini(body), { model, responseId, signature, thoughts: false, counts: { input: 19, output: 0 } });
  if (model === "blocked") {
    return [{ promptFeedback: { blockReason: "SAFETY", safetyRatings: SAFETY_OK.map((r, i) => (i === 2 ? { ...r, probability: "HIGH" } : r)) }, usageMetadata: { promptTokenCount: 9, totalTokenCount: 9 }, ...tail }];
  }
  if (model === "safety") {
    return [ev([{ text: "Here is how" }], null, usage(12, 3)), ev(null, "SAFETY", usage(12, 3), { safetyRatings: [...SAFETY_OK.slice(0, 3), { category: "HARM_CATEGORY_DANGEROUS_CONTENT", probability: "HIGH", blocked: true }] })];
  }
  if (model === "max-tokens") return [ev([{ text: "Once upon a time" }], null, usage(8, 4)), ev([{ text: ", far" }], "MAX_TOKENS", usage(8, 6))];

  const contents = Array.isArray(body.contents) ? body.contents.filter(isObj) : [];
  const last = contents[contents.length - 1];
  const parts = (Array.isArray(last?.parts) ? last.parts : []).filter(isObj);
  const responses = parts.map((p) => p.functionResponse).filter(isObj);
  if (responses.length > 0) {
    const text = `The tool said: ${responses.map((r) => JSON.stringify(r.response)).join(" ")}`;
    return [ev([{ text: text.slice(0, 10) }], null, usage(30, 4)), ev([{ text: text.slice(10) }], "STOP", usage(30, 9))];
  }
  const decls = (Array.isArray(body.tools) ? body.tools : []).filter(isObj).flatMap((t) => (Array.isArray(t.functionDeclarations) ? t.functionDeclarations.filter(isObj) : []));
  const mode = isObj(body.toolConfig) && isObj(body.toolConfig.functionCallingConfig) ? body.toolConfig.functionCallingConfig.mode : "AUTO";
  if (decls.length > 0 && mode !== "NONE" && last?.role === "user") {
    const name = String(decls[0]!.name);
    return [ev([{ functionCall: { name, args: { city: "Paris", unit: "celsius" } }, thoughtSignature: signature }], null, usage(25, 12)), ev([{ text: "" }], "STOP", usage(25, 12))];
  }
  const text = parts.map((p) => (typeof p.text === "string" ? p.text : "")).join("");
  const images = parts.map((p) => (isObj(p.inlineData) ? p.inlineData.mimeType : isObj(p.fileData) ? p.fileData.mimeType : undefined)).filter((x) => x !== undefined);
  const gen = isObj(body.generationConfig) ? body.generationConfig : {};
  const json = gen.responseMimeType === "application/json";
  const count = typeof gen.candidateCount === "number" ? gen.candidateCount : 1;
  const thoughts = isObj(gen.thinkingConfig) && gen.thinkingConfig.includeThoughts === true;
  const logprobs = gen.responseLogprobs === true;
  const answerOf = (k: number) =>
    json ? JSON.stringify(sampleFor(gen.responseSchema ?? gen.responseJsonSchema ?? { type: "object" }, gen.responseSchema)) : `Echo from Gemini${k > 0 ? ` #${k}` : ""}: ${text}${images.length > 0 ? ` [images: ${images.join(", ")}]` : ""}`;
  // Each candidate's answer in three pieces; thought summaries (`thought: true`) come first when asked for.
  const piecesOf = (k: number) => {
    const words = answerOf(k).split(/(?<= )/);
    const third = Math.ceil(words.length / 3);
    return [words.slice(0, third), words.slice(third, 2 * third), words.slice(2 * third)].map((w) => w.join(""));
  };
  const all = Array.from({ length: count }, (_, k) => piecesOf(k));
  const thoughtTokens = thoughts ? 7 : 0;
  return [0, 1, 2].map((i) => ({
    candidates: all.map((pieces, k) => {
      const parts: Part[] = [];
      if (thoughts && i === 0) parts.push({ text: `Thinking about candidate ${k}.`, thought: true });
      if (pieces[i]) parts.push({ text: pieces[i] });
      const c: Record<string, unknown> = { content: { parts, role: "model" }, index: k };
      if (i === 2) c.finishReason = "STOP";
      if (logprobs) c.logprobsResult = logprobsFor(pieces[i]!, typeof gen.logprobs === "number" ? gen.logprobs : 0);
      return c;
    }),
    usageMetadata: { ...usage(11, 3 * (i + 1) * count), ...(thoughts ? { thoughtsTokenCount: thoughtTokens, totalTokenCount: 11 + 3 * (i + 1) * count + thoughtTokens } : {}) },
    ...tail,
  }));
}

/** One chosen token per word, with `top` alternatives each: the LogprobsResult shape of @google/genai. */
function logprobsFor(piece: string, top: number) {
  const tokens = piece.split(/(?<= )/).filter(Boolean);
  return {
    chosenCandidates: tokens.map((token, i) => ({ token, logProbability: -0.1 * (i + 1), tokenId: 100 + i })),
    topCandidates: tokens.map((token, i) => ({ candidates: [{ token, logProbability: -0.1 * (i + 1) }, { token: "alt", logProbability: -2.5 }].slice(0, Math.max(0, top)) })),
    logProbabilitySum: -0.1 * tokens.length,
  };
}

/** generationConfig rules the API enforces that a translation bug would trip. */
function checkGenerationConfig(body: Record<string, unknown>): string | undefined {
  const gen = isObj(body.generationConfig) ? body.generationConfig : {};
  if (gen.candidateCount !== undefined && !(Number.isInteger(gen.candidateCount) && (gen.candidateCount as number) >= 1 && (gen.candidateCount as number) <= 8)) return "* GenerationConfig.candidate_count: must be between 1 and 8";
  if (gen.logprobs !== undefined && gen.responseLogprobs !== true) return "logprobs must be set only when response_logprobs is true";
  if (isObj(gen.thinkingConfig)) {
    const t = gen.thinkingConfig;
    if (t.thinkingBudget !== undefined && t.thinkingLevel !== undefined) return "You can only set only one of thinking budget and thinking level.";
    if (t.thinkingLevel !== undefined && !["MINIMAL", "LOW", "MEDIUM", "HIGH"].includes(String(t.thinkingLevel))) return `Invalid value at 'generation_config.thinking_config.thinking_level' (${String(t.thinkingLevel)})`;
  }
  for (const c of Array.isArray(body.contents) ? body.contents.filter(isObj) : []) {
    for (const p of Array.isArray(c.parts) ? c.parts.filter(isObj) : []) {
      if (isObj(p.inlineData) && (typeof p.inlineData.mimeType !== "string" || !/^[A-Za-z0-9+/=]+$/.test(String(p.inlineData.data)))) return "Invalid value at 'contents.parts.inline_data' (base64 data and a mime type are required)";
    }
  }
  return undefined;
}

/** Thoughts and answer together spend maxOutputTokens (per candidate), half each when thoughts are asked for. */
export function greedyGemini(body: Json): ReturnType<typeof greedyMessage> {
  const gen = isObj(body.generationConfig) ? body.generationConfig : {};
  const total = greedyTokens(gen.maxOutputTokens, gen.candidateCount);
  return greedyMessage(total, isObj(gen.thinkingConfig) ? Math.floor(total / 2) : 0);
}

