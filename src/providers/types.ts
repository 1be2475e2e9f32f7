// The provider contract every adapter implements, and the per-call context the gateway hands it.
import type { ChatCompletion, ChatCompletionChunk, ChatRequest, EmbeddingsRequest, EmbeddingsResponse } from "../openai/schemas.ts";
import type { ModelConfig, ProviderConfig } from "../config/schema.ts";
import type { StreamMeter } from "./meter.ts";

export type { StreamMeter } from "./meter.ts";

/** One concrete place a model id is served from: a provider instance and its name for the model. */
export interface Deployment {
  /** Provider instance name from the config (`providers.<name>`). */
  provider: string;
  upstreamModel: string;
  /** The model entry it came from (per-model defaults such as `max_tokens`, Azure `deployment`). */
  model: ModelConfig;
}

export interface CallContext {
  requestId: string;
  /** The model id the client asked for: responses carry it back as `model`. */
  publicModel: string;
  /** Aborted when the client leaves or the deadline passes; wire it into every upstream fetch. */
  signal: AbortSignal;
  /** Milliseconds of the upstream limit (for the timeout error message). */
  timeoutMs: number;
  now: () => number;
  meter: StreamMeter;
  /**
   * Logs a non-fatal note for this request. With `param` (the request field, as in an error's `param`) the note is
   * about a parameter the provider dropped or altered: the client sees it in `x-switchboard-warnings`, and a model
   * with `unsupported_params: error` throws a 400 naming that parameter instead.
   */
  warn: (message: string, param?: string) => void;
  /** Lets routing forget the warnings of an attempt that failed (only the answering attempt's are named). */
  warnings?: { mark(): number; rewind(mark: number): void };
  /** The largest JSON answer, or single stream event, accepted from the provider (decoded); default 32 MiB. */
  maxResponseBytes?: number;
  /** W3C `traceparent` of the current attempt's span: upstreamFetch sends it to the provider. */
  traceparent?: string;
}

/**
 * Client APIs other than chat completions that some providers speak as they are: OpenAI's Responses API (OpenAI,
 * Azure) and Anthropic's Messages API (Anthropic; Claude on Vertex and Bedrock). A request in one of them goes to
 * such a deployment untranslated; every other deployment gets it translated to chat and back.
 */
export type NativeApi = "responses" | "messages";

/** A request in a client API, handed to a provider that speaks it. */
export interface NativeRequest {
  api: NativeApi;
  /**
   * The client's body, validated, with unknown fields kept (and any cap the gateway sets applied). The provider puts
   * its own model id in (or leaves `model` out where its URL names the model).
   */
  body: Record<string, unknown>;
  /** Client headers that API forwards upstream (`anthropic-beta`, `anthropic-version`), lower-case names. */
  headers: Record<string, string>;
}

export interface Provider {
  readonly name: string;
  complete(req: ChatRequest, d: Deployment, ctx: CallContext): Promise<ChatCompletion>;
  /**
   * Resolves once the upstream answered 2xx (a retry or fallback is still possible until then) with the
   * OpenAI SSE bytes to send: chunks, then `data: [DONE]`, or one error event and the end. Updates ctx.meter.
   */
  stream(req: ChatRequest, d: Deployment, ctx: CallContext): Promise<ReadableStream<Uint8Array>>;
  /**
   * The most output tokens (answer and reasoning, every choice) `req` can be billed for on `d`, as this provider would
   * send it — after any raise it makes (Claude's max_tokens grown to fit a thinking budget); null when it would go
   * with no cap at all. A budget reserves this, so it must never be less than what the provider is held to.
   */
  outputCap(req: ChatRequest, d: Deployment): number | null;
  /** The model's own ceiling on output tokens, when known: the most a cap set by the gateway may be. */
  maxOutput(d: Deployment): number | undefined;
  /** OpenAI embeddings; absent for providers without an embeddings API (the route answers 400). */
  embed?(req: EmbeddingsRequest, d: Deployment, ctx: CallContext): Promise<EmbeddingsResponse>;
  /** Whether deployment `d` takes `api` requests as they are; absent or false: they are translated to chat. */
  speaks?(api: NativeApi, d: Deployment): boolean;
  /** A native request answered whole: the provider's JSON answer, parsed (its `model` is still the upstream's). */
  nativeComplete?(req: NativeRequest, d: Deployment, ctx: CallContext): Promise<Record<string, unknown>>;
  /**
   * A native request streamed: resolves once the upstream answered 2xx (a retry or fallback is still possible until
   * then) with the SSE bytes in that API's own event format. The caller meters them and rewrites `model`.
   */
  nativeStream?(req: NativeRequest, d: Deployment, ctx: CallContext): Promise<ReadableStream<Uint8Array>>;
  /**
   * A stored object of a native API the provider holds (a Responses API response): `GET` returns its JSON, `DELETE`
   * removes it (and returns the provider's answer). Absent where the provider keeps nothing.
   */
  nativeResource?(api: NativeApi, method: "GET" | "DELETE", id: string, d: Deployment, ctx: CallContext): Promise<Record<string, unknown>>;
  /** Anthropic's `count_tokens` for a native Messages body, where the provider has it: the input tokens. */
  countTokens?(req: NativeRequest, d: Deployment, ctx: CallContext): Promise<number>;
}

/** Pure, one per stream: no I/O, no clock, no module state. Throw a GatewayError for an upstream error event. */
export interface StreamTranslator<E> {
  push(event: E): ChatCompletionChunk[];
  end(): ChatCompletionChunk[];
}

export type ProviderFactory = (name: string, config: ProviderConfig, defaults: { timeoutMs: number }) => Provider;

/** The warning sink translators take (see CallContext.warn). */
export type Warn = CallContext["warn"];
