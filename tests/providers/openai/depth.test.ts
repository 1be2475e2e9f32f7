// OpenAI-type providers keep what they can take: parse(), reasoning models' max_completion_tokens, new part types, passthrough.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { zodResponseFormat } from "openai/helpers/zod";
import { z } from "zod";
import { startOpenAIUpstream, type OpenAIUpstream } from "../../support/openai-upstream.ts";
import { startGateway, post, type GatewayHandle } from "../../support/gateway.ts";
import { takesMaxCompletionTokens } from "../../../src/providers/openai/provider.ts";

const KEY = "sk-test-openai-depth";
let up: OpenAIUpstream;
let gw: GatewayHandle;
let client: OpenAI;
const lastBody = () => up.calls.at(-1)!.body;

beforeAll(async () => {
  up = await startOpenAIUpstream();
  gw = await startGateway({
    providers: { openai: { type: "openai", base_url: up.url, api_key: up.apiKey } },
    models: [
      { id: "gpt-4o", provider: "openai" },
      { id: "o3-mini", provider: "openai" },
    ],
    keys: [{ name: "o", key: KEY }],
  });
  client = new OpenAI({ baseURL: gw.baseURL, apiKey: KEY, maxRetries: 0 });
});
afterAll(async () => {
  await gw.stop();
  await up.stop();
});

describe("OpenAI-type providers", () => {
  test("parse() with zodResponseFormat returns parsed; response_format goes upstream untouched", async () => {
    const Answer = z.object({ title: z.string(), stars: z.number() });
    const format = zodResponseFormat(Answer, "answer");
    const r = await client.chat.completions.parse({ model: "gpt-4o", messages: [{ role: "user", content: "a film" }], response_format: format });
    expect(r.choices[0]!.message.parsed).toEqual({ title: "text", stars: 42 });
    expect(lastBody().response_format).toEqual(JSON.parse(JSON.stringify(format)));
  });

  test("reasoning models: max_tokens is sent as max_completion_tokens (named in the header); others keep max_tokens", async () => {
    const { response } = await client.chat.completions.create({ model: "o3-mini", max_tokens: 300, reasoning_effort: "low", messages: [{ role: "user", content: "x" }] }).withResponse();
    expect(lastBody()).toMatchObject({ max_completion_tokens: 300, reasoning_effort: "low" });
    expect(lastBody().max_tokens).toBeUndefined();
    expect(response.headers.get("x-switchboard-warnings")).toContain("max_completion_tokens");
    await client.chat.completions.create({ model: "gpt-4o", max_tokens: 300, messages: [{ role: "user", content: "x" }] });
    expect(lastBody().max_tokens).toBe(300);
    expect(takesMaxCompletionTokens("openai/o1-preview")).toBe(true);
    expect(takesMaxCompletionTokens("gpt-5-mini")).toBe(true);
    expect(takesMaxCompletionTokens("gpt-4.1")).toBe(false);
  });

  test("file, input_audio and unknown part types, seed, user, metadata and cache_control pass through untouched", async () => {
    const content = [
      { type: "text", text: "see", cache_control: { type: "ephemeral" } },
      { type: "file", file: { file_id: "file-abc123" } },
      { type: "input_audio", input_audio: { data: "UklGRg==", format: "wav" } },
      { type: "video_url", video_url: { url: "https://example.com/v.mp4" } },
    ];
    const res = await post(`${gw.baseURL}/chat/completions`, { model: "gpt-4o", seed: 3, user: "u-1", metadata: { team: "a" }, messages: [{ role: "user", content }] }, KEY);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchboard-warnings")).toBeNull();
    expect(lastBody()).toMatchObject({ seed: 3, user: "u-1", metadata: { team: "a" }, messages: [{ role: "user", content }] });
  });
});
