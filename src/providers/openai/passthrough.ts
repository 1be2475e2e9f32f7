// Passes an OpenAI-type SSE stream through almost untouched: rewrites `model`, meters usage, ends cleanly on failure.
import { classifyFailure, withDirectReader } from "../http.ts";
import { DEFAULT_MAX_EVENT_SIZE, encodeError } from "../../openai/sse.ts";
import { upstreamFailed } from "../../openai/errors.ts";
import type { CallContext } from "../types.ts";
import { addDelivered, wantsText } from "../meter.ts";
import { redactBytes } from "../../config/secrets.ts";
import type { Usage } from "../../openai/schemas.ts";

// The stream is handled as bytes, never as text: a block of complete lines (cut after a newline byte, which never
// falls inside a UTF-8 sequence) is searched natively for what matters, and sent on as the provider's own bytes
// unless a `model` must be rewritten. Quote and backslash bytes never occur inside a multi-byte character either,
// so JSON strings can be delimited on bytes. Valid UTF-8 comes out exactly as a decode–rewrite–encode would have
// made it (tests/providers/openai/passthrough.test.ts holds that reference); invalid bytes pass as they came.
const utf8 = new TextEncoder();
// Only whole pieces are decoded (never a stream), so one decoder serves every stream.
const decoder = new TextDecoder();
const MODEL_B = utf8.encode('"model":"');
const CONTENT_B = utf8.encode('"content":"');
const ARGS_B = utf8.encode('"arguments":"');
const USAGE_B = utf8.encode('"usage":{');
const DONE_B = utf8.encode("[DONE]");
const DATA_B = utf8.encode("data:");
const NL = 10;
const QUOTE = 34;
const BACKSLASH = 92;

/** Native substring search (memmem) on plain bytes; a Uint8Array is all Buffer's indexOf needs. */
const find = (b: Uint8Array, key: Uint8Array, from: number): number => Buffer.prototype.indexOf.call(b as Buffer, key, from);

function bytesAt(b: Uint8Array, at: number, key: Uint8Array): boolean {
  if (at + key.length > b.length) return false;
  for (let i = 0; i < key.length; i++) if (b[at + i] !== key[i]) return false;
  return true;
}

/** Index of the closing quote of a JSON string whose first byte is at `from`, before `end`; -1 when it does not close. */
function stringEnd(b: Uint8Array, from: number, end: number): number {
  for (let i = from; i < end; i++) {
    const c = b[i];
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) return i;
  }
  return -1;
}

const lineStart = (b: Uint8Array, at: number) => b.lastIndexOf(NL, at) + 1;
const lineEnd = (b: Uint8Array, at: number) => {
  const nl = b.indexOf(NL, at);
  return nl === -1 ? b.length : nl;
};
/** Where the payload of the `data:` line starting at `start` begins (after one optional space). */
const payload = (b: Uint8Array, start: number) => (b[start + 5] === 32 ? start + 6 : start + 5);
/** A `data:` line whose payload is not [DONE]: the lines whose model is rewritten and whose content is metered. */
const chunkLine = (b: Uint8Array, start: number) => bytesAt(b, start, DATA_B) && !bytesAt(b, payload(b, start), DONE_B);

/**
 * The metered text of a block, gathered as bytes and decoded once: `copyValue` appends the raw (still escaped)
 * JSON string value starting at `from`, or nothing when it does not close before `end`.
 */
let scratch = new Uint8Array(4096);
let scratchLength = 0;
function copyValue(b: Uint8Array, from: number, end: number): void {
  const mark = scratchLength;
  for (let i = from; i < end; i++) {
    const c = b[i]!;
    if (c === QUOTE) return;
    if (scratchLength + 2 > scratch.length) {
      const bigger = new Uint8Array(scratch.length * 2);
      bigger.set(scratch.subarray(0, scratchLength));
      scratch = bigger;
    }
    scratch[scratchLength++] = c;
    if (c === BACKSLASH && i + 1 < end) scratch[scratchLength++] = b[++i]!;
  }
  scratchLength = mark;
}
function takeScratch(): string {
  if (scratchLength === 0) return "";
  const text = decoder.decode(scratch.subarray(0, scratchLength));
  scratchLength = 0;
  // A huge value grew it: do not keep that much for good.
  if (scratch.length > 65536) scratch = new Uint8Array(4096);
  return text;
}

function meterUsage(json: string, ctx: CallContext): void {
  try {
    const usage = (JSON.parse(json) as { usage?: Usage }).usage;
    if (usage && typeof usage.prompt_tokens === "number") ctx.meter.usage = usage;
  } catch {
    // Not JSON: forwarded as it is; the client sees what the provider sent.
  }
}

