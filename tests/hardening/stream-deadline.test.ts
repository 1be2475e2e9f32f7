// Hardening 7: the upstream limit bounds waiting (first byte, silence between chunks), not a stream that keeps flowing;
// a deadline after the first byte ends the stream with an error event and never marks the deployment failed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startOpenAIUpstream, type OpenAIUpstream } from "../support/openai-upstream.ts";
import { post, startGateway, type GatewayHandle } from "../support/gateway.ts";
import { requestDeadline } from "../../src/http/deadline.ts";

const KEY = "sk-test-hardening-deadline";
const ADMIN = "sk-admin-hardening-deadline";
let up: OpenAIUpstream;
let gw: GatewayHandle;
let capped: GatewayHandle;

beforeAll(async () => {
  up = await startOpenAIUpstream();
  const base = {
    providers: { up: { type: "openai", base_url: up.url, api_key: up.apiKey }, up2: { type: "openai", base_url: up.url, api_key: up.apiKey, timeout_ms: 400 } },
    models: [
      { id: "slow", provider: "up", upstream_model: "fault-slow" },
      { id: "pause", provider: "up", upstream_model: "fault-pause" },
      // Two targets: the provider's timeout_ms bounds each attempt, which must not cut a flowing stream either.
      { id: "slow-multi", targets: [{ provider: "up2", upstream_model: "fault-slow" }, { provider: "up2", upstream_model: "fault-slow-b" }], strategy: "ordered" },
    ],
    keys: [{ name: "deadline", key: KEY }],
    routing: { cooldown_failures: 1 },
  };
  gw = await startGateway({ ...base, server: { upstream_timeout_ms: 400, admin_key: ADMIN } });
  capped = await startGateway({ ...base, server: { upstream_timeout_ms: 5000, max_stream_duration_ms: 500, admin_key: ADMIN } });
});
afterAll(async () => {
  await gw.stop();
  await capped.stop();
  await up.stop();
});

const ask = (g: GatewayHandle, model: string) =>
  post(`${g.baseURL}/chat/completions`, { model, stream: true, messages: [{ role: "user", content: "one two three four five six seven" }] }, KEY);

async function health(g: GatewayHandle) {
  const res = await fetch(`${g.url}/health/providers`, { headers: { authorization: `Bearer ${ADMIN}` } });
  return ((await res.json()) as { data: { id: string; state: string; errors: { total: number } }[] }).data;
}

describe("streams and the upstream limit", () => {
  test("a stream that keeps flowing past upstream_timeout_ms is not cut", async () => {
    const t0 = performance.now();
    const text = await (await ask(gw, "slow")).text();
    expect(performance.now() - t0).toBeGreaterThan(800);
    expect(text).not.toContain('"error"');
    expect(text.trim().endsWith("data: [DONE]")).toBe(true);
  });

  test("nor past a provider's timeout_ms on a model with several targets", async () => {
    const text = await (await ask(gw, "slow-multi")).text();
    expect(text).not.toContain('"error"');
    expect(text.trim().endsWith("data: [DONE]")).toBe(true);
  });

  test("silence longer than the limit ends the stream with an error event; the deployment is not marked failed", async () => {
    const t0 = performance.now();
    const text = await (await ask(gw, "pause")).text();
    const ms = performance.now() - t0;
    expect(ms).toBeGreaterThan(350);
    expect(ms).toBeLessThan(2000);
    const last = text.trim().split("\n\n").at(-1)!;
    expect(last).toContain('"type":"timeout_error"');
    expect(last).toContain("sent nothing for 400 ms");
    expect(text).not.toContain("[DONE]");
    const h = (await health(gw)).find((d) => d.id === "up/fault-pause")!;
    expect(h.state).toBe("healthy");
    expect(h.errors.total).toBe(0);
    const line = gw.logs.findLast((l) => l.model === "pause")!;
    expect(line.error).toBeDefined();
  });

  test("max_stream_duration_ms ends a long flowing stream with an error event, without blaming the deployment", async () => {
    const text = await (await ask(capped, "slow")).text();
    const last = text.trim().split("\n\n").at(-1)!;
    expect(last).toContain("maximum duration");
    const h = (await health(capped)).find((d) => d.id === "up/fault-slow")!;
    expect(h.state).toBe("healthy");
    expect(h.errors.total).toBe(0);
  });
});

describe("the deadline", () => {
  test("once streaming, touches keep it alive; silence past the limit expires it", async () => {
    const d = requestDeadline(new AbortController().signal, 60);
    d.streaming();
    for (let i = 0; i < 6; i++) {
      await Bun.sleep(30);
      d.touch();
    }
    expect(d.signal.aborted).toBe(false);
    await Bun.sleep(120);
    expect(d.signal.aborted).toBe(true);
    expect(d.expired).toBe(true);
    d.release();
  });
  test("a client leaving is not an expiry", () => {
    const client = new AbortController();
    const d = requestDeadline(client.signal, 1000);
    client.abort();
    expect(d.signal.aborted).toBe(true);
    expect(d.expired).toBe(false);
    d.release();
  });
});
