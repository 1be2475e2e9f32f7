// Hardening 13 and 15: SIGTERM drains for server.shutdown_grace_s, then ends what is left with an answer and a log line;
// and `npm start` passes npm's SIGTERM on to the gateway, which stops and frees its port.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { startOpenAIUpstream, type OpenAIUpstream } from "../support/openai-upstream.ts";
import { startSlowUpstream, type SlowUpstream } from "../support/slow-upstream.ts";
import { freePort, startGatewayProcess } from "../support/process.ts";
import { post } from "../support/gateway.ts";

const KEY = "sk-test-hardening-shutdown";
let slow: SlowUpstream;
let up: OpenAIUpstream;

beforeAll(async () => {
  slow = startSlowUpstream();
  up = await startOpenAIUpstream();
});
afterAll(async () => {
  slow.release();
  await slow.stop();
  await up.stop();
});

const config = (grace: number) => ({
  server: { shutdown_grace_s: grace },
  providers: { slow: { type: "openai", base_url: slow.url, api_key: "sk-slow" }, up: { type: "openai", base_url: up.url, api_key: up.apiKey } },
  models: [{ id: "slow", provider: "slow" }, { id: "hang", provider: "up", upstream_model: "fault-hang" }, { id: "ok", provider: "up" }],
  keys: [{ name: "shutdown", key: KEY }],
});
const ask = (url: string, model: string, stream: boolean) => post(`${url}/v1/chat/completions`, { model, stream, messages: [{ role: "user", content: "x" }] }, KEY);
const logLines = (stdout: string) => stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);

describe("SIGTERM", () => {
  test("requests that finish within the window complete; the rest get an error event or a 503, and a log line each", async () => {
    const gw = await startGatewayProcess(config(1));
    const cutStream = await ask(gw.url, "slow", true);
    expect(cutStream.status).toBe(200);
    const hanging = ask(gw.url, "hang", false);
    await Bun.sleep(100);
    const t0 = performance.now();
    gw.proc.kill("SIGTERM");
    const [streamText, json] = await Promise.all([cutStream.text(), hanging]);
    const code = await gw.proc.exited;
    const ms = performance.now() - t0;
    expect(code).toBe(0);
    expect(ms).toBeGreaterThan(900);
    expect(ms).toBeLessThan(3000);
    const last = streamText.trim().split("\n\n").at(-1)!;
    expect(last).toContain('"code":"server_shutting_down"');
    expect(streamText).not.toContain("[DONE]");
    expect(json.status).toBe(503);
    expect(json.headers.get("retry-after")).toBe("1");
    expect(((await json.json()) as { error: { code: string } }).error.code).toBe("server_shutting_down");
    await Bun.sleep(50);
    const lines = logLines(gw.stdout()).filter((l) => l.msg === "request");
    expect(lines.find((l) => l.model === "slow")?.error).toContain("shutting down");
    expect(lines.find((l) => l.model === "hang")?.status).toBe(503);
    expect(gw.stderr()).toContain("ended 2 requests still in flight");
  });

  test("a stream that ends inside the window is not cut", async () => {
    const gw = await startGatewayProcess(config(5));
    const res = await ask(gw.url, "slow", true);
    gw.proc.kill("SIGTERM");
    setTimeout(() => slow.release(), 300);
    const text = await res.text();
    expect(await gw.proc.exited).toBe(0);
    expect(text.trim().endsWith("data: [DONE]")).toBe(true);
    expect(gw.stderr()).not.toContain("drain window over");
  });
});

describe("npm start", () => {
  test("SIGTERM to npm reaches the gateway: it drains, exits and frees its port", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sb-npm-"));
    const file = join(dir, "c.yaml");
    // npm start runs in the checkout: keep its store in the temp dir.
    writeFileSync(file, JSON.stringify({ ...config(5), store: { url: `sqlite://${join(dir, "sb.db")}` } }));
    const port = freePort();
    const npm = Bun.spawn(["npm", "start", "--silent", "--", "--config", file, "--port", String(port)], {
      cwd: join(import.meta.dir, "..", ".."),
      stdout: "ignore",
      stderr: "pipe",
    });
    const url = `http://127.0.0.1:${port}`;
    let up = false;
    for (let i = 0; i < 200 && !up; i++) {
      up = await fetch(`${url}/health`).then((r) => r.ok, () => false);
      if (!up) await Bun.sleep(50);
    }
    expect(up).toBe(true);
    expect((await ask(url, "ok", false)).status).toBe(200);
    npm.kill("SIGTERM");
    const code = await npm.exited;
    expect(code).toBe(0);
    // The gateway itself is gone (not an orphan holding the port).
    let closed = false;
    for (let i = 0; i < 60 && !closed; i++) {
      closed = await fetch(`${url}/health`).then(() => false, () => true);
      if (!closed) await Bun.sleep(50);
    }
    expect(closed).toBe(true);
    expect(await new Response(npm.stderr).text()).toContain("SIGTERM: draining");
  }, 30_000);
});
