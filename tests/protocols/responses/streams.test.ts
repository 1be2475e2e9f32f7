// The two byte-level stream wrappers: chat SSE → Responses events, and a provider's own Responses SSE passed through.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { responsesStream } from "../../../src/protocols/responses/stream.ts";
import { createOutputBuilder } from "../../../src/protocols/responses/output.ts";
import { nativeStream, nativeJson } from "../../../src/protocols/responses/native.ts";
import { parseResponsesRequest } from "../../../src/protocols/responses/validate.ts";
import { newMeter } from "../../../src/providers/meter.ts";
import type { CallContext } from "../../../src/providers/types.ts";
import { recordedEvents } from "../../support/fixtures.ts";
import { RESPONSES_ERRORS } from "../../../src/protocols/responses/dialect.ts";
import { GatewayError } from "../../../src/openai/errors.ts";
import { checkResponseEvents, parseResponsesSse } from "../../support/responses-invariants.ts";

const enc = new TextEncoder();
/** A byte stream cut into pieces of `size` bytes (so events and lines arrive split). */
function bytes(text: string, size = 7, breakAfter?: number): ReadableStream<Uint8Array> {
  const all = enc.encode(text);
  let at = 0;
  return new ReadableStream({
    pull(c) {
      if (breakAfter !== undefined && at >= breakAfter) return c.error(new Error("socket reset"));
      if (at >= all.length) return c.close();
      c.enqueue(all.slice(at, at + size));
      at += size;
    },
  });
}
const read = async (s: ReadableStream<Uint8Array>) => new Response(s).text();

function ctx(countText: ((t: string) => number) | null = null): CallContext {
  return { requestId: "r", publicModel: "my-model", signal: new AbortController().signal, timeoutMs: 1000, now: Date.now, meter: newMeter(countText), warn: () => {} };
}
const builder = () => createOutputBuilder({ key: "ab".repeat(16), publicModel: "my-model", createdAt: 1, request: parseResponsesRequest({ model: "my-model", input: "x" }), names: new Map(), summary: false, keepState: false });

describe("chat SSE → Responses SSE", () => {
  const chunks = recordedEvents("anthropic", "anthropic-text-then-tool.expected.jsonl");
  const sse = chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join("") + "data: [DONE]\n\n";

  test("every event framed as OpenAI frames it, invariants hold, the response saved before its terminal event", async () => {
    const order: string[] = [];
    const out = responsesStream(bytes(sse), builder(), {
      beforeFinal: async (r) => {
        await Bun.sleep(20);
        order.push(`saved ${r.response.output.length} items`);
      },
    });
    const text = await read(out);
    const events = parseResponsesSse(text);
    const final = checkResponseEvents(events);
    expect(final.status).toBe("completed");
    expect(order).toEqual(["saved 2 items"]);
    expect(text.endsWith("\n\n")).toBe(true);
  });

  test("the provider's error event after the first byte: response.failed with its message, open items closed", async () => {
    const broken = chunks.slice(0, 3).map((c) => `data: ${JSON.stringify(c)}\n\n`).join("") + `data: ${JSON.stringify({ error: { message: "Overloaded", type: "upstream_error", param: null, code: null } })}\n\n`;
    const events = parseResponsesSse(await read(responsesStream(bytes(broken), builder())));
    const final = checkResponseEvents(events);
    expect(final).toMatchObject({ status: "failed", error: { code: "server_error", message: "Overloaded" } });
  });

  test("a stream that stops without [DONE] or breaks: response.failed, never a hang or a bare end", async () => {
    const cut = chunks.slice(0, 3).map((c) => `data: ${JSON.stringify(c)}\n\n`).join("");
    expect(checkResponseEvents(parseResponsesSse(await read(responsesStream(bytes(cut), builder())))).status).toBe("failed");
    expect(checkResponseEvents(parseResponsesSse(await read(responsesStream(bytes(sse, 7, 200), builder())))).status).toBe("failed");
  });

  test("nothing is sent before the provider says something (routing may still fail over until then)", async () => {
    const upstream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(enc.encode(`data: ${JSON.stringify(chunks[0])}\n\n`)); // the role chunk: no event of its own
      },
    });
    const reader = responsesStream(upstream, builder()).getReader();
    const first = reader.read();
    const early = await Promise.race([first.then(() => "sent"), Bun.sleep(50).then(() => "held")]);
    expect(early).toBe("held");
    await reader.cancel();
  });

  test("cancelling the Responses stream cancels the provider's", async () => {
    let cancelled = false;
    const upstream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(enc.encode(`data: ${JSON.stringify(chunks[1])}\n\n`));
      },
      cancel() {
        cancelled = true;
      },
    });
    const reader = responsesStream(upstream, builder()).getReader();
    // The opening events and the first chunk's come together; the next read waits on a provider that says nothing more.
    expect(new TextDecoder().decode((await reader.read()).value)).toContain("response.created");
    const waiting = reader.read();
    await Bun.sleep(20);
    await reader.cancel();
    expect((await waiting).done).toBe(true);
    expect(cancelled).toBe(true);
  });
});

