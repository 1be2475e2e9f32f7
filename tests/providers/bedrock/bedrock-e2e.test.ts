// Bedrock through the real gateway against the fake (SigV4 checked by AWS's signer): chat, streams, tools, errors, failover, embeddings.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { startBedrockUpstream, type BedrockUpstream } from "../../support/bedrock-upstream.ts";
import { startOpenAIUpstream, type OpenAIUpstream } from "../../support/openai-upstream.ts";
import { post, startGateway, type GatewayHandle } from "../../support/gateway.ts";
import { assemble, chatStreamPayloads, expectValidStream } from "../../support/stream-invariants.ts";
import { openStore } from "../../../src/store/open.ts";
import type { Store } from "../../../src/store/store.ts";
import { apiError } from "../../support/fixtures.ts";

const KEY = "sk-test-bedrock-e2e-1";
const ADMIN = "sk-test-bedrock-admin-1";
const WRONG_SECRET = "wrong-bedrock-secret-value-0123456789";
const PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
const PDF = "data:application/pdf;base64,JVBERi0xLjQKJcfsj6IK";
const CLAUDE = "anthropic.claude-3-5-sonnet-20241022-v2:0";
const tools: OpenAI.ChatCompletionFunctionTool[] = [
  { type: "function", function: { name: "get_weather", description: "Weather for a city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } },
];

let up: BedrockUpstream;
let temp: BedrockUpstream;
let backup: OpenAIUpstream;
let gw: GatewayHandle;
let store: Store;
let client: OpenAI;
const slept: number[] = [];

beforeAll(async () => {
  [up, temp, backup] = await Promise.all([
    startBedrockUpstream({ region: "eu-central-1" }),
    startBedrockUpstream({ accessKeyId: "ASIAFAKETEMPORARY002", sessionToken: "fake-session-token-abcdefghijklmnop" }),
    startOpenAIUpstream(),
  ]);
  store = await openStore(`sqlite://${join(mkdtempSync(join(tmpdir(), "sb-bedrock-")), "s.db")}`);
  const b = (id: string, upstream_model: string, extra: object = {}) => ({ id, provider: "bedrock", upstream_model, ...extra });
  gw = await startGateway(
    {
      server: { admin_key: ADMIN },
      providers: {
        bedrock: { type: "bedrock", region: up.region, base_url: up.url, access_key_id: up.accessKeyId, secret_access_key: up.secretAccessKey },
        bedrockkey: { type: "bedrock", region: up.region, base_url: up.url, api_key: up.apiKey },
        badsecret: { type: "bedrock", region: up.region, base_url: up.url, access_key_id: up.accessKeyId, secret_access_key: WRONG_SECRET },
        badkey: { type: "bedrock", region: up.region, base_url: up.url, api_key: "ABSK-not-the-right-key-000000" },
        tempok: { type: "bedrock", region: temp.region, base_url: temp.url, access_key_id: temp.accessKeyId, secret_access_key: temp.secretAccessKey, session_token: temp.sessionToken },
        tempnotoken: { type: "bedrock", region: temp.region, base_url: temp.url, access_key_id: temp.accessKeyId, secret_access_key: temp.secretAccessKey },
        backup: { type: "openai", base_url: backup.url, api_key: backup.apiKey },
      },
      models: [
        b("claude-bedrock", CLAUDE),
        b("claude-37", "us.anthropic.claude-3-7-sonnet-20250219-v1:0"),
        b("llama-bedrock", "meta.llama3-1-70b-instruct-v1:0"),
        b("nova-bedrock", "amazon.nova-pro-v1:0"),
        b("mistral-bedrock", "mistral.mistral-large-2407-v1:0"),
        b("throttled", "fault-throttle", { fallbacks: ["backup-model"] }),
        b("throttled-alone", "fault-throttle"),
        b("validation", "fault-validation"),
        b("denied", "fault-denied"),
        b("stream-throttle", "fault-stream-throttle", { max_attempts: 1 }),
        b("stream-first", "fault-stream-first", { fallbacks: ["claude-bedrock"] }),
        b("corrupt", "fault-corrupt", { max_attempts: 1 }),
        b("cut", "fault-cut", { max_attempts: 1 }),
        b("split", "anthropic.claude-split-v1:0"),
        b("titan", "amazon.titan-embed-text-v2:0"),
        b("cohere", "cohere.embed-english-v3"),
        { id: "claude-apikey", provider: "bedrockkey", upstream_model: CLAUDE },
        { id: "claude-badsecret", provider: "badsecret", upstream_model: CLAUDE, max_attempts: 1 },
        { id: "claude-badkey", provider: "badkey", upstream_model: CLAUDE, max_attempts: 1 },
        { id: "claude-temp", provider: "tempok", upstream_model: CLAUDE },
        { id: "claude-temp-notoken", provider: "tempnotoken", upstream_model: CLAUDE, max_attempts: 1 },
        { id: "backup-model", provider: "backup", upstream_model: "gpt-4o-mini" },
      ],
      keys: [{ name: "e2e", key: KEY, rpm: 100000 }],
    },
    { store, routing: { sleep: async (ms: number) => void slept.push(ms) } },
    {},
  );
  client = new OpenAI({ baseURL: gw.baseURL, apiKey: KEY, maxRetries: 0 });
});
afterAll(async () => {
  await gw?.stop();
  await Promise.all([up?.stop(), temp?.stop(), backup?.stop()]);
  await store?.close();
});

type Obj = Record<string, any>;
const lastCall = () => up.calls.at(-1)!;
const rawStream = (body: object) => chatStreamPayloads(gw.baseURL, KEY, body);

describe("chat through Converse", () => {
  test("JSON: the answer, usage (cache reads counted in the prompt), the model id asked for, the path escaped", async () => {
    const r = await client.chat.completions.create({ model: "claude-bedrock", messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hello Bedrock" }] });
    expect(r.model).toBe("claude-bedrock");
    expect(r.choices[0]!.message.content).toBe(`Echo from Bedrock ${CLAUDE}: Hello Bedrock [system: Be brief.]`);
    expect(r.choices[0]!.finish_reason).toBe("stop");
    expect(r.usage!.prompt_tokens).toBe(lastInputTokens() + 5);
    expect(r.usage!.prompt_tokens_details!.cached_tokens).toBe(5);
    const call = lastCall();
    expect(call.path).toBe("/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse");
    expect(call.auth).toBe("sigv4");
    expect(call.body.system).toEqual([{ text: "Be brief." }]);
    expect(call.body.messages).toEqual([{ role: "user", content: [{ text: "Hello Bedrock" }] }]);
    // Claude needs a maximum: its own output limit, not Converse's short default.
    expect(call.body.inferenceConfig).toEqual({ maxTokens: 8192 });
  });

  test("stream: valid chunks, text reassembled, usage last, [DONE]", async () => {
    const chunks = expectValidStream(await rawStream({ model: "claude-bedrock", messages: [{ role: "user", content: "Stream please" }] }), { model: "claude-bedrock" });
    expect(assemble(chunks).content).toBe(`Echo from Bedrock ${CLAUDE}: Stream please`);
    expect(chunks.at(-1)!.usage!.completion_tokens).toBeGreaterThan(0);
    expect(lastCall().operation).toBe("converse-stream");
    expect(lastCall().headers.accept).toBe("application/vnd.amazon.eventstream");
  });

  test("frames split across network chunks are reassembled", async () => {
    const chunks = expectValidStream(await rawStream({ model: "split", messages: [{ role: "user", content: "in pieces" }] }));
    expect(assemble(chunks).content).toBe("Echo from Bedrock anthropic.claude-split-v1:0: in pieces");
  });

  test("every model family goes through Converse with the same translation", async () => {
    for (const [model, id] of [["llama-bedrock", "meta.llama3-1-70b-instruct-v1:0"], ["nova-bedrock", "amazon.nova-pro-v1:0"], ["mistral-bedrock", "mistral.mistral-large-2407-v1:0"]]) {
      const r = await client.chat.completions.create({ model: model!, messages: [{ role: "user", content: "hi" }], temperature: 1.5, top_p: 0.9, stop: ["zzz"] });
      expect(r.choices[0]!.message.content).toBe(`Echo from Bedrock ${id}: hi`);
      // Not Claude: no default maximum; temperature clamped to Bedrock's 1; top_p kept beside it.
      expect(lastCall().body.inferenceConfig).toEqual({ temperature: 1, topP: 0.9, stopSequences: ["zzz"] });
      expect(r.choices[0]!.message.content).not.toContain("undefined");
    }
  });

  test("images and documents become Converse image/document blocks (names made valid for Bedrock)", async () => {
    const r = await client.chat.completions.create({
      model: "claude-bedrock",
      messages: [{ role: "user", content: [{ type: "text", text: "Look" }, { type: "image_url", image_url: { url: PNG } }, { type: "file", file: { file_data: PDF, filename: "q3 report.pdf" } }] }],
    });
    expect(r.choices[0]!.message.content).toContain("[media: image/png, document q3 report-pdf (pdf)]");
    const content = (lastCall().body.messages as Obj[])[0]!.content as Obj[];
    expect(content[1]).toEqual({ image: { format: "png", source: { bytes: PNG.split(",")[1] } } });
  });

  test("an http image URL without image_fetch is a 400 naming the part, and nothing is sent", async () => {
    const before = up.calls.length;
    const e = await apiError(client.chat.completions.create({ model: "claude-bedrock", messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://example.com/cat.png" } }] }] }));
    expect(e.status).toBe(400);
    expect(e.param).toBe("messages[0].content[0].image_url.url");
    expect(up.calls.length).toBe(before);
  });

  test("a Bedrock API key goes as a bearer token, with no SigV4", async () => {
    const r = await client.chat.completions.create({ model: "claude-apikey", messages: [{ role: "user", content: "key" }] });
    expect(r.choices[0]!.message.content).toContain("key");
    expect(lastCall().auth).toBe("bearer");
    expect(lastCall().headers["x-amz-date"]).toBeUndefined();
  });

  test("temporary credentials: the session token is sent and signed", async () => {
    const r = await client.chat.completions.create({ model: "claude-temp", messages: [{ role: "user", content: "temp" }] });
    expect(r.choices[0]!.message.content).toContain("temp");
    expect(temp.calls.at(-1)!.headers["x-amz-security-token"]).toBe(temp.sessionToken!);
  });
});

function lastInputTokens() {
  return JSON.stringify(lastCall().body.messages).length >> 4;
}

describe("tool loops", () => {
  test("JSON: a call, then the result back as a toolResult (status error kept), then the answer", async () => {
    const first = await client.chat.completions.create({ model: "claude-bedrock", messages: [{ role: "user", content: "Weather in Paris?" }], tools, tool_choice: "required" });
    const call = first.choices[0]!.message.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(first.choices[0]!.finish_reason).toBe("tool_calls");
    expect(call.function.name).toBe("get_weather");
    expect(JSON.parse(call.function.arguments)).toEqual({ city: "Paris", unit: "celsius" });
    expect(lastCall().body.toolConfig).toEqual({ tools: [{ toolSpec: { name: "get_weather", description: "Weather for a city", inputSchema: { json: tools[0]!.function.parameters } } }], toolChoice: { any: {} } });
    const second = await client.chat.completions.create({
      model: "claude-bedrock",
      tools,
      messages: [
        { role: "user", content: "Weather in Paris?" },
        { role: "assistant", content: null, tool_calls: [call] },
        { role: "tool", tool_call_id: call.id, content: "", is_error: true } as OpenAI.ChatCompletionToolMessageParam,
      ],
    });
    expect(second.choices[0]!.message.content).toBe("The tool said: (the tool reported an error without a message) (error)");
    const turns = lastCall().body.messages as Obj[];
    expect(turns[1]).toEqual({ role: "assistant", content: [{ toolUse: { toolUseId: call.id, name: "get_weather", input: { city: "Paris", unit: "celsius" } } }] });
    expect(turns[2]!.content[0].toolResult.status).toBe("error");
  });

  test("streamed: the call arrives as id/name then argument pieces; the loop closes with a result", async () => {
    const chunks = expectValidStream(await rawStream({ model: "llama-bedrock", messages: [{ role: "user", content: "Weather?" }], tools }));
    const a = assemble(chunks);
    expect(a.finish).toBe("tool_calls");
    expect(a.tools).toHaveLength(1);
    expect(JSON.parse(a.tools[0]!.arguments)).toEqual({ city: "Paris", unit: "celsius" });
    const back = expectValidStream(
      await rawStream({
        model: "llama-bedrock",
        tools,
        messages: [
          { role: "user", content: "Weather?" },
          { role: "assistant", content: "", tool_calls: [{ id: a.tools[0]!.id, type: "function", function: { name: a.tools[0]!.name, arguments: a.tools[0]!.arguments } }] },
          { role: "tool", tool_call_id: a.tools[0]!.id, content: '{"temp": 21}' },
          { role: "user", content: "  " },
        ],
      }),
    );
    // The blank user text was dropped (Bedrock refuses blank blocks) and the result answered.
    expect(assemble(back).content).toBe('The tool said: {"temp": 21}');
  });

  test("consecutive same-role messages are merged into one turn", async () => {
    await client.chat.completions.create({ model: "nova-bedrock", messages: [{ role: "user", content: "one" }, { role: "user", content: "two" }] });
    expect(lastCall().body.messages).toEqual([{ role: "user", content: [{ text: "one" }, { text: "two" }] }]);
  });
});

describe("reasoning", () => {
  test("Claude 3.7 thinking through additionalModelRequestFields; reasoning_content and signed reasoning_details back", async () => {
    const r = await client.chat.completions.create({ model: "claude-37", messages: [{ role: "user", content: "Think" }], reasoning_effort: "low", max_tokens: 1000 });
    const m = r.choices[0]!.message as OpenAI.ChatCompletionMessage & { reasoning_content?: string; reasoning_details?: Obj[] };
    expect(m.reasoning_content).toBe("Thinking about turn 1.");
    expect(m.reasoning_details![0]).toMatchObject({ type: "reasoning.text", signature: expect.stringContaining("sig-") });
    expect(lastCall().body.additionalModelRequestFields).toEqual({ thinking: { type: "enabled", budget_tokens: 2048 } });
    expect((lastCall().body as Obj).inferenceConfig.maxTokens).toBe(3048);
  });

  test("streamed thinking arrives as reasoning_content deltas", async () => {
    const chunks = expectValidStream(await rawStream({ model: "claude-37", messages: [{ role: "user", content: "Think" }], reasoning_effort: "medium" }));
    const reasoning = chunks.map((c) => (c.choices[0]?.delta as Obj | undefined)?.reasoning_content ?? "").join("");
    expect(reasoning).toBe("Thinking about turn 1.");
  });
});

describe("errors", () => {
  test("ThrottlingException is retried, then the fallback answers", async () => {
    const before = up.calls.filter((c) => c.model === "fault-throttle").length;
    const r = await client.chat.completions.create({ model: "throttled", messages: [{ role: "user", content: "hi" }] });
    expect(r.model).toBe("throttled");
    expect(up.calls.filter((c) => c.model === "fault-throttle").length - before).toBe(2);
    expect(backup.calls.length).toBeGreaterThan(0);
  });

  test("without a fallback a throttled call ends as 429 with Retry-After", async () => {
    const res = await post(`${gw.baseURL}/chat/completions`, { model: "throttled-alone", messages: [{ role: "user", content: "hi" }] }, KEY);
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  });

  test("ValidationException → 400 with Bedrock's message", async () => {
    const e = await apiError(client.chat.completions.create({ model: "validation", messages: [{ role: "user", content: "hi" }] }));
    expect(e.status).toBe(400);
    expect(e.message).toContain("The provided model identifier is invalid.");
  });

  for (const [model, what] of [["claude-badsecret", "a wrong secret"], ["claude-badkey", "a wrong API key"], ["claude-temp-notoken", "temporary credentials without their session token"], ["denied", "AccessDeniedException"]] as const) {
    test(`${what} → 502 naming no credential, in the answer or the log`, async () => {
      const res = await post(`${gw.baseURL}/chat/completions`, { model, messages: [{ role: "user", content: "hi" }] }, KEY, { "x-request-id": `bedrock-${model}` });
      expect(res.status).toBe(502);
      const text = await res.text();
      const log = JSON.stringify(gw.logs.filter((l) => l.request_id === `bedrock-${model}`));
      for (const secret of [WRONG_SECRET, up.secretAccessKey, up.apiKey, "ABSK-not-the-right-key-000000", temp.secretAccessKey, "123456789012"]) {
        expect(text).not.toContain(secret);
        expect(log).not.toContain(secret);
      }
      expect(text).toContain("AWS credentials");
    });
  }

  test("an exception inside the stream becomes the stream's error event", async () => {
    const payloads = await rawStream({ model: "stream-throttle", messages: [{ role: "user", content: "go on" }] });
    const last = JSON.parse(payloads.at(-1)!) as Obj;
    expect(last.error.type).toBe("rate_limit_error");
    expect(payloads).not.toContain("[DONE]");
  });

  test("an exception before the first chunk still fails over", async () => {
    const chunks = expectValidStream(await rawStream({ model: "stream-first", messages: [{ role: "user", content: "x" }] }));
    expect(assemble(chunks).content).toBe(`Echo from Bedrock ${CLAUDE}: x`);
  });

  test("a frame with a bad checksum ends the stream with an error event", async () => {
    const payloads = await rawStream({ model: "corrupt", messages: [{ role: "user", content: "x" }] });
    // The frame before it (messageStart) was delivered: the role chunk went out, then the error.
    expect(JSON.parse(payloads[0]!).choices[0].delta.role).toBe("assistant");
    expect(payloads.at(-1)).toContain("checksum");
  });

  test("a body cut inside a frame ends with an error event, not [DONE]", async () => {
    const payloads = await rawStream({ model: "cut", messages: [{ role: "user", content: "x" }] });
    expect((JSON.parse(payloads.at(-1)!) as Obj).error).toBeDefined();
  });
});

describe("embeddings", () => {
  test("Titan: one InvokeModel per input, dimensions passed, usage from Bedrock's token counts", async () => {
    const r = await client.embeddings.create({ model: "titan", input: ["alpha beta", "gamma"], dimensions: 4, encoding_format: "float" });
    expect(r.data.map((d) => d.embedding.length)).toEqual([4, 4]);
    expect(r.usage.prompt_tokens).toBe(3);
    const calls = up.calls.filter((c) => c.model === "amazon.titan-embed-text-v2:0").slice(-2);
    expect(calls.map((c) => c.body).sort((a, b) => String(a.inputText).localeCompare(String(b.inputText)))).toEqual([{ inputText: "alpha beta", dimensions: 4 }, { inputText: "gamma", dimensions: 4 }]);
  });

  test("Cohere: one batch call; base64 as the SDK asks by default", async () => {
    const r = await client.embeddings.create({ model: "cohere", input: ["one", "two", "three"] });
    expect(r.data).toHaveLength(3);
    expect(r.data[0]!.embedding.length).toBe(8);
    expect(lastCall().body).toEqual({ texts: ["one", "two", "three"], input_type: "search_document" });
  });

  test("a chat model is a clear 400 naming the model", async () => {
    const e = await apiError(client.embeddings.create({ model: "claude-bedrock", input: "x" }));
    expect(e.status).toBe(400);
    expect(e.message).toContain(CLAUDE);
  });
});

test("built-in prices: /admin/v1/prices lists Bedrock models from the aws table", async () => {
  const r = await fetch(`${gw.url}/admin/v1/prices`, { headers: { authorization: `Bearer ${ADMIN}` } });
  const data = ((await r.json()) as { data: Obj[] }).data;
  const claude = data.find((p) => p.model === "claude-bedrock")!;
  expect(claude).toMatchObject({ source: "builtin", input_per_mtok: 3, output_per_mtok: 15 });
  expect(data.find((p) => p.model === "llama-bedrock")).toMatchObject({ source: "builtin" });
  expect(data.find((p) => p.model === "nova-bedrock")).toMatchObject({ source: "builtin", input_per_mtok: 0.8 });
});
