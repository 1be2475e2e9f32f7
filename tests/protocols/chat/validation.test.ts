// Every 400/401/403/404/413 of the contract through HTTP, and proof that nothing invalid reaches the provider.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startOpenAIUpstream, type OpenAIUpstream } from "../../support/openai-upstream.ts";
import { post, startGateway, type GatewayHandle } from "../../support/gateway.ts";

let up: OpenAIUpstream;
let gw: GatewayHandle;
const KEY = "sk-test-validation-1";
const LIMITED = "sk-test-limited-key-2";
let url: string;

beforeAll(async () => {
  up = await startOpenAIUpstream();
  gw = await startGateway({
    server: { body_limit_bytes: 4096 },
    providers: { up: { type: "openai", base_url: up.url, api_key: up.apiKey } },
    models: [{ id: "gpt-4o", provider: "up" }, { id: "other", provider: "up" }],
    keys: [
      { name: "full", key: KEY, rpm: 10000 },
      { name: "limited", key_sha256: new Bun.CryptoHasher("sha256").update(LIMITED).digest("hex"), models: ["other"] },
    ],
  });
  url = `${gw.baseURL}/chat/completions`;
});
afterAll(async () => {
  await gw.stop();
  await up.stop();
});

const ok = { model: "gpt-4o", messages: [{ role: "user", content: "hi" }] };
type ErrorJson = { error: { message: string; type: string; param: string | null; code: string | null } };

async function expectError(res: Response, status: number, type: string, param: string | null, code: string | null = null) {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toContain("application/json");
  const body = (await res.json()) as ErrorJson;
  expect(body.error.type).toBe(type);
  expect(body.error.param).toBe(param);
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(10);
  return body;
}

