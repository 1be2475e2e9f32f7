// OpenAI-type providers (OpenAI and every compatible server): JSON and byte passthrough, rewriting only `model`.
import type { ProviderConfig } from "../../config/schema.ts";
import type { ChatCompletion, ChatRequest, EmbeddingsResponse } from "../../openai/schemas.ts";
import { upstreamFailed } from "../../openai/errors.ts";
import { type ErrorMapper, readJson, readJsonText, upstreamFetch, streamBody } from "../http.ts";
import type { CallContext, Deployment, NativeRequest, Provider, ProviderFactory, Warn } from "../types.ts";
import { mapOpenAIError } from "./errors.ts";
import { passthroughStream, type BlockFilter } from "./passthrough.ts";
import { clientCap, knownMaxOutput } from "../shared/output-limits.ts";
import { keepRaw, withModel } from "../shared/raw-answer.ts";

export interface OpenAICompatibleOptions {
  /** Full chat-completions URL for a deployment. */
  chatUrl: (d: Deployment) => string;
  /** Full embeddings URL for a deployment. */
  embeddingsUrl: (d: Deployment) => string;
  /** Headers for every call (auth included), built once. */
  headers: Record<string, string>;
  mapError?: ErrorMapper;
  /** A per-stream edit of the provider's SSE (Azure's preamble), applied inside the passthrough. */
  streamFilter?: () => BlockFilter;
  /** The Responses API's URL for a deployment; absent when the server speaks only chat (`responses: false`). */
  responsesUrl?: (d: Deployment) => string;
  /** The `model` a Responses body carries for a deployment (Azure: its deployment name); default the upstream model. */
  responsesModel?: (d: Deployment) => string;
}

/**
 * OpenAI's reasoning models (o1, o3, o4-mini, gpt-5…) refuse `max_tokens` and take `max_completion_tokens`.
 * Matched on the last path segment so `openai/o3-mini` (an OpenRouter-style id) counts too.
 */
export const takesMaxCompletionTokens = (model: string): boolean => /^(o\d|gpt-5)/.test(model.slice(model.lastIndexOf("/") + 1));

/** The body sent upstream: the client's own (unknown fields included), with the upstream model and usage on. */
export function upstreamBody(req: ChatRequest, d: Deployment, stream: boolean, warn: Warn = () => {}): string {
  const body: Record<string, unknown> = { ...req, model: d.upstreamModel };
  if (req.max_tokens != null && takesMaxCompletionTokens(d.upstreamModel)) {
    if (req.max_completion_tokens == null) body.max_completion_tokens = req.max_tokens;
    delete body.max_tokens;
    warn(`max_tokens sent as max_completion_tokens: ${d.upstreamModel} refuses max_tokens.`, "max_tokens");
  }
  if (stream) {
    body.stream = true;
    // Always ask for the usage chunk: clients get it per the contract, and token limits settle on it.
    body.stream_options = { ...req.stream_options, include_usage: true };
  } else {
    delete body.stream_options;
  }
  return JSON.stringify(body);
}

