// Claude features through the gateway with the official openai client: structured outputs, reasoning, documents, caching.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { zodResponseFormat } from "openai/helpers/zod";
import { z } from "zod";
import { startAnthropicUpstream, text, toolUse, type AnthropicUpstream } from "../../support/anthropic-upstream.ts";
import { startGateway, post, type GatewayHandle } from "../../support/gateway.ts";
import { assemble, dataPayloads, expectValidStream } from "../../support/stream-invariants.ts";
import { apiError } from "../../support/fixtures.ts";

const KEY = "sk-test-claude-features";
let up: AnthropicUpstream;
let gw: GatewayHandle;
let client: OpenAI;
type Body = Record<string, unknown> & { messages: { role: string; content: Record<string, unknown>[] }[]; tools?: Record<string, unknown>[]; system?: Record<string, unknown>[] };
const lastBody = () => up.calls.at(-1)!.body as Body;

const Weather = z.object({ city: z.string(), temperature: z.number(), conditions: z.enum(["sunny", "rainy"]) });
const weatherFormat = zodResponseFormat(Weather, "weather");
const PDF = "data:application/pdf;base64,JVBERi0xLjQKJcfsj6IK";

beforeAll(async () => {
  up = await startAnthropicUpstream();
  const m = (id: string, upstream_model: string, extra: object = {}) => ({ id, provider: "claude", upstream_model, max_attempts: 1, ...extra });
  gw = await startGateway({
    providers: { claude: { type: "anthropic", base_url: up.url, api_key: up.apiKey } },
    models: [
      m("sonnet-45", "claude-sonnet-4-5-20250929"),
      m("sonnet-35", "claude-3-5-sonnet-20241022"),
      m("opus-46", "claude-opus-4-6"),
      m("sonnet-37", "claude-3-7-sonnet-20250219"),
      m("sonnet-45-thinks", "claude-sonnet-4-5-20250929", { params: { reasoning_effort: "low" } }),
    ],
    keys: [{ name: "f", key: KEY }],
  });
  client = new OpenAI({ baseURL: gw.baseURL, apiKey: KEY, maxRetries: 0 });
});
afterAll(async () => {
  await gw.stop();
  await up.stop();
});

