// The OpenAI-type stream passthrough: untouched bytes when `model` already matches, the line rewrite otherwise, same metering for any chunking.
import { describe, expect, test } from "bun:test";
import { addDelivered, newMeter } from "../../../src/providers/meter.ts";
import { passthroughStream } from "../../../src/providers/openai/passthrough.ts";
import type { CallContext } from "../../../src/providers/types.ts";

const fixture = (await Bun.file(`${import.meta.dir}/../../fixtures/openai/openai-text.chunks.txt`).text()).trim().split("\n");
const fixtureModel = (JSON.parse(fixture[0]!) as { model: string }).model;
const usageLine = `{"id":"x","object":"chat.completion.chunk","created":1,"model":"${fixtureModel}","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":12,"total_tokens":21}}`;

/** A recorded OpenAI stream as its SSE bytes (usage chunk and [DONE] included). */
const recorded = [...fixture, usageLine].map((l) => `data: ${l}\n\n`).join("") + "data: [DONE]\n\n";

/** Everything the line rewrite has to cope with: tool-call arguments, escapes, multi-byte text, CRLF, comments, events, `data:` without a space, a second and an unterminated `model`. */
const awkward = [
  ": keep-alive comment with \"model\":\"other\"\n\n",
  'data: {"id":"a","model":"up-model","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\r\n\r\n',
  'data:{"id":"a","model":"up-model","choices":[{"index":0,"delta":{"content":"h\\u00e9 \\"quoted\\" — ünïcødé 🎉"}}]}\n\n',
  'event: message\ndata: {"id":"a","model":"up-model","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"name":"f","arguments":"{\\"x\\":"}}]}}]}\n\n',
  'data: {"id":"a","model":"up-model","choices":[{"index":0,"delta":{"content":"two","tool_calls":[{"index":0,"function":{"arguments":"1}"}}]}},{"index":1,"delta":{"content":"second choice"}}]}\n\n',
  'data: {"id":"a","model":"up-model","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}\n\n',
  'data: {"id":"a","model":"up-model","extra":{"model":"nested"},"choices":[{"index":0,"delta":{"content":"after nested"}}]}\n\n',
  'data: {"id":"a","model":"unterminated\n\n',
  "data:[DONE]\n\n",
].join("");

/** One counter for every meter here, so meters compare equal field by field. */
const countChars = (t: string) => t.length;

function context(publicModel: string): CallContext {
  return {
    requestId: "req-1",
    publicModel,
    signal: new AbortController().signal,
    timeoutMs: 1000,
    now: () => 0,
    meter: newMeter(countChars),
    warn: () => {},
  };
}

/** Deterministic chunk sizes (xorshift), so a failure replays. */
function split(bytes: Uint8Array, seed: number, max: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let x = seed;
  for (let i = 0; i < bytes.length; ) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const n = 1 + (Math.abs(x) % max);
    out.push(bytes.slice(i, i + n));
    i += n;
  }
  return out;
}

async function run(chunks: Uint8Array[], publicModel: string) {
  const ctx = context(publicModel);
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      for (const chunk of chunks) c.enqueue(chunk);
      c.close();
    },
  });
  const parts: Uint8Array[] = [];
  for await (const p of passthroughStream(body, publicModel, ctx)) parts.push(p);
  return { text: Buffer.concat(parts).toString("utf8"), parts, meter: ctx.meter };
}

/**
 * The reference: the passthrough as it was before it worked on bytes — the whole stream decoded, split into lines,
 * each `data:` line rewritten and metered with string operations, re-encoded. Every chunking must give its output.
 */
function reference(text: string, publicModel: string) {
  const ctx = context(publicModel);
  const stringEnd = (s: string, from: number) => {
    for (let i = from; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c === 92) i++;
      else if (c === 34) return i;
    }
    return -1;
  };
  const rawValue = (line: string, key: string) => {
    const k = line.indexOf(key);
    if (k === -1) return "";
    const end = stringEnd(line, k + key.length);
    return end === -1 ? "" : line.slice(k + key.length, end);
  };
  const rewriteDataLine = (line: string) => {
    const payload = line.charCodeAt(5) === 32 ? 6 : 5;
    if (line.startsWith("[DONE]", payload)) return line;
    let out = line;
    const m = out.indexOf('"model":"');
    if (m !== -1) {
      const start = m + 9;
      const end = stringEnd(out, start);
      if (end !== -1 && out.slice(start, end) !== publicModel) out = out.slice(0, start) + JSON.stringify(publicModel).slice(1, -1) + out.slice(end);
    }
    if (out.includes('"usage":{')) {
      try {
        const usage = (JSON.parse(out.slice(payload)) as { usage?: { prompt_tokens?: unknown } }).usage;
        if (usage && typeof usage.prompt_tokens === "number") ctx.meter.usage = usage as CallContext["meter"]["usage"];
      } catch {}
    }
    addDelivered(ctx.meter, rawValue(out, '"content":"') + rawValue(out, '"arguments":"'));
    return out;
  };
  let out = "";
  const block = text.endsWith("\n") ? text : text + "\n";
  for (let start = 0; start < block.length; ) {
    const nl = block.indexOf("\n", start);
    const line = block.slice(start, nl);
    out += (line.startsWith("data:") ? rewriteDataLine(line) : line) + "\n";
    start = nl + 1;
  }
  return { text: out, meter: ctx.meter };
}

