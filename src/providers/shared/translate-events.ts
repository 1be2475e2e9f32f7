// Runs provider events that are not SSE (AWS event-stream messages) through a pure translator into OpenAI SSE bytes, as translateSse does for SSE.
import { DONE, encodeChunk, encodeError } from "../../openai/sse.ts";
import type { ChatCompletionChunk } from "../../openai/schemas.ts";
import { classifyFailure, meterChunk } from "../http.ts";
import type { CallContext, StreamTranslator } from "../types.ts";

/**
 * Pulled by the client (backpressure) and cancelled with it, which ends the provider's body. Ends with [DONE], or
 * with one error event when the events fail (a thrown GatewayError: a corrupt frame, an exception message, a
 * broken connection). `events` must end its source when `return()` is called.
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
          ctx.meter.failed = true;
          const g = classifyFailure(err, ctx);
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