describe("structured outputs on Claude", () => {
  test("native (4.5+): output_config.format with every object closed; parse() returns parsed", async () => {
    const r = await client.chat.completions.parse({ model: "sonnet-45", messages: [{ role: "user", content: "Weather in Paris?" }], response_format: weatherFormat });
    expect(r.choices[0]!.message.parsed).toEqual({ city: "text", temperature: 42, conditions: "sunny" });
    expect(r.choices[0]!.finish_reason).toBe("stop");
    const b = lastBody();
    expect(b.tools).toBeUndefined();
    const format = (b.output_config as { format: { type: string; schema: Record<string, unknown> } }).format;
    expect(format.type).toBe("json_schema");
    expect(format.schema).toMatchObject({ type: "object", additionalProperties: false, required: ["city", "temperature", "conditions"] });
  });

  test("constraints Claude cannot enforce move into the description (the SDK's rule), not silently away", async () => {
    up.reply(text('{"n":5}'));
    await client.chat.completions.create({
      model: "sonnet-45",
      messages: [{ role: "user", content: "a number" }],
      response_format: { type: "json_schema", json_schema: { name: "n", strict: true, schema: { type: "object", properties: { n: { type: "integer", minimum: 1, maximum: 9, description: "count" } }, required: ["n"], additionalProperties: false } } },
    });
    const schema = (lastBody().output_config as { format: { schema: { properties: { n: Record<string, unknown> } } } }).format.schema;
    expect(schema.properties.n).toEqual({ type: "integer", description: "count\n\n{minimum: 1, maximum: 9}" });
  });

  test("fallback (3.5): a forced tool whose input is the answer, mapped back to content with finish_reason stop", async () => {
    const r = await client.chat.completions.parse({ model: "sonnet-35", messages: [{ role: "user", content: "Weather in Paris?" }], response_format: weatherFormat });
    expect(r.choices[0]!.message.parsed).toEqual({ city: "text", temperature: 42, conditions: "sunny" });
    expect(r.choices[0]!.message.tool_calls ?? []).toEqual([]);
    expect(r.choices[0]!.finish_reason).toBe("stop");
    const b = lastBody();
    expect(b.output_config).toBeUndefined();
    expect(b.tools!.map((t) => t.name)).toEqual(["json_response"]);
    expect(b.tool_choice).toEqual({ type: "tool", name: "json_response" });
  });

  test("fallback streaming: the tool input streams as content; one finish (stop); the openai stream helper parses it", async () => {
    const payloads = dataPayloads(await (await post(`${gw.baseURL}/chat/completions`, { model: "sonnet-35", stream: true, messages: [{ role: "user", content: "x" }], response_format: weatherFormat }, KEY)).text());
    const got = assemble(expectValidStream(payloads, { model: "sonnet-35" }));
    expect(JSON.parse(got.content)).toEqual({ city: "text", temperature: 42, conditions: "sunny" });
    expect(got.tools).toEqual([]);
    expect(got.finish).toBe("stop");
    const stream = client.chat.completions.stream({ model: "sonnet-35", messages: [{ role: "user", content: "x" }], response_format: weatherFormat });
    const final = await stream.finalChatCompletion();
    expect(final.choices[0]!.message.parsed).toEqual({ city: "text", temperature: 42, conditions: "sunny" });
  });

  test("native streaming: JSON text streams as content", async () => {
    const stream = client.chat.completions.stream({ model: "sonnet-45", messages: [{ role: "user", content: "x" }], response_format: weatherFormat });
    const final = await stream.finalChatCompletion();
    expect(final.choices[0]!.message.parsed).toEqual({ city: "text", temperature: 42, conditions: "sunny" });
  });

  test("json_object: an object tool on any model; the client's own tools stay callable", async () => {
    up.reply(toolUse([{ name: "json_response", input: { ok: true } }]));
    const r = await client.chat.completions.create({ model: "sonnet-45", messages: [{ role: "user", content: "JSON please" }], response_format: { type: "json_object" } });
    expect(JSON.parse(r.choices[0]!.message.content!)).toEqual({ ok: true });
    expect(lastBody().tool_choice).toEqual({ type: "tool", name: "json_response" });
    up.reply(toolUse([{ name: "get_weather", input: { city: "Oslo" } }]));
    const withTools = await client.chat.completions.create({
      model: "sonnet-35",
      messages: [{ role: "user", content: "x" }],
      response_format: { type: "json_object" },
      tools: [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }],
    });
    expect(withTools.choices[0]!.finish_reason).toBe("tool_calls");
    expect((withTools.choices[0]!.message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall).function.name).toBe("get_weather");
    expect(lastBody().tool_choice).toEqual({ type: "any" });
  });

  test("a schema Claude cannot honour is a 400, never a silent drop", async () => {
    const before = up.calls.length;
    const recursive = { type: "object", properties: { child: { $ref: "#/$defs/node" } }, $defs: { node: { type: "object", properties: { child: { $ref: "#/$defs/node" } } } } };
    const e1 = await apiError(client.chat.completions.create({ model: "sonnet-45", messages: [{ role: "user", content: "x" }], response_format: { type: "json_schema", json_schema: { name: "tree", schema: recursive } } }));
    expect(e1.status).toBe(400);
    expect(e1.param).toBe("response_format.json_schema.schema");
    const e2 = await apiError(client.chat.completions.create({ model: "sonnet-35", messages: [{ role: "user", content: "x" }], response_format: { type: "json_schema", json_schema: { name: "list", schema: { type: "array", items: { type: "string" } } } } }));
    expect(e2.status).toBe(400);
    expect(up.calls.length).toBe(before);
  });
});

