// Proves the fixture Anthropic server speaks the real wire format: the official @anthropic-ai/sdk talks to it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Anthropic from "@anthropic-ai/sdk";
import { startAnthropicUpstream, text, toolUse, type AnthropicUpstream } from "../../support/anthropic-upstream.ts";
import { recordedEvents } from "../../support/fixtures.ts";

let up: AnthropicUpstream;
let client: Anthropic;
const recorded = (name: string) => recordedEvents("anthropic", name);

beforeAll(async () => {
  up = await startAnthropicUpstream();
  client = new Anthropic({ apiKey: up.apiKey, baseURL: up.url, maxRetries: 0 });
});
afterAll(() => up.stop());

const ask = { model: "claude-fixture-model", max_tokens: 256, messages: [{ role: "user" as const, content: "Hi" }] };

describe("fixture Anthropic server, seen by @anthropic-ai/sdk", () => {
  test("messages.create returns a Message; the request is recorded with its headers", async () => {
    up.reply(text("Hello there!", { usage: { input_tokens: 9, output_tokens: 4 } }));
    const before = up.calls.length;
    const msg = await client.messages.create(ask);
    expect(msg.type).toBe("message");
    expect(msg.role).toBe("assistant");
    expect(msg.content).toEqual([{ type: "text", text: "Hello there!" }] as typeof msg.content);
    expect(msg.stop_reason).toBe("end_turn");
    expect(msg.usage.input_tokens).toBe(9);
    expect(msg.usage.output_tokens).toBe(4);
    const r = up.calls[before]!;
    expect(r.path).toBe("/v1/messages");
    expect(r.headers["anthropic-version"]).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(r.body).toMatchObject({ model: "claude-fixture-model", max_tokens: 256 });
  });

  test("messages.stream accumulates text and tool input into the final message", async () => {
    up.reply(toolUse([{ name: "get_weather", input: { city: "Paris", days: [1, 2] } }, { name: "get_time", input: {} }], "Let me look."));
    const stream = client.messages.stream(ask);
    let streamed = "";
    stream.on("text", (t) => (streamed += t));
    const msg = await stream.finalMessage();
    expect(streamed).toBe("Let me look.");
    expect(msg.stop_reason).toBe("tool_use");
    const tools = msg.content.filter((b) => b.type === "tool_use");
    expect(tools.map((b) => [b.name, b.input])).toEqual([["get_weather", { city: "Paris", days: [1, 2] }], ["get_time", {}]]);
    expect(msg.usage.output_tokens).toBeGreaterThan(1);
  });

  test("raw stream events arrive in the documented order", async () => {
    up.reply(text("abc"));
    const types: string[] = [];
    for await (const ev of await client.messages.create({ ...ask, stream: true })) types.push(ev.type);
    expect(types).toEqual(["message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop"]);
  });

  test("a recorded stream replays through the SDK (text, then a tool at block 1)", async () => {
    up.reply({ kind: "events", events: recorded("anthropic-text-then-tool.chunks.txt") });
    const msg = await client.messages.stream(ask).finalMessage();
    expect(msg.content.map((b) => b.type)).toEqual(["text", "tool_use"]);
    const tool = msg.content[1]!;
    expect(tool.type === "tool_use" && tool.input).toEqual({ city: "San Francisco" });
  });

  test("a wrong key is a 401 authentication_error", async () => {
    const bad = new Anthropic({ apiKey: "sk-ant-wrong", baseURL: up.url, maxRetries: 0 });
    const err = await bad.messages.create(ask).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((err as InstanceType<typeof Anthropic.APIError>).type).toBe("authentication_error");
  });

  test("scripted error statuses come back typed, with request-id and retry-after", async () => {
    up.reply({ kind: "error", status: 529, type: "overloaded_error", message: "Overloaded" });
    const over = (await client.messages.create(ask).catch((e: unknown) => e)) as InstanceType<typeof Anthropic.APIError>;
    expect(over).toBeInstanceOf(Anthropic.InternalServerError);
    expect([over.status, over.type]).toEqual([529, "overloaded_error"]);
    expect(over.requestID).toMatch(/^req_/);

    up.reply({ kind: "error", status: 429, type: "rate_limit_error", message: "slow down", headers: { "retry-after": "3" } });
    const rl = (await client.messages.create(ask).catch((e: unknown) => e)) as InstanceType<typeof Anthropic.APIError>;
    expect(rl).toBeInstanceOf(Anthropic.RateLimitError);
    expect(rl.headers?.get("retry-after")).toBe("3");
  });

  test("request validation: a tool_result without its tool_use is a 400 invalid_request_error", async () => {
    const err = (await client.messages
      .create({ ...ask, tools: [{ name: "f", input_schema: { type: "object" } }], messages: [{ role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_x", content: "r" }] }] })
      .catch((e: unknown) => e)) as InstanceType<typeof Anthropic.APIError>;
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect(err.apiMessage).toContain("toolu_x");
  });

  test("an error event mid-stream makes the SDK throw that error", async () => {
    up.reply({ kind: "message", message: { content: [{ type: "text", text: "Hello world, how are you" }] }, break: { then: "error", after: 4, error: { type: "overloaded_error", message: "Overloaded" } } });
    const got: string[] = [];
    const err = (await (async () => {
      for await (const ev of await client.messages.create({ ...ask, stream: true })) got.push(ev.type);
    })().catch((e: unknown) => e)) as InstanceType<typeof Anthropic.APIError>;
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect(err.type).toBe("overloaded_error");
    expect(got).toContain("content_block_delta");
  });

  test("a cut stream ends without message_stop and the SDK reports the failure", async () => {
    up.reply({ kind: "message", message: { content: [{ type: "text", text: "Hello world, how are you" }] }, break: { then: "reset", after: 4 } });
    const got: string[] = [];
    const err = await (async () => {
      for await (const ev of await client.messages.create({ ...ask, stream: true })) got.push(ev.type);
    })().catch((e: unknown) => e);
    expect(got).not.toContain("message_stop");
    expect(err).toBeInstanceOf(Error);
  });
});

describe("fixture Anthropic server: thinking, structured outputs, documents, cache (as @anthropic-ai/sdk 1.14 types them)", () => {
  test("thinking: the SDK's stream assembles the thinking block with its signature (thinking_delta, signature_delta)", async () => {
    up.reply({ kind: "message", message: { content: [{ type: "thinking", thinking: "Two plus two is four.", signature: "EqQBCgIYAhIM" }, { type: "text", text: "4" }] } });
    const stream = client.messages.stream({ ...ask, max_tokens: 4096, thinking: { type: "enabled", budget_tokens: 2048 } });
    let thinking = "";
    let signature = "";
    stream.on("thinking", (d) => (thinking += d));
    stream.on("signature", (s) => (signature = s));
    const msg = await stream.finalMessage();
    expect(thinking).toBe("Two plus two is four.");
    expect(signature).toBe("EqQBCgIYAhIM");
    expect(msg.content[0]).toEqual({ type: "thinking", thinking: "Two plus two is four.", signature: "EqQBCgIYAhIM" });
    expect(msg.usage.output_tokens_details?.thinking_tokens).toBeGreaterThan(0);
  });

  test("thinking rules the API enforces: budget below max_tokens, no forced tool, no temperature", async () => {
    const bad = [
      { ...ask, max_tokens: 1024, thinking: { type: "enabled" as const, budget_tokens: 1024 } },
      { ...ask, max_tokens: 4096, temperature: 0.5, thinking: { type: "enabled" as const, budget_tokens: 1024 } },
      { ...ask, max_tokens: 4096, thinking: { type: "adaptive" as const }, tools: [{ name: "t", input_schema: { type: "object" as const } }], tool_choice: { type: "any" as const } },
    ];
    for (const params of bad) {
      const err = await client.messages.create(params).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    }
  });

  test("structured outputs: output_config.format answers with JSON text; open objects are refused like the API", async () => {
    const schema = { type: "object", properties: { city: { type: "string" }, temp: { type: "number" } }, required: ["city", "temp"], additionalProperties: false };
    const msg = await client.messages.create({ ...ask, output_config: { format: { type: "json_schema", schema } } });
    const block = msg.content[0]!;
    expect(block.type).toBe("text");
    expect(JSON.parse((block as { text: string }).text)).toEqual({ city: "text", temp: 42 });
    const open = { type: "object", properties: { a: { type: "object", properties: {} } }, additionalProperties: false };
    const err = await client.messages.create({ ...ask, output_config: { format: { type: "json_schema", schema: open } } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
  });

  test("document blocks and cache_control: accepted in the SDK's shapes; a fifth breakpoint is refused", async () => {
    const cc = { type: "ephemeral" as const };
    const doc = { type: "document" as const, source: { type: "base64" as const, media_type: "application/pdf" as const, data: "JVBERi0xLjQK" }, title: "a.pdf", cache_control: cc };
    const ok = await client.messages.create({ ...ask, system: [{ type: "text", text: "sys", cache_control: cc }], messages: [{ role: "user", content: [doc, { type: "text", text: "Summarise" }] }] });
    expect(ok.type).toBe("message");
    const five = Array.from({ length: 5 }, (_, i) => ({ type: "text" as const, text: `t${i}`, cache_control: cc }));
    const err = await client.messages.create({ ...ask, messages: [{ role: "user", content: five }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
  });
});
