// POST /v1/embeddings through the gateway with the official openai client: passthrough, Gemini, refusals, limits.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { GoogleGenAI } from "@google/genai";
import { startOpenAIUpstream, type OpenAIUpstream } from "../../support/openai-upstream.ts";
import { startAzureUpstream, type AzureUpstream } from "../../support/azure-upstream.ts";
import { startGeminiUpstream, type GeminiUpstream } from "../../support/gemini-upstream.ts";
import { startAnthropicUpstream, type AnthropicUpstream } from "../../support/anthropic-upstream.ts";
import { startGateway, post, type GatewayHandle } from "../../support/gateway.ts";
import { vectorFor } from "../../support/embeddings-wire.ts";
import { float32Base64 } from "../../../src/providers/gemini/embeddings.ts";
import { apiError } from "../../support/fixtures.ts";

const KEY = "sk-test-embeddings-1";
const NARROW = "sk-test-embeddings-narrow";
const LIMITED = "sk-test-embeddings-rpm";
let oa: OpenAIUpstream;
let az: AzureUpstream;
let gm: GeminiUpstream;
let an: AnthropicUpstream;
let gw: GatewayHandle;
let client: OpenAI;

beforeAll(async () => {
  [oa, az, gm, an] = await Promise.all([startOpenAIUpstream(), startAzureUpstream(), startGeminiUpstream(), startAnthropicUpstream()]);
  gw = await startGateway({
    providers: {
      openai: { type: "openai", base_url: oa.url, api_key: oa.apiKey },
      azure: { type: "azure", base_url: az.url, api_key: az.apiKey, api_version: az.apiVersion },
      google: { type: "gemini", base_url: gm.url, api_key: gm.apiKey },
      claude: { type: "anthropic", base_url: an.url, api_key: an.apiKey },
    },
    models: [
      { id: "text-embedding-3-small", provider: "openai" },
      { id: "embed-azure", provider: "azure", deployment: "emb-prod" },
      { id: "gemini-embedding", provider: "google", upstream_model: "gemini-embedding-001" },
      { id: "claude", provider: "claude", upstream_model: "claude-sonnet-4-5" },
    ],
    keys: [
      { name: "all", key: KEY, tpm: 1_000_000 },
      { name: "narrow", key: NARROW, models: ["claude"] },
      { name: "limited", key: LIMITED, rpm: 2 },
    ],
  });
  client = new OpenAI({ baseURL: gw.baseURL, apiKey: KEY, maxRetries: 0 });
});
afterAll(async () => {
  await gw.stop();
  await Promise.all([oa.stop(), az.stop(), gm.stop(), an.stop()]);
});

describe("embeddings: OpenAI-type and Azure passthrough", () => {
  test("the openai client's default (base64) is passed through and decodes to the upstream's floats", async () => {
    const r = await client.embeddings.create({ model: "text-embedding-3-small", input: ["first text", "second text"] });
    expect(r.model).toBe("text-embedding-3-small");
    expect(r.data.map((d) => d.index)).toEqual([0, 1]);
    expect(r.data[0]!.embedding).toEqual(vectorFor("first text", 8));
    expect(r.usage).toEqual({ prompt_tokens: 4, total_tokens: 4 });
    const call = oa.calls.at(-1)!;
    expect(call.path).toBe("/v1/embeddings");
    expect(call.body).toMatchObject({ model: "text-embedding-3-small", encoding_format: "base64", input: ["first text", "second text"] });
  });

  test("float, dimensions and /api/v1 prefix", async () => {
    const res = await post(`${gw.url}/api/v1/embeddings`, { model: "text-embedding-3-small", input: "hello", encoding_format: "float", dimensions: 4 }, KEY);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: { embedding: number[] }[] };
    expect(body.data[0]!.embedding).toEqual(vectorFor("hello", 4));
    expect(res.headers.get("x-switchboard-deployment")).toBe("openai/text-embedding-3-small");
  });

  test("azure: the deployment's embeddings URL with api-version and api-key", async () => {
    const r = await client.embeddings.create({ model: "embed-azure", input: "azure text", encoding_format: "float" });
    expect(r.model).toBe("embed-azure");
    expect(r.data[0]!.embedding).toEqual(vectorFor("azure text", 8));
    expect(az.calls.at(-1)!.path).toBe(`/openai/deployments/emb-prod/embeddings?api-version=${az.apiVersion}`);
    expect(az.calls.at(-1)!.headers["api-key"]).toBe(az.apiKey);
  });
});

