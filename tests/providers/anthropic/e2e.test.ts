// End to end: the official openai client → gateway → fixture Anthropic server, JSON and streams, tools, images, errors.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { startAnthropicUpstream, text, toolUse, type AnthropicUpstream } from "../../support/anthropic-upstream.ts";
import { startGateway, type GatewayHandle } from "../../support/gateway.ts";
import { assemble, dataPayloads, expectValidStream } from "../../support/stream-invariants.ts";
import { recordedEvents } from "../../support/fixtures.ts";

let up: AnthropicUpstream;
let gw: GatewayHandle;
let client: OpenAI;
const KEY = "sk-test-key-anthropic-1";
const MODEL = "claude-3-5-sonnet";
type Body = Record<string, unknown> & { messages: { role: string; content: { type: string; [k: string]: unknown }[] }[] };
const lastBody = () => up.calls.at(-1)!.body as Body;
const recorded = (name: string) => recordedEvents("anthropic", name);

beforeAll(async () => {
  up = await startAnthropicUpstream({ apiKey: "sk-ant-test" });
  gw = await startGateway({
    providers: {
      claude: { type: "anthropic", base_url: up.url, api_key: up.apiKey },
      "claude-badkey": { type: "anthropic", base_url: up.url, api_key: "sk-ant-revoked-123" },
      "claude-slow": { type: "anthropic", base_url: up.url, api_key: up.apiKey, timeout_ms: 300 },
    },
    // One attempt each: the fixture's scripted queue must not be consumed by a retry.
    models: [
      { id: MODEL, provider: "claude", upstream_model: "claude-3-5-sonnet-20241022", max_attempts: 1 },
      { id: "claude-errors", provider: "claude", upstream_model: "claude-errors-upstream", max_attempts: 1 },
      { id: "claude-long", provider: "claude", upstream_model: "claude-long-upstream", max_tokens: 16000, max_attempts: 1 },
      { id: "claude-badkey", provider: "claude-badkey", upstream_model: "claude-3-5-sonnet-20241022", max_attempts: 1 },
      { id: "claude-slow", provider: "claude-slow", upstream_model: "claude-slow-upstream", max_attempts: 1 },
    ],
    keys: [{ name: "t", key: KEY }],
  });
  client = new OpenAI({ baseURL: gw.baseURL, apiKey: KEY, maxRetries: 0 });
});
afterAll(async () => {
  await gw.stop();
  await up.stop();
});

