// Messages passthrough: the body forwarded, the model rewritten back, usage read from the events, cut streams accounted.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { forwardNativeStream, nativeAnswer, prepareNativeBody } from "../../../src/protocols/messages/native.ts";
import { mergeBetas } from "../../../src/providers/anthropic/native.ts";
import { createAnthropicProvider } from "../../../src/providers/anthropic/provider.ts";
import { newMeter } from "../../../src/providers/meter.ts";
import type { CallContext, Deployment, NativeRequest } from "../../../src/providers/types.ts";
import { GatewayError } from "../../../src/openai/errors.ts";
import { recordedEvents } from "../../support/fixtures.ts";
import { startAnthropicUpstream, type AnthropicUpstream } from "../../support/anthropic-upstream.ts";
import { expectValidMessageStream, parseAnthropicSse } from "./invariants.ts";
import { plainSealer } from "./helpers.ts";

const enc = new TextEncoder();
/** The events one per pull; `cut` breaks the connection after the last (an error in start would discard them). */
const sseOf = (events: Record<string, unknown>[], opts: { cut?: boolean } = {}) => {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(c) {
      const e = events[i++];
      if (e) c.enqueue(enc.encode(`event: ${String(e.type)}\ndata: ${JSON.stringify(e)}\n\n`));
      else if (opts.cut) c.error(new Error("connection reset"));
      else c.close();
    },
  });
};

describe("the body forwarded", () => {
  test("kept as sent, but thinking the gateway signed (another model's reasoning) is taken out", () => {
    const sealed = { type: "thinking", thinking: "gemini thought", signature: plainSealer.seal({ provider: "goog" }) };
    const claude = { type: "thinking", thinking: "claude thought", signature: "EvQBCkYICxgCKkAx" };
    const body = {
      model: "m",
      context_management: { edits: [] },
      messages: [
        { role: "user", content: "q" },
        { role: "assistant", content: [sealed, { type: "text", text: "a" }] },
        { role: "user", content: "q2" },
        { role: "assistant", content: [sealed] },
        { role: "user", content: "q3" },
        { role: "assistant", content: [claude, { type: "text", text: "b" }] },
      ],
    };
    const notes: string[] = [];
    const out = prepareNativeBody(body, (m) => void notes.push(m));
    expect(out.context_management).toEqual({ edits: [] });
    expect(out.messages).toEqual([
      { role: "user", content: "q" },
      { role: "assistant", content: [{ type: "text", text: "a" }] },
      { role: "user", content: "q2" },
      { role: "user", content: "q3" },
      { role: "assistant", content: [claude, { type: "text", text: "b" }] },
    ]);
    expect(notes.length).toBe(1);
    const untouched = { model: "m", messages: [{ role: "user", content: "q" }] };
    expect(prepareNativeBody(untouched, () => {})).toBe(untouched);
  });

  test("betas merge, each once", () => {
    expect(mergeBetas("a,b", " b , c", undefined)).toBe("a,b,c");
    expect(mergeBetas(undefined, "")).toBeUndefined();
  });
});

describe("a native answer", () => {
  test("the public model goes back; usage counts cached input in the prompt", () => {
    const { body, usage } = nativeAnswer({ type: "message", model: "claude-sonnet-4-5-20250929", usage: { input_tokens: 10, output_tokens: 5, cache_read_input_tokens: 90 } }, "sonnet");
    expect(body.model).toBe("sonnet");
    expect(usage).toMatchObject({ prompt_tokens: 100, completion_tokens: 5, total_tokens: 105, prompt_tokens_details: { cached_tokens: 90 } });
  });
});