describe("reasoning on Claude", () => {
  test("budget models: reasoning_effort → thinking budget, max_tokens raised (named in the header); reasoning_content, details, reasoning_tokens", async () => {
    const { data: r, response } = await client.chat.completions
      .create({ model: "sonnet-45", reasoning_effort: "low", max_tokens: 500, temperature: 0.2, messages: [{ role: "user", content: "2+2?" }] })
      .withResponse();
    const b = lastBody();
    expect(b.thinking).toEqual({ type: "enabled", budget_tokens: 2048 });
    expect(b.max_tokens).toBe(2548);
    expect(b.temperature).toBeUndefined();
    const warnings = response.headers.get("x-switchboard-warnings") ?? "";
    expect(warnings).toContain("max_tokens raised from 500 to 2548");
    expect(warnings).toContain("temperature 0.2 ignored");
    const msg = r.choices[0]!.message as OpenAI.ChatCompletionMessage & { reasoning_content?: string; reasoning_details?: unknown[] };
    expect(msg.content).toBe("Hello from the fixture.");
    expect(msg.reasoning_content).toBe("Let me think about what is asked.");
    expect(msg.reasoning_details).toEqual([{ type: "reasoning.text", text: "Let me think about what is asked.", signature: `sig-fixture-${"A".repeat(24)}`, format: "anthropic-claude-v1", index: 0 }]);
    expect(r.usage!.completion_tokens_details!.reasoning_tokens).toBeGreaterThan(0);
  });

  test("adaptive models (4.6+): thinking adaptive with output_config.effort; 3.5 has none and says so", async () => {
    await client.chat.completions.create({ model: "opus-46", reasoning_effort: "high", messages: [{ role: "user", content: "hard" }] });
    expect(lastBody().thinking).toEqual({ type: "adaptive" });
    expect(lastBody().output_config).toEqual({ effort: "high" });
    expect(lastBody().max_tokens).toBe(128000);
    const { response } = await client.chat.completions.create({ model: "sonnet-35", reasoning_effort: "high", messages: [{ role: "user", content: "x" }] }).withResponse();
    expect(lastBody().thinking).toBeUndefined();
    expect(response.headers.get("x-switchboard-warnings")).toContain("reasoning_effort ignored");
  });

  test("streaming: delta.reasoning_content, then the signed block in reasoning_details, then the answer", async () => {
    const res = await post(`${gw.baseURL}/chat/completions`, { model: "sonnet-37", stream: true, reasoning_effort: "medium", messages: [{ role: "user", content: "think" }] }, KEY);
    const chunks = expectValidStream(dataPayloads(await res.text()), { model: "sonnet-37" });
    const deltas = chunks.map((c) => c.choices[0]?.delta).filter((d) => d !== undefined);
    const reasoning = deltas.map((d) => d.reasoning_content ?? "").join("");
    expect(reasoning).toBe("Let me think about what is asked.");
    const details = deltas.flatMap((d) => d.reasoning_details ?? []);
    expect(details).toEqual([{ type: "reasoning.text", text: reasoning, signature: `sig-fixture-${"A".repeat(24)}`, format: "anthropic-claude-v1", index: 0 }]);
    expect(assemble(chunks).content).toBe("Hello from the fixture.");
    expect(chunks.at(-1)!.usage!.completion_tokens_details!.reasoning_tokens).toBeGreaterThan(0);
    expect(lastBody().thinking).toEqual({ type: "enabled", budget_tokens: 8192 });
  });

  test("tool loop: thinking blocks with signatures go back in the assistant turn; a model's params default reasoning_effort", async () => {
    up.reply({ kind: "message", message: { content: [{ type: "thinking", thinking: "I should call the tool.", signature: "sig-loop-1" }, { type: "redacted_thinking", data: "cmVkYWN0ZWQ=" }, { type: "tool_use", id: "toolu_loop1", name: "get_weather", input: { city: "Rome" } }] } });
    const tools: OpenAI.ChatCompletionTool[] = [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }];
    const first = await client.chat.completions.create({ model: "sonnet-45-thinks", tools, messages: [{ role: "user", content: "Rome?" }] });
    expect(lastBody().thinking).toEqual({ type: "enabled", budget_tokens: 2048 });
    const assistant = first.choices[0]!.message;
    expect(first.choices[0]!.finish_reason).toBe("tool_calls");
    // The client sends the assistant message back as it got it (extra fields included), then the tool result.
    await client.chat.completions.create({
      model: "sonnet-45-thinks",
      tools,
      messages: [{ role: "user", content: "Rome?" }, assistant as OpenAI.ChatCompletionAssistantMessageParam, { role: "tool", tool_call_id: "toolu_loop1", content: "sunny" }],
    });
    const turn = lastBody().messages[1]!;
    expect(turn.role).toBe("assistant");
    expect(turn.content).toEqual([
      { type: "thinking", thinking: "I should call the tool.", signature: "sig-loop-1" },
      { type: "redacted_thinking", data: "cmVkYWN0ZWQ=" },
      { type: "tool_use", id: "toolu_loop1", name: "get_weather", input: { city: "Rome" } },
    ]);
  });

  test("a forced tool_choice and thinking cannot go together: thinking is dropped with a warning", async () => {
    const tools: OpenAI.ChatCompletionTool[] = [{ type: "function", function: { name: "f", parameters: { type: "object", properties: {} } } }];
    const { response } = await client.chat.completions.create({ model: "sonnet-45", reasoning_effort: "high", tools, tool_choice: "required", messages: [{ role: "user", content: "x" }] }).withResponse();
    expect(lastBody().thinking).toBeUndefined();
    expect(response.headers.get("x-switchboard-warnings")).toContain("reasoning_effort ignored");
  });
});