const tools: OpenAI.ChatCompletionTool[] = [
  { type: "function", function: { name: "get_weather", description: "Current weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } },
];

describe("anthropic through the gateway, openai client", () => {
  test("create: text, usage, model echoed; upstream gets the Messages API request", async () => {
    up.reply(text("Bonjour!", { usage: { input_tokens: 11, output_tokens: 3, cache_read_input_tokens: 4 } }));
    const r = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: "system", content: "Answer in French." }, { role: "user", content: "Hello" }],
      temperature: 1.5,
      user: "user-7",
    });
    expect(r.model).toBe(MODEL);
    expect(r.object).toBe("chat.completion");
    expect(r.id).toMatch(/^chatcmpl-/);
    expect(Math.abs(r.created - Date.now() / 1000)).toBeLessThan(60);
    expect(r.choices[0]!.message).toMatchObject({ role: "assistant", content: "Bonjour!" });
    expect(r.choices[0]!.finish_reason).toBe("stop");
    expect(r.usage).toMatchObject({ prompt_tokens: 15, completion_tokens: 3, total_tokens: 18, prompt_tokens_details: { cached_tokens: 4 } });

    const call = up.calls.at(-1)!;
    expect(call.path).toBe("/v1/messages");
    expect(call.headers["x-api-key"]).toBe(up.apiKey);
    expect(call.headers["anthropic-version"]).toBe("2023-06-01");
    expect(JSON.stringify(call.headers)).not.toContain(KEY);
    expect(call.body).toEqual({
      model: "claude-3-5-sonnet-20241022",
      // Claude 3.5 Sonnet's own output limit, from the per-model table (regression: a fixed 4096).
      max_tokens: 8192,
      system: [{ type: "text", text: "Answer in French." }],
      messages: [{ role: "user", content: [{ type: "text", text: "Hello" }] }],
      temperature: 1,
      metadata: { user_id: "user-7" },
    });
  });

  test("a model's configured max_tokens is the default; a clamped temperature is logged as a warning", async () => {
    up.reply(text("ok"));
    await client.chat.completions.create({ model: "claude-long", messages: [{ role: "user", content: "x" }], temperature: 2 }, { headers: { "x-request-id": "anth-warn-1" } });
    expect(lastBody().max_tokens).toBe(16000);
    expect(lastBody().temperature).toBe(1);
    const line = gw.logs.find((l) => l.request_id === "anth-warn-1");
    expect(JSON.stringify(line?.warnings)).toContain("clamped");
  });

  test("stream: valid OpenAI SSE with role first, usage chunk and [DONE]", async () => {
    up.reply(text("Streaming works nicely, one piece at a time.", { usage: { input_tokens: 20, output_tokens: 12 } }));
    const res = await fetch(`${gw.baseURL}/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, stream: true, messages: [{ role: "user", content: "Go" }] }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const chunks = expectValidStream(dataPayloads(await res.text()), { model: MODEL });
    expect(assemble(chunks)).toEqual({ content: "Streaming works nicely, one piece at a time.", tools: [], finish: "stop" });
    expect(chunks.at(-1)!.usage).toMatchObject({ prompt_tokens: 20, completion_tokens: 12, total_tokens: 32 });
    expect(lastBody().stream).toBe(true);
  });

  test("stream with the openai client: text and usage", async () => {
    up.reply(text("Hi from Claude."));
    const s = await client.chat.completions.create({ model: MODEL, stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "Hi" }] });
    let content = "";
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const c of s) {
      content += c.choices[0]?.delta.content ?? "";
      if (c.usage) usage = c.usage;
    }
    expect(content).toBe("Hi from Claude.");
    expect(usage?.total_tokens).toBeGreaterThan(0);
  });

  test("tool round trip in JSON: call → tool result → answer", async () => {
    up.reply(toolUse([{ name: "get_weather", input: { city: "Paris" }, id: "toolu_01Paris" }], "Let me check."));
    const first = await client.chat.completions.create({ model: MODEL, tools, messages: [{ role: "user", content: "Weather in Paris?" }] });
    const msg = first.choices[0]!.message;
    expect(first.choices[0]!.finish_reason).toBe("tool_calls");
    expect(msg.content).toBe("Let me check.");
    const tc = msg.tool_calls![0]!;
    expect(tc.id).toBe("toolu_01Paris");
    expect(tc.type === "function" && [tc.function.name, JSON.parse(tc.function.arguments)]).toEqual(["get_weather", { city: "Paris" }]);
    expect(lastBody().tools).toEqual([{ name: "get_weather", description: "Current weather", input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } }]);

    up.reply(text("It is 18C and sunny in Paris."));
    const second = await client.chat.completions.create({
      model: MODEL,
      tools,
      messages: [{ role: "user", content: "Weather in Paris?" }, msg, { role: "tool", tool_call_id: tc.id, content: "18C, sunny" }],
    });
    expect(second.choices[0]!.message.content).toBe("It is 18C and sunny in Paris.");
    // The fixture validates tool_use/tool_result pairing as the API does; this is what it received.
    expect(lastBody().messages).toEqual([
      { role: "user", content: [{ type: "text", text: "Weather in Paris?" }] },
      { role: "assistant", content: [{ type: "text", text: "Let me check." }, { type: "tool_use", id: "toolu_01Paris", name: "get_weather", input: { city: "Paris" } }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_01Paris", content: "18C, sunny" }] },
    ]);
  });

  test("tool round trip streaming, with two parallel calls", async () => {
    up.reply(toolUse([{ name: "get_weather", input: { city: "Paris" } }, { name: "get_weather", input: { city: "Tokyo" } }], "Checking both."));
    const runner = client.chat.completions.stream({ model: MODEL, tools, messages: [{ role: "user", content: "Paris and Tokyo?" }] });
    const first = await runner.finalChatCompletion();
    const msg = first.choices[0]!.message;
    expect(first.choices[0]!.finish_reason).toBe("tool_calls");
    const calls = msg.tool_calls!.map((c) => (c.type === "function" ? JSON.parse(c.function.arguments) : null));
    expect(calls).toEqual([{ city: "Paris" }, { city: "Tokyo" }]);

    up.reply(text("Paris 18C, Tokyo 25C."));
    const s = await client.chat.completions.create({
      model: MODEL,
      tools,
      stream: true,
      messages: [
        { role: "user", content: "Paris and Tokyo?" },
        { role: "assistant", content: msg.content, tool_calls: msg.tool_calls },
        { role: "tool", tool_call_id: msg.tool_calls![0]!.id, content: "18C" },
        { role: "tool", tool_call_id: msg.tool_calls![1]!.id, content: "25C" },
      ],
    });
    let answer = "";
    for await (const c of s) answer += c.choices[0]?.delta.content ?? "";
    expect(answer).toBe("Paris 18C, Tokyo 25C.");
    const lastUser = lastBody().messages.at(-1)!;
    expect(lastUser.content.map((b) => [b.type, b.tool_use_id])).toEqual([["tool_result", msg.tool_calls![0]!.id], ["tool_result", msg.tool_calls![1]!.id]]);
  });

  test("a recorded stream (text then three tools) comes out with dense tool indexes", async () => {
    up.reply({ kind: "events", events: recorded("anthropic-several-tools.chunks.txt") });
    const res = await fetch(`${gw.baseURL}/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, stream: true, tools, messages: [{ role: "user", content: "x" }] }),
    });
    const got = assemble(expectValidStream(dataPayloads(await res.text()), { model: MODEL }));
    expect(got.content).toBe("Checking both cities.");
    expect(got.tools.map((t) => [t.name, JSON.parse(t.arguments)])).toEqual([["get_weather", { city: "Paris" }], ["get_weather", { city: "Tokyo", unit: "c" }], ["get_time", {}]]);
    expect(got.finish).toBe("tool_calls");
  });

  test("image input: data URI → base64 source, https URL → url source", async () => {
    up.reply(text("A red pixel and a cat."));
    const r = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: [
        { type: "text", text: "Describe these" },
        { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==" } },
        { type: "image_url", image_url: { url: "https://example.com/cat.jpg" } },
      ] }],
    });
    expect(r.choices[0]!.message.content).toBe("A red pixel and a cat.");
    expect(lastBody().messages[0]!.content).toEqual([
      { type: "text", text: "Describe these" },
      { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==" } },
      { type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } },
    ]);
  });
});

