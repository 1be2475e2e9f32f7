// Drops the usage chunk (`choices: []` with `usage`) from an OpenAI SSE byte stream, for clients that asked not to get it.
const encoder = new TextEncoder();

function isUsageChunk(event: string): boolean {
  const data = event
    .split(/\r?\n/)
    .filter((l) => l.startsWith("data:"))
    .map((l) => l.slice(5).trimStart())
    .join("\n");
  if (!data.startsWith("{") || !data.includes('"usage"')) return false;
  try {
    const v = JSON.parse(data) as { choices?: unknown; usage?: unknown };
    return Array.isArray(v.choices) && v.choices.length === 0 && typeof v.usage === "object" && v.usage !== null;
  } catch {
    return false;
  }
}

/**
 * Event by event (each forwarded as soon as its blank line arrives), everything but the usage chunk. Only used
 * on `stream_options.include_usage: false`, so the common stream keeps its single byte layer.
 */
export function withoutUsageChunk(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const decoder = new TextDecoder();
  let buf = "";
  const flushEvents = (c: TransformStreamDefaultController<Uint8Array>) => {
    for (;;) {
      const m = /\r?\n\r?\n/.exec(buf);
      if (!m) return;
      const end = m.index + m[0].length;
      const event = buf.slice(0, end);
      buf = buf.slice(end);
      if (!isUsageChunk(event)) c.enqueue(encoder.encode(event));
    }
  };
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(bytes, c) {
        buf += decoder.decode(bytes, { stream: true });
        flushEvents(c);
      },
      flush(c) {
        buf += decoder.decode();
        flushEvents(c);
        if (buf.length > 0 && !isUsageChunk(buf)) c.enqueue(encoder.encode(buf));
      },
    }),
  );
}
