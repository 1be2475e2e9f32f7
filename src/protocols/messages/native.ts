// Messages passthrough to providers that speak it: the body made safe to forward, answers and streams given the public model and metered.
import type { Usage } from "../../openai/schemas.ts";
import { GatewayError, upstreamFailed } from "../../openai/errors.ts";
import { DEFAULT_MAX_EVENT_SIZE, sseEvents } from "../../openai/sse.ts";
import { mapAnthropicStreamError } from "../../providers/anthropic/errors.ts";
import { mergeUsage, toUsage, type AnthropicUsage } from "../../providers/anthropic/response.ts";
import { addDelivered, deliveredTokens, type StreamMeter } from "../../providers/meter.ts";
import type { Warn } from "../../providers/types.ts";
import { encodeAnthropicStreamError } from "./errors.ts";
import { isGatewaySignature } from "./seal.ts";
import { isObj } from "../../providers/shared/json.ts";


/**
 * The client's body as a provider that speaks Messages gets it: unchanged, except thinking blocks whose signature the
 * gateway made (reasoning of a translated model earlier in the conversation), which Claude would refuse as forged.
 * Objects are copied only where something is removed.
 */
export function prepareNativeBody(body: Record<string, unknown>, warn: Warn): Record<string, unknown> {
  if (!Array.isArray(body.messages)) return body;
  let dropped = 0;
  const messages: unknown[] = [];
  for (const m of body.messages) {
    if (!isObj(m) || m.role !== "assistant" || !Array.isArray(m.content)) {
      messages.push(m);
      continue;
    }
    const kept = m.content.filter((b) => !(isObj(b) && b.type === "thinking" && isGatewaySignature(b.signature)));
    if (kept.length === m.content.length) {
      messages.push(m);
      continue;
    }
    dropped += m.content.length - kept.length;
    // A turn that held only another model's reasoning has nothing left for Claude to read.
    if (kept.length > 0) messages.push({ ...m, content: kept });
  }
  if (dropped === 0) return body;
  warn(`${dropped} thinking block(s) from another model's reasoning were not sent to Claude (their signatures are the gateway's, not Anthropic's).`);
  return { ...body, messages };
}

/** A whole native answer as the client gets it: the model it asked for; and its usage, for accounting. */
export function nativeAnswer(body: Record<string, unknown>, publicModel: string): { body: Record<string, unknown>; usage: Usage | null } {
  const out = { ...body, model: publicModel };
  return { body: out, usage: isObj(body.usage) ? toUsage(mergeUsage({}, body.usage)) : null };
}

const encoder = new TextEncoder();
const frame = (event: string | undefined, data: string) => encoder.encode(`${event ? `event: ${event}\n` : ""}data: ${data}\n\n`);

export interface NativeStreamOptions {
  publicModel: string;
  meter: StreamMeter;
  maxEventBytes?: number;
  /** Called once when the stream ends: with the failure when it ended in an error (or the client left). */
  onEnd?: (failure?: GatewayError) => void;
}

/**
 * A provider's Messages SSE forwarded event by event (each `data:` exactly as sent), with `message_start` given the
 * public model id. Usage is read from message_start (input) and message_delta (cumulative, final); delivered text is
 * metered so a stream the client abandons, or the provider cuts, is still accounted. A stream that ends without
 * `message_stop` or an `error` gets an `error` event of its own.
 */
export function forwardNativeStream(body: ReadableStream<Uint8Array>, opts: NativeStreamOptions): ReadableStream<Uint8Array> {
  const events = sseEvents(body, opts.maxEventBytes ?? DEFAULT_MAX_EVENT_SIZE);
  const usage: AnthropicUsage = {};
  let finalUsage = false;
  let finished = false;
  /** The provider's own error event, as a gateway failure (its type kept: an overload may fail over). */
  let errorEvent: GatewayError | undefined;
  const meter = opts.meter;
  /** The usage to account when the provider's final count never came: what it said of the input, and what was delivered. */
  const settleEstimate = () => {
    if (finalUsage || !("input_tokens" in usage)) return;
    meter.usage = toUsage({ ...usage, output_tokens: deliveredTokens(meter) });
  };
  const finish = (failure?: GatewayError) => {
    if (finished) return;
    finished = true;
    if (failure && failure.kind !== "client_closed") {
      // Read by routing: an error as the very first event still fails over to the next deployment.
      meter.failed = true;
      meter.failure ??= failure;
    }
    settleEstimate();
    opts.onEnd?.(failure);
  };
  /** The event's bytes to send, and its type (the JSON `type`; the SSE event name only when that is missing). */
  const read = (name: string | undefined, data: string): [Uint8Array, string] => {
    let ev: Record<string, unknown> | undefined;
    try {
      const v: unknown = JSON.parse(data);
      ev = isObj(v) ? v : undefined;
    } catch {
      throw upstreamFailed("The provider sent a stream event that is not valid JSON.");
    }
    const type = typeof ev?.type === "string" ? ev.type : (name ?? "");
    if (!ev) return [frame(name, data), type];
    if (type === "error") errorEvent = mapAnthropicStreamError(ev);
    switch (type) {
      case "message_start": {
        const msg = isObj(ev.message) ? ev.message : {};
        mergeUsage(usage, msg.usage);
        return [frame(name, JSON.stringify({ ...ev, message: { ...msg, model: opts.publicModel } })), type];
      }
      case "content_block_delta": {
        const d = isObj(ev.delta) ? ev.delta : {};
        const text = d.text ?? d.partial_json ?? d.thinking;
        if (typeof text === "string" && text) addDelivered(meter, text);
        break;
      }
      case "message_delta":
        // Cumulative counts; a late message_delta may revise input_tokens.
        mergeUsage(usage, ev.usage);
        if (isObj(ev.usage)) {
          finalUsage = true;
          meter.usage = toUsage(usage);
        }
        break;
    }
    return [frame(name, data), type];
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(c) {
        if (finished) return;
        try {
          for (;;) {
            const next = await events.next();
            if (next.done) throw upstreamFailed("The provider's stream ended before the message was complete.");
            const { event, data } = next.value;
            if (data.trim() === "") continue;
            const [bytes, type] = read(event, data);
            c.enqueue(bytes);
            if (type === "message_stop") {
              finish();
              c.close();
              void events.return(undefined).catch(() => {});
              return;
            }
            if (type === "error") {
              // Already an Anthropic error event: forwarded as it is, and the stream ends there.
              finish(errorEvent ?? upstreamFailed("The provider's stream ended with an error event."));
              c.close();
              void events.return(undefined).catch(() => {});
              return;
            }
            return;
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
