// The Responses and Messages front doors on both clouds, through the official SDKs: each cloud model answers, streams and
// runs a tool loop, and the fake records the operation the gateway chose (Claude's Messages passthrough, or translation).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import Anthropic from "@anthropic-ai/sdk";
import { startGateway, type GatewayHandle } from "../support/gateway.ts";
import { startBedrockUpstream, type BedrockUpstream } from "../support/bedrock-upstream.ts";
import { startVertexUpstream, type VertexUpstream } from "../support/vertex-upstream.ts";
import { toolUse } from "../support/fake-core.ts";

const KEY = "sk-cloud-doors-0123456789";
let bed: BedrockUpstream;
let ver: VertexUpstream;
let gw: GatewayHandle;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  [bed, ver] = await Promise.all([startBedrockUpstream(), startVertexUpstream()]);
  gw = await startGateway({
    providers: {
      bed: { type: "bedrock", region: bed.region, base_url: bed.url, access_key_id: bed.accessKeyId, secret_access_key: bed.secretAccessKey },
      ver: { type: "vertex", project: ver.project, location: "us-east5", base_url: ver.url, credentials_file: ver.account.path },
    },
    models: [
      { id: "bedrock-claude", provider: "bed", upstream_model: "anthropic.claude-sonnet-4-5-20250929-v1:0" },
      { id: "bedrock-llama", provider: "bed", upstream_model: "meta.llama3-1-70b-instruct-v1:0" },
      { id: "vertex-gemini", provider: "ver", upstream_model: "gemini-2.0-flash" },
      { id: "vertex-claude", provider: "ver", upstream_model: "claude-sonnet-4-5@20250929" },
    ],
    keys: [{ name: "clouds", key: KEY }],
  });
  openai = new OpenAI({ baseURL: gw.baseURL, apiKey: KEY, maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: gw.url, apiKey: KEY, maxRetries: 0 });
});
afterAll(async () => {
  await gw?.stop();
  await Promise.all([bed?.stop(), ver?.stop()]);
});

type Fake = BedrockUpstream | VertexUpstream;
const fakeOf = (model: string): Fake => (model.startsWith("bedrock") ? bed : ver);
const lastOperation = (model: string) => (fakeOf(model).calls.at(-1) as { operation: string }).operation;

// What each front door asks of each cloud model, whole and streamed: Claude's Messages pass through to its native
// operation; everything else is translated (Converse on Bedrock, generateContent or rawPredict's chat body on Vertex).
const OPERATIONS: Record<string, { responses: [string, string]; messages: [string, string] }> = {
  "bedrock-claude": { responses: ["converse", "converse-stream"], messages: ["invoke", "invoke-with-response-stream"] },
  "bedrock-llama": { responses: ["converse", "converse-stream"], messages: ["converse", "converse-stream"] },
  "vertex-gemini": { responses: ["generateContent", "streamGenerateContent"], messages: ["generateContent", "streamGenerateContent"] },
  "vertex-claude": { responses: ["rawPredict", "streamRawPredict"], messages: ["rawPredict", "streamRawPredict"] },
};

const weather = { type: "function" as const, name: "get_weather", description: "Weather in a city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false }, strict: true };

describe.each(Object.keys(OPERATIONS))("%s", (model) => {
  test("Responses API (openai SDK): create and stream, with usage and the public model id", async () => {
    const r = await openai.responses.create({ model, input: "hello there" });
    expect([r.object, r.model, r.status]).toEqual(["response", model, "completed"]);
    expect(r.output_text.length).toBeGreaterThan(0);
    expect(r.usage!.input_tokens).toBeGreaterThan(0);
    expect(lastOperation(model)).toBe(OPERATIONS[model]!.responses[0]);

    const stream = openai.responses.stream({ model, input: "tell me something" });
    const types: string[] = [];
    for await (const e of stream) types.push(e.type);
    const final = await stream.finalResponse();
    expect(types[0]).toBe("response.created");
    expect(types.at(-1)).toBe("response.completed");
    expect(types).toContain("response.output_text.delta");
    expect(final.output_text.length).toBeGreaterThan(0);
    expect(lastOperation(model)).toBe(OPERATIONS[model]!.responses[1]);
  });

  test("Responses API: a function call comes back as a function_call item, and its output reaches the model", async () => {
    const fake = fakeOf(model);
    fake.reply(toolUse([{ name: "get_weather", input: { city: "Paris" } }]));
    const r1 = await openai.responses.create({ model, input: "Weather in Paris?", tools: [weather], store: false });
    const call = r1.output.find((o) => o.type === "function_call");
    expect(call).toMatchObject({ type: "function_call", name: "get_weather" });
    expect(JSON.parse((call as { arguments: string }).arguments)).toEqual({ city: "Paris" });
    const r2 = await openai.responses.create({
      model,
      tools: [weather],
      store: false,
      input: [{ role: "user", content: "Weather in Paris?" }, ...(r1.output as OpenAI.Responses.ResponseInputItem[]), { type: "function_call_output", call_id: (call as { call_id: string }).call_id, output: "18°C and sunny" }],
    });
    expect(r2.status).toBe("completed");
    expect(JSON.stringify(fake.calls.at(-1)!.body)).toContain("18°C and sunny");
  });

  test("Messages API (@anthropic-ai/sdk): create and stream, with usage and the public model id", async () => {
    const m = await anthropic.messages.create({ model, max_tokens: 200, messages: [{ role: "user", content: "hello there" }] });
    expect([m.type, m.model, m.role]).toEqual(["message", model, "assistant"]);
    expect(m.content.some((b) => b.type === "text" && b.text.length > 0)).toBe(true);
    expect(m.usage.input_tokens).toBeGreaterThan(0);
    expect(lastOperation(model)).toBe(OPERATIONS[model]!.messages[0]);

    const stream = anthropic.messages.stream({ model, max_tokens: 200, messages: [{ role: "user", content: "tell me something" }] });
    const types: string[] = [];
    for await (const e of stream) types.push(e.type);
    const final = await stream.finalMessage();
    expect(types[0]).toBe("message_start");
    expect(types.at(-1)).toBe("message_stop");
    expect(final.content.some((b) => b.type === "text" && b.text.length > 0)).toBe(true);
    expect(lastOperation(model)).toBe(OPERATIONS[model]!.messages[1]);
  });

  test("Messages API: a tool_use block, and the tool_result reaches the model", async () => {
    const fake = fakeOf(model);
    fake.reply(toolUse([{ name: "get_weather", input: { city: "Paris" } }]));
    const tools = [{ name: "get_weather", description: "Weather in a city", input_schema: { type: "object" as const, properties: { city: { type: "string" } }, required: ["city"] } }];
    const ask: Anthropic.MessageParam = { role: "user", content: "Weather in Paris?" };
    const m1 = await anthropic.messages.create({ model, max_tokens: 200, tools, messages: [ask] });
    expect(m1.stop_reason).toBe("tool_use");
    const use = m1.content.find((b) => b.type === "tool_use") as Anthropic.ToolUseBlock;
    expect([use.name, use.input]).toEqual(["get_weather", { city: "Paris" }]);
    const m2 = await anthropic.messages.create({
      model,
      max_tokens: 200,
      tools,
      messages: [ask, { role: "assistant", content: m1.content }, { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: "18°C and sunny" }] }],
    });
    expect(m2.stop_reason).toBe("end_turn");
    expect(JSON.stringify(fake.calls.at(-1)!.body)).toContain("18°C and sunny");
  });
});
