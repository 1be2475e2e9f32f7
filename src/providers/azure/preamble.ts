// Drops Azure's stream preamble (`choices: []` + `prompt_filter_results`, no usage) from an OpenAI SSE byte stream.

/**
 * Azure OpenAI opens every stream with an event that reports the prompt's content-filter results: empty
 * `choices`, `object: ""`, `model: ""`, no usage. OpenAI clients expect the role chunk first and treat a
 * `choices: []` chunk as the usage chunk, so the event is removed. Everything else passes as it came.
 */
export function isPromptFilterPreamble(payload: string): boolean {
  // Only the rare event that names prompt_filter_results is parsed; ordinary chunks cost one indexOf.
  if (!payload.includes('"prompt_filter_results"')) return false;
  try {
    const v: unknown = JSON.parse(payload);
    if (typeof v !== "object" || v === null) return false;
    const o = v as { choices?: unknown; usage?: unknown };
    return Array.isArray(o.choices) && o.choices.length === 0 && (o.usage === undefined || o.usage === null);
  } catch {
    return false;
  }
}

/** Whether a whole SSE event (its lines, without the blank line) is the preamble. */
function dropEvent(lines: string[]): boolean {
  const data = lines.filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim());
  return data.length === 1 && isPromptFilterPreamble(data[0]!);
}

/** Pull-driven (no read-ahead beyond one upstream read), cancelled with the client. */
export function dropPromptFilterPreamble(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let partial = "";
  let event: string[] = [];

  const take = (text: string, final: boolean): string => {
    const all = partial + text;
    const parts = all.split("\n");
    partial = final ? "" : parts.pop()!;
    if (final && parts[parts.length - 1] === "") parts.pop();
    let out = "";
    for (const raw of parts) {
      const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      if (line !== "") {
        event.push(raw);
        continue;
      }
      if (!dropEvent(event)) out += event.map((l) => l + "\n").join("") + raw + "\n";
      event = [];
    }
    if (final && event.length > 0) {
      if (!dropEvent(event)) out += event.map((l) => l + "\n").join("");
      event = [];
    }
    return out;
  };

  return new ReadableStream<Uint8Array>(
    {
      async pull(c) {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) {
            const rest = take(decoder.decode(), true);
            if (rest) c.enqueue(encoder.encode(rest));
            c.close();
            return;
          }
          const out = take(decoder.decode(value, { stream: true }), false);
          if (out) {
            c.enqueue(encoder.encode(out));
            return;
          }
        }
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
