// Pure Gemini translation: recorded streams → expected OpenAI chunks, responses, errors, URLs (requests: gemini-request.test.ts).
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ChatCompletionChunk } from "../../../src/openai/schemas.ts";
import { toErrorResponse } from "../../../src/openai/errors.ts";
import { fromGeminiResponse, mapGeminiFinishReason, mapGeminiUsage } from "../../../src/providers/gemini/response.ts";
import { createGeminiStreamTranslator } from "../../../src/providers/gemini/stream.ts";
import { mapGeminiError } from "../../../src/providers/gemini/errors.ts";
import { geminiModelUrl } from "../../../src/providers/gemini/provider.ts";
import { expectValidStream } from "../../support/stream-invariants.ts";
import { thrown } from "../../support/fixtures.ts";

const dir = join(import.meta.dir, "../../fixtures", "gemini");
const read = (f: string) => readFileSync(join(dir, f), "utf8");
const lines = (f: string) => read(f).split(/\r?\n/).filter((l) => l.trim() !== "");
const meta = { id: "chatcmpl-req1", created: 1700000000, model: "gemini-test", requestId: "req1" };

function translate(file: string, warnings: string[] = []): ChatCompletionChunk[] {
  const t = createGeminiStreamTranslator(meta, (m) => warnings.push(m));
  const out: ChatCompletionChunk[] = [];
  for (const l of lines(file)) out.push(...t.push(l));
  out.push(...t.end());
  return out;
}


describe("gemini stream fixtures", () => {
  const cases = ["google-text", "google-tool-call", "gemini-parallel-calls", "gemini-max-tokens", "gemini-safety", "gemini-prompt-blocked", "gemini-thinking"];
  for (const c of cases) {
    test(`${c} → expected chunks, valid stream`, () => {
      const got = translate(`${c}.chunks.txt`);
      const want = lines(`${c}.expected.jsonl`).map((l) => JSON.parse(l) as unknown);
      expect(JSON.parse(JSON.stringify(got))).toEqual(want);
      expectValidStream([...got.map((g) => JSON.stringify(g)), "[DONE]"], { model: "gemini-test" });
    });
  }

  test("an error object mid-stream throws the mapped error after the text already sent", () => {
    const t = createGeminiStreamTranslator(meta);
    const [first, second] = lines("gemini-midstream-error.chunks.txt");
    expect(t.push(first!).map((c) => c.choices[0]?.delta.content)).toEqual(["", "The first part of the answer"]);
    const err = thrown(() => t.push(second!));
    expect(err.kind).toBe("upstream_failed");
    expect(err.retryable).toBe(true);
    expect(err.message).toContain("overloaded");
  });

  test("a stream that ends without a finishReason is a broken stream (502)", () => {
    const t = createGeminiStreamTranslator(meta);
    t.push(lines("google-text.chunks.txt")[0]!);
    const err = thrown(() => t.end());
    expect(err.kind).toBe("upstream_failed");
    expect(toErrorResponse(err).status).toBe(502);
  });

  test("an empty stream is a broken stream, and invalid JSON is a provider failure", () => {
    expect(thrown(() => createGeminiStreamTranslator(meta).end()).kind).toBe("upstream_failed");
    expect(thrown(() => createGeminiStreamTranslator(meta).push("{not json")).kind).toBe("upstream_failed");
  });

  test("unusual finish reasons are logged", () => {
    const warnings: string[] = [];
    const t = createGeminiStreamTranslator(meta, (m) => warnings.push(m));
    t.push('{"candidates":[{"content":{"parts":[{"text":"x"}],"role":"model"},"finishReason":"MALFORMED_FUNCTION_CALL","index":0}]}');
    const [finish] = t.end();
    expect(finish!.choices[0]!.finish_reason).toBe("stop");
    expect(warnings).toEqual(["Gemini finished with MALFORMED_FUNCTION_CALL."]);
  });
});