describe("documents, audio and unknown parts on Claude", () => {
  test("file parts: a PDF → document block (base64), a text file → a text document, an image → image block", async () => {
    await client.chat.completions.create({
      model: "sonnet-45",
      messages: [{ role: "user", content: [
        { type: "file", file: { file_data: PDF, filename: "report.pdf" } },
        { type: "file", file: { file_data: `data:text/plain;base64,${Buffer.from("plain notes").toString("base64")}` } },
        { type: "text", text: "Summarise" },
      ] }],
    });
    expect(lastBody().messages[0]!.content).toEqual([
      { type: "document", source: { type: "base64", media_type: "application/pdf", data: "JVBERi0xLjQKJcfsj6IK" }, title: "report.pdf" },
      { type: "document", source: { type: "text", media_type: "text/plain", data: "plain notes" } },
      { type: "text", text: "Summarise" },
    ]);
  });

  test("audio, a file_id and unknown part types are 400s naming the part; nothing is sent", async () => {
    const before = up.calls.length;
    const audio = await apiError(client.chat.completions.create({ model: "sonnet-45", messages: [{ role: "user", content: [{ type: "input_audio", input_audio: { data: "UklGRg==", format: "wav" } }] }] }));
    expect(audio.status).toBe(400);
    expect(audio.param).toBe("messages[0].content[0].type");
    const fileId = await apiError(client.chat.completions.create({ model: "sonnet-45", messages: [{ role: "user", content: [{ type: "file", file: { file_id: "file-abc" } }] }] }));
    expect(fileId.param).toBe("messages[0].content[0].file.file_data");
    const res = await post(`${gw.baseURL}/chat/completions`, { model: "sonnet-45", messages: [{ role: "user", content: [{ type: "video_url", video_url: { url: "https://x/v.mp4" } }] }] }, KEY);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe("messages[0].content[0].type");
    expect(up.calls.length).toBe(before);
  });

  test("http:// image URLs are accepted and sent as url sources", async () => {
    await client.chat.completions.create({ model: "sonnet-45", messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "http://intranet.local/cat.png" } }] }] });
    expect(lastBody().messages[0]!.content).toEqual([{ type: "image", source: { type: "url", url: "http://intranet.local/cat.png" } }]);
  });
});

describe("prompt caching on Claude", () => {
  test("cache_control on parts, system parts and tools reaches Anthropic; cache reads and writes come back in usage", async () => {
    up.reply(text("cached", { usage: { input_tokens: 10, cache_read_input_tokens: 1000, cache_creation_input_tokens: 200, output_tokens: 3 } }));
    const cc = { type: "ephemeral" };
    const r = await client.chat.completions.create({
      model: "sonnet-45",
      messages: [
        { role: "system", content: [{ type: "text", text: "Long instructions", cache_control: cc } as OpenAI.ChatCompletionContentPartText] },
        { role: "user", content: [{ type: "text", text: "Long document", cache_control: { type: "ephemeral", ttl: "1h" } } as OpenAI.ChatCompletionContentPartText, { type: "text", text: "Question" }] },
      ],
      tools: [{ type: "function", function: { name: "lookup", parameters: { type: "object", properties: {} } }, cache_control: cc } as OpenAI.ChatCompletionTool],
    });
    const b = lastBody();
    expect(b.system).toEqual([{ type: "text", text: "Long instructions", cache_control: { type: "ephemeral" } }]);
    expect(b.messages[0]!.content[0]).toEqual({ type: "text", text: "Long document", cache_control: { type: "ephemeral", ttl: "1h" } });
    expect(b.messages[0]!.content[1]).toEqual({ type: "text", text: "Question" });
    expect(b.tools![0]!.cache_control).toEqual({ type: "ephemeral" });
    expect(r.usage).toMatchObject({ prompt_tokens: 1210, prompt_tokens_details: { cached_tokens: 1000, cache_creation_tokens: 200 } });
  });

  test("a malformed cache_control is a 400 naming it", async () => {
    const res = await post(`${gw.baseURL}/chat/completions`, { model: "sonnet-45", messages: [{ role: "user", content: [{ type: "text", text: "x", cache_control: { type: "forever" } }] }] }, KEY);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe("messages[0].content[0].cache_control");
  });
});
