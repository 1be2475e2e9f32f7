// Pure Gemini request translation: messages, images, tools and their schemas, generation parameters, dropped fields.
import { describe, expect, test } from "bun:test";
import type { ChatRequest } from "../../../src/openai/schemas.ts";
import { SKIP_SIGNATURE, toGeminiRequest, guessMimeType } from "../../../src/providers/gemini/request.ts";
import { toGeminiSchema } from "../../../src/providers/gemini/schema.ts";
import { thrown } from "../../support/fixtures.ts";

const req = (r: Partial<ChatRequest>): ChatRequest => ({ model: "gemini-test", messages: [{ role: "user", content: "hi" }], ...r }) as ChatRequest;
const convert = (r: Partial<ChatRequest>, warnings: string[] = []) => toGeminiRequest(req(r), { warn: (m) => warnings.push(m) });


describe("gemini requests", () => {
  test("system and developer → systemInstruction; roles user/model; consecutive same-role turns merged", () => {
    const out = convert({
      messages: [
        { role: "system", content: "Be brief." },
        { role: "developer", content: [{ type: "text", text: "Answer in French." }] },
        { role: "user", content: "Hello" },
        { role: "user", content: "Are you there?" },
        { role: "assistant", content: "Oui." },
        { role: "user", content: "" },
        { role: "user", content: "Bye" },
      ],
    });
    expect(out.systemInstruction).toEqual({ parts: [{ text: "Be brief." }, { text: "Answer in French." }] });
    expect(out.contents).toEqual([
      { role: "user", parts: [{ text: "Hello" }, { text: "Are you there?" }] },
      { role: "model", parts: [{ text: "Oui." }] },
      { role: "user", parts: [{ text: "Bye" }] },
    ]);
  });

  test("images: data URI → inlineData, https URL → fileData with a guessed MIME type", () => {
    const out = convert({
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "Compare" },
            { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
            { type: "image_url", image_url: { url: "https://example.com/cat.WEBP?size=large" } },
            { type: "image_url", image_url: { url: "https://example.com/image" } },
            { type: "image_url", image_url: { url: "data:image/svg+xml,%3Csvg%2F%3E" } },
          ],
        },
      ],
    });
    expect(out.contents[0]!.parts).toEqual([
      { text: "Compare" },
      { inlineData: { mimeType: "image/png", data: "iVBORw0KGgo=" } },
      { fileData: { mimeType: "image/webp", fileUri: "https://example.com/cat.WEBP?size=large" } },
      { fileData: { mimeType: "image/jpeg", fileUri: "https://example.com/image" } },
      { inlineData: { mimeType: "image/svg+xml", data: Buffer.from("<svg/>").toString("base64") } },
    ]);
    expect(guessMimeType("https://x.test/a.jpg#frag")).toBe("image/jpeg");
    expect(guessMimeType("https://x.test/doc.pdf")).toBe("application/pdf");
  });

  test("a malformed data URI is a 400 naming the part", () => {
    const err = thrown(() => convert({ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "data:nonsense" } }] }] }));
    expect(err.kind).toBe("invalid_request");
    expect(err.param).toBe("messages[0].content[0].image_url.url");
  });

  test("tool round trip: calls → functionCall parts with signature, results → functionResponse by name", () => {
    const out = convert({
      messages: [
        { role: "user", content: "Weather in Paris and Tokyo?" },
        {
          role: "assistant",
          content: null,
          tool_calls: [
            { id: "call_a", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' }, extra_content: { google: { thought_signature: "c2ln" } } },
            { id: "call_b", type: "function", function: { name: "get_time", arguments: "" } },
          ] as never,
        },
        { role: "tool", tool_call_id: "call_b", content: "12:00" },
        { role: "tool", tool_call_id: "call_a", content: '{"temp_c": 21}' },
        { role: "tool", tool_call_id: "call_a", content: "[1,2]" },
      ],
    });
    expect(out.contents).toEqual([
      { role: "user", parts: [{ text: "Weather in Paris and Tokyo?" }] },
      {
        role: "model",
        parts: [
          { functionCall: { name: "get_weather", args: { city: "Paris" } }, thoughtSignature: "c2ln" },
          { functionCall: { name: "get_time", args: {} } },
        ],
      },
      {
        role: "user",
        parts: [
          { functionResponse: { name: "get_time", response: { result: "12:00" } } },
          { functionResponse: { name: "get_weather", response: { temp_c: 21 } } },
          { functionResponse: { name: "get_weather", response: { result: "[1,2]" } } },
        ],
      },
    ]);
  });

  test("replayed calls without a signature get Google's documented stand-in on the first call only", () => {
    const out = convert({
      messages: [
        { role: "user", content: "x" },
        {
          role: "assistant",
          content: "Checking.",
          tool_calls: [
            { id: "1", type: "function", function: { name: "a", arguments: "{}" } },
            { id: "2", type: "function", function: { name: "b", arguments: "{}" } },
          ],
        },
        { role: "tool", tool_call_id: "1", content: "ok" },
        { role: "tool", tool_call_id: "2", content: "ok" },
      ],
    });
    expect(out.contents[1]!.parts).toEqual([
      { text: "Checking." },
      { functionCall: { name: "a", args: {} }, thoughtSignature: SKIP_SIGNATURE },
      { functionCall: { name: "b", args: {} } },
    ]);
  });

  test("invalid tool arguments and unknown tool_call_id are 400s naming the field", () => {
    const bad = thrown(() =>
      convert({ messages: [{ role: "user", content: "x" }, { role: "assistant", content: null, tool_calls: [{ id: "1", type: "function", function: { name: "a", arguments: "{oops" } }] }] }),
    );
    expect(bad.kind).toBe("invalid_request");
    expect(bad.param).toBe("messages[1].tool_calls[0].function.arguments");
    const arr = thrown(() =>
      convert({ messages: [{ role: "user", content: "x" }, { role: "assistant", content: null, tool_calls: [{ id: "1", type: "function", function: { name: "a", arguments: "[1]" } }] }] }),
    );
    expect(arr.param).toBe("messages[1].tool_calls[0].function.arguments");
    const orphan = thrown(() => convert({ messages: [{ role: "user", content: "x" }, { role: "tool", tool_call_id: "nope", content: "r" }] }));
    expect(orphan.param).toBe("messages[1].tool_call_id");
  });

  test("only system messages → 400 (Gemini needs contents)", () => {
    expect(thrown(() => convert({ messages: [{ role: "system", content: "x" }] })).param).toBe("messages");
  });

  test("tools → functionDeclarations with converted schemas; tool_choice → functionCallingConfig", () => {
    const warnings: string[] = [];
    const out = convert(
      {
        tools: [
          {
            type: "function",
            function: {
              name: "get_weather",
              description: "Weather for a city",
              strict: true,
              parameters: {
                $schema: "http://json-schema.org/draft-07/schema#",
                type: "object",
                additionalProperties: false,
                properties: { city: { type: "string" }, unit: { type: ["string", "null"], enum: ["c", "f"] } },
                required: ["city", "unit"],
              },
            },
          },
          { type: "function", function: { name: "ping", parameters: { type: "object", properties: {} } } },
        ],
        tool_choice: { type: "function", function: { name: "get_weather" } },
      },
      warnings,
    );
    expect(out.tools).toEqual([
      {
        functionDeclarations: [
          {
            name: "get_weather",
            description: "Weather for a city",
            parameters: { type: "object", properties: { city: { type: "string" }, unit: { type: "string", nullable: true, enum: ["c", "f"] } }, required: ["city", "unit"] },
          },
          { name: "ping" },
        ],
      },
    ]);
    expect(out.toolConfig).toEqual({ functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["get_weather"] } });
    expect(warnings).toEqual(["Tool 'get_weather': strict=true is not enforced by Gemini."]);
    expect(convert({ tools: [{ type: "function", function: { name: "a" } }], tool_choice: "none" }).toolConfig).toEqual({ functionCallingConfig: { mode: "NONE" } });
    expect(convert({ tools: [{ type: "function", function: { name: "a" } }], tool_choice: "auto" }).toolConfig).toEqual({ functionCallingConfig: { mode: "AUTO" } });
    expect(convert({ tools: [{ type: "function", function: { name: "a" } }], tool_choice: "required" }).toolConfig).toEqual({ functionCallingConfig: { mode: "ANY" } });
  });

  test("generation parameters, stop, seed, penalties, json_object and json_schema", () => {
    const out = convert({
      temperature: 1.5,
      top_p: 0.9,
      max_tokens: 100,
      max_completion_tokens: 50,
      stop: "END",
      seed: 7,
      presence_penalty: 0.5,
      frequency_penalty: -0.5,
      response_format: { type: "json_schema", json_schema: { name: "x", schema: { type: "object", properties: { a: { type: "integer", minimum: 1 } }, additionalProperties: false } } } as never,
    });
    expect(out.generationConfig).toEqual({
      temperature: 1.5,
      topP: 0.9,
      maxOutputTokens: 50,
      stopSequences: ["END"],
      seed: 7,
      presencePenalty: 0.5,
      frequencyPenalty: -0.5,
      responseMimeType: "application/json",
      responseSchema: { type: "object", properties: { a: { type: "integer", minimum: 1 } } },
    });
    expect(convert({ response_format: { type: "json_object" } }).generationConfig).toEqual({ responseMimeType: "application/json" });
    expect(convert({ response_format: { type: "text" } }).generationConfig).toBeUndefined();
    expect(toGeminiRequest(req({}), { warn: () => {}, defaultMaxTokens: 256 }).generationConfig).toEqual({ maxOutputTokens: 256 });
  });

  test("n → candidateCount, logprobs → responseLogprobs/logprobs; unsupported fields dropped with a warning each", () => {
    expect(convert({ n: 3 }).generationConfig).toEqual({ candidateCount: 3 });
    expect(convert({ logprobs: true, top_logprobs: 2 }).generationConfig).toEqual({ responseLogprobs: true, logprobs: 2 });
    expect(thrown(() => convert({ top_logprobs: 2 })).param).toBe("top_logprobs");
    const warnings: string[] = [];
    const out = convert({ n: 1, user: "u1", logit_bias: { "1": 2 }, parallel_tool_calls: false, logprobs: false }, warnings);
    expect(out.generationConfig).toBeUndefined();
    expect(warnings).toEqual([
      "parallel_tool_calls=false dropped: Gemini has no switch for it.",
      "'logit_bias' is not supported by Gemini and was dropped.",
      "'user' is not supported by Gemini and was dropped.",
    ]);
  });
});