describe("embeddings: Gemini batchEmbedContents", () => {
  test("translated both ways: one request per input, dimensions → outputDimensionality, base64 Float32 LE", async () => {
    const r = await client.embeddings.create({ model: "gemini-embedding", input: ["alpha", "beta"], dimensions: 6 });
    expect(r.model).toBe("gemini-embedding");
    expect(r.data).toHaveLength(2);
    // The SDK decoded our base64: it must be the fixture's float32 values exactly.
    expect(r.data[1]!.embedding).toEqual(vectorFor("beta", 6));
    expect(r.usage.prompt_tokens).toBeGreaterThan(0);
    const call = gm.calls.at(-1)!;
    expect(call.path).toBe("/v1beta/models/gemini-embedding-001:batchEmbedContents");
    expect(call.body).toEqual({
      requests: [
        { model: "models/gemini-embedding-001", content: { parts: [{ text: "alpha" }] }, outputDimensionality: 6 },
        { model: "models/gemini-embedding-001", content: { parts: [{ text: "beta" }] }, outputDimensionality: 6 },
      ],
    });
  });

  test("float answers are Gemini's values; token-id input is a 400", async () => {
    const r = await client.embeddings.create({ model: "gemini-embedding", input: "gamma", encoding_format: "float" });
    expect(r.data[0]!.embedding).toEqual(vectorFor("gamma", 8));
    const err = await client.embeddings.create({ model: "gemini-embedding", input: [1, 2, 3] }).catch((e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(400);
    expect((err as InstanceType<typeof OpenAI.APIError>).param).toBe("input");
  });

  test("the fixture speaks what @google/genai sends and reads", async () => {
    const ai = new GoogleGenAI({ apiKey: gm.apiKey, httpOptions: { baseUrl: gm.url } });
    const r = await ai.models.embedContent({ model: "gemini-embedding-001", contents: ["one", "two"], config: { outputDimensionality: 3 } });
    expect(r.embeddings?.map((e) => e.values)).toEqual([vectorFor("one", 3), vectorFor("two", 3)]);
  });

  test("base64 is Float32 little-endian", () => {
    const b = Buffer.from(float32Base64([1, -2.5]), "base64");
    expect(b.readFloatLE(0)).toBe(1);
    expect(b.readFloatLE(4)).toBe(-2.5);
  });
});

describe("embeddings: refusals and limits, like chat", () => {
  test("Anthropic has no embeddings API: a clear 400, nothing sent", async () => {
    const before = an.calls.length;
    const e = await apiError(client.embeddings.create({ model: "claude", input: "x" }));
    expect(e.status).toBe(400);
    expect(e.message).toContain("does not support embeddings");
    expect(an.calls.length).toBe(before);
  });

  test("validation: empty input, unknown encoding, unknown model", async () => {
    const r1 = await post(`${gw.baseURL}/embeddings`, { model: "text-embedding-3-small", input: "" }, KEY);
    expect(r1.status).toBe(400);
    expect(((await r1.json()) as { error: { param: string } }).error.param).toBe("input");
    const r2 = await post(`${gw.baseURL}/embeddings`, { model: "text-embedding-3-small", input: "x", encoding_format: "int8" }, KEY);
    expect(r2.status).toBe(400);
    expect(((await r2.json()) as { error: { param: string } }).error.param).toBe("encoding_format");
    const r3 = await post(`${gw.baseURL}/embeddings`, { model: "nope", input: "x" }, KEY);
    expect(r3.status).toBe(404);
  });

  test("authentication and the key's model allow-list", async () => {
    expect((await post(`${gw.baseURL}/embeddings`, { model: "text-embedding-3-small", input: "x" })).status).toBe(401);
    const res = await post(`${gw.baseURL}/embeddings`, { model: "text-embedding-3-small", input: "x" }, NARROW);
    expect(res.status).toBe(403);
  });

  test("rpm limits and their headers, as for chat", async () => {
    const a = await post(`${gw.baseURL}/embeddings`, { model: "text-embedding-3-small", input: "x" }, LIMITED);
    expect(a.status).toBe(200);
    expect(a.headers.get("x-ratelimit-limit-requests")).toBe("2");
    expect(a.headers.get("x-ratelimit-remaining-requests")).toBe("1");
    expect((await post(`${gw.baseURL}/embeddings`, { model: "text-embedding-3-small", input: "x" }, LIMITED)).status).toBe(200);
    const c = await post(`${gw.baseURL}/embeddings`, { model: "text-embedding-3-small", input: "x" }, LIMITED);
    expect(c.status).toBe(429);
    expect(Number(c.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  });

  test("tpm: the reservation is settled to the provider's usage, and the request is logged", async () => {
    const res = await post(`${gw.baseURL}/embeddings`, { model: "text-embedding-3-small", input: "three word text" }, KEY, { "x-request-id": "emb-log-1" });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-ratelimit-limit-tokens")).toBe("1000000");
    const line = gw.logs.find((l) => l.request_id === "emb-log-1");
    expect(line).toMatchObject({ status: 200, model: "text-embedding-3-small", tokens_in: 3, path: "/v1/embeddings" });
  });
});
