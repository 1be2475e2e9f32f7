// Gemini features through the gateway with the official openai client: reasoning, n > 1, logprobs, parse(), files and audio.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { zodResponseFormat } from "openai/helpers/zod";
import { z } from "zod";
import { startGeminiUpstream, type GeminiUpstream } from "../../support/gemini-upstream.ts";
import { startGateway, post, type GatewayHandle } from "../../support/gateway.ts";
import { dataPayloads } from "../../support/stream-invariants.ts";
import type { ChatCompletionChunk } from "../../../src/openai/schemas.ts";

const KEY = "sk-test-gemini-features";
let up: GeminiUpstream;
let gw: GatewayHandle;
let client: OpenAI;
const gen = () => up.calls.at(-1)!.body.generationConfig as Record<string, unknown>;
const stream = async (body: object) => {
  const res = await post(`${gw.baseURL}/chat/completions`, { stream: true, ...body }, KEY);
  expect(res.status).toBe(200);
  const payloads = dataPayloads(await res.text());
  expect(payloads.at(-1)).toBe("[DONE]");
  return payloads.slice(0, -1).map((p) => JSON.parse(p) as ChatCompletionChunk);
};

beforeAll(async () => {
  up = await startGeminiUpstream();
  gw = await startGateway({
    providers: { g: { type: "gemini", base_url: up.url, api_key: up.apiKey } },
    models: [
      { id: "flash", provider: "g", upstream_model: "gemini-2.5-flash" },
      { id: "pro3", provider: "g", upstream_model: "gemini-3-pro-preview" },
    ],
    keys: [{ name: "g", key: KEY }],
  });
  client = new OpenAI({ baseURL: gw.baseURL, apiKey: KEY, maxRetries: 0 });
});
afterAll(async () => {
  await gw.stop();
  await up.stop();
});

describe("reasoning on Gemini", () => {
  test("reasoning_effort → thinkingConfig with includeThoughts; thoughts come back as reasoning_content; reasoning_tokens", async () => {
    const r = await client.chat.completions.create({ model: "flash", reasoning_effort: "low", messages: [{ role: "user", content: "Why?" }] });
    expect(gen().thinkingConfig).toEqual({ thinkingBudget: 1024, includeThoughts: true });
    const msg = r.choices[0]!.message as OpenAI.ChatCompletionMessage & { reasoning_content?: string };
    expect(msg.content).toBe("Echo from Gemini: Why?");
    expect(msg.reasoning_content).toBe("Thinking about candidate 0.");
    expect(r.usage!.completion_tokens_details!.reasoning_tokens).toBe(7);
    expect(r.usage!.prompt_tokens_details!.cached_tokens).toBe(0);
  });

  test("streaming: delta.reasoning_content before the answer; Gemini 3 gets a thinkingLevel", async () => {
    const chunks = await stream({ model: "pro3", reasoning_effort: "high", messages: [{ role: "user", content: "Why?" }] });
    expect(gen().thinkingConfig).toEqual({ thinkingLevel: "HIGH", includeThoughts: true });
    const deltas = chunks.flatMap((c) => c.choices.map((ch) => ch.delta));
    expect(deltas.map((d) => d.reasoning_content ?? "").join("")).toBe("Thinking about candidate 0.");
    expect(deltas.map((d) => d.content ?? "").join("")).toBe("Echo from Gemini: Why?");
    const firstReasoning = deltas.findIndex((d) => d.reasoning_content);
    const firstContent = deltas.findIndex((d) => d.content);
    expect(firstReasoning).toBeLessThan(firstContent);
    expect(chunks.at(-1)!.usage!.completion_tokens_details!.reasoning_tokens).toBe(7);
  });

  test("reasoning_effort none turns thinking off on 2.5 (budget 0)", async () => {
    await client.chat.completions.create({ model: "flash", reasoning_effort: "none", messages: [{ role: "user", content: "quick" }] });
    expect(gen().thinkingConfig).toEqual({ thinkingBudget: 0 });
  });
});

