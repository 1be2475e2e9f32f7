// Checks the Gemini fixture server against Google's own SDK, so the gateway is tested against a faithful fake.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ApiError, FinishReason, GoogleGenAI, Type } from "@google/genai";
import { startGeminiUpstream, type GeminiUpstream } from "./support/gemini-upstream.ts";
import { geminiModelUrl } from "../src/providers/gemini/provider.ts";

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