function isEmbeddings(v: unknown): v is EmbeddingsResponse {
  return !!v && typeof v === "object" && Array.isArray((v as { data?: unknown }).data) && typeof (v as { usage?: unknown }).usage === "object";
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function isCompletion(v: unknown): v is ChatCompletion {
  return !!v && typeof v === "object" && Array.isArray((v as { choices?: unknown }).choices);
}

/** A provider speaking the OpenAI wire format at `chatUrl` (OpenAI, vLLM, Ollama, Groq… and Azure). */
export function openAICompatible(name: string, opts: OpenAICompatibleOptions): Provider {
  const mapError = opts.mapError ?? mapOpenAIError;
  const post = (req: ChatRequest, d: Deployment, ctx: CallContext, stream: boolean) =>
    upstreamFetch({ url: opts.chatUrl(d), headers: opts.headers, body: upstreamBody(req, d, stream, ctx.warn) }, ctx, mapError);
  const responses = (req: NativeRequest, d: Deployment, ctx: CallContext, stream: boolean) => {
    if (req.api !== "responses" || !opts.responsesUrl) throw upstreamFailed(`This provider does not take ${req.api} requests as they are.`, { retryable: false });
    // The client's body, unknown fields and all; only the model is the provider's own.
    const body = { ...req.body, model: opts.responsesModel?.(d) ?? d.upstreamModel, stream };
    return upstreamFetch({ url: opts.responsesUrl(d), headers: opts.headers, body: JSON.stringify(body) }, ctx, mapError);
  };
  return {
    name,
    // max_completion_tokens bounds reasoning and answer together; max_tokens bounds the answer of older models.
    outputCap: (req) => clientCap(req),
    maxOutput: (d) => d.model.max_output_tokens ?? knownMaxOutput(d.upstreamModel),
    speaks: (api) => api === "responses" && opts.responsesUrl !== undefined,
    async nativeComplete(req, d, ctx) {
      const body = await readJson(await responses(req, d, ctx, false), ctx);
      if (!isObj(body) || body.object !== "response") throw upstreamFailed("The provider returned an unexpected response shape.");
      return body;
    },
    async nativeStream(req, d, ctx) {
      return streamBody(await responses(req, d, ctx, true));
    },
    async nativeResource(api, method, id, d, ctx) {
      if (api !== "responses" || !opts.responsesUrl) throw upstreamFailed(`This provider keeps no ${api} objects.`, { retryable: false });
      const res = await upstreamFetch({ url: `${opts.responsesUrl(d)}/${encodeURIComponent(id)}`, method, headers: opts.headers }, ctx, mapError);
      const body = await readJson(res, ctx);
      if (!isObj(body)) throw upstreamFailed("The provider returned an unexpected response shape.");
      return body;
    },
    async complete(req, d, ctx) {
      const res = await post(req, d, ctx, false);
      // One parse (for its shape and usage); the client gets the provider's own text, only `model` rewritten.
      const { value: body, text } = await readJsonText(res, ctx);
      if (!isCompletion(body)) throw upstreamFailed("The provider returned an unexpected response shape.");
      const relayed = body.model === ctx.publicModel ? text : withModel(text, ctx.publicModel);
      body.model = ctx.publicModel;
      keepRaw(body, relayed);
      return body;
    },
    async stream(req, d, ctx) {
      const body = await streamBody(await post(req, d, ctx, true));
      return passthroughStream(body, ctx.publicModel, ctx, opts.streamFilter?.());
    },
    async embed(req, d, ctx) {
      // Passed through as the client sent it (base64 stays base64: OpenAI's own encoding), with the upstream model.
      const res = await upstreamFetch({ url: opts.embeddingsUrl(d), headers: opts.headers, body: JSON.stringify({ ...req, model: d.upstreamModel }) }, ctx, mapError);
      const body = await readJson(res, ctx);
      if (!isEmbeddings(body)) throw upstreamFailed("The provider returned an unexpected embeddings response shape.");
      body.model = ctx.publicModel;
      return body;
    },
  };
}

export function authHeaders(config: ProviderConfig, auth: Record<string, string>): Record<string, string> {
  return { "content-type": "application/json", accept: "application/json, text/event-stream", ...config.headers, ...auth };
}

export const createOpenAIProvider: ProviderFactory = (name, config) => {
  const base = (config.base_url ?? "https://api.openai.com/v1").replace(/\/+$/, "");
  const url = `${base}/chat/completions`;
  const embeddings = `${base}/embeddings`;
  const responses = `${base}/responses`;
  return openAICompatible(name, {
    chatUrl: () => url,
    embeddingsUrl: () => embeddings,
    // OpenAI speaks it; a compatible server that does not is marked `responses: false` and gets translations.
    responsesUrl: config.responses === false ? undefined : () => responses,
    headers: authHeaders(config, config.api_key ? { authorization: `Bearer ${config.api_key}` } : {}),
  });
};