describe("gemini responses", () => {
  test("recorded text response → completion with reasoning tokens inside completion_tokens", () => {
    const out = fromGeminiResponse(JSON.parse(read("google-text.json")), meta, () => {});
    expect(out).toEqual({
      id: "chatcmpl-req1",
      object: "chat.completion",
      created: 1700000000,
      model: "gemini-test",
      choices: [{ index: 0, message: { role: "assistant", content: "There are **3** r's in strawberry.\n\nHere is the breakdown: st**r**awbe**rr**y." }, finish_reason: "stop", logprobs: null }],
      usage: { prompt_tokens: 9, completion_tokens: 272, total_tokens: 281, prompt_tokens_details: { cached_tokens: 0, cache_creation_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 244 } },
    });
  });

  test("recorded function call → tool_calls with deterministic id, JSON arguments and the thought signature", () => {
    const body = JSON.parse(read("google-tool-call.json"));
    const out = fromGeminiResponse(body, meta, () => {});
    const choice = out.choices[0]!;
    expect(choice.finish_reason).toBe("tool_calls");
    expect(choice.message.content).toBeNull();
    expect(choice.message.tool_calls).toEqual([
      {
        id: "call_req1_0",
        type: "function",
        function: { name: "weather", arguments: '{"location":"San Francisco"}' },
        extra_content: { google: { thought_signature: body.candidates[0].content.parts[0].thoughtSignature } },
      } as never,
    ]);
    expect(out.usage).toEqual({ prompt_tokens: 29, completion_tokens: 908, total_tokens: 937, prompt_tokens_details: { cached_tokens: 0, cache_creation_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 893 } });
  });

  test("a blocked prompt is a content_filter completion with the reason in refusal", () => {
    const warnings: string[] = [];
    const out = fromGeminiResponse(JSON.parse(read("gemini-prompt-blocked.json")), meta, (m) => warnings.push(m));
    expect(out.choices).toEqual([
      { index: 0, message: { role: "assistant", content: null, refusal: "Gemini blocked the prompt (reason: SAFETY)." }, finish_reason: "content_filter", logprobs: null },
    ]);
    expect(out.usage).toEqual({ prompt_tokens: 9, completion_tokens: 0, total_tokens: 9, prompt_tokens_details: { cached_tokens: 0, cache_creation_tokens: 0 } });
    expect(warnings.length).toBe(1);
  });

  test("no candidates and no block reason, or not an object → 502", () => {
    expect(thrown(() => fromGeminiResponse({ usageMetadata: {} }, meta, () => {})).kind).toBe("upstream_failed");
    expect(thrown(() => fromGeminiResponse("nope", meta, () => {})).kind).toBe("upstream_failed");
  });

  test("finish reason mapping takes context", () => {
    expect(mapGeminiFinishReason({ reason: "STOP", hasToolCalls: false })).toBe("stop");
    expect(mapGeminiFinishReason({ reason: "STOP", hasToolCalls: true })).toBe("tool_calls");
    expect(mapGeminiFinishReason({ reason: "MAX_TOKENS", hasToolCalls: true })).toBe("length");
    for (const r of ["SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"]) {
      expect(mapGeminiFinishReason({ reason: r, hasToolCalls: false })).toBe("content_filter");
    }
  });

  test("usage: cached tokens, missing fields count as zero", () => {
    expect(mapGeminiUsage({ promptTokenCount: 100, candidatesTokenCount: 5, cachedContentTokenCount: 60, totalTokenCount: 105 })).toEqual({
      prompt_tokens: 100,
      completion_tokens: 5,
      total_tokens: 105,
      prompt_tokens_details: { cached_tokens: 60, cache_creation_tokens: 0 },
    });
    expect(mapGeminiUsage(undefined)).toEqual({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, prompt_tokens_details: { cached_tokens: 0, cache_creation_tokens: 0 } });
  });
});

describe("gemini errors", () => {
  const h = new Headers();
  test("INVALID_ARGUMENT 400 → 400 with Google's message", () => {
    const err = mapGeminiError(400, '{"error":{"code":400,"message":"Invalid JSON payload received. Unknown name \\"foo\\"","status":"INVALID_ARGUMENT"}}', h);
    const res = toErrorResponse(err);
    expect(res.status).toBe(400);
    expect(err.message).toContain("Unknown name");
    expect(err.retryable).toBe(false);
  });

  test("a bad API key (400 API_KEY_INVALID), 401 and 403 → 502 without Google's message", async () => {
    const badKey = JSON.stringify({
      error: {
        code: 400,
        message: "API key not valid. Please pass a valid API key.",
        status: "INVALID_ARGUMENT",
        details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "API_KEY_INVALID", domain: "googleapis.com" }],
      },
    });
    const denied = '{"error":{"code":403,"message":"Method doesn\'t allow unregistered callers","status":"PERMISSION_DENIED"}}';
    for (const [status, body] of [[400, badKey], [403, denied], [401, "{}"]] as const) {
      const err = mapGeminiError(status, body, h);
      const res = toErrorResponse(err);
      expect(res.status).toBe(502);
      const text = await res.text();
      expect(text).not.toContain("API key not valid");
      expect(text).not.toContain("unregistered");
    }
  });

  test("NOT_FOUND → 404; FAILED_PRECONDITION → 400", () => {
    expect(toErrorResponse(mapGeminiError(404, '{"error":{"code":404,"message":"models/x is not found","status":"NOT_FOUND"}}', h)).status).toBe(404);
    expect(toErrorResponse(mapGeminiError(400, '{"error":{"code":400,"message":"User location is not supported","status":"FAILED_PRECONDITION"}}', h)).status).toBe(400);
  });

  test("recorded RESOURCE_EXHAUSTED → 429 retryable, Retry-After from RetryInfo (34.4s → 35)", () => {
    const err = mapGeminiError(429, read("google-429-retry-info.json"), new Headers({ "retry-after": "3" }));
    expect(err.retryable).toBe(true);
    const res = toErrorResponse(err);
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("35");
    expect(toErrorResponse(mapGeminiError(429, "{}", new Headers({ "retry-after": "3" }))).headers.get("retry-after")).toBe("3");
  });

  test("500/503/504 and unparseable bodies → 502 retryable", () => {
    for (const s of [500, 503, 504]) {
      const err = mapGeminiError(s, `{"error":{"code":${s},"message":"busy","status":"UNAVAILABLE"}}`, h);
      expect(toErrorResponse(err).status).toBe(502);
      expect(err.retryable).toBe(true);
    }
    expect(toErrorResponse(mapGeminiError(502, "<html>bad gateway</html>", h)).status).toBe(502);
  });

  test("the array-wrapped error body of the non-SSE stream endpoint is read too", () => {
    const err = mapGeminiError(400, '[{"error":{"code":400,"message":"bad field","status":"INVALID_ARGUMENT"}}]', h);
    expect(err.message).toBe("bad field");
  });
});

describe("gemini urls", () => {
  test("base as @google/genai takes it, model names with or without models/", () => {
    expect(geminiModelUrl(undefined, "gemini-2.0-flash", false)).toBe("https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent");
    expect(geminiModelUrl("http://127.0.0.1:9/", "models/gemini-2.0-flash", true)).toBe("http://127.0.0.1:9/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse");
    expect(geminiModelUrl("https://proxy.test/v1alpha", "tunedModels/abc", false)).toBe("https://proxy.test/v1alpha/tunedModels/abc:generateContent");
  });
});