const chunkings = (bytes: Uint8Array) => [
  [bytes],
  split(bytes, 7, 1),
  split(bytes, 12345, 9),
  split(bytes, 99, 64),
  split(bytes, 4242, 700),
];

describe("OpenAI stream passthrough", () => {
  for (const [name, stream, upstreamModel] of [
    ["recorded stream", recorded, fixtureModel],
    ["awkward stream", awkward, "up-model"],
  ] as const) {
    for (const publicModel of [upstreamModel, "gpt-4o", 'we"ird/モデル']) {
      test(`${name}, public model '${publicModel}': same bytes and meter as the line rewrite, whatever the chunking`, async () => {
        const bytes = new TextEncoder().encode(stream);
        const want = reference(stream, publicModel);
        for (const chunks of chunkings(bytes)) {
          const got = await run(chunks, publicModel);
          expect(got.text).toBe(want.text);
          expect(got.meter).toEqual({ ...want.meter, failed: false });
        }
        expect(want.meter.usage?.total_tokens).toBeGreaterThan(0);
        expect(want.meter.text.length).toBeGreaterThan(0);
      });
    }
  }

  test("a stream whose model already is the public id is forwarded as the very bytes the provider sent", async () => {
    const bytes = new TextEncoder().encode(recorded);
    const got = await run([bytes], fixtureModel);
    expect(got.parts).toHaveLength(1);
    expect(got.parts[0]).toBe(bytes);
    expect(got.meter.usage).toEqual({ prompt_tokens: 9, completion_tokens: 12, total_tokens: 21 });
    // Metered as sent, still JSON-escaped: an estimate of the tokens, not the text.
    const content = fixture.map((l) => (JSON.parse(l) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta.content ?? "");
    expect(got.meter.text).toBe(content.map((c) => JSON.stringify(c).slice(1, -1)).join(""));
  });

  test("every model field is rewritten to the public id, nothing else changes", async () => {
    const got = await run([new TextEncoder().encode(recorded)], "gpt-4o");
    expect(got.text).toBe(recorded.replaceAll(`"model":"${fixtureModel}"`, '"model":"gpt-4o"'));
  });

  test("the metered text is the first content and arguments value of each data line, as sent (escaped)", async () => {
    const got = await run([new TextEncoder().encode(awkward)], "up-model");
    expect(got.meter.text).toBe('h\\u00e9 \\"quoted\\" — ünïcødé 🎉{\\"x\\":two1}after nested');
    expect(got.meter.usage).toEqual({ prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 });
  });

  test("a stream cut before [DONE] ends with one error event and flags the meter", async () => {
    const cut = recorded.slice(0, recorded.indexOf("data: [DONE]"));
    const got = await run(split(new TextEncoder().encode(cut), 3, 50), fixtureModel);
    expect(got.text.startsWith(cut)).toBe(true);
    const tail = got.text.slice(cut.length);
    expect(tail).toMatch(/^data: \{"error":\{.*"type":"upstream_error"/);
    expect(got.meter.failed).toBe(true);
  });

  test("a last line without its newline is still delivered (rewritten) at the end", async () => {
    const stream = 'data: {"model":"up-model","choices":[{"delta":{"content":"a"}}]}\n\ndata: [DONE]';
    const got = await run(split(new TextEncoder().encode(stream), 5, 20), "pub");
    expect(got.text).toBe('data: {"model":"pub","choices":[{"delta":{"content":"a"}}]}\n\ndata: [DONE]\n');
    expect(got.meter.failed).toBe(false);
    expect(got.meter.text).toBe("a");
  });
});
