// Chat SSE bytes (what every translated provider streams) → the Responses API's typed SSE events, pulled by the client.
import type { ChatCompletionChunk } from "../../openai/schemas.ts";
import { sseEvents } from "../../openai/sse.ts";
import { encodeEvent, type ResponseEvent } from "./objects.ts";
import type { OutputBuilder, OutputResult } from "./output.ts";

export interface StreamHooks {
  /**
   * Runs once the answer is whole, before its terminal event is sent: the store write, so that a follow-up sent the
   * moment the client sees `response.completed` finds the response. Its failures are its own to report.
   */
  beforeFinal?: (result: OutputResult) => Promise<void>;
  /** Largest SSE event accepted from the provider stream (default: sse.ts's). */
  maxEventBytes?: number;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The error of a chat stream's error event (`data: {"error":{…}}`), as response.failed carries it. */
function streamError(v: Record<string, unknown>): { code: string; message: string } {
  const e = isObj(v.error) ? v.error : {};
  const message = typeof e.message === "string" ? e.message : "The provider failed.";
  const code = typeof e.code === "string" && e.code ? e.code : e.type === "rate_limit_error" ? "rate_limit_exceeded" : "server_error";
  return { code, message };
}

/**
 * Wraps a provider's chat SSE stream. Events go out as the chunks arrive (nothing is buffered beyond one chunk's
 * events); the stream always ends in the Responses dialect: response.completed / response.incomplete after the
 * provider's [DONE], response.failed after its error event or a broken connection. Cancelling it cancels the provider.
 *
 * response.created and response.in_progress go out with the first events the provider's answer makes, in one chunk:
 * routing commits to a deployment at its first chunk, so until the provider has said something a failure or a
 * first-byte time-out can still move the request to another deployment.
 */
export function responsesStream(chat: ReadableStream<Uint8Array>, builder: OutputBuilder, hooks: StreamHooks = {}): ReadableStream<Uint8Array> {
  // The provider's reader is kept here: cancelling it ends a read still waiting on the provider (the parser's own
  // iterator could only stop between reads).
  const upstream = chat.getReader();
  const source = new ReadableStream<Uint8Array>({
    async pull(c) {
      const r = await upstream.read();
      if (r.done) c.close();
      else c.enqueue(r.value);
    },
  });
  const events = sseEvents(source, hooks.maxEventBytes);
  let opening: ResponseEvent[] | null = null;
  let finished = false;
  /** One chunk of events (the opening ones in front of the first). */
  const send = (c: ReadableStreamDefaultController<Uint8Array>, evs: ResponseEvent[]) => {
    const all = opening ? [...opening, ...evs] : evs;
    opening = null;
    if (all.length === 0) return;
    const parts = all.map(encodeEvent);
    const chunk = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
    let at = 0;
    for (const p of parts) {
      chunk.set(p, at);
      at += p.byteLength;
    }
    c.enqueue(chunk);
  };
  const fail = (c: ReadableStreamDefaultController<Uint8Array>, code: string, message: string) => {
    finished = true;
    send(c, builder.fail(code, message));
    c.close();
    upstream.cancel().catch(() => {});
  };
  let started = false;
  return new ReadableStream<Uint8Array>(
    {
      async pull(c) {
        if (finished) return;
        if (!started) {
          started = true;
          opening = builder.start();
        }
        try {
          for (;;) {
            const next = await events.next();
            if (next.done) return fail(c, "server_error", "The provider's stream ended before it was complete.");
            const data = next.value.data;
            if (data.trim() === "[DONE]") {
              const end = builder.end();
              send(c, end.events);
              await hooks.beforeFinal?.(end.result);
              send(c, [end.final]);
              finished = true;
              c.close();
              return;
            }
            let v: unknown;
            try {
              v = JSON.parse(data);
            } catch {
              return fail(c, "server_error", "The provider sent a stream event that is not valid JSON.");
            }
            if (!isObj(v)) continue;
            if (v.error !== undefined && !Array.isArray(v.choices)) {
              const e = streamError(v);
              return fail(c, e.code, e.message);
            }
            const out = builder.push(v as unknown as ChatCompletionChunk);
            if (out.length > 0) {
              send(c, out);
              return;
            }
          }
        } catch (err) {
          // The provider stream broke (its adapters end cleanly; this is the last line of defence).
          fail(c, "server_error", err instanceof Error && err.name === "GatewayError" ? err.message : "The provider stream failed.");
        }
      },
      async cancel() {
        finished = true;
        await upstream.cancel().catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
}