/**
 * One stream's processing of blocks of complete lines. Per `data:` line (other than `[DONE]`): the first `model`
 * value is set to the public model id, the usage chunk is parsed for accounting, the first `content` and
 * `arguments` values are added to the metered text (an estimate of what was delivered, if the stream is cut).
 */
export function lineProcessor(publicModel: string, ctx: CallContext) {
  const modelBytes = utf8.encode(publicModel);
  // The public id as it goes into JSON: escaped, then the closing quote.
  const modelAsSent = utf8.encode(JSON.stringify(publicModel).slice(1));
  const state = { sawDone: false };

  /** The first `"model":"…"` of the block that does not already hold the public id, or -1 (the block goes out as it came). */
  function firstOtherModel(b: Uint8Array): number {
    for (let i = find(b, MODEL_B, 0); i !== -1; i = find(b, MODEL_B, i + MODEL_B.length)) {
      if (!bytesAt(b, i + MODEL_B.length, modelAsSent)) return i;
    }
    return -1;
  }

  /** The block with the first `model` value of each chunk line set to the public id, from the line holding `at` on. */
  function rewriteModels(b: Uint8Array, at: number): Uint8Array {
    const cuts: number[] = []; // [valueStart, valueEnd] pairs to replace
    let lastLine = -1;
    for (let i = find(b, MODEL_B, lineStart(b, at)); i !== -1; i = find(b, MODEL_B, i + MODEL_B.length)) {
      const start = lineStart(b, i);
      if (start === lastLine || !chunkLine(b, start)) continue;
      lastLine = start;
      const from = i + MODEL_B.length;
      const close = stringEnd(b, from, lineEnd(b, from));
      if (close === -1 || (close - from === modelBytes.length && bytesAt(b, from, modelBytes))) continue;
      cuts.push(from, close);
    }
    if (cuts.length === 0) return b;
    const value = modelAsSent.subarray(0, modelAsSent.length - 1);
    let size = b.length;
    for (let k = 0; k < cuts.length; k += 2) size += value.length - (cuts[k + 1]! - cuts[k]!);
    const out = new Uint8Array(size);
    let read = 0;
    let write = 0;
    for (let k = 0; k < cuts.length; k += 2) {
      out.set(b.subarray(read, cuts[k]!), write);
      write += cuts[k]! - read;
      out.set(value, write);
      write += value.length;
      read = cuts[k + 1]!;
    }
    out.set(b.subarray(read), write);
    return out;
  }

  /** Bytes of the (still escaped) JSON string value starting at `from` up to its closing quote before `end`. */
  const valueBytes = (b: Uint8Array, from: number, end: number): number => {
    const close = stringEnd(b, from, end);
    return close === -1 ? 0 : close - from;
  };

  /** [DONE], usage and the metered text of a block (the model's value never holds these keys: its quotes are escaped). */
  function meter(b: Uint8Array): void {
    // Without a token counter only the length is needed: no copy, no decode.
    const keep = wantsText(ctx.meter);
    for (let i = find(b, DONE_B, 0); i !== -1; ) {
      const start = lineStart(b, i);
      const end = lineEnd(b, i);
      if (bytesAt(b, start, DATA_B) && decoder.decode(b.subarray(start + 5, end)).trim() === "[DONE]") state.sawDone = true;
      i = find(b, DONE_B, end);
    }
    for (let i = find(b, USAGE_B, 0); i !== -1; ) {
      const start = lineStart(b, i);
      const end = lineEnd(b, i);
      if (chunkLine(b, start)) meterUsage(decoder.decode(b.subarray(payload(b, start), end)), ctx);
      i = find(b, USAGE_B, end);
    }
    // Line by line, jumping straight to the next line holding a content or arguments key.
    let c = find(b, CONTENT_B, 0);
    let a = find(b, ARGS_B, 0);
    while (c !== -1 || a !== -1) {
      const at = c === -1 ? a : a === -1 ? c : Math.min(c, a);
      const start = lineStart(b, at);
      const end = lineEnd(b, at);
      if (chunkLine(b, start)) {
        if (keep) {
          if (c !== -1 && c < end) copyValue(b, c + CONTENT_B.length, end);
          if (a !== -1 && a < end) copyValue(b, a + ARGS_B.length, end);
        } else {
          if (c !== -1 && c < end) ctx.meter.textChars += valueBytes(b, c + CONTENT_B.length, end);
          if (a !== -1 && a < end) ctx.meter.textChars += valueBytes(b, a + ARGS_B.length, end);
        }
      }
      if (c !== -1 && c < end) c = find(b, CONTENT_B, end);
      if (a !== -1 && a < end) a = find(b, ARGS_B, end);
    }
    if (keep) {
      const text = takeScratch();
      if (text) addDelivered(ctx.meter, text);
    }
  }

  /** Complete lines in, bytes to send out: the very same bytes when no `model` needs rewriting (or secret redacting). */
  function block(raw: Uint8Array): Uint8Array {
    const b = redactBytes(raw);
    meter(b);
    const other = firstOtherModel(b);
    return other === -1 ? b : rewriteModels(b, other);
  }

  return { state, block };
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

const NEWLINE = Uint8Array.of(NL);

/**
 * A provider's own edit of its stream (Azure drops its preamble event), applied to each block of complete lines
 * before the rewrite and metering, inside the passthrough's one stream layer. `end` returns what it still holds.
 */
export interface BlockFilter {
  block(b: Uint8Array): Uint8Array;
  end(): Uint8Array;
}

/**
 * Wraps the upstream body: block-by-block rewrite, error event on a broken or timed-out upstream. The work is a pull
 * source read directly by the pipeline's one stream layer (providers/http.ts `withDirectReader`): a second JS stream
 * layer between the provider and the client cost a promise round per chunk for nothing.
 */
export function passthroughStream(body: ReadableStream<Uint8Array>, publicModel: string, ctx: CallContext, filter?: BlockFilter): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  const lines = lineProcessor(publicModel, ctx);
  const maxLine = ctx.maxResponseBytes ?? DEFAULT_MAX_EVENT_SIZE;
  /**
   * Bytes after the last newline so far (a line still arriving), kept as the pieces that came: joined once when its
   * newline arrives, so a long line costs its length, not its length squared.
   */
  let rest: Uint8Array[] = [];
  let restSize = 0;
  let finished = false;
  /** What is ready to go out before anything else is read (a filter's last block, an error event). */
  const ready: Uint8Array[] = [];
  /** What the filter still holds, processed like any block (nothing to send when there is no filter). */
  const flushFilter = () => {
    const held = filter?.end();
    if (held && held.length > 0) ready.push(lines.block(held));
  };
  const fail = (err: unknown) => {
    finished = true;
    ctx.meter.failed = true;
    const g = classifyFailure(err, ctx);
    ctx.meter.failure = g;
    flushFilter();
    if (g.kind !== "client_closed") ready.push(encodeError(g));
    reader.cancel().catch(() => {});
  };
  const DONE = { done: true as const, value: undefined };
  const next = async (): Promise<{ done: boolean; value?: Uint8Array }> => {
    for (;;) {
      const queued = ready.shift();
      if (queued) return { done: false, value: queued };
      if (finished) return DONE;
      let chunk: { done: boolean; value?: Uint8Array };
      try {
        chunk = await reader.read();
      } catch (err) {
        fail(err);
        continue;
      }
      const { done, value } = chunk;
      if (done || !value) {
        // A last line without its newline still counts (a provider cut off should not lose what it sent).
        const last = concat([...rest, NEWLINE], restSize + 1);
        if (restSize > 0 && decoder.decode(last).trim()) {
          const out = filter ? filter.block(last) : last;
          if (out.length > 0) ready.push(lines.block(out));
        }
        rest = [];
        restSize = 0;
        flushFilter();
        if (!lines.state.sawDone) fail(upstreamFailed("The provider's stream ended before it was complete."));
        finished = true;
        continue;
      }
      const cut = value.lastIndexOf(NL);
      if (cut === -1) {
        rest.push(value);
        restSize += value.byteLength;
        if (restSize > maxLine) fail(upstreamFailed(`The provider sent a stream event larger than ${maxLine} bytes (server.max_upstream_response_bytes).`, { retryable: false }));
        continue;
      }
      const head = cut + 1 < value.byteLength ? value.subarray(0, cut + 1) : value;
      const whole = restSize > 0 ? concat([...rest, head], restSize + head.byteLength) : head;
      rest = cut + 1 < value.byteLength ? [value.slice(cut + 1)] : [];
      restSize = rest.length > 0 ? rest[0]!.byteLength : 0;
      const out = filter ? filter.block(whole) : whole;
      // Nothing left to send (the filter holds or dropped it all): read on.
      if (out.length === 0) continue;
      try {
        return { done: false, value: lines.block(out) };
      } catch (err) {
        fail(err);
      }
    }
  };
  return withDirectReader({
    read: next,
    cancel() {
      finished = true;
      ready.length = 0;
      return reader.cancel().catch(() => {});
    },
  });
}
