// The one SSE parser (bytes → events) and encoder (chunk → `data: …`, `[DONE]`, error event).
import type { ChatCompletionChunk } from "./schemas.ts";
import { errorBody, GatewayError } from "./errors.ts";

export interface SseEvent {
  event?: string;
  data: string;
}

const encoder = new TextEncoder();

/**
 * Splits a byte stream into SSE events per the HTML spec: lines end with \n, \r\n or \r; an event ends at a
 * blank line; `data:` lines join with \n; comments (`:`) are skipped. A final event without its blank line
 * is still delivered at end of input (providers cut off mid-stream should not lose what they sent).
 */
export async function* sseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buf = "";
  let event: string | undefined;
  let data: string[] = [];
  const line = (l: string): SseEvent | undefined => {
    if (l === "") {
      if (data.length === 0 && event === undefined) return undefined;
      const ev: SseEvent = { data: data.join("\n") };
      if (event !== undefined) ev.event = event;
      event = undefined;
      data = [];
      return ev;
    }
    if (l.charCodeAt(0) === 58 /* : */) return undefined;
    const colon = l.indexOf(":");
    const field = colon === -1 ? l : l.slice(0, colon);
    let value = colon === -1 ? "" : l.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === "data") data.push(value);
    else if (field === "event") event = value;
    return undefined;
  };
  for await (const bytes of body) {
    buf += decoder.decode(bytes, { stream: true });
    let start = 0;
    for (;;) {
      const nl = nextBreak(buf, start);
      if (nl === -1) break;
      const ev = line(buf.slice(start, nl));
      if (ev) yield ev;
      start = buf.charCodeAt(nl) === 13 && buf.charCodeAt(nl + 1) === 10 ? nl + 2 : nl + 1;
      // A lone \r at the very end may be the first half of \r\n: wait for more input.
      if (buf.charCodeAt(nl) === 13 && nl + 1 === buf.length) {
        start = nl;
        break;
      }
    }
    buf = buf.slice(start);
  }
  buf += decoder.decode();
  if (buf.length > 0) {
    const ev = line(buf.replace(/\r$/, ""));
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
