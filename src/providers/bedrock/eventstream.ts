// AWS event-stream framing (application/vnd.amazon.eventstream): bytes → messages, checksums verified, frames split across chunks reassembled.
import { upstreamFailed } from "../../openai/errors.ts";

/** A header value as the wire types it: booleans, integers (64-bit ones as bigint), bytes, strings, timestamps, UUIDs. */
export type HeaderValue = boolean | number | bigint | string | Uint8Array | Date;

export interface EventMessage {
  headers: Record<string, HeaderValue>;
  payload: Uint8Array;
}

/** Total length, headers length and the prelude's CRC: 12 bytes; the message CRC closes the frame. */
const PRELUDE = 12;
const MIN_FRAME = PRELUDE + 4;

const crc32 = (b: Uint8Array): number => Bun.hash.crc32(b) >>> 0;
const utf8 = new TextDecoder("utf-8", { fatal: false });

const corrupt = (what: string) => upstreamFailed(`The provider sent a corrupt event-stream frame (${what}).`, { retryable: false });

/**
 * Pure and incremental, one per stream: `push` takes whatever bytes arrived and returns the messages they completed;
 * `end` says whether bytes of an unfinished frame were left over. A frame larger than `maxFrameBytes` is refused
 * before it is buffered (AWS caps messages at 16 MiB; a bigger length prefix is a broken stream, not a big event).
 */
export function createFrameDecoder(maxFrameBytes = 16 * 1024 * 1024) {
  let buf = new Uint8Array(0);
  let start = 0;
  let end = 0;
  /** A failure met after good frames in the same push: those are delivered first, the failure on the next call. */
  let deferred: unknown;

  const append = (chunk: Uint8Array) => {
    if (end + chunk.length > buf.length) {
      const live = end - start;
      const next = live + chunk.length > buf.length ? new Uint8Array(Math.max(buf.length * 2, live + chunk.length, 1024)) : buf;
      next.set(buf.subarray(start, end), 0);
      buf = next;
      end = live;
      start = 0;
    }
    buf.set(chunk, end);
    end += chunk.length;
  };

  return {
    push(chunk: Uint8Array): EventMessage[] {
      if (deferred !== undefined) throw deferred;
      append(chunk);
      const out: EventMessage[] = [];
      try {
        frames(out);
      } catch (err) {
        if (out.length === 0) throw err;
        deferred = err;
      }
      if (start === end) start = end = 0;
      return out;
    },
    /** Throws the failure held back by the last push, if any. */
    check(): void {
      if (deferred !== undefined) throw deferred;
    },
    /** Bytes of a frame that never completed: the stream was cut mid-frame. */
    pending(): number {
      return end - start;
    },
  };

  function frames(out: EventMessage[]): void {
    while (end - start >= PRELUDE) {
      const view = new DataView(buf.buffer, buf.byteOffset + start, end - start);
      const total = view.getUint32(0);
      const headersLength = view.getUint32(4);
      // The prelude is checked before its lengths are trusted: a garbled length must not make us wait for 4 GiB.
      if (crc32(buf.subarray(start, start + 8)) !== view.getUint32(8)) throw corrupt("prelude checksum mismatch");
      if (total < MIN_FRAME || headersLength > total - MIN_FRAME) throw corrupt(`impossible lengths ${total}/${headersLength}`);
      if (total > maxFrameBytes) throw upstreamFailed(`The provider sent an event-stream frame of ${total} bytes, more than the ${maxFrameBytes} accepted.`, { retryable: false });
      if (end - start < total) break;
      const frame = buf.subarray(start, start + total);
      if (crc32(frame.subarray(0, total - 4)) !== view.getUint32(total - 4)) throw corrupt("message checksum mismatch");
      out.push({
        headers: readHeaders(frame.subarray(PRELUDE, PRELUDE + headersLength)),
        // Copied: the buffer is reused for later frames.
        payload: frame.slice(PRELUDE + headersLength, total - 4),
      });
      start += total;
    }
  }
}

function readHeaders(b: Uint8Array): Record<string, HeaderValue> {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: Record<string, HeaderValue> = {};
  let i = 0;
  const need = (n: number) => {
    if (i + n > b.length) throw corrupt("truncated header");
  };
  while (i < b.length) {
    need(1);
    const nameLength = b[i++]!;
    need(nameLength + 1);
    const name = utf8.decode(b.subarray(i, i + nameLength));
    i += nameLength;
    const type = b[i++]!;
    let value: HeaderValue;
    switch (type) {
      case 0:
        value = true;
        break;
      case 1:
        value = false;
        break;
      case 2:
        need(1);
        value = view.getInt8(i);
        i += 1;
        break;
      case 3:
        need(2);
        value = view.getInt16(i);
        i += 2;
        break;
      case 4:
        need(4);
        value = view.getInt32(i);
        i += 4;
        break;
      case 5:
        need(8);
        value = view.getBigInt64(i);
        i += 8;
        break;
      case 6:
      case 7: {
        need(2);
        const n = view.getUint16(i);
        i += 2;
        need(n);
        value = type === 6 ? b.slice(i, i + n) : utf8.decode(b.subarray(i, i + n));
        i += n;
        break;
      }
      case 8:
        need(8);
        value = new Date(Number(view.getBigInt64(i)));
        i += 8;
        break;
      case 9:
        need(16);
        value = b.slice(i, i + 16);
        i += 16;
        break;
      default:
        throw corrupt(`unknown header type ${type}`);
    }
    out[name] = value;
  }
  return out;
}

/** The messages of an event-stream body as they arrive; a body cut inside a frame throws. */
export async function* eventStreamMessages(body: ReadableStream<Uint8Array>, maxFrameBytes?: number): AsyncGenerator<EventMessage> {
  const decoder = createFrameDecoder(maxFrameBytes);
  for await (const chunk of body) {
    for (const m of decoder.push(chunk)) yield m;
    decoder.check();
  }
  if (decoder.pending() > 0) throw upstreamFailed("The provider's event stream broke off inside a frame.");
}

/** A header as a string (the `:event-type`-style headers are strings on the wire). */
export const headerString = (m: EventMessage, name: string): string | undefined => {
  const v = m.headers[name];
  return typeof v === "string" ? v : undefined;
};
