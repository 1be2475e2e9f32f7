// Checks the Gemini fixture server against Google's own SDK, so the gateway is tested against a faithful fake.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ApiError, FinishReason, GoogleGenAI, Type } from "@google/genai";
import { startGeminiUpstream, type GeminiUpstream } from "../../support/gemini-upstream.ts";
import { geminiModelUrl } from "../../../src/providers/gemini/provider.ts";

let up: GeminiUpstream;
let ai: GoogleGenAI;

beforeAll(async () => {
  up = await startGeminiUpstream();
  ai = new GoogleGenAI({ apiKey: up.apiKey, httpOptions: { baseUrl: up.url } });
});
afterAll(() => up.stop());

describe("@google/genai against the Gemini fixture", () => {
  test("generateContent: text, usage, and the SDK's path and key header are the gateway's", async () => {
    const r = await ai.models.generateContent({ model: "gemini-2.0-flash", contents: "Hello there" });
    expect(r.text).toBe("Echo from Gemini: Hello there");
    expect(r.candidates?.[0]?.finishReason).toBe(FinishReason.STOP);
    expect(r.usageMetadata?.totalTokenCount).toBe(20);
    const call = up.calls.at(-1)!;
    expect(call.headers["x-goog-api-key"]).toBe(up.apiKey);
    // The gateway builds the same URL from the same base the SDK takes.
    expect(up.url + call.path).toBe(geminiModelUrl(up.url, "gemini-2.0-flash", false));
  });

  test("generateContentStream: SSE events with \\r\\n\\r\\n, text joined, finish on the last event", async () => {
    const s = await ai.models.generateContentStream({ model: "gemini-2.0-flash", contents: "one two three four" });
    const texts: string[] = [];
    let finish: FinishReason | undefined;
    for await (const c of s) {
      texts.push(c.text ?? "");
      finish = c.candidates?.[0]?.finishReason ?? finish;
    }
    expect(texts.length).toBe(3);
    expect(texts.join("")).toBe("Echo from Gemini: one two three four");
    expect(finish).toBe(FinishReason.STOP);
    const call = up.calls.at(-1)!;
    expect(up.url + call.path).toBe(geminiModelUrl(up.url, "gemini-2.0-flash", true));
  });

  test("a function call comes back as functionCalls with args and a thought signature", async () => {
    const r = await ai.models.generateContent({
      model: "gemini-2.0-flash",
      contents: "Weather in Paris?",
      config: {
        tools: [{ functionDeclarations: [{ name: "get_weather", parameters: { type: Type.OBJECT, properties: { city: { type: Type.STRING } } } }] }],
      },
    });
    expect(r.functionCalls).toEqual([{ name: "get_weather", args: { city: "Paris", unit: "celsius" } }]);
    expect(r.candidates?.[0]?.content?.parts?.[0]?.thoughtSignature).toBe(up.signature);
    // The SDK sends declarations where the gateway does: tools[].functionDeclarations.
    const tools = up.calls.at(-1)!.body.tools as { functionDeclarations: { name: string }[] }[];
    expect(tools[0]!.functionDeclarations[0]!.name).toBe("get_weather");
  });

  test("a function response is answered with text", async () => {
    const r = await ai.models.generateContent({
      model: "gemini-2.0-flash",
      contents: [
        { role: "user", parts: [{ text: "Weather in Paris?" }] },
        { role: "model", parts: [{ functionCall: { name: "get_weather", args: { city: "Paris" } } }] },
        { role: "user", parts: [{ functionResponse: { name: "get_weather", response: { temp_c: 21 } } }] },
      ],
    });
    expect(r.text).toBe('The tool said: {"temp_c":21}');
  });

  test("errors: a wrong key, a quota error with RetryInfo, and an error object mid-stream reach the SDK as ApiError", async () => {
    const bad = new GoogleGenAI({ apiKey: "wrong", httpOptions: { baseUrl: up.url } });
    const e1 = await bad.models.generateContent({ model: "gemini-2.0-flash", contents: "x" }).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(ApiError);
    expect((e1 as ApiError).status).toBe(400);
    expect((e1 as ApiError).message).toContain("API_KEY_INVALID");

    const e2 = await ai.models.generateContent({ model: "fault-429", contents: "x" }).catch((e: unknown) => e);
    expect((e2 as ApiError).status).toBe(429);
    expect((e2 as ApiError).message).toContain("RetryInfo");

    const s = await ai.models.generateContentStream({ model: "fault-midstream-error", contents: "x" });
    const e3 = await (async () => {
      for await (const _ of s) {
        // the first event is text; the second is the error
      }
    })().catch((e: unknown) => e);
    expect((e3 as ApiError).status).toBe(503);
  });

  test("recorded streams replay through the SDK", async () => {
    const s = await ai.models.generateContentStream({ model: "recorded-tool", contents: "x" });
    const calls: unknown[] = [];
    for await (const c of s) calls.push(...(c.functionCalls ?? []));
    expect(calls).toEqual([{ name: "weather", args: { location: "San Francisco" } }]);
  });
});

describe("@google/genai against the Gemini fixture: thoughts, candidates, logprobs, JSON", () => {
  test("thinkingConfig.includeThoughts → thought parts the SDK tells apart from the answer; thoughtsTokenCount", async () => {
    const r = await ai.models.generateContent({ model: "gemini-2.5-flash", contents: "Why?", config: { thinkingConfig: { includeThoughts: true, thinkingBudget: 1024 } } });
    const parts = r.candidates?.[0]?.content?.parts ?? [];
    expect(parts.filter((p) => p.thought).map((p) => p.text)).toEqual(["Thinking about candidate 0."]);
    // The SDK's .text leaves thoughts out, as the gateway must.
    expect(r.text).toBe("Echo from Gemini: Why?");
    expect(r.usageMetadata?.thoughtsTokenCount).toBe(7);
  });

  test("candidateCount and logprobs: one candidate per index, each with its LogprobsResult", async () => {
    const r = await ai.models.generateContent({ model: "gemini-2.5-flash", contents: "two ways", config: { candidateCount: 2, responseLogprobs: true, logprobs: 1 } });
    expect(r.candidates?.map((c) => c.index)).toEqual([0, 1]);
    expect(r.candidates?.[1]?.content?.parts?.[0]?.text).toBe("Echo from Gemini #1: two ways");
    const lp = r.candidates?.[0]?.logprobsResult;
    expect(lp?.chosenCandidates?.[0]?.token).toBe("Echo ");
    expect(lp?.topCandidates?.[0]?.candidates).toHaveLength(1);
    const bad = await ai.models.generateContent({ model: "gemini-2.5-flash", contents: "x", config: { logprobs: 2 } }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ApiError);
  });

  test("responseMimeType + responseSchema → JSON text matching the schema", async () => {
    const r = await ai.models.generateContent({
      model: "gemini-2.5-flash",
      contents: "weather",
      config: { responseMimeType: "application/json", responseSchema: { type: Type.OBJECT, properties: { city: { type: Type.STRING }, t: { type: Type.NUMBER } } } },
    });
    expect(JSON.parse(r.text!)).toEqual({ city: "text", t: 42 });
  });
});