describe("gemini schema conversion", () => {
  test("drops what Gemini rejects, resolves local $refs, folds Optional anyOf into nullable", () => {
    const { schema, dropped } = toGeminiSchema(
      {
        type: "object",
        $defs: { Item: { type: "object", properties: { sku: { type: "string", format: "uuid" }, n: { type: "integer", exclusiveMinimum: 0 } }, required: ["sku", "ghost"] } },
        properties: {
          items: { type: "array", items: { $ref: "#/$defs/Item" }, uniqueItems: true },
          note: { anyOf: [{ type: "string" }, { type: "null" }], default: null },
          kind: { const: "order" },
          when: { type: "string", format: "date-time" },
          both: { type: ["string", "number"] },
          level: { type: "integer", enum: [1, 2] },
        },
      },
      "tools[0].function.parameters",
    );
    expect(schema).toEqual({
      type: "object",
      properties: {
        items: { type: "array", items: { type: "object", properties: { sku: { type: "string" }, n: { type: "integer" } }, required: ["sku"] } },
        note: { type: "string", nullable: true, default: null },
        kind: { enum: ["order"] },
        when: { type: "string", format: "date-time" },
        both: { anyOf: [{ type: "string" }, { type: "number" }] },
        level: { type: "integer" },
      },
    });
    expect(dropped.sort()).toEqual(["enum (non-string)", "exclusiveMinimum", "format:uuid", "uniqueItems"]);
  });

  test("recursive or unresolvable $ref → 400 naming the field", () => {
    const rec = thrown(() => toGeminiSchema({ $defs: { N: { type: "object", properties: { next: { $ref: "#/$defs/N" } } } }, $ref: "#/$defs/N" }, "tools[0].function.parameters"));
    expect(rec.kind).toBe("invalid_request");
    expect(rec.param).toBe("tools[0].function.parameters");
    expect(thrown(() => toGeminiSchema({ $ref: "https://example.com/s.json" }, "p")).param).toBe("p");
  });
});
