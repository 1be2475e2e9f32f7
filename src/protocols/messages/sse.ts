// Anthropic's SSE on the wire: events encoded as `event: <type>` + `data:`, and a translated chat stream piped into them.
import { GatewayError, upstreamFailed } from "../../openai/errors.ts";
import { DEFAULT_MAX_EVENT_SIZE, sseEvents } from "../../openai/sse.ts";
import { encodeAnthropicStreamError } from "./errors.ts";
import type { AnthropicEvent, MessagesStreamTranslator } from "./stream.ts";

const encoder = new TextEncoder();

export const encodeEvent = (ev: AnthropicEvent): Uint8Array => encoder.encode(`event: ${ev.type}\ndata: ${JSON.stringify(ev)}\n\n`);

export const ANTHROPIC_SSE_HEADERS = { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive" } as const;

export interface PipeOptions {
  maxEventBytes?: number;
  /** Called once when the stream ends: with the failure when it ended with an `error` event (or the client left). */
  onEnd?: (failure?: GatewayError) => void;
}

/**
 * A provider's chat SSE (OpenAI chunks, `[DONE]`, or one error event) as Anthropic events, pulled by the client
 * (backpressure) and cancelled with it. A failure after the first byte ends the stream with one `event: error`.
 */
export function pipeChatToMessages(chat: ReadableStream<Uint8Array>, translator: MessagesStreamTranslator, opts: PipeOptions = {}): ReadableStream<Uint8Array> {
  const events = sseEvents(chat, opts.maxEventBytes ?? DEFAULT_MAX_EVENT_SIZE);
  let finished = false;
  const finish = (failure?: GatewayError) => {
    if (finished) return;
    finished = true;
    opts.onEnd?.(failure);
  };
  const send = (c: ReadableStreamDefaultController<Uint8Array>, out: AnthropicEvent[]) => {
    for (const ev of out) c.enqueue(encodeEvent(ev));
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(c) {
        if (finished) return;
        try {
          for (;;) {
            const next = await events.next();
            if (next.done) throw upstreamFailed("The provider's stream ended before the message was complete.");
            const data = next.value.data;
            if (data.trim() === "") continue;
            if (data.trim() === "[DONE]") {
              send(c, translator.end());
              finish();
              c.close();
              void events.return(undefined).catch(() => {});
              return;
            }
            let chunk: unknown;
            try {
              chunk = JSON.parse(data);
            } catch {
              throw upstreamFailed("The provider sent a stream event that is not valid JSON.");
            }
            const out = translator.push(chunk);
            if (out.length > 0) {
              send(c, out);
              return;
            }
          }
        } catch (err) {
          const g = err instanceof GatewayError ? err : upstreamFailed("The provider's stream broke off.", { cause: err });
          if (g.kind !== "client_closed") c.enqueue(encodeAnthropicStreamError(g));
          finish(g);
          c.close();
          void events.return(undefined).catch(() => {});
        }
      },
      async cancel() {
        finish(new GatewayError("client_closed", "The client closed the stream."));
        await events.return(undefined).catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
}