describe("400: invalid bodies name the field, and never reach the provider", () => {
  const cases: [string, Record<string, unknown>, string | null][] = [
    ["model missing", { messages: ok.messages }, "model"],
    ["model not a string", { ...ok, model: 5 }, "model"],
    ["messages missing", { model: "gpt-4o" }, "messages"],
    ["messages not an array", { ...ok, messages: "hi" }, "messages"],
    ["messages empty", { ...ok, messages: [] }, "messages"],
    ["message without role", { ...ok, messages: [{ content: "x" }] }, "messages[0].role"],
    ["unknown role", { ...ok, messages: [{ role: "wizard", content: "x" }] }, "messages[0].role"],
    ["message without content", { ...ok, messages: [{ role: "user" }] }, "messages[0].content"],
    ["null content on a user message", { ...ok, messages: [{ role: "user", content: null }] }, "messages[0].content"],
    ["null content on assistant without tool_calls", { ...ok, messages: [{ role: "user", content: "a" }, { role: "assistant", content: null }] }, "messages[1].content"],
    ["content a number", { ...ok, messages: [{ role: "user", content: 42 }] }, "messages[0].content"],
    // An unknown type *name* passes (to OpenAI-type providers); a part without a string type does not.
    ["part type not a string", { ...ok, messages: [{ role: "user", content: [{ type: 7, video: {} }] }] }, "messages[0].content[0].type"],
    ["text part without text", { ...ok, messages: [{ role: "user", content: [{ type: "text" }] }] }, "messages[0].content[0].text"],
    ["text part without text", { ...ok, messages: [{ role: "user", content: [{ type: "text" }] }] }, "messages[0].content[0].text"],
    ["image url not https or data", { ...ok, messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "ftp://x/y.png" } }] }] }, "messages[0].content[0].image_url.url"],
    ["data URI that is not a base64 image", { ...ok, messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "data:text/plain,hello" } }] }] }, "messages[0].content[0].image_url.url"],
    ["image in a system message", { ...ok, messages: [{ role: "system", content: [{ type: "image_url", image_url: { url: "https://x.test/a.png" } }] }] }, "messages[0].content[0]"],
    ["tool message without tool_call_id", { ...ok, messages: [{ role: "tool", content: "r" }] }, "messages[0].tool_call_id"],
    ["stream not a boolean", { ...ok, stream: "yes" }, "stream"],
    ["temperature above 2", { ...ok, temperature: 2.5 }, "temperature"],
    ["temperature below 0", { ...ok, temperature: -0.1 }, "temperature"],
    ["temperature a string", { ...ok, temperature: "1" }, "temperature"],
    ["top_p above 1", { ...ok, top_p: 1.01 }, "top_p"],
    ["max_tokens zero", { ...ok, max_tokens: 0 }, "max_tokens"],
    ["max_tokens fractional", { ...ok, max_tokens: 1.5 }, "max_tokens"],
    ["max_tokens a numeric string", { ...ok, max_tokens: "5" }, "max_tokens"],
    ["max_completion_tokens negative", { ...ok, max_completion_tokens: -3 }, "max_completion_tokens"],
    ["frequency_penalty out of range", { ...ok, frequency_penalty: 2.1 }, "frequency_penalty"],
    ["presence_penalty out of range", { ...ok, presence_penalty: -2.1 }, "presence_penalty"],
    ["more than 4 stop sequences", { ...ok, stop: ["a", "b", "c", "d", "e"] }, "stop"],
    ["stop not a string", { ...ok, stop: 7 }, "stop"],
    ["tool without function", { ...ok, tools: [{ type: "function" }] }, "tools[0].function"],
    ["tool with a bad name", { ...ok, tools: [{ type: "function", function: { name: "has space" } }] }, "tools[0].function.name"],
    ["tool_choice unknown string", { ...ok, tools: [{ type: "function", function: { name: "f" } }], tool_choice: "always" }, "tool_choice"],
    ["tool_choice without tools", { ...ok, tool_choice: "required" }, "tool_choice"],
    ["tool_choice naming a missing tool", { ...ok, tools: [{ type: "function", function: { name: "f" } }], tool_choice: { type: "function", function: { name: "g" } } }, "tool_choice"],
    ["stream_options not an object", { ...ok, stream: true, stream_options: "usage" }, "stream_options"],
    ["n zero", { ...ok, n: 0 }, "n"],
  ];
  for (const [name, body, param] of cases) {
    test(name, async () => {
      const before = up.calls.length;
      const res = await post(url, body, KEY);
      await expectError(res, 400, "invalid_request_error", param);
      expect(up.calls.length).toBe(before);
    });
  }

  test("malformed JSON is a 400 in the OpenAI shape, not a plain-text default", async () => {
    const body = await expectError(await post(url, '{"model": "gpt-4o", "messages": [', KEY), 400, "invalid_request_error", null);
    expect(body.error.message).toContain("JSON");
  });
  test("a JSON array body is a 400", async () => {
    await expectError(await post(url, "[1,2]", KEY), 400, "invalid_request_error", null);
  });
  test("an empty body is a 400", async () => {
    await expectError(await post(url, "", KEY), 400, "invalid_request_error", null);
  });
  test("a body sent without a JSON content type is still read as JSON (curl -d)", async () => {
    const res = await fetch(url, { method: "POST", headers: { authorization: `Bearer ${KEY}`, "content-type": "application/x-www-form-urlencoded" }, body: JSON.stringify(ok) });
    expect(res.status).toBe(200);
  });
  test("valid edge values pass: temperature 0 and 2, top_p 1, four stop sequences, null content with tool_calls", async () => {
    const res = await post(url, {
      ...ok,
      temperature: 2,
      top_p: 1,
      stop: ["a", "b", "c", "d"],
      messages: [
        { role: "system", content: "s" },
        { role: "developer", content: [{ type: "text", text: "d" }] },
        { role: "user", content: [{ type: "text", text: "q" }, { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=", detail: "low" } }] },
        { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }] },
        { role: "tool", tool_call_id: "c1", content: "r" },
        { role: "user", content: "again" },
      ],
    }, KEY);
    expect(res.status).toBe(200);
    expect((await post(url, { ...ok, temperature: 0 }, KEY)).status).toBe(200);
  });
});

