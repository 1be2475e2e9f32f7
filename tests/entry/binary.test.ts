// The one executable: `bun build --compile` output serves the same API with the same flags.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { freePort, buildExecutable } from "../support/process.ts";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startOtlpReceiver } from "../support/otlp-receiver.ts";
import { parseProm, series } from "../support/prometheus.ts";
import { startOpenAIUpstream, type OpenAIUpstream } from "../support/openai-upstream.ts";
import { startGeminiUpstream, type GeminiUpstream } from "../support/gemini-upstream.ts";

const dir = mkdtempSync(join(tmpdir(), "sb-bin-"));
const bin = join(dir, "switchboard");
let proc: ReturnType<typeof Bun.spawn> | undefined;
const port = freePort();
const collector = startOtlpReceiver();
let openai: OpenAIUpstream;
let gemini: GeminiUpstream;
let stderr = "";

beforeAll(async () => {
  const root = join(import.meta.dir, "../..");
  buildExecutable(bin);
  [openai, gemini] = await Promise.all([startOpenAIUpstream(), startGeminiUpstream()]);
  const cfg = join(dir, "c.yaml");
  writeFileSync(
    cfg,
    "providers:\n  e:\n    type: echo\n" +
      // Provider modules are loaded by `require` for the configured types only: these must be inside the executable.
      `  o:\n    type: openai\n    base_url: ${openai.url}\n    api_key: ${openai.apiKey}\n  g:\n    type: gemini\n    base_url: ${gemini.url}\n    api_key: ${gemini.apiKey}\n` +
      "models:\n  - id: echo\n    provider: e\n  - id: gpt-4o\n    provider: o\n  - id: gemini-2.5-flash\n    provider: g\nkeys:\n  - name: a\n    key: ${BIN_TEST_KEY}\n    rpm: 100\n    tpm: 100000\n" +
      `server:\n  admin_key: sk-binary-admin-1\nstore:\n  url: sqlite://${join(dir, "bin.db")}\n` +
      `telemetry:\n  otlp_endpoint: ${collector.url}\n  batch_delay_ms: 20\n`,
  );
  proc = Bun.spawn([bin, "--config", cfg, "--port", String(port)], { env: { ...process.env, BIN_TEST_KEY: "sk-binary-test-1" }, stdout: "ignore", stderr: "pipe" });
  void (async () => {
    const dec = new TextDecoder();
    for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) stderr += dec.decode(chunk, { stream: true });
  })().catch(() => {});
  for (let i = 0; i < 100; i++) {
    if (await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false)) return;
    await Bun.sleep(50);
  }
  throw new Error("compiled binary did not start");
}, 120_000);
afterAll(() => {
  proc?.kill();
  collector.stop();
  openai?.stop();
  gemini?.stop();
});

test("the compiled binary answers JSON and streams", async () => {
  const call = (stream: boolean, model = "echo") =>
    fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: "Bearer sk-binary-test-1", "content-type": "application/json" },
      body: JSON.stringify({ model, stream, messages: [{ role: "user", content: "compiled hello" }] }),
    });
  const first = await call(false);
  // tpm is set: the tokenizer (loaded by require at start-up) must be inside the executable too.
  expect(first.headers.get("x-ratelimit-limit-tokens")).toBe("100000");
  const json = (await first.json()) as { choices: { message: { content: string } }[] };
  expect(json.choices[0]!.message.content).toBe("compiled hello");
  const sse = await (await call(true)).text();
  expect(sse).toContain('"content":"compiled "');
  expect(sse.trim().endsWith("data: [DONE]")).toBe(true);
  for (const [model, fake] of [["gpt-4o", openai], ["gemini-2.5-flash", gemini]] as const) {
    const r = await call(false, model);
    expect(r.status).toBe(200);
    expect(((await r.json()) as { model: string }).model).toBe(model);
    expect(fake.calls.length).toBe(1);
  }
  const v = Bun.spawnSync([bin, "--version"]);
  expect(v.stdout.toString().trim()).toMatch(/^\d+\.\d+\.\d+$/);
});

