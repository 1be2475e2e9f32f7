// Hardening 8: what a provider may send is bounded (max_upstream_response_bytes: a JSON answer, its decoded size, any
// single SSE event), and SSE parsing is linear in the input.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { startOpenAIUpstream, type OpenAIUpstream } from "../support/openai-upstream.ts";
import { post } from "../support/gateway.ts";
import { startGatewayProcess, type GatewayProcess } from "../support/process.ts";
import { probeHealth } from "../support/probe.ts";
import { sseEvents } from "../../src/openai/sse.ts";
import { GatewayError } from "../../src/openai/errors.ts";

const KEY = "sk-test-hardening-size";
let up: OpenAIUpstream;
let gw: GatewayProcess;

beforeAll(async () => {
  up = await startOpenAIUpstream();
  gw = await startGatewayProcess({
    providers: { up: { type: "openai", base_url: up.url, api_key: up.apiKey } },
    models: ["huge", "gzip-bomb", "endless-line"].map((f) => ({ id: f, provider: "up", upstream_model: `fault-${f}` })).concat([{ id: "ok", provider: "up", upstream_model: "gpt-4o" }]),
    keys: [{ name: "size", key: KEY }],
  });
});
afterAll(async () => {
  await gw?.stop();
  await up.stop();
});

/** The gateway process's peak resident memory so far, in MiB. */
const peakMiB = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${gw.proc.pid}/status`, "utf8"))![1]) / 1024;
const ask = (model: string, stream = false) => post(`${gw.url}/v1/chat/completions`, { model, stream, messages: [{ role: "user", content: "hi" }] }, KEY);

describe("bounded upstream answers", () => {
  test("a 48 MiB JSON answer is a 502 naming the limit", async () => {
    const res = await ask("huge");
    expect(res.status).toBe(502);
    const e = ((await res.json()) as { error: { type: string; message: string } }).error;
    expect(e.type).toBe("upstream_error");
    expect(e.message).toContain("max_upstream_response_bytes");
  });

  test("a gzip bomb (512 MiB decoded) is refused after 32 MiB, and the process never holds it", async () => {
    const res = await ask("gzip-bomb");
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain("larger than 33554432 bytes");
    const peak = peakMiB();
    console.log(`gateway peak RSS after the huge answer and the gzip bomb: ${peak.toFixed(0)} MiB`);
    expect(peak).toBeLessThan(450);
  });

  test("a stream line without a newline ends the stream with an error event once past the limit, without stalling /health", async () => {
    const probe = probeHealth(gw.url);
    const t0 = performance.now();
    const res = await ask("endless-line", true);
    expect(res.status).toBe(200);
    const text = await res.text();
    const ms = performance.now() - t0;
    const { worstMs } = await probe.stop();
    const last = text.trim().split("\n\n").at(-1)!;
    expect(last).toContain('"error"');
    expect(last).toContain("larger than 33554432 bytes");
    expect(text).not.toContain("[DONE]");
    console.log(`endless line: ended in ${ms.toFixed(0)} ms; worst /health ${worstMs.toFixed(1)} ms`);
    expect(ms).toBeLessThan(5000);
    expect(worstMs).toBeLessThan(100);
    expect(peakMiB()).toBeLessThan(450);
  });

  test("the gateway still serves after all of it", async () => {
    expect((await ask("ok")).status).toBe(200);
  });
});

function chunked(parts: number, size: number, first = "data: "): ReadableStream<Uint8Array> {
  const filler = new Uint8Array(size).fill(97);
  let i = -1;
  return new ReadableStream({
    pull(c) {
      if (i === -1) c.enqueue(new TextEncoder().encode(first));
      else if (i < parts) c.enqueue(filler);
      else {
        c.enqueue(new TextEncoder().encode("\n\n"));
        return c.close();
      }
      i++;
    },
  });
}

describe("the SSE parser", () => {
  test("is linear: one 16 MiB line in 16 KiB pieces parses in well under half a second", async () => {
    const t0 = performance.now();
    const events = [];
    for await (const ev of sseEvents(chunked(1024, 16 * 1024), 64 * 1024 * 1024)) events.push(ev);
    expect(events.length).toBe(1);
    expect(events[0]!.data.length).toBe(16 * 1024 * 1024);
    expect(performance.now() - t0).toBeLessThan(500);
  });

  test("an event larger than its bound throws a typed provider failure", async () => {
    let err: unknown;
    try {
      for await (const _ of sseEvents(chunked(100, 16 * 1024), 1024 * 1024)) void _;
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).kind).toBe("upstream_failed");
  });

  test("many data lines adding up past the bound count as one event", async () => {
    const line = `data: ${"b".repeat(1000)}\n`;
    const body = new Response(line.repeat(2000) + "\n").body!;
    let err: unknown;
    try {
      for await (const _ of sseEvents(body, 1024 * 1024)) void _;
    } catch (e) {
      err = e;
    }
    expect((err as GatewayError).kind).toBe("upstream_failed");
  });
});
