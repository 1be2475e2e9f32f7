// Honest warnings, model defaults and the usage opt-out: x-switchboard-warnings, unsupported_params, params, include_usage:false.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { startAnthropicUpstream, text, type AnthropicUpstream } from "../support/anthropic-upstream.ts";
import { startOpenAIUpstream, type OpenAIUpstream } from "../support/openai-upstream.ts";
import { startGateway, post, type GatewayHandle } from "../support/gateway.ts";
import { dataPayloads } from "../support/stream-invariants.ts";
import { buildConfig } from "../../src/config/load.ts";
import { createApp } from "../../src/entry/app.ts";
import { createMemoryLogger } from "../../src/observability/log.ts";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const KEY = "sk-test-warnings-1";
let an: AnthropicUpstream;
let oa: OpenAIUpstream;
let gw: GatewayHandle;
let client: OpenAI;
const lastAnthropic = () => an.calls.at(-1)!.body as Record<string, unknown>;

beforeAll(async () => {
  an = await startAnthropicUpstream();
  oa = await startOpenAIUpstream();
  gw = await startGateway({
    providers: {
      claude: { type: "anthropic", base_url: an.url, api_key: an.apiKey },
      openai: { type: "openai", base_url: oa.url, api_key: oa.apiKey },
      local: { type: "echo" },
    },
    models: [
      { id: "claude", provider: "claude", upstream_model: "claude-sonnet-4-5", max_attempts: 1 },
      { id: "claude-strict", provider: "claude", upstream_model: "claude-sonnet-4-5", max_attempts: 1, unsupported_params: "error" },
      { id: "claude-cool", provider: "claude", upstream_model: "claude-sonnet-4-5", max_attempts: 1, params: { temperature: 0.3, max_tokens: 333 } },
      { id: "gpt", provider: "openai", upstream_model: "gpt-4o-mini" },
      { id: "echo", provider: "local" },
    ],
    keys: [{ name: "w", key: KEY }],
  });
  client = new OpenAI({ baseURL: gw.baseURL, apiKey: KEY, maxRetries: 0 });
});
afterAll(async () => {
  await gw.stop();
  await an.stop();
  await oa.stop();
});

