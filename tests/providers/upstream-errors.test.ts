// The contract's status table for provider failures, through HTTP: 502/504/4xx/429, JSON and streaming, no secrets leaked.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startOpenAIUpstream, type OpenAIUpstream } from "../support/openai-upstream.ts";
import { post, startGateway, type GatewayHandle } from "../support/gateway.ts";
import { dataPayloads } from "../support/stream-invariants.ts";

let up: OpenAIUpstream;
let gw: GatewayHandle;
const KEY = "sk-test-errors-0001";
let url: string;

const models = ["fault-500", "fault-503", "fault-400", "fault-401", "fault-403", "fault-404", "fault-429", "fault-invalid-json", "fault-html", "fault-hang", "fault-hang-stream", "fault-reset", "fault-slow"];

beforeAll(async () => {
  up = await startOpenAIUpstream();
  gw = await startGateway({
    providers: {
      up: { type: "openai", base_url: up.url, api_key: up.apiKey, timeout_ms: 400 },
      wrongkey: { type: "openai", base_url: up.url, api_key: "sk-wrong-provider-key-xyz" },
      dead: { type: "openai", base_url: "http://127.0.0.1:1/v1", api_key: "sk-dead" },
    },
    models: [
      ...models.map((m) => ({ id: m, provider: "up" })),
      { id: "ok-model", provider: "up" },
      { id: "bad-auth", provider: "wrongkey" },
      { id: "unreachable", provider: "dead" },
    ],
    keys: [{ name: "t", key: KEY, rpm: 100000 }],
  });
  url = `${gw.baseURL}/chat/completions`;
});
afterAll(async () => {
  await gw.stop();
  await up.stop();
});

const body = (model: string, stream = false) => ({ model, stream, messages: [{ role: "user", content: "hi" }] });
type ErrorJson = { error: { message: string; type: string; param: string | null; code: string | null } };

async function expectStatus(model: string, status: number, type: string, stream = false) {
  const res = await post(url, body(model, stream), KEY);
  expect(res.status).toBe(status);
  const text = await res.text();
  // Neither the provider's key nor the gateway key ever appears in an answer.
  expect(text).not.toContain(up.apiKey);
  expect(text).not.toContain("sk-wrong-provider-key-xyz");
  expect(text).not.toContain(KEY);
  const json = JSON.parse(text) as ErrorJson;
  expect(json.error.type).toBe(type);
  return { res, json };
}

describe("before the first byte (JSON and stream requests alike)", () => {
  for (const stream of [false, true]) {
    const tag = stream ? "stream" : "json";
    test(`${tag}: provider 500/503 → 502 upstream_error`, async () => {
      await expectStatus("fault-500", 502, "upstream_error", stream);
      await expectStatus("fault-503", 502, "upstream_error", stream);
    });
    test(`${tag}: provider 400 → 400 with the provider's message, type, code and param`, async () => {
      const { json } = await expectStatus("fault-400", 400, "invalid_request_error", stream);
      expect(json.error.message).toContain("maximum context length");
      expect(json.error.code).toBe("context_length_exceeded");
      expect(json.error.param).toBe("messages");
    });
    test(`${tag}: provider 404 → 404 with its message`, async () => {
      await expectStatus("fault-404", 404, "server_error", stream);
    });
    test(`${tag}: provider 401/403 → 502 without the provider's message about its key`, async () => {
      const a = await expectStatus("fault-401", 502, "upstream_error", stream);
      expect(a.json.error.message).not.toContain("Incorrect API key");
      await expectStatus("fault-403", 502, "upstream_error", stream);
      const b = await expectStatus("bad-auth", 502, "upstream_error", stream);
      expect(b.json.error.message).not.toContain("Incorrect API key");
    });
    test(`${tag}: provider 429 → 429 rate_limit_error with its Retry-After`, async () => {
      const { res, json } = await expectStatus("fault-429", 429, "rate_limit_error", stream);
      expect(res.headers.get("retry-after")).toBe("7");
      expect(json.error.code).toBe("rate_limit_exceeded");
    });
    test(`${tag}: connection refused → 502`, async () => {
      await expectStatus("unreachable", 502, "upstream_error", stream);
    });
    test(`${tag}: no answer within the upstream limit → 504 timeout_error, and the upstream call is aborted`, async () => {
      const before = up.calls.filter((c) => c.aborted).length;
      const t0 = performance.now();
      await expectStatus("fault-hang", 504, "timeout_error", stream);
      expect(performance.now() - t0).toBeLessThan(3000);
      await up.waitForAbort(before + 1);
    });
  }
  test("json: an unparseable provider body → 502", async () => {
    await expectStatus("fault-invalid-json", 502, "upstream_error");
    await expectStatus("fault-html", 502, "upstream_error");
  });
  test("stream: a non-SSE answer to a stream request → 502", async () => {
    await expectStatus("fault-html", 502, "upstream_error", true);
  });
});

describe("after the first byte: one error event, then the stream ends", () => {
  async function streamText(model: string) {
    const res = await post(url, body(model, true), KEY);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    return dataPayloads(await res.text());
  }
  test("a connection reset mid-stream", async () => {
    const p = await streamText("fault-reset");
    expect(p.length).toBeGreaterThan(1);
    expect(JSON.parse(p[0]!).choices[0].delta.role).toBe("assistant");
    const last = JSON.parse(p.at(-1)!) as ErrorJson;
    expect(last.error.type).toBe("upstream_error");
    expect(p).not.toContain("[DONE]");
    expect(p.filter((x) => x.includes('"error"')).length).toBe(1);
  });
  test("the upstream limit passing mid-stream", async () => {
    const p = await streamText("fault-hang-stream");
    const last = JSON.parse(p.at(-1)!) as ErrorJson;
    expect(last.error.type).toBe("timeout_error");
    expect(p).not.toContain("[DONE]");
  });
  test("a slow stream within the limit completes", async () => {
    const gw2 = await startGateway({ providers: { up: { type: "openai", base_url: up.url, api_key: up.apiKey } }, models: [{ id: "fault-slow", provider: "up" }], keys: [{ name: "t", key: KEY }] });
    try {
      const res = await post(`${gw2.baseURL}/chat/completions`, body("fault-slow", true), KEY);
      const p = dataPayloads(await res.text());
      expect(p.at(-1)).toBe("[DONE]");
    } finally {
      await gw2.stop();
    }
  });
  test("the request log records the failure", async () => {
    await post(url, body("fault-500"), KEY, { "x-request-id": "err-log-1" });
    const line = gw.logs.find((l) => l.request_id === "err-log-1")!;
    expect(line.status).toBe(502);
    expect(String(line.error)).toContain("upstream_failed");
  });
});
