// Forwards an opened provider stream to the client as it comes, and ends it exactly once: at its end, when it breaks, when the client leaves, or when a shutdown cuts it.
import type { Deadline } from "../http/deadline.ts";
import type { Cut } from "../http/inflight.ts";
import { upstreamFailed, type GatewayError } from "../openai/errors.ts";
import type { StreamMeter } from "../providers/types.ts";
import type { OpenedStream } from "../routing/router.ts";

export interface StreamEnds {
  meter: StreamMeter;
  deadline: Deadline;
  /** The client's dialect of a final error event. */
  streamError(err: GatewayError): Uint8Array;
  /** Hands over what a shutdown does to this stream (an error event and the end) while it is open. */
  onCut(cut: Cut): void;
  /** Called once: 200 (ended, or ended by an error event: `failed`), 499 (client gone). */
  end(status: number, failed: boolean, error?: string): void;
}

/**
 * The first chunk (already read by routing), then the rest, pulled by the client (backpressure). Routing hears how the
 * stream ended (for the deployment's breaker) before the call finishes.
 */
export function meteredStream(request: Request, opened: OpenedStream, e: StreamEnds): ReadableStream<Uint8Array> {
  const { reader } = opened;
  const { meter, deadline } = e;
  let pending: Uint8Array | null = opened.first;
  let ended = false;
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  /** Set when a shutdown ended the stream from outside: a pull still awaiting the provider must not touch it. */
  let cut = false;
  const end = (status: number, failed: boolean, error?: string) => {
    if (ended) return;
    ended = true;
    // A stream cut by our own deadline (silent too long, or past max_stream_duration_ms) was the provider's to
    // finish slowly, not a failure of the deployment: only breaks count against it.
    opened.finish(failed && !deadline.expired);
    e.end(status, failed, error);
  };
  e.onCut((reason) => {
    if (ended) return;
    cut = true;
    try {
      controller.enqueue(e.streamError(reason));
      controller.close();
    } catch {
      // Already closed by the client going away.
    }
    end(200, false, `${reason.kind}: ${reason.message}`);
    reader.cancel().catch(() => {});
  });
  // A client gone before Bun ever pulled or cancelled the body would otherwise hold its slot.
  request.signal.addEventListener(
    "abort",
    () => {
      end(499, false, "client closed the stream");
      reader.cancel().catch(() => {});
    },
    { once: true },
  );
  return new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
      },
      async pull(c) {
        if (cut) return;
        if (pending) {
          meter.firstByteAt = performance.now();
          c.enqueue(pending);
          pending = null;
          return;
        }
        try {
          const r = await reader.read();
          if (cut) return;
          if (r.done) {
            c.close();
            end(200, meter.failed, meter.failed ? "stream ended with an error event" : undefined);
            return;
          }
          if (r.value) {
            deadline.touch();
            c.enqueue(r.value);
          }
        } catch {
          if (cut) return;
          // Providers end their own streams cleanly; this is the last line of defence.
          c.enqueue(e.streamError(upstreamFailed("The provider stream failed.")));
          c.close();
          end(200, true, "stream broke");
        }
      },
      cancel() {
        end(499, false, "client closed the stream");
        return reader.cancel().catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
}
