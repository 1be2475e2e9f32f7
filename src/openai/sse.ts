// The one SSE parser (bytes → events) and encoder (chunk → `data: …`, `[DONE]`, error event).
import type { ChatCompletionChunk } from "./schemas.ts";
import { errorBody, GatewayError, upstreamFailed } from "./errors.ts";

export interface SseEvent {
  event?: string;
  data: string;
}

const encoder = new TextEncoder();

/** An SSE event (or one line) may hold at most this many characters unless the caller says otherwise (32 MiB). */
export const DEFAULT_MAX_EVENT_SIZE = 32 * 1024 * 1024;

/**
 * Splits a byte stream into SSE events per the HTML spec: lines end with \n, \r\n or \r; an event ends at a
 * blank line; `data:` lines join with \n; comments (`:`) are skipped. A final event without its blank line
 * is still delivered at end of input (providers cut off mid-stream should not lose what they sent).
 *
 * Linear in the input: a line still arriving is kept as pieces and searched only where new text came in (a
 * provider sending one 64 MiB line used to cost a rescan of everything so far on every chunk). An event or line
 * longer than `maxSize` characters throws (the provider's fault: the caller maps it to a 502 or an error event).
 */
export async function* sseEvents(body: ReadableStream<Uint8Array>, maxSize = DEFAULT_MAX_EVENT_SIZE): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  /** Text after the last line break: the start of a line still arriving (never holds a break, but for a final \r). */
  let tail = "";
  let tailEndsInCR = false;
  let event: string | undefined;
  let data: string[] = [];
  let dataSize = 0;
  const tooLarge = () => upstreamFailed(`The provider sent a stream event larger than ${maxSize} bytes (server.max_upstream_response_bytes).`, { retryable: false });
  const line = (l: string): SseEvent | undefined => {
    if (l === "") {
      if (data.length === 0 && event === undefined) return undefined;
      const ev: SseEvent = { data: data.join("\n") };
      if (event !== undefined) ev.event = event;
      event = undefined;
      data = [];
      dataSize = 0;
      return ev;
    }
    if (l.charCodeAt(0) === 58 /* : */) return undefined;
    const colon = l.indexOf(":");
    const field = colon === -1 ? l : l.slice(0, colon);
    let value = colon === -1 ? "" : l.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === "data") {
      dataSize += value.length + 1;
      if (dataSize > maxSize) throw tooLarge();
      data.push(value);
    } else if (field === "event") event = value;
    return undefined;
  };
  for await (const bytes of body) {
    const text = decoder.decode(bytes, { stream: true });
    if (text.length === 0) continue;
    // Where a break can be: the new text, or the tail's last character when it is a \r waiting for its \n. (Tracked
    // by flag: reading a character of the tail would flatten its rope of pieces on every chunk.)
    const from = tailEndsInCR ? tail.length - 1 : tail.length;
    if (!tailEndsInCR && nextBreak(text, 0) === -1) {
      // No line ends here: keep the piece (a rope, not a copy) and check the bound.
      tail += text;
      if (tail.length > maxSize) throw tooLarge();
      continue;
    }
    const buf = tail + text;
    let start = 0;
    let at = from;
    for (;;) {
      const nl = nextBreak(buf, at);
      if (nl === -1) break;
      // A lone \r at the very end may be the first half of \r\n: wait for more input.
      if (buf.charCodeAt(nl) === 13 && nl + 1 === buf.length) break;
      const ev = line(buf.slice(start, nl));
      if (ev) yield ev;
      start = buf.charCodeAt(nl) === 13 && buf.charCodeAt(nl + 1) === 10 ? nl + 2 : nl + 1;
      at = start;
    }
    tail = buf.slice(start);
    tailEndsInCR = tail.length > 0 && tail.charCodeAt(tail.length - 1) === 13;
    if (tail.length > maxSize) throw tooLarge();
  }
  tail += decoder.decode();
  if (tail.length > 0) {
    const ev = line(tail.replace(/\r$/, ""));
    if (ev) yield ev;
  }
  const last = line("");
  if (last) yield last;
}

function nextBreak(s: string, from: number): number {
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 10 || c === 13) return i;
  }
  return -1;
}

export const encodeChunk = (chunk: ChatCompletionChunk): Uint8Array => encoder.encode(`data: ${JSON.stringify(chunk)}\n\n`);
export const DONE: Uint8Array = encoder.encode("data: [DONE]\n\n");
export const encodeError = (err: GatewayError): Uint8Array => encoder.encode(`data: ${JSON.stringify(errorBody(err))}\n\n`);
export const SSE_HEADERS = { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive" } as const;