describe("a provider's own Responses stream, passed through", () => {
  const recorded = readFileSync(join(import.meta.dir, "..", "..", "fixtures", "responses", "openai-reasoning-encrypted-content.1.chunks.txt"), "utf8").trim().split("\n");
  const first = recorded.slice(0, recorded.findIndex((l) => l.includes('"response.completed"')) + 1);
  const wire = first.map((l) => `event: ${(JSON.parse(l) as { type: string }).type}\ndata: ${l}\n\n`).join("");

  test("bytes as they came but for the model (set to the public id); usage read from response.completed", async () => {
    const c = ctx();
    let id = "";
    const out = await read(nativeStream(bytes(wire, 11), "my-model", c, { onId: (x) => (id = x) }));
    expect(out).toBe(wire.replaceAll('"model":"gpt-5.1-codex-max"', '"model":"my-model"'));
    expect(id).toBe("resp_01830d662ab3856501693c321345c88190b0de00f3b9975691");
    expect(c.meter.usage).toEqual({ prompt_tokens: 134, completion_tokens: 28, total_tokens: 162, prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } });
    expect(c.meter.failed).toBe(false);
    // The official SDK's accumulator accepts it (and the events satisfy OpenAI's own invariants).
    expect(checkResponseEvents(parseResponsesSse(out)).model).toBe("my-model");
  });

  test("delivered deltas are metered (an abandoned stream is charged what it delivered)", async () => {
    const c = ctx((t) => t.length);
    const cut = wire.slice(0, wire.indexOf("response.function_call_arguments.done") - 40);
    await read(nativeStream(bytes(cut, 13), "my-model", c));
    const summary = first.filter((l) => l.includes("reasoning_summary_text.delta")).map((l) => (JSON.parse(l) as { delta: string }).delta).join("");
    expect(c.meter.textChars).toBeGreaterThanOrEqual(summary.length);
    expect(c.meter.usage).toBeNull();
  });

  test("a stream that ends without a terminal event gets an error event after the last sequence number", async () => {
    const c = ctx();
    const cut = wire.slice(0, wire.indexOf("event: response.output_item.added"));
    const out = await read(nativeStream(bytes(cut), "my-model", c));
    const last = parseResponsesSse(out).at(-1)!;
    expect(last).toMatchObject({ type: "error", sequence_number: 2, code: "server_error" });
    expect(c.meter.failed).toBe(true);
  });

  test("a whole JSON answer: model rewritten, usage metered", () => {
    const body = JSON.parse(readFileSync(join(import.meta.dir, "..", "..", "fixtures", "responses", "openai-reasoning-encrypted-content.1.json"), "utf8")) as Record<string, unknown>;
    const c = ctx();
    const out = nativeJson(body, "my-model", c);
    expect(out.model).toBe("my-model");
    expect(out.output).toEqual(body.output);
    expect(c.meter.usage!.prompt_tokens).toBe((body.usage as { input_tokens: number }).input_tokens);
  });
});

describe("the Responses error dialect", () => {
  test("a stream the gateway must end (a shutdown) gets OpenAI's error event, which the SDKs raise", () => {
    const text = new TextDecoder().decode(RESPONSES_ERRORS.streamError(new GatewayError("shutting_down", "The gateway is shutting down.")));
    const [e] = parseResponsesSse(text);
    expect(e).toMatchObject({ type: "error", code: "server_shutting_down", message: "The gateway is shutting down.", error: { type: "server_error", code: "server_shutting_down" } });
  });
});
