// A fake Gemini (Generative Language API v1beta) on port 0: real paths, key check, JSON and SSE as Google sends them.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { vectorFor } from "./embeddings-wire.ts";
import { sampleFor } from "./json-sample.ts";

/**
 * Behaviour is picked per request by the model in the URL, so one fixture serves a whole config:
 * `fault-<status>` (Google error body with that status; 429 carries RetryInfo), `fault-hang` (never answers),
 * `fault-hang-stream` (headers and one event, then silence), `fault-cut` (a clean end before any finishReason),
 * `fault-reset` (connection broken mid-stream), `fault-midstream-error` (an error object after some text),
 * `safety` (SAFETY stop mid-answer), `blocked` (promptFeedback.blockReason, no candidates), `max-tokens`,
 * `recorded-text` / `recorded-tool` (the real recordings), `missing-*` (404 NOT_FOUND). Anything else answers:
 * a function call (with a thought signature) when tools are offered and the last turn is the user's text, a
 * reply quoting the function response after one, else an echo of the user text naming any images.
 */
import { greedyTokens, isGreedy } from "./greedy.ts";

export interface GeminiCall {
  method: string;
  /** Pathname and query, e.g. `/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse`. */
  path: string;
  model: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
  aborted: boolean;
}

export interface GeminiUpstream {
  /** Base URL as `@google/genai` (httpOptions.baseUrl) and the gateway's `base_url` take it. */
  url: string;
  apiKey: string;
  calls: GeminiCall[];
  /** The thought signature the fixture attaches to its function calls. */
  signature: string;
  /**
   * Scripts the model (clients that drive a tool loop, e.g. Claude Code): when set and it returns an answer for a
   * request, that answer is given — a function call (with the thought signature) or text — instead of the default one.
   */
  respond?: (body: Record<string, unknown>) => { functionCall?: { name: string; args: Record<string, unknown> }; text?: string } | undefined;
  stop(): Promise<void>;
}

const fixture = (name: string) => readFileSync(join(import.meta.dir, "..", "fixtures", "gemini", name), "utf8");
const recorded = (name: string) => fixture(name).split(/\r?\n/).filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as unknown);

const enc = new TextEncoder();
// Google ends each event with \r\n\r\n.
const sse = (o: unknown) => enc.encode(`data: ${JSON.stringify(o)}\r\n\r\n`);
const JSON_TYPE = { "content-type": "application/json; charset=UTF-8" };

const STATUS: Record<number, string> = { 400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED" };
const MESSAGE: Record<number, string> = {
  400: "Invalid JSON payload received. Unknown name \"bogus\": Cannot find field.",
  429: "You exceeded your current quota, please check your plan and billing details.",
  500: "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
  503: "The model is overloaded. Please try again later.",
  504: "The request timed out. Please try again.",
};

export function googleError(code: number, message: string, details?: unknown[]): Response {
  const error: Record<string, unknown> = { code, message, status: STATUS[code] ?? "UNKNOWN" };
  if (details) error.details = details;
  return new Response(JSON.stringify({ error }, null, 2), { status: code, headers: JSON_TYPE });
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
type Part = Record<string, unknown>;

const SAFETY_OK = ["SEXUALLY_EXPLICIT", "HATE_SPEECH", "HARASSMENT", "DANGEROUS_CONTENT"].map((c) => ({ category: `HARM_CATEGORY_${c}`, probability: "NEGLIGIBLE" }));

export async function startGeminiUpstream(apiKey = "gemini-upstream-secret-456"): Promise<GeminiUpstream> {
  const calls: GeminiCall[] = [];
  const signature = "c2lnbmF0dXJlLWZyb20tZml4dHVyZQ==";
  let seq = 0;

  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const m = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent|batchEmbedContents)$/.exec(url.pathname);
      if (!m || req.method !== "POST") return googleError(404, `Method not found: ${url.pathname}`);
      const [, model = "", method] = m;
      const headers = Object.fromEntries(req.headers.entries());
      const key = headers["x-goog-api-key"];
      if (!key) return googleError(403, "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.");
      if (key !== apiKey) {
        return googleError(400, "API key not valid. Please pass a valid API key.", [
          { "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "API_KEY_INVALID", domain: "googleapis.com", metadata: { service: "generativelanguage.googleapis.com" } },
        ]);
      }
      let body: Record<string, unknown>;
      try {
        const parsed: unknown = await req.json();
        body = isObj(parsed) ? parsed : {};
      } catch {
        return googleError(400, "Invalid JSON payload received.");
      }
      const call: GeminiCall = { method: req.method, path: url.pathname + url.search, model, headers, body, aborted: false };
      calls.push(call);
      req.signal.addEventListener("abort", () => (call.aborted = true));
      if (method === "batchEmbedContents") return batchEmbed(model, body);
      const stream = method === "streamGenerateContent";
      const responseId = `resp${++seq}`;

      const fault = /^fault-(\d{3})$/.exec(model);
      if (fault) {
        const code = Number(fault[1]);
        const details = code === 429 ? [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "27s" }] : undefined;
        return googleError(code, MESSAGE[code] ?? "Request failed.", details);
      }
      if (model.startsWith("missing")) {
        return googleError(404, `models/${model} is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.`);
      }
      if (model === "fault-hang") {
        await new Promise<void>((resolve) => req.signal.addEventListener("abort", () => resolve()));
        return new Response(null, { status: 499 });
      }

      const problem = checkGenerationConfig(body);
      if (problem) return googleError(400, problem);
      const scripted = up.respond?.(body);
      const events = scripted ? scriptedEvents(scripted, body, signature, model, responseId) : script(model, body, signature, responseId);
      if (!stream) return new Response(JSON.stringify(merge(events), null, 2), { headers: JSON_TYPE });
      if (url.searchParams.get("alt") !== "sse") {
        // Without alt=sse Google streams one JSON array; the gateway must never ask for that.
        return new Response(JSON.stringify(events), { headers: JSON_TYPE });
      }
      let i = 0;
      const body$ = new ReadableStream<Uint8Array>({
        async pull(c) {
          if (model === "fault-hang-stream" && i === 1) {
            await new Promise<void>((resolve) => req.signal.addEventListener("abort", () => resolve()));
            return;
          }
          if (model === "fault-reset" && i === 1) {
            await Bun.sleep(50); // let the first event reach the wire: the failure is truly mid-stream
            c.error(new Error("connection reset by fixture"));
            return;
          }
          const e = events[i++];
          if (e === undefined || (model === "fault-cut" && i > 1)) return c.close();
          c.enqueue(sse(e));
        },
        cancel() {
          call.aborted = true;
        },
      });
      return new Response(body$, { headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } });
    },
  });

  const up: GeminiUpstream = {
    url: `http://127.0.0.1:${server.port}`,
    apiKey,
    calls,
    signature,
    async stop() {
      await server.stop(true);
    },
  };
  return up;
}

