// Reads a byte stream to its end, or until more than a limit has come: what request bodies and provider answers share.

export interface CappedRead {
  /** What was read, at most `limit` bytes. */
  bytes: Uint8Array;
  /** More than `limit` bytes came: the stream was cancelled after them. */
  over: boolean;
}

/** Never holds more than `limit` bytes (plus the chunk that crossed it); cancels the stream once past the limit. */
export async function readCapped(stream: ReadableStream<Uint8Array>, limit: number): Promise<CappedRead> {
  const reader = stream.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { bytes: Buffer.concat(parts), over: false };
    size += value.byteLength;
    if (size > limit) {
      reader.cancel().catch(() => {});
      parts.push(value.subarray(0, value.byteLength - (size - limit)));
      return { bytes: Buffer.concat(parts), over: true };
    }
    parts.push(value);
  }
}

const decoder = new TextDecoder();
export const utf8 = (bytes: Uint8Array): string => decoder.decode(bytes);
