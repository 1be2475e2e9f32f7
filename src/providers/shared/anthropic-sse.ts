// Anthropic SSE bytes for the Messages passthrough of cloud-hosted Claude: error events, and a forwarder that never ends silently.
import { invalidRequest } from "../../openai/errors.ts";
import { redactBytes } from "../../config/secrets.ts";
import { classifyFailure } from "../http.ts";
import type { CallContext, NativeRequest } from "../types.ts";

const enc = new TextEncoder();

/** One SSE event as Anthropic writes it: `event: <type>` then its JSON `data:`. */
export const anthropicSseEvent = (event: string, data: string): Uint8Array => enc.encode(`event: ${event}\ndata: ${data}\n\n`);

/** Anthropic's in-stream error event (`{"type":"error","error":{"type","message"}}`). */
export const anthropicErrorEvent = (type: string, message: string): Uint8Array => anthropicSseEvent("error", JSON.stringify({ type: "error", error: { type, message } }));

/** The error event for a failure the gateway met while forwarding (a broken connection, a corrupt frame, the deadline). */
export function failureEvent(err: unknown, ctx: CallContext): Uint8Array | undefined {
  const g = classifyFailure(err, ctx);
  if (g.kind === "client_closed") return undefined;
  return anthropicErrorEvent(g.kind === "upstream_timeout" ? "timeout_error" : "api_error", g.message);
}

/**
 * A provider's Anthropic SSE body forwarded as it comes (secrets redacted), pulled by the client and cancelled with it;
 * a connection that breaks mid-stream ends with an Anthropic `error` event instead of a silent cut.
 */
export function forwardAnthropicSse(body: ReadableStream<Uint8Array>, ctx: CallContext): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let done = false;
  return new ReadableStream<Uint8Array>(
    {
      async pull(c) {
        if (done) return;
        try {
          const next = await reader.read();
          if (next.done) {
            done = true;
            return c.close();
          }
          c.enqueue(redactBytes(next.value));
        } catch (err) {
          done = true;
          const event = failureEvent(err, ctx);
          if (event) c.enqueue(event);
          c.close();
        }
      },
      async cancel() {
        done = true;
        await reader.cancel().catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
}

/** A Messages body must be an object with messages; anything else is the caller's 400, never sent upstream. */
export function checkMessagesBody(req: NativeRequest): void {
  if (req.api !== "messages") throw invalidRequest(`This provider speaks the ${req.api} API only through translation.`);
  if (!Array.isArray(req.body.messages)) throw invalidRequest("'messages' must be an array.", "messages");
}