describe("x-switchboard-warnings", () => {
  test("JSON: a dropped parameter is named in the header, and nothing is named when all was honoured", async () => {
    an.reply(text("ok"));
    const { response } = await client.chat.completions
      .create({ model: "claude", messages: [{ role: "user", content: "hi" }], frequency_penalty: 0.5, temperature: 1.5 })
      .withResponse();
    const h = response.headers.get("x-switchboard-warnings") ?? "";
    expect(h).toContain("'frequency_penalty'");
    expect(h).toContain("temperature 1.5 clamped to 1");
    an.reply(text("ok"));
    const plain = await client.chat.completions.create({ model: "claude", messages: [{ role: "user", content: "hi" }], temperature: 0.5 }).withResponse();
    expect(plain.response.headers.get("x-switchboard-warnings")).toBeNull();
  });

  test("stream: the header is on the SSE response", async () => {
    an.reply(text("streamed"));
    const res = await post(`${gw.baseURL}/chat/completions`, { model: "claude", stream: true, seed: 7, messages: [{ role: "user", content: "hi" }] }, KEY);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchboard-warnings")).toContain("'seed'");
    await res.text();
  });

  test("unsupported_params: error turns the same request into a 400 naming the parameter; nothing reaches the provider", async () => {
    const before = an.calls.length;
    const err = await client.chat.completions.create({ model: "claude-strict", messages: [{ role: "user", content: "hi" }], frequency_penalty: 0.5 }).catch((e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(400);
    expect((err as InstanceType<typeof OpenAI.APIError>).param).toBe("frequency_penalty");
    expect(an.calls.length).toBe(before);
    an.reply(text("fine"));
    const ok = await client.chat.completions.create({ model: "claude-strict", messages: [{ role: "user", content: "hi" }] });
    expect(ok.choices[0]!.message.content).toBe("fine");
  });
});

describe("model params", () => {
  test("a model's params are defaults under the request; the request's own value wins", async () => {
    an.reply(text("a"), text("b"));
    await client.chat.completions.create({ model: "claude-cool", messages: [{ role: "user", content: "hi" }] });
    expect(lastAnthropic()).toMatchObject({ temperature: 0.3, max_tokens: 333 });
    await client.chat.completions.create({ model: "claude-cool", messages: [{ role: "user", content: "hi" }], temperature: 0.9 });
    expect(lastAnthropic()).toMatchObject({ temperature: 0.9, max_tokens: 333 });
  });

  test("the CLI refuses invalid params like any invalid config: exit 2, the field named, no stack trace", () => {
    const dir = mkdtempSync(join(tmpdir(), "sb-params-"));
    const f = join(dir, "c.yaml");
    writeFileSync(f, "providers:\n  l:\n    type: echo\nmodels:\n  - id: e\n    provider: l\n    params:\n      reasoning_effort: extreme\n");
    const r = Bun.spawnSync([process.execPath, join(import.meta.dir, "../..", "src", "main.ts"), "--config", f, "--port", "0"], { cwd: dir, stderr: "pipe", stdout: "pipe" });
    expect(r.exitCode).toBe(2);
    expect(r.stderr.toString()).toContain("invalid config: models[0].params.reasoning_effort");
  });

  test("invalid params fail at start-up naming the field", () => {
    const config = buildConfig({ providers: { l: { type: "echo" } }, models: [{ id: "e", provider: "l", params: { temperature: 7 } }] }, "test", {});
    expect(() => createApp(config, { logger: createMemoryLogger() })).toThrow(/models\[0\]\.params\.temperature/);
    const bad = buildConfig({ providers: { l: { type: "echo" } }, models: [{ id: "e", provider: "l", params: { model: "x" } }] }, "test", {});
    expect(() => createApp(bad, { logger: createMemoryLogger() })).toThrow(/models\[0\]\.params\.model/);
  });
});

describe("smaller fixes", () => {
  test("stop with 5 sequences: the 400 says at most 4", async () => {
    const res = await post(`${gw.baseURL}/chat/completions`, { model: "echo", stop: ["a", "b", "c", "d", "e"], messages: [{ role: "user", content: "hi" }] }, KEY);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { message: string; param: string } };
    expect(body.error.param).toBe("stop");
    expect(body.error.message).toContain("at most 4");
  });

  test("a Claude refusal has content null and the explanation as refusal", async () => {
    an.reply({ kind: "raw", status: 200, headers: { "content-type": "application/json" }, body: JSON.stringify({ id: "msg_r", type: "message", role: "assistant", model: "claude-sonnet-4-5", content: [], stop_reason: "refusal", stop_details: { type: "refusal", explanation: "Blocked by policy." }, stop_sequence: null, usage: { input_tokens: 5, output_tokens: 1 } }) });
    const r = await client.chat.completions.create({ model: "claude", messages: [{ role: "user", content: "bad" }] });
    expect(r.choices[0]!.message.content).toBeNull();
    expect(r.choices[0]!.message.refusal).toBe("Blocked by policy.");
    expect(r.choices[0]!.finish_reason).toBe("content_filter");
  });

  test("response_format text warns nothing", async () => {
    an.reply(text("plain"));
    const { response } = await client.chat.completions.create({ model: "claude", messages: [{ role: "user", content: "hi" }], response_format: { type: "text" } }).withResponse();
    expect(response.headers.get("x-switchboard-warnings")).toBeNull();
  });
});

describe("stream_options.include_usage: false", () => {
  const usageChunks = (payloads: string[]) => payloads.filter((p) => p !== "[DONE]").map((p) => JSON.parse(p) as { choices: unknown[]; usage?: unknown }).filter((c) => c.choices.length === 0 && c.usage);

  for (const model of ["claude", "gpt", "echo"]) {
    test(`${model}: no usage chunk for the client, usage still asked of the provider and counted`, async () => {
      if (model === "claude") an.reply(text("no usage for you"));
      const res = await post(`${gw.baseURL}/chat/completions`, { model, stream: true, stream_options: { include_usage: false }, messages: [{ role: "user", content: "no usage please" }] }, KEY, { "x-request-id": `nousage-${model}` });
      const payloads = dataPayloads(await res.text());
      expect(payloads.at(-1)).toBe("[DONE]");
      expect(usageChunks(payloads)).toEqual([]);
      expect(payloads.some((p) => p.includes('"finish_reason":"stop"'))).toBe(true);
      if (model === "gpt") expect(oa.calls.at(-1)!.body.stream_options).toEqual({ include_usage: true });
      const line = gw.logs.find((l) => l.request_id === `nousage-${model}`);
      expect(Number(line?.tokens_in)).toBeGreaterThan(0);
    });
  }

  test("the default (and include_usage: true) keeps the usage chunk, with the openai client", async () => {
    const s = await client.chat.completions.create({ model: "gpt", stream: true, messages: [{ role: "user", content: "hi" }] });
    let usage: unknown;
    for await (const c of s) if (c.usage) usage = c.usage;
    expect(usage).toBeTruthy();
  });
});
