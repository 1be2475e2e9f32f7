// End to end with the official openai client through the gateway to fixture Gemini and Azure OpenAI upstreams.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { newMeter } from "../../../src/providers/meter.ts";
import OpenAI, { AzureOpenAI } from "openai";
import { startGeminiUpstream, type GeminiUpstream } from "../../support/gemini-upstream.ts";
import { CONTENT_FILTER_MESSAGE, startAzureUpstream, type AzureUpstream } from "../../support/azure-upstream.ts";
import { startGateway, type GatewayHandle } from "../../support/gateway.ts";
import { assemble, chatStreamPayloads, expectValidStream } from "../../support/stream-invariants.ts";
import { SKIP_SIGNATURE } from "../../../src/providers/gemini/request.ts";
import { azureChatUrl, createAzureProvider } from "../../../src/providers/azure/provider.ts";
import { promptFilterPreambleDropper } from "../../../src/providers/azure/preamble.ts";
import { passthroughStream } from "../../../src/providers/openai/passthrough.ts";
import { apiError } from "../../support/fixtures.ts";

const KEY = "sk-test-gemini-azure-1";
let gup: GeminiUpstream;
let aup: AzureUpstream;
let gw: GatewayHandle;
let client: OpenAI;

const PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
const tools: OpenAI.ChatCompletionTool[] = [
  { type: "function", function: { name: "get_weather", description: "Weather for a city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false } } },
];

beforeAll(async () => {
  gup = await startGeminiUpstream();
  aup = await startAzureUpstream();
  const g = (id: string, upstream_model?: string) => ({ id, provider: "g", ...(upstream_model ? { upstream_model } : {}) });
  gw = await startGateway({
    providers: {
      g: { type: "gemini", base_url: gup.url, api_key: gup.apiKey },
      gbad: { type: "gemini", base_url: gup.url, api_key: "not-the-key" },
      az: { type: "azure", base_url: aup.url, api_key: aup.apiKey, api_version: aup.apiVersion },
      azbad: { type: "azure", base_url: `${aup.url}/openai/`, api_key: "wrong-azure-key", api_version: aup.apiVersion },
    },
    models: [
      g("gemini-2.0-flash"),
      g("gemini-recorded", "recorded-text"),
      g("gemini-blocked", "blocked"),
      g("gemini-safety", "safety"),
      g("gemini-max", "max-tokens"),
      g("gemini-429", "fault-429"),
      g("gemini-503", "fault-503"),
      g("gemini-400", "fault-400"),
      g("gemini-missing", "missing-model"),
      g("gemini-cut", "fault-cut"),
      g("gemini-midstream", "fault-midstream-error"),
      g("gemini-reset", "fault-reset"),
      g("gemini-hang-stream", "fault-hang-stream"),
      { id: "gemini-badkey", provider: "gbad", upstream_model: "gemini-2.0-flash" },
      { id: "gpt-4o-azure", provider: "az", deployment: "gpt4o-prod" },
      { id: "azure-default-deployment", provider: "az", upstream_model: "my-deployment" },
      { id: "azure-filtered-prompt", provider: "az", deployment: "filtered-prompt" },
      { id: "azure-filtered-output", provider: "az", deployment: "filtered-output" },
      { id: "azure-429", provider: "az", deployment: "fault-429" },
      { id: "azure-missing", provider: "az", deployment: "missing-deployment" },
      { id: "azure-badkey", provider: "azbad", deployment: "gpt4o-prod" },
    ],
    keys: [{ name: "e2e", key: KEY, rpm: 100000 }],
  });
  // No SDK retries: each test sees exactly what the gateway answered.
  client = new OpenAI({ baseURL: gw.baseURL, apiKey: KEY, maxRetries: 0 });
});
afterAll(async () => {
  await gw?.stop();
  await gup?.stop();
  await aup?.stop();
});

const rawStream = (body: object) => chatStreamPayloads(gw.baseURL, KEY, body);

describe("gemini through the gateway", () => {
  test("create: system prompt, text, usage, model id; the Gemini key goes upstream, the client's never does", async () => {
    const r = await client.chat.completions.create({ model: "gemini-2.0-flash", messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hello" }] });
    expect(r.model).toBe("gemini-2.0-flash");
    expect(r.id).toStartWith("chatcmpl-");
    expect(r.choices[0]!.message.content).toBe("Echo from Gemini: Hello");
    expect(r.choices[0]!.finish_reason).toBe("stop");
    expect(r.usage).toMatchObject({ prompt_tokens: 11, completion_tokens: 9, total_tokens: 20 });
    const call = gup.calls.at(-1)!;
    expect(call.path).toBe("/v1beta/models/gemini-2.0-flash:generateContent");
    expect(call.headers["x-goog-api-key"]).toBe(gup.apiKey);
    expect(JSON.stringify(call.headers)).not.toContain(KEY);
    expect(call.body.systemInstruction).toEqual({ parts: [{ text: "Be brief." }] });
  });

  test("stream: role first, deltas, one finish, usage chunk, [DONE]; SDK iteration joins the text", async () => {
    const chunks = expectValidStream(await rawStream({ model: "gemini-2.0-flash", messages: [{ role: "user", content: "one two three" }] }), { model: "gemini-2.0-flash" });
    expect(assemble(chunks)).toEqual({ content: "Echo from Gemini: one two three", tools: [], finish: "stop" });
    expect(chunks.at(-1)!.usage).toEqual({ prompt_tokens: 11, completion_tokens: 9, total_tokens: 20, prompt_tokens_details: { cached_tokens: 0, cache_creation_tokens: 0 } });
    expect(gup.calls.at(-1)!.path).toBe("/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse");

    const s = await client.chat.completions.create({ model: "gemini-2.0-flash", stream: true, messages: [{ role: "user", content: "Hi" }] });
    let text = "";
    for await (const c of s) text += c.choices[0]?.delta.content ?? "";
    expect(text).toBe("Echo from Gemini: Hi");
  });

  test("a recorded Gemini 3 stream (thinking tokens, thought signature part) arrives as a valid OpenAI stream", async () => {
    const chunks = expectValidStream(await rawStream({ model: "gemini-recorded", messages: [{ role: "user", content: "How many r's in strawberry?" }] }));
    expect(assemble(chunks).content).toBe('There are **3** "r"s in strawberry.\n\nst**r**awbe**rr**y');
    expect(chunks.at(-1)!.usage).toEqual({ prompt_tokens: 9, completion_tokens: 208, total_tokens: 217, prompt_tokens_details: { cached_tokens: 0, cache_creation_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 185 } });
  });

  test("tool round trip in JSON: call with thought signature → tool result → answer; the signature goes back", async () => {
    const q: OpenAI.ChatCompletionMessageParam = { role: "user", content: "Weather in Paris?" };
    const first = await client.chat.completions.create({ model: "gemini-2.0-flash", tools, tool_choice: "required", messages: [q] });
    const choice = first.choices[0]!;
    expect(choice.finish_reason).toBe("tool_calls");
    const tc = choice.message.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall & { extra_content?: unknown };
    expect(tc.function).toEqual({ name: "get_weather", arguments: '{"city":"Paris","unit":"celsius"}' });
    expect(tc.extra_content).toEqual({ google: { thought_signature: gup.signature } });
    expect(gup.calls.at(-1)!.body.toolConfig).toEqual({ functionCallingConfig: { mode: "ANY" } });
    // The declared schema reached Gemini without the keyword it rejects.
    const decl = (gup.calls.at(-1)!.body.tools as { functionDeclarations: { parameters: object }[] }[])[0]!.functionDeclarations[0]!;
    expect(decl.parameters).toEqual({ type: "object", properties: { city: { type: "string" } }, required: ["city"] });

    const second = await client.chat.completions.create({
      model: "gemini-2.0-flash",
      tools,
      messages: [q, choice.message, { role: "tool", tool_call_id: tc.id, content: '{"temp_c":18,"sky":"sunny"}' }],
    });
    expect(second.choices[0]!.message.content).toBe('The tool said: {"temp_c":18,"sky":"sunny"}');
    const contents = gup.calls.at(-1)!.body.contents as { role: string; parts: Record<string, unknown>[] }[];
    expect(contents[1]).toEqual({ role: "model", parts: [{ functionCall: { name: "get_weather", args: { city: "Paris", unit: "celsius" } }, thoughtSignature: gup.signature }] });
    expect(contents[2]).toEqual({ role: "user", parts: [{ functionResponse: { name: "get_weather", response: { temp_c: 18, sky: "sunny" } } }] });
  });

  test("tool round trip streaming, with a client that drops extra_content: the documented stand-in signature is sent", async () => {
    const q: OpenAI.ChatCompletionMessageParam = { role: "user", content: "Weather in Paris?" };
    const final = await client.chat.completions.stream({ model: "gemini-2.0-flash", tools, messages: [q] }).finalChatCompletion();
    const call = final.choices[0]!.message.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(final.choices[0]!.finish_reason).toBe("tool_calls");
    expect(JSON.parse(call.function.arguments)).toEqual({ city: "Paris", unit: "celsius" });
    const chunks = expectValidStream(
      await rawStream({
        model: "gemini-2.0-flash",
        tools,
        messages: [q, { role: "assistant", content: null, tool_calls: [{ id: call.id, type: "function", function: call.function }] }, { role: "tool", tool_call_id: call.id, content: "18C" }],
      }),
    );
    expect(assemble(chunks).content).toBe('The tool said: {"result":"18C"}');
    const model = (gup.calls.at(-1)!.body.contents as { parts: { thoughtSignature?: string }[] }[])[1]!;
    expect(model.parts[0]!.thoughtSignature).toBe(SKIP_SIGNATURE);
  });

  test("image input: data URI → inlineData, https URL → fileData", async () => {
    const r = await client.chat.completions.create({
      model: "gemini-2.0-flash",
      messages: [{ role: "user", content: [{ type: "text", text: "What are these?" }, { type: "image_url", image_url: { url: PNG } }, { type: "image_url", image_url: { url: "https://example.com/photos/cat.jpg" } }] }],
    });
    expect(r.choices[0]!.message.content).toBe("Echo from Gemini: What are these? [images: image/png, image/jpeg]");
    const parts = (gup.calls.at(-1)!.body.contents as { parts: unknown[] }[])[0]!.parts;
    expect(parts[1]).toEqual({ inlineData: { mimeType: "image/png", data: PNG.slice("data:image/png;base64,".length) } });
    expect(parts[2]).toEqual({ fileData: { mimeType: "image/jpeg", fileUri: "https://example.com/photos/cat.jpg" } });
  });

  test("blocked prompt, SAFETY stop and MAX_TOKENS map to content_filter / length, JSON and stream", async () => {
    const blocked = await client.chat.completions.create({ model: "gemini-blocked", messages: [{ role: "user", content: "x" }] });
    expect(blocked.choices[0]!.finish_reason).toBe("content_filter");
    expect(blocked.choices[0]!.message.refusal).toBe("Gemini blocked the prompt (reason: SAFETY).");
    expect(assemble(expectValidStream(await rawStream({ model: "gemini-blocked", messages: [{ role: "user", content: "x" }] }))).finish).toBe("content_filter");
    const safety = assemble(expectValidStream(await rawStream({ model: "gemini-safety", messages: [{ role: "user", content: "x" }] })));
    expect(safety).toEqual({ content: "Here is how", tools: [], finish: "content_filter" });
    const max = await client.chat.completions.create({ model: "gemini-max", max_tokens: 6, messages: [{ role: "user", content: "x" }] });
    expect(max.choices[0]!.finish_reason).toBe("length");
    expect(gup.calls.at(-1)!.body.generationConfig).toEqual({ maxOutputTokens: 6 });
  });

  test("errors: 400 passes Google's message; 404; 429 with Retry-After from RetryInfo; 503 → 502; bad key → 502 without Google's words", async () => {
    const bad = await apiError(client.chat.completions.create({ model: "gemini-400", messages: [{ role: "user", content: "x" }] }));
    expect(bad.status).toBe(400);
    expect(bad.message).toContain("Unknown name");
    expect((await apiError(client.chat.completions.create({ model: "gemini-missing", messages: [{ role: "user", content: "x" }] }))).status).toBe(404);
    const limited = await apiError(client.chat.completions.create({ model: "gemini-429", messages: [{ role: "user", content: "x" }] }));
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    expect(limited.headers?.get("retry-after")).toBe("27");
    expect((await apiError(client.chat.completions.create({ model: "gemini-503", messages: [{ role: "user", content: "x" }] }))).status).toBe(502);
    const key = await apiError(client.chat.completions.create({ model: "gemini-badkey", messages: [{ role: "user", content: "x" }] }));
    expect(key.status).toBe(502);
    expect(JSON.stringify(key.error)).not.toContain("API key not valid");
    expect(JSON.stringify(gw.logs)).not.toContain(gup.apiKey);
    expect(JSON.stringify(gw.logs)).not.toContain("not-the-key");
  });

  test("a 400 for a request Gemini cannot take never reaches Gemini (bad tool arguments)", async () => {
    const before = gup.calls.length;
    const args = await apiError(
      client.chat.completions.create({
        model: "gemini-2.0-flash",
        messages: [{ role: "user", content: "x" }, { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{oops" } }] }, { role: "tool", tool_call_id: "c1", content: "r" }],
      }),
    );
    expect(args.status).toBe(400);
    expect(gup.calls.length).toBe(before);
  });

  test("a stream cut before finishReason, or an error object mid-stream, ends with one error event and no [DONE]", async () => {
    for (const model of ["gemini-cut", "gemini-midstream", "gemini-reset"]) {
      const payloads = await rawStream({ model, messages: [{ role: "user", content: "a b c d e f" }] });
      expect(payloads).not.toContain("[DONE]");
      const last = JSON.parse(payloads.at(-1)!) as { error?: { type: string } };
      expect(last.error?.type).toBe("upstream_error");
      expect(payloads.filter((p) => p.includes('"error"')).length).toBe(1);
    }
  });

  test("a client that leaves a silent Gemini stream aborts the upstream request", async () => {
    const ac = new AbortController();
    const res = await fetch(`${gw.baseURL}/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "gemini-hang-stream", stream: true, messages: [{ role: "user", content: "a b c d e f" }] }),
      signal: ac.signal,
    });
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain('"role":"assistant"');
    const call = gup.calls.at(-1)!;
    expect(call.aborted).toBe(false);
    ac.abort();
    for (let i = 0; i < 100 && !call.aborted; i++) await Bun.sleep(10);
    expect(call.aborted).toBe(true);
  });

  test("dropped parameters are logged as warnings on the request line", async () => {
    await client.chat.completions.create({ model: "gemini-2.0-flash", logit_bias: { "50256": -100 }, messages: [{ role: "user", content: "x" }] }, { headers: { "x-request-id": "gem-warn-1" } });
    const line = gw.logs.find((l) => l.request_id === "gem-warn-1")!;
    expect(line.warnings).toEqual(["'logit_bias' is not supported by Gemini and was dropped."]);
  });
});

describe("azure through the gateway", () => {
  test("create: deployment URL with api-version, api-key header, model id rewritten", async () => {
    const r = await client.chat.completions.create({ model: "gpt-4o-azure", messages: [{ role: "user", content: "Hello" }] });
    expect(r.model).toBe("gpt-4o-azure");
    expect(r.choices[0]!.message.content).toBe("Echo from Azure: Hello");
    expect(r.usage?.total_tokens).toBe(30);
    const call = aup.calls.at(-1)!;
    expect(call.path).toBe(`/openai/deployments/gpt4o-prod/chat/completions?api-version=${aup.apiVersion}`);
    expect(call.headers["api-key"]).toBe(aup.apiKey);
    expect(call.headers.authorization).toBeUndefined();
    await client.chat.completions.create({ model: "azure-default-deployment", messages: [{ role: "user", content: "x" }] });
    expect(aup.calls.at(-1)!.deployment).toBe("my-deployment");
  });

  test("stream: Azure's prompt-filter preamble is dropped so the role chunk comes first; usage chunk last", async () => {
    const chunks = expectValidStream(await rawStream({ model: "gpt-4o-azure", messages: [{ role: "user", content: "one two" }] }), { model: "gpt-4o-azure" });
    expect(assemble(chunks)).toEqual({ content: "Echo from Azure: one two", tools: [], finish: "stop" });
    expect(chunks.at(-1)!.usage?.total_tokens).toBe(30);
    expect(aup.calls.at(-1)!.body.stream_options).toEqual({ include_usage: true });
  });

  test("tool round trip, JSON and streaming", async () => {
    const q: OpenAI.ChatCompletionMessageParam = { role: "user", content: "Weather in Paris?" };
    const first = await client.chat.completions.create({ model: "gpt-4o-azure", tools, messages: [q] });
    const tc = first.choices[0]!.message.tool_calls![0]!;
    expect(first.choices[0]!.finish_reason).toBe("tool_calls");
    const second = await client.chat.completions.create({ model: "gpt-4o-azure", tools, messages: [q, first.choices[0]!.message, { role: "tool", tool_call_id: tc.id, content: "18C" }] });
    expect(second.choices[0]!.message.content).toBe("The tool said: 18C");
    const final = await client.chat.completions.stream({ model: "gpt-4o-azure", tools, messages: [q] }).finalChatCompletion();
    const call = final.choices[0]!.message.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(JSON.parse(call.function.arguments)).toEqual({ city: "Paris", unit: "celsius" });
  });

  test("image input passes through untouched", async () => {
    const content: OpenAI.ChatCompletionContentPart[] = [{ type: "text", text: "Describe" }, { type: "image_url", image_url: { url: PNG, detail: "low" } }];
    const r = await client.chat.completions.create({ model: "gpt-4o-azure", messages: [{ role: "user", content }] });
    expect(r.choices[0]!.message.content).toBe("Echo from Azure: Describe [1 image(s)]");
    expect((aup.calls.at(-1)!.body.messages as { content: unknown }[])[0]!.content).toEqual(content);
  });

  test("content filter: the 400 passes through with its message and code; a filtered answer keeps content_filter", async () => {
    const e = await apiError(client.chat.completions.create({ model: "azure-filtered-prompt", messages: [{ role: "user", content: "x" }] }));
    expect(e.status).toBe(400);
    expect(e.code).toBe("content_filter");
    expect(e.param).toBe("prompt");
    expect(e.message).toContain(CONTENT_FILTER_MESSAGE);
    const r = await client.chat.completions.create({ model: "azure-filtered-output", messages: [{ role: "user", content: "x" }] });
    expect(r.choices[0]!.finish_reason).toBe("content_filter");
    const chunks = expectValidStream(await rawStream({ model: "azure-filtered-output", messages: [{ role: "user", content: "x" }] }));
    expect(assemble(chunks)).toEqual({ content: "I can tell you that", tools: [], finish: "content_filter" });
  });

  test("errors: 429 with Retry-After, missing deployment 404, bad key 502 without Azure's words", async () => {
    const limited = await apiError(client.chat.completions.create({ model: "azure-429", messages: [{ role: "user", content: "x" }] }));
    expect(limited.status).toBe(429);
    expect(limited.headers?.get("retry-after")).toBe("6");
    const missing = await apiError(client.chat.completions.create({ model: "azure-missing", messages: [{ role: "user", content: "x" }] }));
    expect(missing.status).toBe(404);
    expect(missing.code).toBe("DeploymentNotFound");
    const key = await apiError(client.chat.completions.create({ model: "azure-badkey", messages: [{ role: "user", content: "x" }] }));
    expect(key.status).toBe(502);
    expect(JSON.stringify(key.error)).not.toContain("subscription key");
    expect(JSON.stringify(gw.logs)).not.toContain(aup.apiKey);
  });

  test("the fixture answers the official AzureOpenAI client the way the gateway is tested against", async () => {
    const az = new AzureOpenAI({ endpoint: aup.url, apiKey: aup.apiKey, apiVersion: aup.apiVersion, maxRetries: 0 });
    const r = await az.chat.completions.create({ model: "sdk-deployment", messages: [{ role: "user", content: "ping" }] });
    expect(r.choices[0]!.message.content).toBe("Echo from Azure: ping");
    // Same path and headers the gateway produces for the same deployment.
    expect(aup.calls.at(-1)!.path).toBe(`/openai/deployments/sdk-deployment/chat/completions?api-version=${aup.apiVersion}`);
    expect(aup.calls.at(-1)!.headers["api-key"]).toBe(aup.apiKey);
    const s = await az.chat.completions.create({ model: "sdk-deployment", stream: true, messages: [{ role: "user", content: "ping" }] });
    let text = "";
    for await (const c of s) text += c.choices[0]?.delta?.content ?? "";
    expect(text).toBe("Echo from Azure: ping");
  });
});

describe("azure helpers", () => {
  test("the deployment URL from an endpoint, with or without /openai and trailing slashes", () => {
    const want = "https://res.openai.azure.com/openai/deployments/gpt-4o%20mini/chat/completions?api-version=2024-10-21";
    expect(azureChatUrl("https://res.openai.azure.com", "gpt-4o mini", "2024-10-21")).toBe(want);
    expect(azureChatUrl("https://res.openai.azure.com/openai/", "gpt-4o mini", "2024-10-21")).toBe(want);
  });

  test("a missing api_version fails when the provider is built, naming the field", () => {
    expect(() => createAzureProvider("az", { type: "azure", base_url: "https://res.openai.azure.com" }, { timeoutMs: 1000 })).toThrow("providers.az.api_version");
  });

  test("the preamble is dropped even when split across reads; other choices:[] events (usage) are kept", async () => {
    const text =
      'data: {"choices":[],"created":0,"id":"","model":"m","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]}\r\n\r\n' +
      'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n' +
      'data: {"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}\n\ndata: [DONE]\n\n';
    const bytes = new TextEncoder().encode(text);
    const pieces = [bytes.slice(0, 7), bytes.slice(7, 60), bytes.slice(60, 200), bytes.slice(200)];
    let i = 0;
    const src = new ReadableStream<Uint8Array>({ pull: (c) => (i < pieces.length ? c.enqueue(pieces[i++]!) : c.close()) });
    const ctx = { requestId: "r", publicModel: "m", signal: new AbortController().signal, timeoutMs: 1000, now: () => 0, meter: newMeter((t) => t.length), warn: () => {} };
    const out = await new Response(passthroughStream(src, "m", ctx, promptFilterPreambleDropper())).text();
    expect(out).toBe(text.slice(text.indexOf("data: {\"choices\":[{")));
  });

  test("the preamble dropper gives the same bytes for any chunking, down to single bytes, and meters usage", async () => {
    const text =
      'data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]}\n\n' +
      'data: {"id":"c","model":"up","choices":[{"index":0,"delta":{"role":"assistant","content":"hé"},"finish_reason":null}]}\n\n' +
      'data: {"id":"c","model":"up","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}\n\ndata: [DONE]\n\n';
    const want = text.slice(text.indexOf('data: {"id"')).replaceAll('"model":"up"', '"model":"m"');
    const bytes = new TextEncoder().encode(text);
    for (const size of [1, 2, 3, 5, 8, 13, 64, bytes.length]) {
      const pieces: Uint8Array[] = [];
      for (let at = 0; at < bytes.length; at += size) pieces.push(bytes.slice(at, at + size));
      const src = new ReadableStream<Uint8Array>({ pull: (c) => (pieces.length ? c.enqueue(pieces.shift()!) : c.close()) });
      const ctx = { requestId: "r", publicModel: "m", signal: new AbortController().signal, timeoutMs: 1000, now: () => 0, meter: newMeter((t) => t.length), warn: () => {} };
      expect(await new Response(passthroughStream(src, "m", ctx, promptFilterPreambleDropper())).text()).toBe(want);
      expect(ctx.meter.usage).toMatchObject({ total_tokens: 2 });
      expect(ctx.meter.text).toBe("hé");
    }
  });
});
