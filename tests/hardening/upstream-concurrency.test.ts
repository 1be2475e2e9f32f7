// Hardening 6: thousands of provider calls at once however the gateway is started (Bun's fetch caps at 256 without
// BUN_CONFIG_MAX_HTTP_REQUESTS), and a provider's optional max_concurrent that answers 503 quickly instead of stalling.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { startOpenAIUpstream, type OpenAIUpstream } from "../support/openai-upstream.ts";
import { startSlowUpstream, type SlowUpstream } from "../support/slow-upstream.ts";
import { startGatewayProcess, type GatewayProcess } from "../support/process.ts";
import { post, startGateway, type GatewayHandle } from "../support/gateway.ts";

const KEY = "sk-test-hardening-concurrency";

/** Opens a streaming chat request over a raw socket (the test process's own fetch is capped at 256 too). */
function openStream(port: number, model: string): Promise<{ socket: Socket; received: () => string }> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ model, stream: true, messages: [{ role: "user", content: "hold" }] });
    const socket = connect(port, "127.0.0.1");
    let text = "";
    let resolved = false;
    socket.setEncoding("utf8");
    socket.on("connect", () =>
      socket.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${KEY}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`),
    );
    socket.on("data", (d: string) => {
      text += d;
      if (!resolved && text.includes("data: ")) {
        resolved = true;
        resolve({ socket, received: () => text });
      }
    });
    socket.on("error", (e) => (resolved ? undefined : reject(e)));
  });
}

describe("more than 256 upstream calls", () => {
  let slow: SlowUpstream;
  let fast: OpenAIUpstream;
  let gw: GatewayProcess;
  beforeAll(async () => {
    slow = startSlowUpstream();
    fast = await startOpenAIUpstream();
    gw = await startGatewayProcess({
      providers: { slow: { type: "openai", base_url: slow.url, api_key: "sk-slow" }, fast: { type: "openai", base_url: fast.url, api_key: fast.apiKey } },
      models: [{ id: "slow", provider: "slow" }, { id: "fast", provider: "fast" }],
      keys: [{ name: "c", key: KEY }],
      server: { upstream_timeout_ms: 60_000 },
    });
  });
  afterAll(async () => {
    await gw?.stop();
    slow.release();
    await slow.stop();
    await fast.stop();
  });

  test("the process re-executed itself with BUN_CONFIG_MAX_HTTP_REQUESTS set", () => {
    const environ = readFileSync(`/proc/${gw.proc.pid}/environ`, "utf8").split("\0");
    expect(environ).toContain("BUN_CONFIG_MAX_HTTP_REQUESTS=65336");
  });

  test("2,000 slow streams are all open upstream at once, a fast model still answers at once, and all complete", async () => {
    const N = 2000;
    const streams: Awaited<ReturnType<typeof openStream>>[] = [];
    for (let i = 0; i < N; i += 200) streams.push(...(await Promise.all(Array.from({ length: Math.min(200, N - i) }, () => openStream(gw.port, "slow")))));
    for (let i = 0; i < 100 && slow.open < N; i++) await Bun.sleep(20);
    expect(slow.peak).toBe(N);
    const t0 = performance.now();
    const res = await post(`${gw.url}/v1/chat/completions`, { model: "fast", messages: [{ role: "user", content: "quick" }] }, KEY);
    expect(res.status).toBe(200);
    expect(performance.now() - t0).toBeLessThan(1000);
    slow.release();
    for (let i = 0; i < 250 && streams.some((s) => !s.received().includes("[DONE]")); i++) await Bun.sleep(20);
    expect(streams.filter((s) => s.received().includes("data: [DONE]")).length).toBe(N);
    expect(slow.completed).toBe(N);
    for (const s of streams) s.socket.destroy();
    console.log(`upstream concurrency reached: ${slow.peak} streams`);
  }, 60_000);
});

describe("a provider's max_concurrent", () => {
  let slow: SlowUpstream;
  let fast: OpenAIUpstream;
  let gw: GatewayHandle;
  const ADMIN = "sk-admin-concurrency";
  beforeAll(async () => {
    slow = startSlowUpstream();
    fast = await startOpenAIUpstream();
    gw = await startGateway({
      server: { admin_key: ADMIN },
      providers: {
        slow: { type: "openai", base_url: slow.url, api_key: "sk-slow", max_concurrent: 2, queue_timeout_ms: 300 },
        nowait: { type: "openai", base_url: slow.url, api_key: "sk-slow", max_concurrent: 1, queue_timeout_ms: 0 },
        fast: { type: "openai", base_url: fast.url, api_key: fast.apiKey },
      },
      models: [
        { id: "slow", provider: "slow" },
        { id: "nowait", provider: "nowait" },
        { id: "spill", targets: [{ provider: "nowait", upstream_model: "spill" }, { provider: "fast" }], strategy: "ordered" },
      ],
      keys: [{ name: "c", key: KEY }],
      routing: { cooldown_failures: 1 },
    });
  });
  afterAll(async () => {
    slow.release();
    await gw.stop();
    await slow.stop();
    await fast.stop();
  });

  const stream = (model: string) => post(`${gw.baseURL}/chat/completions`, { model, stream: true, messages: [{ role: "user", content: "x" }] }, KEY);

  test("past the limit a call waits its queue time, then gets a fast 503 that does not open the breaker", async () => {
    const a = await stream("slow");
    const b = await stream("slow");
    expect([a.status, b.status]).toEqual([200, 200]);
    const t0 = performance.now();
    const c = await stream("slow");
    const waited = performance.now() - t0;
    expect(c.status).toBe(503);
    expect(c.headers.get("retry-after")).toBe("1");
    expect(((await c.json()) as { error: { code: string } }).error.code).toBe("provider_busy");
    expect(waited).toBeGreaterThanOrEqual(280);
    expect(waited).toBeLessThan(1500);
    expect(slow.open).toBe(2);
    // A queued call gets the slot a finished one frees.
    const queued = stream("slow");
    await Bun.sleep(50);
    slow.release();
    await a.text();
    await b.text();
    const q = await queued;
    expect(q.status).toBe(200);
    // It opened its upstream stream after the release: let that one finish too.
    slow.release();
    await q.text();
    const health = (await (await fetch(`${gw.url}/health/providers`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as { data: { id: string; state: string; errors: { total: number } }[] };
    const h = health.data.find((d) => d.id === "slow/slow")!;
    expect(h.state).toBe("healthy");
    expect(h.errors.total).toBe(0);
  });

  test("queue_timeout_ms 0 answers 503 at once; a model with another target spills over to it", async () => {
    const held = await stream("nowait");
    expect(held.status).toBe(200);
    const t0 = performance.now();
    const refused = await stream("nowait");
    expect(refused.status).toBe(503);
    expect(performance.now() - t0).toBeLessThan(200);
    const spilled = await post(`${gw.baseURL}/chat/completions`, { model: "spill", messages: [{ role: "user", content: "x" }] }, KEY);
    expect(spilled.status).toBe(200);
    expect(spilled.headers.get("x-switchboard-deployment")).toBe("fast/spill");
    slow.release();
    await held.text();
  });
});
