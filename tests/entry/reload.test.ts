// Config reload without a restart (POST /admin/v1/reload): new models, keys, limits and prices for new requests; streams in flight finish on the old config; state carries over; an invalid file changes nothing.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, loadConfigFile } from "../../src/config/load.ts";
import { openStore } from "../../src/store/open.ts";
import type { Store } from "../../src/store/store.ts";
import { describeChanges } from "../../src/entry/runtime.ts";
import { buildConfig } from "../../src/config/load.ts";
import { post, startGateway, type GatewayHandle } from "../support/gateway.ts";
import { startOpenAIUpstream, type OpenAIUpstream } from "../support/openai-upstream.ts";
import { scrape, series } from "../support/prometheus.ts";
import { MAIN } from "../support/process.ts";

const ADMIN = "sk-reload-admin-0001";
const K = { main: "sk-reload-main-00001", win: "sk-reload-window-001", budget: "sk-reload-budget-001", gone: "sk-reload-gone-00001", added: "sk-reload-added-0001" };
const dir = mkdtempSync(join(tmpdir(), "sb-reload-"));
const file = join(dir, "switchboard.yaml");
let up: OpenAIUpstream;
let store: Store;
let g: GatewayHandle;

/** The config as data; `change` edits a copy (JSON is YAML, so it is written as it is). */
function config(change: (c: Record<string, any>) => void = () => {}) {
  const c: Record<string, any> = {
    server: { admin_key: ADMIN },
    store: { url: `sqlite://${join(dir, "reload.db")}` },
    providers: { up: { type: "openai", base_url: up.url, api_key: "${RELOAD_UPSTREAM_KEY}" } },
    models: [
      { id: "gpt", provider: "up" },
      { id: "slow", provider: "up", upstream_model: "fault-slow" },
      { id: "failing", provider: "up", upstream_model: "fault-503", max_attempts: 1 },
    ],
    keys: [
      { name: "main", key: K.main },
      { name: "win", key: K.win, rpm: 3 },
      { name: "budget", key: K.budget, budget: { usd: 5, period: "day" } },
      { name: "gone", key: K.gone },
    ],
    prices: { gpt: { input_per_mtok: 1000, output_per_mtok: 2000 } },
    routing: { cooldown_failures: 1, cooldown_ms: 600000 },
  };
  change(c);
  return c;
}
const env = () => ({ ...process.env, RELOAD_UPSTREAM_KEY: up.apiKey });
const write = (c: object) => writeFileSync(file, JSON.stringify(c, null, 2));
const reload = () => fetch(`${g.url}/admin/v1/reload`, { method: "POST", headers: { authorization: `Bearer ${ADMIN}` } });
const chat = (model: string, key = K.main, extra: object = {}) => post(`${g.baseURL}/chat/completions`, { model, messages: [{ role: "user", content: "Hello reload" }], ...extra }, key);
const modelIds = async () => ((await (await fetch(`${g.baseURL}/models`, { headers: { authorization: `Bearer ${K.main}` } })).json()) as { data: { id: string }[] }).data.map((m) => m.id);

beforeAll(async () => {
  up = await startOpenAIUpstream();
  write(config());
  store = await openStore(`sqlite://${join(dir, "reload.db")}`);
  g = await startGateway(config(), { store, loadConfig: () => loadConfigFile(file, env()), routing: { sleep: async () => {} } }, env());
  await g.gateway.ready;
});
afterAll(async () => {
  await g.stop();
  await store.close();
  await up.stop();
});