describe("n > 1 and logprobs on Gemini", () => {
  test("n → candidateCount: one choice per candidate, JSON and streaming", async () => {
    const r = await client.chat.completions.create({ model: "flash", n: 2, messages: [{ role: "user", content: "two" }] });
    expect(gen().candidateCount).toBe(2);
    expect(r.choices.map((c) => [c.index, c.message.content, c.finish_reason])).toEqual([
      [0, "Echo from Gemini: two", "stop"],
      [1, "Echo from Gemini #1: two", "stop"],
    ]);
    const chunks = await stream({ model: "flash", n: 2, messages: [{ role: "user", content: "two" }] });
    const text = (i: number) => chunks.flatMap((c) => c.choices.filter((ch) => ch.index === i).map((ch) => ch.delta.content ?? "")).join("");
    expect(text(0)).toBe("Echo from Gemini: two");
    expect(text(1)).toBe("Echo from Gemini #1: two");
    for (const i of [0, 1]) {
      expect(chunks.find((c) => c.choices.some((ch) => ch.index === i))!.choices[0]!.delta.role).toBe("assistant");
      expect(chunks.filter((c) => c.choices.some((ch) => ch.index === i && ch.finish_reason === "stop"))).toHaveLength(1);
    }
    expect(chunks.at(-1)!.choices).toEqual([]);
    expect(chunks.at(-1)!.usage!.total_tokens).toBeGreaterThan(0);
  });

  test("logprobs / top_logprobs → responseLogprobs / logprobs; OpenAI's logprobs.content in JSON and chunks", async () => {
    const r = await client.chat.completions.create({ model: "flash", logprobs: true, top_logprobs: 1, messages: [{ role: "user", content: "hi" }] });
    expect(gen()).toMatchObject({ responseLogprobs: true, logprobs: 1 });
    const content = r.choices[0]!.logprobs!.content!;
    expect(content.map((t) => t.token).join("")).toBe("Echo from Gemini: hi");
    expect(content[0]).toEqual({ token: "Echo ", logprob: -0.1, bytes: [...Buffer.from("Echo ")], top_logprobs: [{ token: "Echo ", logprob: -0.1, bytes: [...Buffer.from("Echo ")] }] });
    const chunks = await stream({ model: "flash", logprobs: true, messages: [{ role: "user", content: "hi" }] });
    const tokens = chunks.flatMap((c) => c.choices.flatMap((ch) => ch.logprobs?.content ?? [])).map((t) => t.token);
    expect(tokens.join("")).toBe("Echo from Gemini: hi");
  });
});

describe("structured outputs on Gemini", () => {
  const Answer = z.object({ city: z.string(), population: z.number() });
  test("parse() with zodResponseFormat returns parsed (responseSchema sent); streaming too", async () => {
    const r = await client.chat.completions.parse({ model: "flash", messages: [{ role: "user", content: "Biggest city?" }], response_format: zodResponseFormat(Answer, "answer") });
    expect(r.choices[0]!.message.parsed).toEqual({ city: "text", population: 42 });
    expect(gen()).toMatchObject({ responseMimeType: "application/json", responseSchema: { type: "object" } });
    const s = client.chat.completions.stream({ model: "flash", messages: [{ role: "user", content: "Biggest city?" }], response_format: zodResponseFormat(Answer, "answer") });
    expect((await s.finalChatCompletion()).choices[0]!.message.parsed).toEqual({ city: "text", population: 42 });
  });
});

describe("files, audio and unknown parts on Gemini", () => {
  test("a PDF file part and input_audio → inlineData with their MIME types", async () => {
    await client.chat.completions.create({
      model: "flash",
      messages: [{ role: "user", content: [
        { type: "file", file: { file_data: "data:application/pdf;base64,JVBERi0xLjQK", filename: "a.pdf" } },
        { type: "input_audio", input_audio: { data: "UklGRiQAAABXQVZF", format: "wav" } },
        { type: "text", text: "What is in these?" },
      ] }],
    });
    const parts = (up.calls.at(-1)!.body.contents as { parts: unknown[] }[])[0]!.parts;
    expect(parts).toEqual([
      { inlineData: { mimeType: "application/pdf", data: "JVBERi0xLjQK" } },
      { inlineData: { mimeType: "audio/wav", data: "UklGRiQAAABXQVZF" } },
      { text: "What is in these?" },
    ]);
  });

  test("an unknown part type or a file_id is a 400 naming the part; nothing reaches Gemini", async () => {
    const before = up.calls.length;
    const r1 = await post(`${gw.baseURL}/chat/completions`, { model: "flash", messages: [{ role: "user", content: [{ type: "video_url", video_url: { url: "https://x/v.mp4" } }] }] }, KEY);
    expect(r1.status).toBe(400);
    expect(((await r1.json()) as { error: { param: string } }).error.param).toBe("messages[0].content[0].type");
    const r2 = await post(`${gw.baseURL}/chat/completions`, { model: "flash", messages: [{ role: "user", content: [{ type: "file", file: { file_id: "file-1" } }] }] }, KEY);
    expect(((await r2.json()) as { error: { param: string } }).error.param).toBe("messages[0].content[0].file.file_data");
    expect(up.calls.length).toBe(before);
  });

  test("http:// image URLs are accepted (fileData) without fetching", async () => {
    await client.chat.completions.create({ model: "flash", messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "http://intranet.local/cat.png" } }] }] });
    expect((up.calls.at(-1)!.body.contents as { parts: unknown[] }[])[0]!.parts).toEqual([{ fileData: { mimeType: "image/png", fileUri: "http://intranet.local/cat.png" } }]);
  });
});
