// Passes an OpenAI-type SSE stream through almost untouched: rewrites `model`, meters usage, ends cleanly on failure.
import { classifyFailure } from "../http.ts";
import { encodeError } from "../../openai/sse.ts";
import { upstreamFailed } from "../../openai/errors.ts";
import type { CallContext } from "../types.ts";
import type { Usage } from "../../openai/schemas.ts";

const MODEL_KEY = '"model":"';
const CONTENT_KEY = '"content":"';
const ARGS_KEY = '"arguments":"';

/** Index of the closing quote of a JSON string whose first character is at `from`. */
function stringEnd(s: string, from: number): number {
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 92 /* \ */) i++;
    else if (c === 34 /* " */) return i;
  }
  return -1;
}

/** The raw (still escaped) JSON string value after `key`, or "" — good enough to estimate tokens. */
function rawValue(line: string, key: string): string {
  const k = line.indexOf(key);
  if (k === -1) return "";
  const start = k + key.length;
  const end = stringEnd(line, start);
  return end === -1 ? "" : line.slice(start, end);
}

/**
 * Rewrites one `data:` line. Only the usage chunk is parsed; every other line is scanned with indexOf,
 * so a passthrough stream costs a few string operations per chunk.
 */
export function rewriteDataLine(line: string, publicModel: string, ctx: CallContext): string {
  const payload = line.charCodeAt(5) === 32 ? 6 : 5;
  if (line.startsWith("[DONE]", payload)) return line;
  let out = line;
  const m = out.indexOf(MODEL_KEY);
  if (m !== -1) {
    const start = m + MODEL_KEY.length;
    const end = stringEnd(out, start);
    if (end !== -1 && out.slice(start, end) !== publicModel) {
      out = out.slice(0, start) + JSON.stringify(publicModel).slice(1, -1) + out.slice(end);
    }
  }
  if (out.includes('"usage":{')) {
    try {
      const usage = (JSON.parse(out.slice(payload)) as { usage?: Usage }).usage;
      if (usage && typeof usage.prompt_tokens === "number") ctx.meter.usage = usage;
    } catch {
      // Not JSON: forwarded as it is; the client sees what the provider sent.
    }
  }
  ctx.meter.text += rawValue(out, CONTENT_KEY) + rawValue(out, ARGS_KEY);
  return out;
}

/** Wraps the upstream body: line-by-line rewrite, error event on a broken or timed-out upstream. */
export function passthroughStream(body: ReadableStream<Uint8Array>, publicModel: string, ctx: CallContext): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let rest = "";
  let sawDone = false;
  let finished = false;
  const fail = (c: ReadableStreamDefaultController<Uint8Array>, err: unknown) => {
    finished = true;
    ctx.meter.failed = true;
    const g = classifyFailure(err, ctx);
    if (g.kind !== "client_closed") c.enqueue(encodeError(g));
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
              if (tail.trim()) c.enqueue(encoder.encode(processLines(tail + "\n")));
              if (!sawDone) return fail(c, upstreamFailed("The provider's stream ended before it was complete."));
              finished = true;
              c.close();
              return;
            }
            const text = rest + decoder.decode(value, { stream: true });
            const cut = text.lastIndexOf("\n");
            if (cut === -1) {
              rest = text;
              continue;
            }
            rest = text.slice(cut + 1);
            c.enqueue(encoder.encode(processLines(text.slice(0, cut + 1))));
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

  function processLines(block: string): string {
    let out = "";
    let start = 0;
    while (start < block.length) {
      let nl = block.indexOf("\n", start);
      if (nl === -1) nl = block.length;
      const line = block.slice(start, nl);
      if (line.startsWith("data:")) {
        if (line.slice(5).trim() === "[DONE]") sawDone = true;
        out += rewriteDataLine(line, publicModel, ctx);
      } else out += line;
      out += "\n";
      start = nl + 1;
    }
    return out;
  }
}