describe("POST /admin/v1/reload", () => {
  test("needs the admin key", async () => {
    expect((await fetch(`${g.url}/admin/v1/reload`, { method: "POST" })).status).toBe(401);
    expect((await fetch(`${g.url}/admin/v1/reload`, { method: "POST", headers: { authorization: `Bearer ${K.main}` } })).status).toBe(401);
  });

  test("a reload adds a model while a stream started before it completes with [DONE] on the old config", async () => {
    const r = await chat("slow", K.main, { stream: true });
    expect(r.status).toBe(200);
    const reader = r.body!.getReader();
    const dec = new TextDecoder();
    let text = dec.decode((await reader.read()).value);
    // The new file adds gpt-new and drops the model this stream is on.
    write(config((c) => (c.models = [...c.models.filter((m: { id: string }) => m.id !== "slow"), { id: "gpt-new", provider: "up", upstream_model: "gpt-4o" }])));
    const answer = await reload();
    expect(answer.status).toBe(200);
    const body = (await answer.json()) as { status: string; changes: string };
    expect(body.status).toBe("reloaded");
    expect(body.changes).toContain("models +gpt-new -slow");

    // New requests see the new config at once, while the stream is still running.
    expect((await chat("gpt-new")).status).toBe(200);
    expect((await chat("slow")).status).toBe(404);
    const ids = await modelIds();
    expect(ids).toContain("gpt-new");
    expect(ids).not.toContain("slow");
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += dec.decode(value);
    }
    expect(text.trim().endsWith("data: [DONE]")).toBe(true);
    expect(text).toContain('"finish_reason":"stop"');
    const line = g.logs.find((l) => l.msg === "config reloaded");
    expect(line?.changes).toContain("models +gpt-new -slow");
    // The new model has its own series (not `other`).
    expect((await scrape(g.url)).get(series("switchboard_requests_total", { model: "gpt-new", provider: "up", status: 200 }))).toBe(1);
  });

  test("an invalid file is refused in the start-up's words, naming the field, and the old config keeps serving", async () => {
    const bad = config((c) => c.models.push({ id: "broken", provider: "nope" }));
    write(bad);
    const expected = await loadConfigFile(file, env()).then(
      () => "",
      (e: unknown) => (e instanceof ConfigError ? e.message : ""),
    );
    expect(expected).toStartWith("models[3].provider:");
    const r = await reload();
    expect(r.status).toBe(400);
    const err = ((await r.json()) as { error: { message: string; type: string; param: string | null } }).error;
    expect(err.message).toBe(`invalid config: ${expected}`);
    expect(err.type).toBe("invalid_request_error");
    expect(err.param).toBe("models[3].provider");
    // The running config is untouched: the model of the last good reload still answers, the broken one was never added.
    expect((await chat("gpt-new")).status).toBe(200);
    expect((await modelIds()).includes("broken")).toBe(false);
    // The CLI says the same at start-up.
    const cli = Bun.spawnSync([process.execPath, MAIN, "--config", file, "--port", "0"], { env: env(), stderr: "pipe" });
    expect(cli.exitCode).toBe(2);
    expect(cli.stderr.toString()).toContain(`invalid config: ${expected}`);

    for (const [text, field] of [
      ["models: [ {id: x", null],
      [JSON.stringify(config((c) => (c.providers.up.api_key = "${RELOAD_NOT_SET_ANYWHERE}"))), "providers.up.api_key"],
      [JSON.stringify(config((c) => (c.keys[0].rpm = "many"))), "keys[0].rpm"],
      [JSON.stringify(config((c) => (c.models[0].params = { temperature: 9 }))), "models[0].params.temperature"],
    ] as const) {
      writeFileSync(file, text);
      const res = await reload();
      expect(res.status).toBe(400);
      const e = ((await res.json()) as { error: { message: string; param: string | null } }).error;
      expect(e.message).toStartWith("invalid config: ");
      if (field) expect(e.param).toBe(field);
    }
    expect((await chat("gpt")).status).toBe(200);
    expect(g.logs.some((l) => l.msg === "config reload refused; the running config stays" && String(l.error).startsWith("invalid config: models[3].provider"))).toBe(true);
  });

  test("limiter windows, breaker state and budget spend carry over; keys, limits and prices change for new requests", async () => {
    write(config());
    expect((await reload()).status).toBe(200);
    // Two of the window key's three requests, a spend on the budget key, a breaker opened by one failure.
    expect((await chat("gpt", K.win)).status).toBe(200);
    expect((await chat("gpt", K.win)).status).toBe(200);
    expect((await chat("gpt", K.budget)).status).toBe(200);
    expect((await chat("failing")).status).toBe(502);
    const info = async () => ((await (await fetch(`${g.baseURL}/key/info`, { headers: { authorization: `Bearer ${K.budget}` } })).json()) as { budget: { spent_usd: number } }).budget.spent_usd;
    const spent = await info();
    expect(spent).toBeGreaterThan(0);
    const before = await scrape(g.url);
    expect(before.get(series("switchboard_deployment_cooling", { provider: "up", upstream_model: "fault-503" }))).toBe(1);

    // The new file: a key gone, a key added, the price of gpt ten times lower, a new default for keys without limits.
    write(
      config((c) => {
        c.keys = [...c.keys.filter((k: { name: string }) => k.name !== "gone"), { name: "added", key: K.added }];
        c.prices.gpt = { input_per_mtok: 100, output_per_mtok: 200 };
        c.models.push({ id: "gpt-new", provider: "up", upstream_model: "gpt-4o" });
      }),
    );
    const r = await reload();
    expect(r.status).toBe(200);
    expect(((await r.json()) as { changes: string }).changes).toBe("models +gpt-new; keys +added -gone; prices ~gpt");

    expect((await chat("gpt", K.win)).status).toBe(200);
    expect((await chat("gpt", K.win)).status).toBe(429);
    expect(await info()).toBe(spent);
    const health = ((await (await fetch(`${g.url}/health/providers`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as { data: { id: string; state: string }[] }).data;
    expect(health.find((d) => d.id === "up/fault-503")?.state).toBe("cooling_down");
    expect((await chat("failing")).status).toBe(502);
    expect((await chat("gpt", K.gone)).status).toBe(401);
    expect((await chat("gpt", K.added)).status).toBe(200);
    const prices = ((await (await fetch(`${g.url}/admin/v1/prices`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as { data: { model: string; input_per_mtok: number }[] }).data;
    expect(prices.find((p) => p.model === "gpt")?.input_per_mtok).toBe(100);
    // The cost metric prices the same 19 + 10 tokens at the new rates: (19 × 100 + 10 × 200) / 1e6 USD.
    const m0 = await scrape(g.url);
    expect((await chat("gpt")).status).toBe(200);
    const m1 = await scrape(g.url);
    const cost = series("switchboard_cost_usd_total", { model: "gpt", provider: "up" });
    expect((m1.get(cost) ?? 0) - (m0.get(cost) ?? 0)).toBeCloseTo((19 * 100 + 10 * 200) / 1e6, 9);
  });
});

test("describeChanges names what changed, and what takes a restart, without secrets", () => {
  const base = { providers: { o: { type: "openai", base_url: "https://api.openai.com/v1", api_key: "sk-secret-aaaa" } }, models: [{ id: "m", provider: "o" }], keys: [{ name: "a", key: "sk-key-secret-1" }] };
  const a = buildConfig(base, "t", {});
  const b = buildConfig({ ...base, server: { port: 9999, upstream_timeout_ms: 1000 }, keys: [{ name: "a", key: "sk-key-secret-2" }], routing: { cooldown_ms: 5 } }, "t", {});
  const d = describeChanges(a, b);
  expect(d.summary).toBe("keys ~a; routing; server.{upstream_timeout_ms}");
  expect(d.restartNeeded).toEqual(["server.port"]);
  expect(JSON.stringify(d)).not.toContain("secret");
  expect(describeChanges(a, a).summary).toBe("no changes");
});