describe("anthropic errors through the gateway", () => {
  const ask = (model = "claude-errors") => client.chat.completions.create({ model, messages: [{ role: "user", content: "x" }] }).then(() => null, (e: unknown) => e as InstanceType<typeof OpenAI.APIError>);

  test("a provider 400 reaches the client as 400 with its message", async () => {
    up.reply({ kind: "error", status: 400, type: "invalid_request_error", message: "prompt is too long: 210000 tokens > 200000 maximum" });
    const err = await ask();
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err!.message).toContain("prompt is too long");
  });

  test("the provider rejecting our key is a 502 that never shows its message", async () => {
    const err = await ask("claude-badkey");
    expect(err!.status).toBe(502);
    expect(err!.message).toContain("credentials");
    expect(JSON.stringify(err!.error)).not.toContain("invalid x-api-key");
    expect(JSON.stringify(err!.error)).not.toContain("sk-ant");
    expect(JSON.stringify(gw.logs)).not.toContain("sk-ant-revoked-123");
  });

  test("overloaded (529) is a 502; rate limited (429) is a 429 with Retry-After", async () => {
    up.reply({ kind: "error", status: 529, type: "overloaded_error", message: "Overloaded" });
    const before = up.calls.length;
    const over = await ask();
    expect(over!.status).toBe(502);
    expect(over!.message).toContain("overloaded");
    expect(up.calls.length).toBe(before + 1);
    up.reply({ kind: "error", status: 429, type: "rate_limit_error", message: "Number of request tokens has exceeded your per-minute rate limit", headers: { "retry-after": "30" } });
    const rl = await ask();
    expect(rl).toBeInstanceOf(OpenAI.RateLimitError);
    expect(rl!.headers?.get("retry-after")).toBe("30");
    expect(rl!.message).not.toContain("per-minute");
  });

  test("bad tool-call arguments from the client are a 400 and never reach the provider", async () => {
    const before = up.calls.length;
    const err = await client.chat.completions
      .create({ model: MODEL, tools, messages: [{ role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "get_weather", arguments: "{not json" } }] }, { role: "tool", tool_call_id: "c1", content: "x" }] })
      .then(() => null, (e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(up.calls.length).toBe(before);
  });

  const streamRaw = async (model = "claude-errors") => {
    const res = await fetch(`${gw.baseURL}/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ model, stream: true, messages: [{ role: "user", content: "x" }] }),
    });
    const body = await res.text();
    return { status: res.status, type: res.headers.get("content-type") ?? "", body, payloads: dataPayloads(body) };
  };

  test("an error event mid-stream ends the stream with one error event", async () => {
    up.reply({ kind: "message", message: { content: [{ type: "text", text: "Hello world, how are you" }] }, break: { then: "error", after: 4, error: { type: "overloaded_error", message: "Overloaded" } } });
    const { status, payloads } = await streamRaw();
    expect(status).toBe(200);
    const last = JSON.parse(payloads.at(-1)!) as { error?: { type: string } };
    expect(last.error?.type).toBe("upstream_error");
    expect(payloads).not.toContain("[DONE]");
    expect(JSON.parse(payloads[0]!).choices[0].delta.role).toBe("assistant");
  });

  test("a stream cut before message_stop ends with one error event, not a fake finish", async () => {
    up.reply({ kind: "message", message: { content: [{ type: "text", text: "Hello world, how are you" }] }, break: { then: "reset", after: 5 } });
    const { payloads } = await streamRaw();
    expect(JSON.parse(payloads.at(-1)!).error).toBeTruthy();
    expect(payloads.filter((p) => p.includes('"finish_reason":"stop"'))).toEqual([]);
  });

  test("an error before the stream starts is an HTTP error, not a stream", async () => {
    up.reply({ kind: "error", status: 400, type: "invalid_request_error", message: "messages: roles must alternate" });
    const { status, type, body } = await streamRaw();
    expect(status).toBe(400);
    expect(type).toContain("application/json");
    expect(JSON.parse(body).error.message).toBe("messages: roles must alternate");
  });

  test("a provider that never answers is a 504 after the provider's timeout", async () => {
    up.reply({ kind: "hang" });
    const t0 = Date.now();
    const err = await ask("claude-slow");
    expect(err!.status).toBe(504);
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});

describe("client aborts reach the provider", () => {
  const waitFor = async (cond: () => boolean) => {
    for (let i = 0; i < 100 && !cond(); i++) await Bun.sleep(20);
    return cond();
  };

  test("leaving before the provider answers aborts the upstream request", async () => {
    up.reply({ kind: "hang" });
    const before = up.aborted;
    const ac = new AbortController();
    const p = fetch(`${gw.baseURL}/chat/completions`, {
      method: "POST",
      signal: ac.signal,
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, stream: true, messages: [{ role: "user", content: "x" }] }),
    }).catch(() => null);
    await waitFor(() => up.calls.length > 0 && (up.calls.at(-1)!.body as Body).stream === true);
    await Bun.sleep(50);
    ac.abort();
    await p;
    expect(await waitFor(() => up.aborted > before)).toBe(true);
  });

  test("leaving mid-stream cancels the upstream stream", async () => {
    up.reply("hang-stream");
    const before = up.aborted;
    const ac = new AbortController();
    const res = await fetch(`${gw.baseURL}/chat/completions`, {
      method: "POST",
      signal: ac.signal,
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, stream: true, messages: [{ role: "user", content: "x" }] }),
    });
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain('"role":"assistant"');
    ac.abort();
    await reader.cancel().catch(() => {});
    expect(await waitFor(() => up.aborted > before)).toBe(true);
  });
});
