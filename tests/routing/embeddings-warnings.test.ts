// Routing beyond chat: embeddings get targets, retries and fallbacks; a failed attempt's warnings are not named.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { startOpenAIUpstream, type OpenAIUpstream } from "../support/openai-upstream.ts";
import { startAnthropicUpstream, type AnthropicUpstream } from "../support/anthropic-upstream.ts";
import { post, startGateway, type GatewayHandle } from "../support/gateway.ts";

const KEY = "sk-test-routing-embeddings";
let a: OpenAIUpstream;
let b: OpenAIUpstream;
let an: AnthropicUpstream;
let gw: GatewayHandle;

beforeAll(async () => {
  [a, b, an] = await Promise.all([startOpenAIUpstream(), startOpenAIUpstream(), startAnthropicUpstream()]);
  gw = await startGateway({
    providers: {
      a: { type: "openai", base_url: a.url, api_key: a.apiKey },
      b: { type: "openai", base_url: b.url, api_key: b.apiKey },
      claude: { type: "anthropic", base_url: an.url, api_key: an.apiKey },
    },
    models: [
      { id: "emb", targets: [{ provider: "a", upstream_model: "text-embedding-3-small" }, { provider: "b", upstream_model: "text-embedding-3-small" }], strategy: "ordered" },
      { id: "emb-fallback", provider: "a", upstream_model: "text-embedding-3-small", fallbacks: ["emb-b"], max_attempts: 1 },
      { id: "emb-b", provider: "b", upstream_model: "text-embedding-3-large" },
      { id: "chat", targets: [{ provider: "claude", upstream_model: "claude-sonnet-4-5" }, { provider: "a", upstream_model: "gpt-4o" }], strategy: "ordered" },
    ],
    keys: [{ name: "r", key: KEY }],
  });
});
afterAll(async () => {
  await gw.stop();
  await Promise.all([a.stop(), b.stop(), an.stop()]);
});

describe("embeddings are routed like chat", () => {
  test("a 503 on the first target fails over to the second", async () => {
    a.script.push(503);
    const client = new OpenAI({ baseURL: gw.baseURL, apiKey: KEY, maxRetries: 0 });
    const r = await client.embeddings.create({ model: "emb", input: "hello" }).withResponse();
    expect(r.data.data.length).toBe(1);
    expect(r.response.headers.get("x-switchboard-deployment")).toBe("b/text-embedding-3-small");
  });
  test("a model that fails falls back to its fallback model", async () => {
    a.script.push(500);
    const res = await post(`${gw.baseURL}/embeddings`, { model: "emb-fallback", input: "hello" }, KEY);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchboard-deployment")).toBe("b/text-embedding-3-large");
    expect(((await res.json()) as { model: string }).model).toBe("emb-fallback");
  });
});

describe("warnings name what the answering attempt did", () => {
  test("Claude clamps temperature 1.5 (a warning) and then fails; the OpenAI target that answers warns nothing", async () => {
    an.reply({ kind: "error", status: 529, type: "overloaded_error", message: "Overloaded" });
    const res = await post(`${gw.baseURL}/chat/completions`, { model: "chat", temperature: 1.5, messages: [{ role: "user", content: "hi" }] }, KEY);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchboard-deployment")).toBe("a/gpt-4o");
    expect(res.headers.get("x-switchboard-warnings")).toBeNull();
  });
  test("when Claude answers, its warning is named", async () => {
    const res = await post(`${gw.baseURL}/chat/completions`, { model: "chat", temperature: 1.5, messages: [{ role: "user", content: "hi" }] }, KEY);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchboard-warnings")).toContain("temperature");
  });
});
