// Streams are forwarded as they arrive, and a client that leaves cancels the provider call at once.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { startOpenAIUpstream, type OpenAIUpstream } from "../../support/openai-upstream.ts";
import { post, startGateway, type GatewayHandle } from "../../support/gateway.ts";
import { dataPayloads, expectValidStream } from "../../support/stream-invariants.ts";

let up: OpenAIUpstream;
let gw: GatewayHandle;
const KEY = "sk-test-stream-0001";

beforeAll(async () => {
  up = await startOpenAIUpstream();
  gw = await startGateway({
    providers: { up: { type: "openai", base_url: up.url, api_key: up.apiKey } },
    models: [{ id: "fault-slow", provider: "up" }, { id: "fault-hang-stream", provider: "up" }, { id: "fault-hang", provider: "up" }, { id: "gpt-4o", provider: "up" }],
    keys: [{ name: "t", key: KEY }],
  });
});
afterAll(async () => {
  await gw.stop();
  await up.stop();
});

const body = (model: string) => ({ model, stream: true, messages: [{ role: "user", content: "one two three four five" }] });

describe("streaming", () => {
  test("chunks reach the client as the provider produces them, not buffered", async () => {
    const res = await post(`${gw.baseURL}/chat/completions`, body("fault-slow"), KEY);
    const reader = res.body!.getReader();
    const t0 = performance.now();
    const first = await reader.read();
    const firstAt = performance.now() - t0;
    expect(new TextDecoder().decode(first.value)).toContain('"role":"assistant"');
    let rest = "";
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      rest += new TextDecoder().decode(r.value);
    }
    const total = performance.now() - t0;
    // The slow fixture spaces chunks 150 ms apart: the first must arrive well before the last.
    expect(total - firstAt).toBeGreaterThan(600);
    expect(rest).toContain("[DONE]");
  });

  test("a client abort mid-stream cancels the upstream stream", async () => {
    const before = up.calls.filter((c) => c.aborted).length;
    const res = await post(`${gw.baseURL}/chat/completions`, body("fault-hang-stream"), KEY);
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    await up.waitForAbort(before + 1, 2000);
    // The log line records the client leaving.
    await Bun.sleep(20);
    expect(gw.logs.some((l) => l.model === "fault-hang-stream" && l.status === 499)).toBe(true);
  });

  test("a client abort before the provider answers aborts the upstream request", async () => {
    const before = up.calls.filter((c) => c.aborted).length;
    const ac = new AbortController();
    const p = fetch(`${gw.baseURL}/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
      body: JSON.stringify(body("fault-hang")),
      signal: ac.signal,
    }).catch((e: unknown) => e);
    await Bun.sleep(100);
    ac.abort();
    await p;
    await up.waitForAbort(before + 1, 2000);
  });

  test("the openai client's abort cancels the upstream too", async () => {
    const before = up.calls.filter((c) => c.aborted).length;
    const client = new OpenAI({ baseURL: gw.baseURL, apiKey: KEY });
    const s = await client.chat.completions.create({ model: "fault-slow", stream: true, messages: [{ role: "user", content: "a b c d e f g h" }] });
    let n = 0;
    for await (const _ of s) {
      if (++n === 2) s.controller.abort();
    }
    await up.waitForAbort(before + 1, 2000);
  });

  test("a complete stream keeps every invariant", async () => {
    const res = await post(`${gw.baseURL}/chat/completions`, body("gpt-4o"), KEY);
    expectValidStream(dataPayloads(await res.text()), { model: "gpt-4o" });
  });
});
