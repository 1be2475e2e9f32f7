// The only fetch to providers: abort signal and deadline wired in, failures classified, keys never logged.
import { clientClosed, GatewayError, upstreamFailed, upstreamTimeout } from "../openai/errors.ts";
import { DEFAULT_MAX_EVENT_SIZE, DONE, encodeChunk, encodeError, sseEvents, type SseEvent } from "../openai/sse.ts";
import type { ChatCompletionChunk } from "../openai/schemas.ts";
import type { CallContext, StreamMeter, StreamTranslator } from "./types.ts";
import { addDelivered } from "./meter.ts";
import { readCapped, utf8 } from "../io/read-capped.ts";

export interface UpstreamRequest {
  url: string;
  method?: "GET" | "POST" | "DELETE";
  headers: Record<string, string>;
  body?: string;
}

/** Turns a provider's non-2xx answer into a typed failure. Must not echo provider auth messages. */
export type ErrorMapper = (status: number, bodyText: string, headers: Headers) => GatewayError;

/** What a thrown fetch/read error means for this call: deadline, client gone, or a broken connection. */
export function classifyFailure(err: unknown, ctx: CallContext): GatewayError {
  if (err instanceof GatewayError) return err;
  if (ctx.signal.aborted) {
    const reason: unknown = ctx.signal.reason;
    if (reason instanceof DOMException && reason.name === "TimeoutError") return upstreamTimeout(ctx.timeoutMs);
    if (reason instanceof GatewayError) return reason;
    return clientClosed();
  }
  return upstreamFailed("Could not reach the provider or the connection broke.", { cause: err });
}

/** POSTs to a provider; resolves with a 2xx Response, or throws a GatewayError. */
export async function upstreamFetch(req: UpstreamRequest, ctx: CallContext, mapError: ErrorMapper): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(req.url, {
      method: req.method ?? "POST",
      // A provider's headers are built once and shared: the attempt's trace context goes on a copy (traces on only).
      headers: ctx.traceparent === undefined ? req.headers : { ...req.headers, traceparent: ctx.traceparent },
      body: req.body,
      signal: ctx.signal,
      // Bun would follow a redirect with the provider key attached; a provider never needs that.
      redirect: "manual",
    });
  } catch (err) {
    throw classifyFailure(err, ctx);
  }
  if (res.status >= 200 && res.status < 300) return res;
  // Only the message is needed: an error body is read up to its first MiB, whatever the provider sends.
  const text = await readBody(res, ctx, ERROR_BODY_BYTES, true);
  throw mapError(res.status, text, res.headers);
}

/** How much of a provider's error answer is read. */
const ERROR_BODY_BYTES = 1024 * 1024;

/**
 * A provider's body as text, never more than `limit` bytes once decoded (Bun inflates gzip as it is read, 256 KiB at
 * a time, so a 300 KB gzip bomb costs what is read, not its gigabyte). Past the limit: `truncate` keeps what was
 * read; otherwise the answer is refused with a 502. A body whose length is declared and uncompressed takes the
 * native path.
 */
async function readBody(res: Response, ctx: CallContext, limit: number, truncate: boolean): Promise<string> {
  const declared = res.headers.get("content-length");
  try {
    if (declared !== null && Number(declared) <= limit && !res.headers.has("content-encoding")) return await res.text();
    if (!res.body) return "";
    const { bytes, over } = await readCapped(res.body, limit);
    if (over && !truncate) throw tooLarge(limit);
    return utf8(bytes);
  } catch (err) {
    throw classifyFailure(err, ctx);
  }
}

const tooLarge = (limit: number) =>
  upstreamFailed(`The provider's answer is larger than ${limit} bytes (server.max_upstream_response_bytes).`, { retryable: false });

/** Reads a JSON body (bounded by ctx.maxResponseBytes); an unreadable, oversized or unparseable one is the provider's fault (502). */
export async function readJson(res: Response, ctx: CallContext): Promise<unknown> {
  return (await readJsonText(res, ctx)).value;
}

/**
 * The body of an answer to a stream request, when it is the stream asked for (`contentType`: SSE, or AWS's event
 * stream). Checked before a first chunk is read, so a proxy answering JSON to a stream request fails as the provider's
 * fault (502) that routing can still retry or fall back from; the unread body is released.
 */
export async function streamBody(res: Response, contentType = "text/event-stream"): Promise<ReadableStream<Uint8Array>> {
  const type = res.headers.get("content-type") ?? "";
  if (!res.body || !type.includes(contentType)) {
    await res.body?.cancel().catch(() => {});
    throw upstreamFailed(`The provider answered a stream request with '${type || "no content type"}'.`);
  }
  return res.body;
}