test("the compiled binary re-executes itself once with Bun's fetch cap lifted (same pid, same arguments)", () => {
  const environ = readFileSync(`/proc/${proc!.pid}/environ`, "utf8").split("\0");
  expect(environ).toContain("BUN_CONFIG_MAX_HTTP_REQUESTS=65336");
  const cmdline = readFileSync(`/proc/${proc!.pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  expect(cmdline).toEqual([bin, "--config", join(dir, "c.yaml"), "--port", String(port)]);
});

test("the compiled binary runs the store's migrations from inside itself and serves the admin API", async () => {
  const { LATEST_VERSION } = await import("../../src/store/migrations/index.ts");
  const { Database } = await import("bun:sqlite");
  const db = new Database(join(dir, "bin.db"), { readonly: true });
  expect((db.query("SELECT MAX(version) AS v FROM schema_migrations").get() as { v: number }).v).toBe(LATEST_VERSION);
  db.close();
  const created = await fetch(`http://127.0.0.1:${port}/admin/v1/keys`, { method: "POST", headers: { authorization: "Bearer sk-binary-admin-1" }, body: JSON.stringify({ name: "from-binary" }) });
  expect(created.status).toBe(201);
  const { key } = (await created.json()) as { key: string };
  const info = await fetch(`http://127.0.0.1:${port}/v1/key/info`, { headers: { authorization: `Bearer ${key}` } });
  expect(((await info.json()) as { name: string }).name).toBe("from-binary");
});

test("prom-client (process metrics included) and OpenTelemetry's exporter work inside the executable", async () => {
  const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
  const r = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: "Bearer sk-binary-test-1", "content-type": "application/json", traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    body: JSON.stringify({ model: "echo", messages: [{ role: "user", content: "traced" }] }),
  });
  expect(r.status).toBe(200);
  const m = parseProm(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
  expect(m.get(series("switchboard_requests_total", { model: "echo", provider: "e", status: 200 }))).toBeGreaterThanOrEqual(1);
  expect(m.get("process_resident_memory_bytes")).toBeGreaterThan(0);
  const mine = await collector.waitForTrace(traceId, 2);
  expect(mine.map((s) => s.kind).sort()).toEqual([2, 3]);
  expect(mine[0]!.resource["service.name"]).toBe("switchboard");
});

test("SIGHUP reloads the executable's config file; an invalid one is refused and the running config keeps serving", async () => {
  const cfg = join(dir, "c.yaml");
  const original = readFileSync(cfg, "utf8");
  const key = { authorization: "Bearer sk-binary-test-1" };
  const ids = async () => ((await (await fetch(`http://127.0.0.1:${port}/v1/models`, { headers: key })).json()) as { data: { id: string }[] }).data.map((m) => m.id);
  const chat = (model: string) =>
    fetch(`http://127.0.0.1:${port}/v1/chat/completions`, { method: "POST", headers: { ...key, "content-type": "application/json" }, body: JSON.stringify({ model, messages: [{ role: "user", content: "hup" }] }) });
  const eventually = async (ok: () => Promise<boolean> | boolean) => {
    for (let i = 0; i < 100 && !(await ok()); i++) await Bun.sleep(50);
    return ok();
  };
  writeFileSync(cfg, original.replace("models:\n  - id: echo\n    provider: e\n", "models:\n  - id: echo\n    provider: e\n  - id: echo-two\n    provider: e\n"));
  proc!.kill("SIGHUP");
  expect(await eventually(async () => (await ids()).includes("echo-two"))).toBe(true);
  expect((await chat("echo-two")).status).toBe(200);
  expect(stderr).toContain("SIGHUP: config reloaded (models +echo-two)");

  writeFileSync(cfg, original.replace("provider: e\n", "provider: nope\n"));
  proc!.kill("SIGHUP");
  expect(await eventually(() => stderr.includes("SIGHUP: invalid config: models[0].provider: no provider named 'nope' in providers; the running config stays"))).toBe(true);
  expect((await chat("echo-two")).status).toBe(200);
  expect(proc!.exitCode).toBeNull();
  writeFileSync(cfg, original);
});

test("the compiled binary writes usage events from its event thread (the worker entry is inside it)", async () => {
  // Events of the earlier tests may still be on their way (batches leave every 200 ms): wait until the count holds.
  let before = await usageRequests();
  for (let i = 0; i < 20; i++) {
    await Bun.sleep(300);
    const now = await usageRequests();
    if (now === before) break;
    before = now;
  }
  for (let i = 0; i < 3; i++) {
    const r = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: "Bearer sk-binary-test-1", "content-type": "application/json" },
      body: JSON.stringify({ model: "echo", messages: [{ role: "user", content: "counted" }] }),
    });
    expect(r.status).toBe(200);
  }
  let after = before;
  for (let i = 0; i < 40 && after < before + 3; i++) {
    await Bun.sleep(100);
    after = await usageRequests();
  }
  expect(after).toBe(before + 3);
});

async function usageRequests(): Promise<number> {
  const r = await fetch(`http://127.0.0.1:${port}/admin/v1/usage`, { headers: { authorization: "Bearer sk-binary-admin-1" } });
  return ((await r.json()) as { data: { requests: number }[] }).data.reduce((n, row) => n + row.requests, 0);
}
