// The official openai client against the gateway (only baseURL and apiKey set), with an OpenAI-type fixture upstream.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { startOpenAIUpstream, type OpenAIUpstream } from "../../support/openai-upstream.ts";
import { startGateway, type GatewayHandle } from "../../support/gateway.ts";
import { assemble, dataPayloads, expectValidStream } from "../../support/stream-invariants.ts";

let up: OpenAIUpstream;
let gw: GatewayHandle;
let client: OpenAI;
const KEY = "sk-test-team-a-0001";

beforeAll(async () => {
  up = await startOpenAIUpstream();
  gw = await startGateway({
    providers: { up: { type: "openai", base_url: up.url, api_key: up.apiKey } },
    models: [
      { id: "gpt-4o", provider: "up" },
      { id: "recorded", provider: "up" },
      { id: "org/model-with-slash", provider: "up", upstream_model: "gpt-4o" },
    ],
    keys: [{ name: "team-a", key: KEY, rpm: 1000 }],
  });
  client = new OpenAI({ baseURL: gw.baseURL, apiKey: KEY });
});
afterAll(async () => {
  await gw.stop();
  await up.stop();
});

describe("openai client", () => {
  test("create: JSON completion with model set back to the id asked for", async () => {
    const r = await client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "Hello" }] });
    expect(r.model).toBe("gpt-4o");
    expect(r.choices[0]!.message.content).toBe("Echo from upstream: Hello");
    expect(r.usage!.total_tokens).toBe(29);
    const call = up.calls.at(-1)!;
    expect(call.body.model).toBe("gpt-4o");
    // The provider key goes upstream; the client's gateway key never does.
    expect(call.headers.authorization).toBe(`Bearer ${up.apiKey}`);
    expect(JSON.stringify(call.headers)).not.toContain(KEY);
  });

  test("stream: chunks forwarded, usage chunk forced on, [DONE] at the end", async () => {
    const s = await client.chat.completions.create({ model: "gpt-4o", stream: true, messages: [{ role: "user", content: "Hi there" }] });
    let text = "";
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const c of s) {
      expect(c.model).toBe("gpt-4o");
      text += c.choices[0]?.delta.content ?? "";
      if (c.usage) usage = c.usage;
    }
    expect(text).toBe("Echo from upstream: Hi there");
    expect(usage?.total_tokens).toBe(29);
    expect(up.calls.at(-1)!.body.stream_options).toEqual({ include_usage: true });
  });

  test("recorded OpenAI stream passes through byte-for-byte apart from the model", async () => {
    const res = await fetch(`${gw.baseURL}/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "recorded", stream: true, messages: [{ role: "user", content: "x" }] }),
    });
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const chunks = expectValidStream(dataPayloads(await res.text()), { model: "recorded" });
    const text = assemble(chunks).content;
    expect(text.startsWith("**Holiday")).toBe(true);
    // Fields the gateway does not know about survive untouched.
    expect((chunks[0] as unknown as { obfuscation: string }).obfuscation).toBe("Qup1BsQ3");
  });

  test("tools round trip: call → tool result → answer, JSON and streaming", async () => {
    const tools: OpenAI.ChatCompletionTool[] = [
      { type: "function", function: { name: "get_weather", description: "Weather", parameters: { type: "object", properties: { city: { type: "string" } } } } },
    ];
    const first = await client.chat.completions.create({ model: "gpt-4o", tools, messages: [{ role: "user", content: "Weather in Paris?" }] });
    expect(first.choices[0]!.finish_reason).toBe("tool_calls");
    const tc = first.choices[0]!.message.tool_calls![0]!;
    expect(tc.type === "function" && tc.function.name).toBe("get_weather");
    const second = await client.chat.completions.create({
      model: "gpt-4o",
      tools,
      messages: [
        { role: "user", content: "Weather in Paris?" },
        first.choices[0]!.message,
        { role: "tool", tool_call_id: tc.id, content: "18C and sunny" },
      ],
    });
    expect(second.choices[0]!.message.content).toBe("The tool said: 18C and sunny");

    const runner = client.chat.completions.stream({ model: "gpt-4o", tools, messages: [{ role: "user", content: "Weather?" }] });
    const final = await runner.finalChatCompletion();
    const call = final.choices[0]!.message.tool_calls![0]!;
    expect(call.type === "function" && JSON.parse(call.function.arguments)).toEqual({ city: "Paris", unit: "celsius" });
  });

  test("models.list and models.retrieve, including an id with a slash", async () => {
    const list = await client.models.list();
    expect(list.data.map((m) => m.id)).toEqual(["gpt-4o", "recorded", "org/model-with-slash"]);
    const m = await client.models.retrieve("org/model-with-slash");
    expect(m.id).toBe("org/model-with-slash");
    const err = await client.models.retrieve("nope").then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as InstanceType<typeof OpenAI.NotFoundError>).code).toBe("model_not_found");
  });

  test("unknown top-level fields reach an OpenAI-type provider", async () => {
    await client.chat.completions.create({
      model: "gpt-4o",
      messages: [{ role: "user", content: "x", name: "bob" }],
      // @ts-expect-error a field the SDK does not know
      custom_vendor_field: { a: 1 },
      reasoning_effort: "low",
    });
    const body = up.calls.at(-1)!.body;
    expect(body.custom_vendor_field).toEqual({ a: 1 });
    expect(body.reasoning_effort).toBe("low");
    expect((body.messages as { name?: string }[])[0]!.name).toBe("bob");
  });

  test("the /api/v1 prefix serves the same API", async () => {
    const c2 = new OpenAI({ baseURL: `${gw.url}/api/v1`, apiKey: KEY });
    const r = await c2.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "A" }] });
    expect(r.choices[0]!.message.content).toBe("Echo from upstream: A");
    const res = await fetch(`${gw.url}/api/v1/chat/models`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(((await res.json()) as { data: unknown[] }).data.length).toBe(3);
  });

  test("one JSON log line per request, with no message contents or keys", async () => {
    await client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "secret-prompt-text" }] }, { headers: { "x-request-id": "my-req-42" } });
    const line = gw.logs.find((l) => l.request_id === "my-req-42")!;
    expect(line).toMatchObject({ msg: "request", status: 200, key: "team-a", model: "gpt-4o", provider: "up", tokens_in: 19, tokens_out: 10 });
    expect(typeof line.latency_ms).toBe("number");
    expect(typeof line.ttfb_ms).toBe("number");
    const all = JSON.stringify(gw.logs);
    expect(all).not.toContain("secret-prompt-text");
    expect(all).not.toContain(KEY);
    expect(all).not.toContain(up.apiKey);
  });
});