/** readJson, and the text it was parsed from (for relaying the provider's own bytes). */
export async function readJsonText(res: Response, ctx: CallContext): Promise<{ value: unknown; text: string }> {
  const text = await readBody(res, ctx, ctx.maxResponseBytes ?? DEFAULT_MAX_EVENT_SIZE, false);
  try {
    return { value: JSON.parse(text), text };
  } catch {
    throw upstreamFailed("The provider returned a response that is not valid JSON.");
  }
}

/** Parses a `Retry-After` header (seconds or HTTP date) into whole seconds, when present. */
export function retryAfterSeconds(headers: Headers, now = Date.now()): number | undefined {
  const v = headers.get("retry-after");
  if (!v) return undefined;
  const n = Number(v);
  if (Number.isFinite(n) && n >= 0) return Math.max(1, Math.ceil(n));
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(1, Math.ceil((at - now) / 1000)) : undefined;
}

export function parseJsonSafe(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Records what a chunk delivers: usage for accounting, text for an estimate if the stream is cut. */
export function meterChunk(meter: StreamMeter, chunk: ChatCompletionChunk): void {
  if (chunk.usage) meter.usage = chunk.usage;
  for (const c of chunk.choices) {
    if (c.delta.content) addDelivered(meter, c.delta.content);
    if (c.delta.tool_calls) for (const tc of c.delta.tool_calls) if (tc.function?.arguments) addDelivered(meter, tc.function.arguments);
  }
}

/** A pull source of bytes: what a stream layer reads, without being a stream layer itself. */
export interface ChunkSource {
  read(): Promise<{ done: boolean; value?: Uint8Array }>;
  cancel(reason?: unknown): Promise<void>;
}

const DIRECT = Symbol("switchboard.directReader");

/**
 * A ReadableStream over a pull source that also carries the source itself: the pipeline reads the source directly
 * (one JS stream layer between provider and client instead of two: each layer costs a promise round per chunk), and
 * anything else can still read it as the stream it is.
 */
export function withDirectReader(source: ChunkSource): ReadableStream<Uint8Array> {
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(c) {
        const r = await source.read();
        if (r.done) c.close();
        else if (r.value) c.enqueue(r.value);
      },
      cancel: (reason) => source.cancel(reason),
    },
    { highWaterMark: 0 },
  );
  Object.defineProperty(stream, DIRECT, { value: source });
  return stream;
}

/** The source behind a stream made by withDirectReader, when it is one (and nobody has read it as a stream yet). */
export function directReader(stream: ReadableStream<Uint8Array>): ChunkSource | undefined {
  if (stream.locked) return undefined;
  return (stream as ReadableStream<Uint8Array> & { [DIRECT]?: ChunkSource })[DIRECT];
}

/** Parsed provider events, the ones `parse` keeps (returning ends the SSE reader, and so the provider's body). */
async function* parsedEvents<E>(events: AsyncGenerator<SseEvent>, parse: (ev: SseEvent) => E | undefined): AsyncGenerator<E> {
  for await (const ev of events) {
    const e = parse(ev);
    if (e !== undefined) yield e;
  }
}

/** A provider's SSE body through a pure translator into OpenAI SSE bytes (see translateEvents). */
export function translateSse<E>(
  body: ReadableStream<Uint8Array>,
  parse: (ev: SseEvent) => E | undefined,
  translator: StreamTranslator<E>,
  ctx: CallContext,
): ReadableStream<Uint8Array> {
  return translateEvents(parsedEvents(sseEvents(body, ctx.maxResponseBytes), parse), translator, ctx);
}

/**
 * Runs provider events (SSE, or AWS event-stream messages) through a pure translator and encodes OpenAI chunks,
 * pulled by the client (backpressure) and cancelled with it, which ends the provider's body. Ends with [DONE], or
 * with one error event when the upstream fails, sends an error event (the translator throws a GatewayError), or
 * breaks off. `events` must end its source when `return()` is called.
 */
export function translateEvents<E>(events: AsyncGenerator<E>, translator: StreamTranslator<E>, ctx: CallContext): ReadableStream<Uint8Array> {
  let finished = false;
  const send = (c: ReadableStreamDefaultController<Uint8Array>, chunks: ChatCompletionChunk[]) => {
    for (const chunk of chunks) {
      meterChunk(ctx.meter, chunk);
      c.enqueue(encodeChunk(chunk));
    }
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(c) {
        if (finished) return;
        try {
          for (;;) {
            const next = await events.next();
            if (next.done) {
              send(c, translator.end());
              c.enqueue(DONE);
              finished = true;
              c.close();
              return;
            }
            const out = translator.push(next.value);
            if (out.length > 0) {
              send(c, out);
              return;
            }
          }
        } catch (err) {
          finished = true;
          const g = classifyFailure(err, ctx);
          ctx.meter.failed = true;
          ctx.meter.failure = g;
          if (g.kind !== "client_closed") c.enqueue(encodeError(g));
          c.close();
          void events.return(undefined).catch(() => {});
        }
      },
      async cancel() {
        finished = true;
        await events.return(undefined).catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
}
