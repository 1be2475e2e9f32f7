// Claude's own Messages API on Bedrock (InvokeModel): the body as Bedrock takes it, and its event stream as Anthropic SSE bytes.
import { redactBytes } from "../../config/secrets.ts";
import type { CallContext, NativeRequest } from "../types.ts";
import { anthropicErrorEvent as errorEvent, anthropicSseEvent as sse, failureEvent } from "../shared/anthropic-sse.ts";
import { headerString, type EventMessage } from "./eventstream.ts";
import { mapStreamException } from "./errors.ts";
import { isObj } from "../shared/json.ts";

/** The `anthropic_version` Claude on Bedrock takes in the body (the header's dated versions are not accepted there). */
export const BEDROCK_ANTHROPIC_VERSION = "bedrock-2023-05-31";


/**
 * The client's Messages body as InvokeModel takes it: the model is in the URL and streaming in the operation, so
 * `model` and `stream` go; `anthropic_version` is Bedrock's; `anthropic-beta` header values move into the body's
 * `anthropic_beta` list (Bedrock reads no Anthropic headers). Everything else passes as the client sent it.
 */
export function toInvokeBody(req: NativeRequest): Record<string, unknown> {
  const { model: _model, stream: _stream, ...rest } = req.body;
  const out: Record<string, unknown> = { ...rest, anthropic_version: BEDROCK_ANTHROPIC_VERSION };
  const betas = (req.headers["anthropic-beta"] ?? "").split(",").map((b) => b.trim()).filter(Boolean);
  if (betas.length > 0) {
    const own = Array.isArray(rest.anthropic_beta) ? rest.anthropic_beta.filter((b): b is string => typeof b === "string") : [];
    out.anthropic_beta = [...new Set([...own, ...betas])];
  }
  return out;
}

/**
 * CountTokens takes an InvokeModel body, base64-encoded in its JSON: the client's count_tokens body has no
 * `max_tokens`, which InvokeModel requires, so a nominal one is added (it does not change the input's count).
 */
export function toCountTokensBody(req: NativeRequest): Record<string, unknown> {
  const body = toInvokeBody(req);
  body.max_tokens ??= 1;
  return { input: { invokeModel: { body: Buffer.from(JSON.stringify(body)).toString("base64") } } };
}

/** Reads CountTokens' answer: `{inputTokens}`. */
export function inputTokensOf(body: unknown): number | undefined {
  return isObj(body) && typeof body.inputTokens === "number" ? body.inputTokens : undefined;
}

/** The Anthropic error type for an AWS exception inside the stream (what Anthropic's own API would have sent). */
const ANTHROPIC_TYPE: Record<string, string> = {
  throttlingException: "rate_limit_error",
  serviceUnavailableException: "overloaded_error",
  validationException: "invalid_request_error",
  modelTimeoutException: "timeout_error",
};

/** One event-stream message → the Anthropic SSE bytes it carries (a `chunk`'s base64 event), or an error event. */
export function anthropicEventOf(m: EventMessage): { bytes: Uint8Array; error: boolean } | undefined {
  const kind = headerString(m, ":message-type");
  if (kind === "exception" || kind === "error") {
    const type = headerString(m, ":exception-type") ?? headerString(m, ":error-code") ?? "internalServerException";
    let payload: unknown;
    try {
      payload = JSON.parse(new TextDecoder().decode(m.payload));
    } catch {
      payload = { message: headerString(m, ":error-message") };
    }
    return { bytes: errorEvent(ANTHROPIC_TYPE[type] ?? "api_error", mapStreamException(type, payload).message), error: true };
  }
  if (headerString(m, ":event-type") !== "chunk") return undefined;
  let chunk: unknown;
  try {
    chunk = JSON.parse(new TextDecoder().decode(m.payload));
  } catch {
    return { bytes: errorEvent("api_error", "The provider sent a stream event that is not valid JSON."), error: true };
  }
  if (!isObj(chunk) || typeof chunk.bytes !== "string") return undefined;
  const json = Buffer.from(chunk.bytes, "base64").toString("utf8");
  let event: unknown;
  try {
    event = JSON.parse(json);
  } catch {
    return { bytes: errorEvent("api_error", "The provider sent a stream event that is not valid JSON."), error: true };
  }
  const type = isObj(event) && typeof event.type === "string" ? event.type : "message";
  return { bytes: sse(type, json), error: type === "error" };
}

/**
 * Anthropic SSE bytes from an InvokeModelWithResponseStream body, pulled by the client and cancelled with it. A
 * broken or corrupt stream ends with an Anthropic `error` event, never silently.
 */
export function anthropicSse(messages: AsyncGenerator<EventMessage>, ctx: CallContext): ReadableStream<Uint8Array> {
  let finished = false;
  return new ReadableStream<Uint8Array>(
    {
      async pull(c) {
        if (finished) return;
        try {
          for (;;) {
            const next = await messages.next();
            if (next.done) {
              finished = true;
              c.close();
              return;
            }
            const out = anthropicEventOf(next.value);
            if (!out) continue;
            c.enqueue(redactBytes(out.bytes));
            if (out.error) {
              finished = true;
              c.close();
              void messages.return(undefined).catch(() => {});
            }
            return;
          }
        } catch (err) {
          finished = true;
          const event = failureEvent(err, ctx);
          if (event) c.enqueue(event);
          c.close();
          void messages.return(undefined).catch(() => {});
        }
      },
      async cancel() {
        finished = true;
        await messages.return(undefined).catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
}
