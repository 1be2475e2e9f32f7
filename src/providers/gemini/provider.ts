// Gemini (Generative Language API v1beta) provider: the only impure file here — URLs, headers, fetch, stream wiring.
import type { ChatRequest } from "../../openai/schemas.ts";
import { readJson, translateSse, upstreamFetch, streamBody } from "../http.ts";
import type { CallContext, Deployment, ProviderFactory } from "../types.ts";
import { mapGeminiError } from "./errors.ts";
import { geminiOutputCap, toGeminiRequest } from "./request.ts";
import { fromGeminiResponse, type ResponseMeta } from "./response.ts";
import { createGeminiStreamTranslator } from "./stream.ts";
import { fromGeminiEmbedResponse, toGeminiEmbedRequest } from "./embeddings.ts";
import { fromLegacyFunctions, legacyStreamTranslator, toLegacyCompletion, usesLegacyFunctions } from "../legacy-functions.ts";
import { imageFetchOptions, inlineImageUrls } from "../image-fetch.ts";
import { knownMaxOutput } from "../shared/output-limits.ts";

export const GEMINI_BASE_URL = "https://generativelanguage.googleapis.com";

/**
 * `base_url` as `@google/genai` takes it (`httpOptions.baseUrl`: host, no version); a base that already ends
 * in a version (…/v1beta) is used as it is, so a copied REST URL works too.
 */
export function geminiModelUrl(baseUrl: string | undefined, model: string, stream: boolean): string {
  return geminiMethodUrl(baseUrl, model, stream ? "streamGenerateContent?alt=sse" : "generateContent");
}

/** `{base}/v1beta/models/{model}:{method}` (see geminiModelUrl for the base and model forms). */
export function geminiMethodUrl(baseUrl: string | undefined, model: string, method: string): string {
  const base = (baseUrl ?? GEMINI_BASE_URL).replace(/\/+$/, "");
  const versioned = /\/v\d+(alpha|beta)?\d*$/.test(base) ? base : `${base}/v1beta`;
  // "gemini-2.0-flash" and "models/gemini-2.0-flash" name the same model; "tunedModels/x" is its own resource.
  const resource = model.includes("/") ? model : `models/${model}`;
  const path = resource.split("/").map(encodeURIComponent).join("/");
  return `${versioned}/${path}:${method}`;
}

const metaOf = (ctx: CallContext): ResponseMeta => ({
  id: `chatcmpl-${ctx.requestId}`,
  created: Math.floor(ctx.now() / 1000),
  model: ctx.publicModel,
  requestId: ctx.requestId,
});

export const createGeminiProvider: ProviderFactory = (name, config) => {
  // Built once: the key goes last so a config `headers` entry cannot replace it by accident.
  const headers: Record<string, string> = {
    "content-type": "application/json",
    ...config.headers,
    ...(config.api_key ? { "x-goog-api-key": config.api_key } : {}),
  };
  const imageFetch = imageFetchOptions(config);
  const body = async (original: ChatRequest, d: Deployment, ctx: CallContext) => {
    let req = usesLegacyFunctions(original) ? fromLegacyFunctions(original) : original;
    // Gemini reads only its File API and public URLs; with fetching on, the gateway sends the bytes instead.
    if (imageFetch) req = await inlineImageUrls(req, imageFetch, ctx);
    return JSON.stringify(toGeminiRequest(req, { warn: ctx.warn, defaultMaxTokens: d.model.max_tokens, model: d.upstreamModel }));
  };

  return {
    name,
    outputCap: (req, d) => geminiOutputCap(req, d.model.max_tokens),
    maxOutput: (d) => d.model.max_output_tokens ?? knownMaxOutput(d.upstreamModel),
    async complete(req, d, ctx) {
      const payload = await body(req, d, ctx);
      const res = await upstreamFetch({ url: geminiModelUrl(config.base_url, d.upstreamModel, false), headers, body: payload }, ctx, mapGeminiError);
      const completion = fromGeminiResponse(await readJson(res, ctx), metaOf(ctx), ctx.warn);
      return usesLegacyFunctions(req) ? toLegacyCompletion(completion) : completion;
    },
    async stream(req, d, ctx) {
      const payload = await body(req, d, ctx);
      const res = await upstreamFetch({ url: geminiModelUrl(config.base_url, d.upstreamModel, true), headers, body: payload }, ctx, mapGeminiError);
      const sse = await streamBody(res);
      // Blank data (a keep-alive) carries nothing to translate.
      const translator = createGeminiStreamTranslator(metaOf(ctx), ctx.warn);
      return translateSse(sse, (ev) => (ev.data.trim() === "" ? undefined : ev.data), usesLegacyFunctions(req) ? legacyStreamTranslator(translator) : translator, ctx);
    },
    async embed(req, d, ctx) {
      const payload = JSON.stringify(toGeminiEmbedRequest(req, d.upstreamModel, ctx.warn));
      const res = await upstreamFetch({ url: geminiMethodUrl(config.base_url, d.upstreamModel, "batchEmbedContents"), headers, body: payload }, ctx, mapGeminiError);
      return fromGeminiEmbedResponse(await readJson(res, ctx), req, ctx.publicModel);
    },
  };
};