describe("a native stream", () => {
  test("recorded stream: events forwarded, model rewritten in message_start, final usage from message_delta", async () => {
    const events = recordedEvents("anthropic", "anthropic-message-delta-input-tokens.chunks.txt");
    const meter = newMeter();
    let ended: unknown = "no";
    const out = await new Response(forwardNativeStream(sseOf(events), { publicModel: "pub", meter, onEnd: (f) => (ended = f) })).text();
    const got = parseAnthropicSse(out);
    expectValidMessageStream(got, { model: "pub" });
    // Everything but message_start is the provider's own event.
    expect(got.slice(1)).toEqual(events.slice(1) as never);
    const delta = events.find((e) => e.type === "message_delta")!.usage as Record<string, number>;
    expect(meter.usage?.completion_tokens).toBe(delta.output_tokens);
    expect(meter.usage?.prompt_tokens).toBe(delta.input_tokens! + (delta.cache_read_input_tokens ?? 0) + (delta.cache_creation_input_tokens ?? 0));
    expect(ended).toBeUndefined();
  });

  test("an error event is forwarded and ends the stream as failed", async () => {
    const events = recordedEvents("anthropic", "anthropic-text.chunks.txt").slice(0, 4);
    const meter = newMeter();
    const out = await new Response(forwardNativeStream(sseOf([...events, { type: "error", error: { type: "overloaded_error", message: "Overloaded" } }]), { publicModel: "pub", meter })).text();
    expect(parseAnthropicSse(out).at(-1)).toEqual({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } });
    expect(meter.failed).toBe(true);
  });

  test("a cut stream ends with an error event, and is accounted: the input Anthropic reported and the text delivered", async () => {
    const events = recordedEvents("anthropic", "anthropic-text.chunks.txt");
    const upToText = events.slice(0, events.findIndex((e) => e.type === "content_block_stop"));
    const meter = newMeter();
    let ended: GatewayError | undefined;
    const out = await new Response(forwardNativeStream(sseOf(upToText, { cut: true }), { publicModel: "pub", meter, onEnd: (f) => (ended = f) })).text();
    expect(parseAnthropicSse(out).at(-1)!.type).toBe("error");
    expect(ended).toBeInstanceOf(GatewayError);
    const start = (upToText[0]!.message as { usage: { input_tokens: number } }).usage.input_tokens;
    expect(meter.usage!.prompt_tokens).toBeGreaterThanOrEqual(start);
    expect(meter.usage!.completion_tokens).toBeGreaterThan(0);
    expect(meter.textChars).toBeGreaterThan(0);
  });
});

describe("the Anthropic provider speaks Messages", () => {
  let up: AnthropicUpstream;
  beforeAll(async () => {
    up = await startAnthropicUpstream();
  });
  afterAll(() => up.stop());
  const d: Deployment = { provider: "claude", upstreamModel: "claude-sonnet-4-5-20250929", model: { id: "sonnet", provider: "claude" } };
  const ctx = (): CallContext => ({ requestId: "r1", publicModel: "sonnet", signal: new AbortController().signal, timeoutMs: 5000, now: Date.now, meter: newMeter(), warn: () => {} });
  const provider = () => createAnthropicProvider("claude", { type: "anthropic", base_url: up.url, api_key: up.apiKey, headers: { "anthropic-beta": "configured-beta" } }, { timeoutMs: 5000 });
  const req = (body: Record<string, unknown>, headers: Record<string, string> = {}): NativeRequest => ({ api: "messages", body, headers });

  test("speaks messages, not responses", () => {
    expect(provider().speaks!("messages", d)).toBe(true);
    expect(provider().speaks!("responses", d)).toBe(false);
  });

  test("complete: body kept with unknown fields, model rewritten, client's version and betas forwarded with the configured ones", async () => {
    const body = { model: "sonnet", max_tokens: 50, messages: [{ role: "user", content: "hi" }], context_management: { edits: [] }, stream: false };
    const answer = await provider().nativeComplete!(req(body, { "anthropic-beta": "client-beta", "anthropic-version": "2023-06-01" }), d, ctx());
    expect(answer.type).toBe("message");
    const sent = up.calls.at(-1)!;
    expect(sent.path).toBe("/v1/messages");
    expect(sent.body).toEqual({ ...body, model: "claude-sonnet-4-5-20250929", stream: undefined } as never);
    expect(sent.headers["anthropic-beta"]).toBe("configured-beta,client-beta");
    expect(sent.headers["x-api-key"]).toBe(up.apiKey);
  });

  test("stream: the provider's SSE bytes", async () => {
    const s = await provider().nativeStream!(req({ model: "sonnet", max_tokens: 50, messages: [{ role: "user", content: "hi" }] }), d, ctx());
    const events = parseAnthropicSse(await new Response(s).text());
    expectValidMessageStream(events, { model: "claude-sonnet-4-5-20250929" });
    expect((up.calls.at(-1)!.body as { stream?: unknown }).stream).toBe(true);
  });

  test("countTokens asks /v1/messages/count_tokens, without max_tokens", async () => {
    const n = await provider().countTokens!(req({ model: "sonnet", max_tokens: 9, system: "s", messages: [{ role: "user", content: "count me" }] }), d, ctx());
    expect(n).toBeGreaterThan(0);
    const sent = up.calls.at(-1)!;
    expect(sent.path).toBe("/v1/messages/count_tokens");
    expect(sent.body).toEqual({ model: "claude-sonnet-4-5-20250929", system: "s", messages: [{ role: "user", content: "count me" }] });
  });

  test("Anthropic's errors keep their type for the Messages mapping", async () => {
    up.reply({ kind: "error", status: 529, type: "overloaded_error", message: "Overloaded" });
    const e = await provider().nativeComplete!(req({ model: "sonnet", max_tokens: 5, messages: [{ role: "user", content: "x" }] }), d, ctx()).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(GatewayError);
    expect((e as GatewayError).init.type).toBe("overloaded_error");
  });
});
