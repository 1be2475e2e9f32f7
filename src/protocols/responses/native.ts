// A provider's own Responses answer passed through: `model` set back to the public id, usage read, text metered.
import type { Usage } from "../../openai/schemas.ts";
import { upstreamFailed } from "../../openai/errors.ts";
import { classifyFailure } from "../../providers/http.ts";
import { addDelivered, wantsText } from "../../providers/meter.ts";
import type { CallContext } from "../../providers/types.ts";
import { DEFAULT_MAX_EVENT_SIZE } from "../../openai/sse.ts";

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);

/** The Responses API's usage in chat's terms, which accounting reads (input = prompt, output = completion). */
export function chatUsage(u: unknown): Usage | null {
  if (!isObj(u) || typeof u.input_tokens !== "number") return null;
  const input = num(u.input_tokens);
  const output = num(u.output_tokens);
  const usage: Usage = {
    prompt_tokens: input,
    completion_tokens: output,
    total_tokens: typeof u.total_tokens === "number" ? u.total_tokens : input + output,
    prompt_tokens_details: { cached_tokens: isObj(u.input_tokens_details) ? num(u.input_tokens_details.cached_tokens) : 0 },
  };
  if (isObj(u.output_tokens_details)) usage.completion_tokens_details = { reasoning_tokens: num(u.output_tokens_details.reasoning_tokens) };
  return usage;
}

/** A provider's whole JSON answer: meters its usage and answers with the public model id. */
export function nativeJson(body: Record<string, unknown>, publicModel: string, ctx: CallContext): Record<string, unknown> {
  const usage = chatUsage(body.usage);
  if (usage) ctx.meter.usage = usage;
  return { ...body, model: publicModel };
}

/** Response-level events: the ones carrying the whole `response` object (and its `model`). */
const RESPONSE_EVENTS = new Set(["response.created", "response.in_progress", "response.queued", "response.completed", "response.incomplete", "response.failed"]);
const TERMINAL = new Set(["response.completed", "response.incomplete", "response.failed"]);
const METERED = /^response\.(output_text|refusal|function_call_arguments|reasoning_summary_text|reasoning_text|custom_tool_call_input)\.delta$/;

/** The `type` of an event's JSON (OpenAI writes it first; otherwise the whole payload is searched). */
function typeOf(payload: string): string | undefined {
  const m = /"type":"([^"]+)"/.exec(payload.startsWith('{"type":"') ? payload.slice(0, 96) : payload);
  return m?.[1];
}

export interface NativeStreamHooks {
  /** The response id, from response.created: who owns it is recorded before the client can ask for it. */
  onId?: (id: string) => void;
}

/**
 * Wraps a provider's Responses SSE bytes: each event goes out as it came but for `model` in the response-level events
 * (set to the public id); usage is read from response.completed / incomplete / failed, and delivered deltas are
 * metered in case the client leaves before the end. A stream that breaks or ends without a terminal event gets an
 * `error` event, so the client always sees how it ended.
 */
export function nativeStream(body: ReadableStream<Uint8Array>, publicModel: string, ctx: CallContext, hooks: NativeStreamHooks = {}): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  const maxLine = ctx.maxResponseBytes ?? DEFAULT_MAX_EVENT_SIZE;
  const modelValue = JSON.stringify(publicModel);
  let rest = "";
  let terminal = false;
  let lastSeq = -1;
  let finished = false;

  const line = (l: string): string => {
    if (!l.startsWith("data:")) return l;
    const payload = l.slice(l.charCodeAt(5) === 32 ? 6 : 5);
    const type = typeOf(payload);
    const seq = /"sequence_number":(\d+)/.exec(payload);
    if (seq) lastSeq = Math.max(lastSeq, Number(seq[1]));
    if (!type) return l;
    if (METERED.test(type)) {
      const m = /"delta":("(?:[^"\\]|\\.)*")/.exec(payload);
      if (m) {
        if (wantsText(ctx.meter)) addDelivered(ctx.meter, JSON.parse(m[1]!) as string);
        else ctx.meter.textChars += m[1]!.length - 2;
      }
      return l;
    }
    if (type === "error") ctx.meter.failed = true;
    if (!RESPONSE_EVENTS.has(type)) return l;
    if (TERMINAL.has(type)) {
      terminal = true;
      if (type === "response.failed") ctx.meter.failed = true;
      try {
        const usage = chatUsage((JSON.parse(payload) as { response?: { usage?: unknown } }).response?.usage);
        if (usage) ctx.meter.usage = usage;
      } catch {
        // Not JSON: forwarded as it is; the client sees what the provider sent.
      }
    }
    // The response object's own model comes before its output (OpenAI's field order), so the first one is it.
    const at = payload.indexOf('"response":{');
    const m = at === -1 ? null : /"model":"(?:[^"\\]|\\.)*"/.exec(payload.slice(at));
    if (!m) return l;
    const start = l.length - payload.length + at + m.index;
    if (type === "response.created" && hooks.onId) {
      const id = /"id":"([^"\\]+)"/.exec(payload.slice(at));
      if (id) hooks.onId(id[1]!);
    }
    return `${l.slice(0, start)}"model":${modelValue}${l.slice(start + m[0].length)}`;
  };

  const block = (text: string): string => text.split("\n").map((l) => (l.endsWith("\r") ? `${line(l.slice(0, -1))}\r` : line(l))).join("\n");

  const fail = (c: ReadableStreamDefaultController<Uint8Array>, err: unknown) => {
    finished = true;
    ctx.meter.failed = true;
    const g = classifyFailure(err, ctx);
    if (g.kind !== "client_closed") {
      const event = { type: "error", sequence_number: lastSeq + 1, code: "server_error", message: g.message, param: null };
      c.enqueue(encoder.encode(`event: error\ndata: ${JSON.stringify(event)}\n\n`));
    }
    c.close();
    reader.cancel().catch(() => {});
  };

  return new ReadableStream<Uint8Array>(
    {
      async pull(c) {
        if (finished) return;
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) {
              const tail = rest + decoder.decode();
              rest = "";
              if (tail) c.enqueue(encoder.encode(block(tail)));
              if (!terminal) return fail(c, upstreamFailed("The provider's stream ended before the response was complete."));
              finished = true;
              c.close();
              return;
            }
            const text = rest + decoder.decode(value, { stream: true });
            const cut = text.lastIndexOf("\n");
            if (cut === -1) {
              rest = text;
              if (rest.length > maxLine) return fail(c, upstreamFailed(`The provider sent a stream event larger than ${maxLine} bytes.`, { retryable: false }));
              continue;
            }
            rest = text.slice(cut + 1);
            c.enqueue(encoder.encode(block(text.slice(0, cut + 1))));
            return;
          }
        } catch (err) {
          fail(c, err);
        }
      },
      cancel() {
        finished = true;
        return reader.cancel().catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
}