/** A scripted answer as Gemini streams it: thought summary first when asked for, then the call or the text, then STOP. */
function scriptedEvents(a: NonNullable<ReturnType<NonNullable<GeminiUpstream["respond"]>>>, body: Record<string, unknown>, signature: string, model: string, responseId: string): unknown[] {
  const gen = isObj(body.generationConfig) ? body.generationConfig : {};
  const thoughts = isObj(gen.thinkingConfig) && gen.thinkingConfig.includeThoughts === true;
  const parts: Part[] = [];
  if (thoughts) parts.push({ text: "Planning the next step.", thought: true });
  if (a.functionCall) parts.push({ functionCall: a.functionCall, thoughtSignature: signature });
  else parts.push({ text: a.text ?? "" });
  const usageMetadata = { promptTokenCount: 40, candidatesTokenCount: 12, totalTokenCount: 52 + (thoughts ? 6 : 0), ...(thoughts ? { thoughtsTokenCount: 6 } : {}) };
  return [{ candidates: [{ content: { parts, role: "model" }, finishReason: "STOP", index: 0 }], usageMetadata, modelVersion: model, responseId }];
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
function script(model: string, body: Record<string, unknown>, signature: string, responseId: string): unknown[] {
  if (model === "recorded-text") return recorded("google-text.chunks.txt");
  if (model === "recorded-tool") return recorded("google-tool-call.chunks.txt");
  const tail = { modelVersion: model, responseId };
  const usage = (prompt: number, out: number) => ({ promptTokenCount: prompt, candidatesTokenCount: out, totalTokenCount: prompt + out });
  const ev = (parts: Part[] | null, finishReason: string | null, u: object, extra: object = {}) => ({
    candidates: [{ ...(parts ? { content: { parts, role: "model" } } : {}), ...(finishReason ? { finishReason } : {}), index: 0, ...extra }],
    usageMetadata: u,
    ...tail,
  });
  if (isGreedy(model)) {
    // Thoughts and answer together spend maxOutputTokens (per candidate), half each when thoughts are asked for.
    const gen = (isObj(body.generationConfig) ? body.generationConfig : {}) as Record<string, unknown>;
    const total = greedyTokens(gen.maxOutputTokens, gen.candidateCount);
    const thoughts = isObj(gen.thinkingConfig) ? Math.floor(total / 2) : 0;
    return [ev([{ text: "all the words I am allowed" }], "MAX_TOKENS", { ...usage(19, total - thoughts), thoughtsTokenCount: thoughts, totalTokenCount: 19 + total })];
  }
  if (model === "blocked") {
    return [{ promptFeedback: { blockReason: "SAFETY", safetyRatings: SAFETY_OK.map((r, i) => (i === 2 ? { ...r, probability: "HIGH" } : r)) }, usageMetadata: { promptTokenCount: 9, totalTokenCount: 9 }, ...tail }];
  }
  if (model === "safety") {
    return [ev([{ text: "Here is how" }], null, usage(12, 3)), ev(null, "SAFETY", usage(12, 3), { safetyRatings: [...SAFETY_OK.slice(0, 3), { category: "HARM_CATEGORY_DANGEROUS_CONTENT", probability: "HIGH", blocked: true }] })];
  }
  if (model === "max-tokens") return [ev([{ text: "Once upon a time" }], null, usage(8, 4)), ev([{ text: ", far" }], "MAX_TOKENS", usage(8, 6))];
  if (model === "fault-midstream-error") return [ev([{ text: "The first part" }], null, usage(7, 3)), { error: { code: 503, message: MESSAGE[503], status: "UNAVAILABLE" } }];

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

/** Folds stream events into one response: per candidate index, texts joined per run, parts kept in order, last finish; last usage. */
function merge(events: unknown[]): unknown {
  const objs = events.filter(isObj);
  const err = objs.find((e) => isObj(e.error));
  if (err) return err;
  const lastEv = objs[objs.length - 1] ?? {};
  const byIndex = new Map<number, { parts: Part[]; finishReason?: unknown; extra: Record<string, unknown>; logprobs?: Record<string, unknown[]> }>();
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
