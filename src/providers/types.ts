// The provider contract every adapter implements, and the per-call context the gateway hands it.
import type { ChatCompletion, ChatCompletionChunk, ChatRequest, EmbeddingsRequest, EmbeddingsResponse } from "../openai/schemas.ts";
import type { ModelConfig, ProviderConfig } from "../config/schema.ts";
import type { StreamMeter } from "./meter.ts";
import type { AttemptTracer } from "../observability/telemetry.ts";

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
  /** Traces on: routing opens a span per attempt through this, which sets `traceparent` for the call. */
  trace?: AttemptTracer;
  /** W3C `traceparent` of the current attempt's span: upstreamFetch sends it to the provider. */
  traceparent?: string;
}

export interface Provider {
  readonly name: string;
  complete(req: ChatRequest, d: Deployment, ctx: CallContext): Promise<ChatCompletion>;
  /**
   * Resolves once the upstream answered 2xx (a retry or fallback is still possible until then) with the
   * OpenAI SSE bytes to send: chunks, then `data: [DONE]`, or one error event and the end. Updates ctx.meter.
   */
  stream(req: ChatRequest, d: Deployment, ctx: CallContext): Promise<ReadableStream<Uint8Array>>;
  /** OpenAI embeddings; absent for providers without an embeddings API (the route answers 400). */
  embed?(req: EmbeddingsRequest, d: Deployment, ctx: CallContext): Promise<EmbeddingsResponse>;
}

/** Pure, one per stream: no I/O, no clock, no module state. Throw a GatewayError for an upstream error event. */
export interface StreamTranslator<E> {
  push(event: E): ChatCompletionChunk[];
  end(): ChatCompletionChunk[];
}

export type ProviderFactory = (name: string, config: ProviderConfig, defaults: { timeoutMs: number }) => Provider;

/** The warning sink translators take (see CallContext.warn). */
export type Warn = CallContext["warn"];
