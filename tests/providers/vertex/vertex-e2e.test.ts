// Vertex through the real gateway against the fake: Gemini and Claude chat, streams, tools, embeddings, prices, errors.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { startVertexUpstream, type VertexUpstream } from "../../support/vertex-upstream.ts";
import { post, startGateway, type GatewayHandle } from "../../support/gateway.ts";
import { assemble, chatStreamPayloads, expectValidStream } from "../../support/stream-invariants.ts";
import { openStore } from "../../../src/store/open.ts";
import type { Store } from "../../../src/store/store.ts";
import { apiError } from "../../support/fixtures.ts";

const KEY = "sk-test-vertex-e2e-01";
const ADMIN = "sk-test-vertex-admin-1";
const tools: OpenAI.ChatCompletionFunctionTool[] = [
  { type: "function", function: { name: "get_weather", description: "Weather for a city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } },
];
type Obj = Record<string, any>;

let up: VertexUpstream;
let gw: GatewayHandle;
let store: Store;
let client: OpenAI;

beforeAll(async () => {
  up = await startVertexUpstream();
  store = await openStore(`sqlite://${join(mkdtempSync(join(tmpdir(), "sb-vertex-")), "s.db")}`);
  const v = (id: string, upstream_model: string, extra: object = {}) => ({ id, provider: "vertex", upstream_model, ...extra });
  gw = await startGateway(
    {
      server: { admin_key: ADMIN },
      providers: { vertex: { type: "vertex", project: up.project, location: "us-east5", base_url: up.url, credentials_file: up.account.path } },
      models: [
        v("gemini-vertex", "gemini-2.0-flash"),
        v("claude-vertex", "claude-sonnet-4-5@20250929"),
        v("claude-haiku-vertex", "claude-3-5-haiku@20241022"),
        v("embed-vertex", "text-embedding-005"),
        v("gemini-embed", "gemini-embedding-001"),
        v("claude-overloaded", "claude-fault-overloaded", { max_attempts: 1 }),
        v("claude-quota", "claude-fault-429", { max_attempts: 1 }),
        v("claude-midstream", "claude-fault-midstream", { max_attempts: 1 }),
      ],
      keys: [{ name: "v", key: KEY, rpm: 100000 }],
    },
    { store, routing: { sleep: async () => {} } },
    {},
  );
  client = new OpenAI({ baseURL: gw.baseURL, apiKey: KEY, maxRetries: 0 });
});
afterAll(async () => {
  await gw?.stop();
  await up?.stop();
  await store?.close();
});

const lastCall = () => up.calls.at(-1)!;
const rawStream = (body: object) => chatStreamPayloads(gw.baseURL, KEY, body);

describe("Gemini on Vertex", () => {
  test("JSON with a system prompt: publishers/google/models/{m}:generateContent under the project and location", async () => {
    const r = await client.chat.completions.create({ model: "gemini-vertex", messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hello Vertex" }] });
    expect(r.choices[0]!.message.content).toBe("Echo from Gemini on Vertex gemini-2.0-flash: Hello Vertex [system: Be brief.]");
    expect(r.model).toBe("gemini-vertex");
    expect(r.usage!.completion_tokens).toBe(6);
    expect(lastCall().path).toBe(`/v1/projects/${up.project}/locations/us-east5/publishers/google/models/gemini-2.0-flash:generateContent`);
    expect(lastCall().headers.authorization).toStartWith("Bearer ya29.fake-");
  });

  test("stream: streamGenerateContent?alt=sse, valid chunks", async () => {
    const chunks = expectValidStream(await rawStream({ model: "gemini-vertex", messages: [{ role: "user", content: "Stream it" }] }));
    expect(assemble(chunks).content).toBe("Echo from Gemini on Vertex gemini-2.0-flash: Stream it");
    expect(lastCall().path).toEndWith(":streamGenerateContent?alt=sse");
  });

  test("tool loop: functionCall out (thought signature kept), functionResponse back", async () => {
    const first = await client.chat.completions.create({ model: "gemini-vertex", messages: [{ role: "user", content: "Weather?" }], tools });
    const call = first.choices[0]!.message.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall & { extra_content?: Obj };
    expect(first.choices[0]!.finish_reason).toBe("tool_calls");
    expect(call.extra_content?.google?.thought_signature).toBe("dmVydGV4LXNpZw==");
    const chunks = expectValidStream(
      await rawStream({ model: "gemini-vertex", tools, messages: [{ role: "user", content: "Weather?" }, { role: "assistant", content: null, tool_calls: [call] }, { role: "tool", tool_call_id: call.id, content: '{"temp":20}' }] }),
    );
    expect(assemble(chunks).content).toBe('The tool said: {"temp":20}');
    // The signature went back with the replayed call, as Gemini 3 requires.
    expect((lastCall().body.contents as Obj[])[1]!.parts[0].thoughtSignature).toBe("dmVydGV4LXNpZw==");
  });
});

describe("Claude on Vertex", () => {
  test("JSON: rawPredict with anthropic_version vertex-2023-10-16 and no model in the body", async () => {
    const r = await client.chat.completions.create({ model: "claude-vertex", messages: [{ role: "system", content: "Sys" }, { role: "user", content: "Hi Claude" }], temperature: 0.5 });
    expect(r.choices[0]!.message.content).toBe("Echo from Claude on Vertex: Hi Claude [system: Sys]");
    const call = lastCall();
    expect(call.path).toBe(`/v1/projects/${up.project}/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5%4020250929:rawPredict`);
    expect(call.body.anthropic_version).toBe("vertex-2023-10-16");
    expect(call.body.model).toBeUndefined();
    // Sampling is translated by Anthropic's rules, not dropped because Vertex's version string sorts after 2023-06-01.
    expect(call.body.temperature).toBe(0.5);
  });

  test("stream: streamRawPredict with stream: true; Anthropic events translated", async () => {
    const chunks = expectValidStream(await rawStream({ model: "claude-haiku-vertex", messages: [{ role: "user", content: "Flow" }] }), { model: "claude-haiku-vertex" });
    expect(assemble(chunks).content).toBe("Echo from Claude on Vertex: Flow");
    expect(lastCall().operation).toBe("streamRawPredict");
    expect(lastCall().body.stream).toBe(true);
  });

  test("tool loop, JSON then streamed", async () => {
    const first = await client.chat.completions.create({ model: "claude-vertex", messages: [{ role: "user", content: "Weather?" }], tools });
    const call = first.choices[0]!.message.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(call.function.name).toBe("get_weather");
    const chunks = expectValidStream(
      await rawStream({ model: "claude-vertex", tools, messages: [{ role: "user", content: "Weather?" }, { role: "assistant", content: null, tool_calls: [call] }, { role: "tool", tool_call_id: call.id, content: "sunny" }] }),
    );
    expect(assemble(chunks).content).toBe("The tool said: sunny");
  });

  test("Anthropic's errors relayed by Vertex map as Anthropic's do; Google's quota error is a 429", async () => {
    const over = await post(`${gw.baseURL}/chat/completions`, { model: "claude-overloaded", messages: [{ role: "user", content: "x" }] }, KEY);
    expect(over.status).toBe(502);
    expect(((await over.json()) as Obj).error.message).toContain("overloaded");
    const quota = await post(`${gw.baseURL}/chat/completions`, { model: "claude-quota", messages: [{ role: "user", content: "x" }] }, KEY);
    expect(quota.status).toBe(429);
    expect(quota.headers.get("retry-after")).not.toBeNull();
  });

  test("an error event mid-stream ends the stream with an error event", async () => {
    const payloads = await rawStream({ model: "claude-midstream", messages: [{ role: "user", content: "x" }] });
    expect((JSON.parse(payloads.at(-1)!) as Obj).error).toBeDefined();
    expect(payloads).not.toContain("[DONE]");
  });
});

describe("embeddings", () => {
  test("text-embedding-005 through :predict, token counts from Vertex's statistics", async () => {
    const r = await client.embeddings.create({ model: "embed-vertex", input: ["one two", "three"], dimensions: 5, encoding_format: "float" });
    expect(r.data.map((d) => d.embedding.length)).toEqual([5, 5]);
    expect(r.usage.prompt_tokens).toBe(3);
    expect(lastCall().body).toEqual({ instances: [{ content: "one two" }, { content: "three" }], parameters: { outputDimensionality: 5 } });
  });

  test("gemini-embedding-001: one instance per call", async () => {
    const before = up.calls.length;
    const r = await client.embeddings.create({ model: "gemini-embed", input: ["a", "b", "c"] });
    expect(r.data).toHaveLength(3);
    expect(up.calls.length - before).toBe(3);
  });

  test("a chat model is a clear 400 naming the model", async () => {
    const e = await apiError(client.embeddings.create({ model: "claude-vertex", input: "x" }));
    expect(e.status).toBe(400);
    expect(e.message).toContain("claude-sonnet-4-5@20250929");
  });
});

test("built-in prices for Gemini and Claude on Vertex (the google table)", async () => {
  const data = ((await (await fetch(`${gw.url}/admin/v1/prices`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as { data: Obj[] }).data;
  expect(data.find((p) => p.model === "gemini-vertex")).toMatchObject({ source: "builtin", input_per_mtok: 0.1, output_per_mtok: 0.4 });
  expect(data.find((p) => p.model === "claude-vertex")).toMatchObject({ source: "builtin", input_per_mtok: 3, output_per_mtok: 15 });
});
