// OpenAI-type providers (OpenAI and every compatible server): JSON and byte passthrough, rewriting only `model`.
import type { ProviderConfig } from "../../config/schema.ts";
import type { ChatCompletion, ChatRequest, EmbeddingsResponse } from "../../openai/schemas.ts";
import { upstreamFailed } from "../../openai/errors.ts";
import { readJson, upstreamFetch, type ErrorMapper } from "../http.ts";
import type { CallContext, Deployment, Provider, ProviderFactory, Warn } from "../types.ts";
import { mapOpenAIError } from "./errors.ts";
import { passthroughStream, type BlockFilter } from "./passthrough.ts";
import { clientCap, knownMaxOutput } from "../shared/output-limits.ts";

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

function isCompletion(v: unknown): v is ChatCompletion {
  return !!v && typeof v === "object" && Array.isArray((v as { choices?: unknown }).choices);
}

/** A provider speaking the OpenAI wire format at `chatUrl` (OpenAI, vLLM, Ollama, Groq… and Azure). */
export function openAICompatible(name: string, opts: OpenAICompatibleOptions): Provider {
  const mapError = opts.mapError ?? mapOpenAIError;
  const post = (req: ChatRequest, d: Deployment, ctx: CallContext, stream: boolean) =>
    upstreamFetch({ url: opts.chatUrl(d), headers: opts.headers, body: upstreamBody(req, d, stream, ctx.warn) }, ctx, mapError);
  return {
    name,
    // max_completion_tokens bounds reasoning and answer together; max_tokens bounds the answer of older models.
    outputCap: (req) => clientCap(req),
    maxOutput: (d) => d.model.max_output_tokens ?? knownMaxOutput(d.upstreamModel),
    async complete(req, d, ctx) {
      const res = await post(req, d, ctx, false);
      const body = await readJson(res, ctx);
      if (!isCompletion(body)) throw upstreamFailed("The provider returned an unexpected response shape.");
      body.model = ctx.publicModel;
      return body;
    },
    async stream(req, d, ctx) {
      const res = await post(req, d, ctx, true);
      if (!res.body) throw upstreamFailed("The provider returned an empty stream.");
      const type = res.headers.get("content-type") ?? "";
      if (!type.includes("text/event-stream")) {
        await res.body.cancel().catch(() => {});
        throw upstreamFailed(`The provider answered a stream request with '${type || "no content type"}'.`);
      }
      return passthroughStream(res.body, ctx.publicModel, ctx, opts.streamFilter?.());
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
  return openAICompatible(name, {
    chatUrl: () => url,
    embeddingsUrl: () => embeddings,
    headers: authHeaders(config, config.api_key ? { authorization: `Bearer ${config.api_key}` } : {}),
  });
};