describe("413: body limit", () => {
  test("a declared oversized body gets the contract's 413 body", async () => {
    const big = { ...ok, messages: [{ role: "user", content: "x".repeat(5000) }] };
    const before = up.calls.length;
    await expectError(await post(url, big, KEY), 413, "invalid_request_error", null, "request_too_large");
    expect(up.calls.length).toBe(before);
  });
  test("a chunked oversized body is cut off while reading", async () => {
    const payload = JSON.stringify({ ...ok, messages: [{ role: "user", content: "y".repeat(6000) }] });
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        const b = new TextEncoder().encode(payload);
        for (let i = 0; i < b.length; i += 1000) c.enqueue(b.slice(i, i + 1000));
        c.close();
      },
    });
    const res = await fetch(url, { method: "POST", headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" }, body: stream });
    await expectError(res, 413, "invalid_request_error", null, "request_too_large");
  });
});

describe("401, 403, 404", () => {
  test("missing key → 401 invalid_api_key, before the body is even looked at", async () => {
    await expectError(await post(url, "{not json"), 401, "invalid_request_error", null, "invalid_api_key");
  });
  test("unknown key → 401", async () => {
    await expectError(await post(url, ok, "sk-not-a-real-key-123"), 401, "invalid_request_error", null, "invalid_api_key");
  });
  test("non-Bearer scheme → 401", async () => {
    const res = await fetch(url, { method: "POST", headers: { authorization: `Basic ${btoa("a:b")}` }, body: JSON.stringify(ok) });
    await expectError(res, 401, "invalid_request_error", null, "invalid_api_key");
  });
  test("GET /v1/models needs a key too", async () => {
    await expectError(await fetch(`${gw.baseURL}/models`), 401, "invalid_request_error", null, "invalid_api_key");
  });
  test("a key hashed in config (key_sha256) authenticates; its allow-list filters the model list", async () => {
    const res = await fetch(`${gw.baseURL}/models`, { headers: { authorization: `Bearer ${LIMITED}` } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { data: { id: string }[] }).data.map((m) => m.id)).toEqual(["other"]);
    await expectError(await fetch(`${gw.baseURL}/models/gpt-4o`, { headers: { authorization: `Bearer ${LIMITED}` } }), 404, "invalid_request_error", "model", "model_not_found");
  });
  test("key not allowed the model → 403 permission_error", async () => {
    const before = up.calls.length;
    await expectError(await post(url, ok, LIMITED), 403, "permission_error", "model", "model_not_allowed");
    expect(up.calls.length).toBe(before);
  });
  test("unknown model → 404 model_not_found", async () => {
    await expectError(await post(url, { ...ok, model: "gpt-9" }, KEY), 404, "invalid_request_error", "model", "model_not_found");
  });
  test("unknown route → 404 in the OpenAI shape, with no code", async () => {
    const res = await fetch(`${gw.baseURL}/no-such-thing`, { method: "POST", headers: { authorization: `Bearer ${KEY}` }, body: "{}" });
    await expectError(res, 404, "invalid_request_error", null, null);
  });
  test("errors to a keyed request carry x-request-id and the rate-limit headers", async () => {
    const res = await post(url, { ...ok, temperature: 9 }, KEY, { "x-request-id": "abc-123" });
    expect(res.headers.get("x-request-id")).toBe("abc-123");
    expect(res.headers.get("x-ratelimit-limit-requests")).toBe("10000");
  });
});

describe("health and docs", () => {
  test("GET /health needs no key", async () => {
    const res = await fetch(`${gw.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });
  test("GET /docs/json is an OpenAPI document generated from the request schema", async () => {
    const res = await fetch(`${gw.url}/docs/json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, { post?: { requestBody?: { content: Record<string, { schema: { properties: Record<string, unknown> } }> } } }> };
    expect(doc.openapi.startsWith("3.")).toBe(true);
    const schema = doc.paths["/v1/chat/completions"]!.post!.requestBody!.content["application/json"]!.schema;
    expect(Object.keys(schema.properties)).toContain("temperature");
    expect((await fetch(`${gw.url}/docs`)).status).toBe(200);
  });
});
