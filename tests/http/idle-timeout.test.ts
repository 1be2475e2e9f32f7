// Bun cuts a connection that is silent for idleTimeout seconds (for some response-stream shapes even mid-response).
// A model may think longer than that before its first byte, or pause mid-stream: chat requests in flight must
// survive it whatever the provider does, while idle keep-alive connections are still closed after the timeout.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { buildConfig } from "../../src/config/load.ts";
import { createApp, type Gateway } from "../../src/entry/app.ts";
import { createMemoryLogger } from "../../src/observability/log.ts";
import { startOpenAIUpstream, type OpenAIUpstream } from "../support/openai-upstream.ts";
import { dataPayloads, expectValidStream } from "../support/stream-invariants.ts";

const KEY = "sk-test-idle-000001";
let up: OpenAIUpstream;
let gw: Gateway;
let base: string;

beforeAll(async () => {
  up = await startOpenAIUpstream();
  const config = buildConfig(
    {
      server: { idle_timeout_s: 1 },
      providers: { o: { type: "openai", base_url: up.url, api_key: up.apiKey } },
      models: [
        { id: "gpt-4o", provider: "o" },
        { id: "pauser", provider: "o", upstream_model: "fault-pause" },
      ],
      keys: [{ name: "t", key: KEY }],
    },
    "test",
    {},
  );
  gw = createApp(config, { logger: createMemoryLogger() });
  // As the CLI listens, with the 1 s idle timeout from the config.
  gw.listen("127.0.0.1", 0);
  base = `http://127.0.0.1:${gw.app.server!.port}/v1`;
});
afterAll(async () => {
  await gw.app.stop(true);
  await gw.close();
  await up.stop();
});

const chat = (stream: boolean, model = "gpt-4o") =>
  fetch(`${base}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` },
    body: JSON.stringify({ model, stream, messages: [{ role: "user", content: "think first" }] }),
  });

test("a JSON answer that takes longer than the idle timeout arrives", async () => {
  up.delayMs = 2500;
  try {
    const r = await chat(false);
    expect(r.status).toBe(200);
    const body = (await r.json()) as { model: string; choices: unknown[] };
    expect(body.model).toBe("gpt-4o");
    expect(body.choices.length).toBe(1);
  } finally {
    up.delayMs = 0;
  }
});

test("a stream whose first byte comes after the idle timeout is delivered whole", async () => {
  up.delayMs = 2500;
  try {
    const r = await chat(true);
    expect(r.status).toBe(200);
    expectValidStream(dataPayloads(await r.text()), { model: "gpt-4o" });
  } finally {
    up.delayMs = 0;
  }
});

test("a stream that pauses longer than the idle timeout mid-answer is not cut", async () => {
  const r = await chat(true, "pauser");
  expect(r.status).toBe(200);
  expectValidStream(dataPayloads(await r.text()), { model: "pauser" });
});
