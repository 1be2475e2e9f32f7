// Pure Converse translators: request (Bedrock's rules, tools, formats, reasoning), response, stream (fixtures), and the error table.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ChatRequest } from "../../../src/openai/schemas.ts";
import { encodeChunk, DONE } from "../../../src/openai/sse.ts";
import { toConverseRequest, JSON_OBJECT_INSTRUCTION } from "../../../src/providers/bedrock/request.ts";
import { fromConverseResponse } from "../../../src/providers/bedrock/response.ts";
import { createConverseStreamTranslator, type ConverseStreamEvent } from "../../../src/providers/bedrock/stream.ts";
import { bedrockFailure, mapBedrockError } from "../../../src/providers/bedrock/errors.ts";
import { EMPTY_RESULT } from "../../../src/providers/bedrock/messages.ts";
import { baseModelId, isClaude, vendorOf } from "../../../src/providers/bedrock/models.ts";
import { thrown } from "../../support/fixtures.ts";
import { assemble, dataPayloads, expectValidStream } from "../../support/stream-invariants.ts";

type Obj = Record<string, any>;
const CLAUDE = "anthropic.claude-3-5-sonnet-20241022-v2:0";
const req = (r: Obj): ChatRequest => ({ model: "m", messages: [{ role: "user", content: "hi" }], ...r }) as ChatRequest;
const translate = (r: Obj, model = CLAUDE) => {
  const warnings: [string, string | undefined][] = [];
  const body = toConverseRequest(req(r), { warn: (m, p) => void warnings.push([m, p]), model }) as Obj;
  return { body, warnings, params: warnings.map(([, p]) => p) };
};
const meta = { id: "chatcmpl-x", created: 1, model: "public", claude: true };

describe("model ids", () => {
  test("vendor read behind geography prefixes and ARNs", () => {
    expect(vendorOf("us.anthropic.claude-sonnet-4-5-20250929-v1:0")).toBe("anthropic");
    expect(baseModelId("arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-1-8b-instruct-v1:0")).toBe("meta.llama3-1-8b-instruct-v1:0");
    expect(baseModelId("arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.amazon.nova-lite-v1:0")).toBe("amazon.nova-lite-v1:0");
    expect(isClaude("global.anthropic.claude-opus-4-5-20251101-v1:0")).toBe(true);
    expect(isClaude("mistral.mistral-large-2407-v1:0")).toBe(false);
  });
});

describe("request", () => {
  test("system and developer messages → system blocks; user/assistant/tool turns with tool results first", () => {
    const { body } = translate({
      messages: [
        { role: "system", content: "S1" },
        { role: "developer", content: [{ type: "text", text: "S2" }] },
        { role: "user", content: "Q" },
        { role: "assistant", content: "Let me check.", tool_calls: [{ id: "t1", type: "function", function: { name: "f", arguments: '{"a":1}' } }] },
        { role: "tool", tool_call_id: "t1", content: '{"ok":true}' },
        { role: "user", content: "and?" },
      ],
      tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }],
    });
    expect(body.system).toEqual([{ text: "S1" }, { text: "S2" }]);
    expect(body.messages).toEqual([
      { role: "user", content: [{ text: "Q" }] },
      { role: "assistant", content: [{ text: "Let me check." }, { toolUse: { toolUseId: "t1", name: "f", input: { a: 1 } } }] },
      { role: "user", content: [{ toolResult: { toolUseId: "t1", content: [{ text: '{"ok":true}' }] } }, { text: "and?" }] },
    ]);
  });

  test("Bedrock's rules: blank text dropped, empty turns vanish and neighbours merge, empty results get content", () => {
    const { body } = translate({
      messages: [
        { role: "user", content: "a" },
        { role: "assistant", content: "   " },
        { role: "user", content: [{ type: "text", text: "" }, { type: "text", text: "b" }] },
        { role: "assistant", content: null, tool_calls: [{ id: "t", type: "function", function: { name: "f", arguments: "" } }] },
        { role: "tool", tool_call_id: "t", content: "" },
      ],
      tools: [{ type: "function", function: { name: "f" } }],
    });
    expect(body.messages).toEqual([
      { role: "user", content: [{ text: "a" }, { text: "b" }] },
      { role: "assistant", content: [{ toolUse: { toolUseId: "t", name: "f", input: {} } }] },
      { role: "user", content: [{ toolResult: { toolUseId: "t", content: [{ text: EMPTY_RESULT }] } }] },
    ]);
  });

  test("media: data-URI and s3 images, documents with Bedrock-safe unique names; audio and http URLs refused", () => {
    const png = "data:image/png;base64,AAAA";
    const { body } = translate({
      messages: [
        {
          role: "user",
          content: [
            { type: "image_url", image_url: { url: png } },
            { type: "image_url", image_url: { url: "s3://bucket/cat.JPG" } },
            { type: "file", file: { file_data: "data:text/csv;base64,YSxi", filename: "data.v2.csv" } },
            { type: "file", file: { file_data: "data:text/csv;base64,YyxkCg==", filename: "data.v2.csv" } },
            { type: "file", file: { file_data: "data:text/plain,hello%20there" } },
          ],
        },
      ],
    });
    expect(body.messages[0].content).toEqual([
      { image: { format: "png", source: { bytes: "AAAA" } } },
      { image: { format: "jpeg", source: { s3Location: { uri: "s3://bucket/cat.JPG" } } } },
      { document: { format: "csv", name: "data-v2-csv", source: { bytes: "YSxi" } } },
      { document: { format: "csv", name: "data-v2-csv (2)", source: { bytes: "YyxkCg==" } } },
      { document: { format: "txt", name: "document", source: { bytes: Buffer.from("hello there").toString("base64") } } },
    ]);
    expect(thrown(() => translate({ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "http://x/y.png" } }] }] })).param).toBe("messages[0].content[0].image_url.url");
    expect(thrown(() => translate({ messages: [{ role: "user", content: [{ type: "input_audio", input_audio: { data: "x", format: "wav" } }] }] })).param).toBe("messages[0].content[0].type");
    expect(thrown(() => translate({ messages: [{ role: "user", content: [{ type: "file", file: { file_data: "data:application/zip;base64,AA" } }] }] })).message).toContain("application/zip");
  });

  test("cache_control breakpoints become cachePoint blocks (system, parts, tools)", () => {
    const { body } = translate({
      messages: [{ role: "system", content: [{ type: "text", text: "long", cache_control: { type: "ephemeral" } }] }, { role: "user", content: "q" }],
      tools: [{ type: "function", function: { name: "f" }, cache_control: { type: "ephemeral" } }],
    });
    expect(body.system).toEqual([{ text: "long" }, { cachePoint: { type: "default" } }]);
    expect(body.toolConfig.tools[1]).toEqual({ cachePoint: { type: "default" } });
  });

  test("inferenceConfig: Claude's default maximum, sampling rules, stop sequences", () => {
    expect(translate({}).body.inferenceConfig).toEqual({ maxTokens: 8192 });
    expect(translate({}, "meta.llama3-1-8b-instruct-v1:0").body.inferenceConfig).toBeUndefined();
    expect(translate({ max_completion_tokens: 77, temperature: 0.2, top_p: 0.5, stop: ["", "END"] }).body.inferenceConfig).toEqual({ maxTokens: 77, temperature: 0.2, stopSequences: ["END"] });
    const t = translate({ temperature: 0.3 }, "us.anthropic.claude-opus-4-7-v1:0");
    expect(t.body.inferenceConfig.temperature).toBeUndefined();
    expect(t.params).toContain("temperature");
  });

  test("tool_choice: required → any, named → tool, none → tools left out (kept with a warning when the history uses them)", () => {
    const tools = [{ type: "function" as const, function: { name: "f" } }];
    expect(translate({ tools, tool_choice: "required" }).body.toolConfig.toolChoice).toEqual({ any: {} });
    expect(translate({ tools, tool_choice: { type: "function", function: { name: "f" } } }).body.toolConfig.toolChoice).toEqual({ tool: { name: "f" } });
    expect(translate({ tools, tool_choice: "none" }).body.toolConfig).toBeUndefined();
    const withHistory = translate({
      tools,
      tool_choice: "none",
      messages: [{ role: "user", content: "q" }, { role: "assistant", content: null, tool_calls: [{ id: "t", type: "function", function: { name: "f", arguments: "{}" } }] }, { role: "tool", tool_call_id: "t", content: "r" }],
    });
    expect(withHistory.body.toolConfig.tools).toHaveLength(1);
    expect(withHistory.params).toContain("tool_choice");
    expect(translate({ tools, parallel_tool_calls: false }).params).toContain("parallel_tool_calls");
  });

  test("response_format: json_schema → outputConfig.textFormat (closed for Claude); json_object → a system instruction, named", () => {
    const schema = { type: "object", properties: { a: { type: "string", minLength: 2 } }, required: ["a"] };
    const { body } = translate({ response_format: { type: "json_schema", json_schema: { name: "answer", schema } } });
    const sent = JSON.parse(body.outputConfig.textFormat.structure.jsonSchema.schema);
    expect(body.outputConfig.textFormat.type).toBe("json_schema");
    expect(body.outputConfig.textFormat.structure.jsonSchema.name).toBe("answer");
    expect(sent).toMatchObject({ type: "object", additionalProperties: false, required: ["a"] });
    expect(JSON.parse(translate({ response_format: { type: "json_schema", json_schema: { name: "x", schema } } }, "amazon.nova-pro-v1:0").body.outputConfig.textFormat.structure.jsonSchema.schema)).toEqual(schema);
    const obj = translate({ response_format: { type: "json_object" } });
    expect(obj.body.system).toEqual([{ text: JSON_OBJECT_INSTRUCTION }]);
    expect(obj.params).toContain("response_format");
  });

  test("reasoning per family: Claude budget / adaptive, gpt-oss, Nova 2; others named as dropped", () => {
    const c37 = translate({ reasoning_effort: "high", temperature: 0.5 }, "anthropic.claude-3-7-sonnet-20250219-v1:0");
    expect(c37.body.additionalModelRequestFields).toEqual({ thinking: { type: "enabled", budget_tokens: 16384 } });
    expect(c37.body.inferenceConfig.temperature).toBeUndefined();
    expect(c37.body.inferenceConfig.maxTokens).toBe(64000);
    const c46 = translate({ reasoning_effort: "medium" }, "global.anthropic.claude-opus-4-6-v1");
    expect(c46.body.additionalModelRequestFields).toEqual({ thinking: { type: "adaptive" } });
    expect(c46.body.outputConfig).toEqual({ effort: "medium" });
    expect(translate({ reasoning_effort: "xhigh" }, "openai.gpt-oss-120b-1:0").body.additionalModelRequestFields).toEqual({ reasoning_effort: "high" });
    expect(translate({ reasoning_effort: "low" }, "amazon.nova-2-lite-v1:0").body.additionalModelRequestFields).toEqual({ reasoningConfig: { type: "enabled", maxReasoningEffort: "low" } });
    const llama = translate({ reasoning_effort: "low" }, "meta.llama3-1-8b-instruct-v1:0");
    expect(llama.body.additionalModelRequestFields).toBeUndefined();
    expect(llama.params).toContain("reasoning_effort");
    // Claude cannot think while a tool is forced: named, not sent.
    const forced = translate({ reasoning_effort: "low", tools: [{ type: "function", function: { name: "f" } }], tool_choice: "required" }, "anthropic.claude-3-7-sonnet-20250219-v1:0");
    expect(forced.body.additionalModelRequestFields).toBeUndefined();
    expect(forced.params).toContain("reasoning_effort");
  });

  test("thinking replayed in a tool loop as reasoningContent, before the assistant's other blocks", () => {
    const { body } = translate(
      {
        reasoning_effort: "low",
        messages: [
          { role: "user", content: "q" },
          { role: "assistant", content: null, reasoning_details: [{ type: "reasoning.text", text: "hm", signature: "sig1", format: "anthropic-claude-v1" }, { type: "reasoning.encrypted", data: "ZW5j", format: "anthropic-claude-v1" }], tool_calls: [{ id: "t", type: "function", function: { name: "f", arguments: "{}" } }] },
          { role: "tool", tool_call_id: "t", content: "r" },
        ],
        tools: [{ type: "function", function: { name: "f" } }],
      },
      "anthropic.claude-sonnet-4-20250514-v1:0",
    );
    expect(body.messages[1].content).toEqual([
      { reasoningContent: { reasoningText: { text: "hm", signature: "sig1" } } },
      { reasoningContent: { redactedContent: "ZW5j" } },
      { toolUse: { toolUseId: "t", name: "f", input: {} } },
    ]);
  });

  test("refused and dropped parameters", () => {
    expect(thrown(() => translate({ n: 2 })).param).toBe("n");
    expect(thrown(() => translate({ logprobs: true })).param).toBe("logprobs");
    expect(translate({ seed: 1, frequency_penalty: 0.5, user: "u" }).params.sort()).toEqual(["frequency_penalty", "seed", "user"]);
    expect(thrown(() => translate({ messages: [{ role: "system", content: "only system" }] })).param).toBe("messages");
  });
});

describe("response", () => {
  test("text, tool calls, Claude's signed reasoning, usage with cache reads and writes", () => {
    const c = fromConverseResponse(
      {
        output: { message: { role: "assistant", content: [{ reasoningContent: { reasoningText: { text: "think", signature: "s" } } }, { text: "Calling." }, { toolUse: { toolUseId: "tu1", name: "f", input: { x: 1 } } }] } },
        stopReason: "tool_use",
        usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15, cacheReadInputTokens: 3, cacheWriteInputTokens: 2 },
      },
      meta,
    );
    const m = c.choices[0]!.message as Obj;
    expect(m.content).toBe("Calling.");
    expect(m.tool_calls).toEqual([{ id: "tu1", type: "function", function: { name: "f", arguments: '{"x":1}' } }]);
    expect(m.reasoning_content).toBe("think");
    expect(m.reasoning_details).toEqual([{ type: "reasoning.text", text: "think", signature: "s", format: "anthropic-claude-v1", index: 0 }]);
    expect(c.choices[0]!.finish_reason).toBe("tool_calls");
    expect(c.usage).toEqual({ prompt_tokens: 15, completion_tokens: 5, total_tokens: 20, prompt_tokens_details: { cached_tokens: 3, cache_creation_tokens: 2 } });
  });

  test("stop reasons: guardrails → content_filter (content null), max_tokens → length, unknown → stop with a note", () => {
    const of = (stopReason: string, content: Obj[] = [{ text: "x" }]) => fromConverseResponse({ output: { message: { role: "assistant", content } }, stopReason, usage: {} }, { ...meta, claude: false }).choices[0]!;
    expect(of("guardrail_intervened", []).finish_reason).toBe("content_filter");
    expect(of("guardrail_intervened", []).message.content).toBeNull();
    expect(of("max_tokens").finish_reason).toBe("length");
    expect(of("model_context_window_exceeded").finish_reason).toBe("length");
    const notes: string[] = [];
    expect(fromConverseResponse({ output: { message: { content: [{ text: "x" }] } }, stopReason: "malformed_model_output", usage: {} }, meta, (m) => void notes.push(m)).choices[0]!.finish_reason).toBe("stop");
    expect(notes[0]).toContain("malformed_model_output");
    expect(() => fromConverseResponse({ nope: 1 }, meta)).toThrow(/unexpected response shape/);
  });
});

const events = (name: string): ConverseStreamEvent[] =>
  readFileSync(join(import.meta.dir, "../../fixtures/bedrock", name), "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => {
      const [type, payload] = JSON.parse(l) as [string, Obj];
      return { type, payload };
    });
const run = (evs: ConverseStreamEvent[], claude = true) => {
  const t = createConverseStreamTranslator({ ...meta, claude });
  const chunks = [...evs.flatMap((e) => t.push(e)), ...t.end()];
  const sse = chunks.map((c) => new TextDecoder().decode(encodeChunk(c))).join("") + new TextDecoder().decode(DONE);
  return expectValidStream(dataPayloads(sse));
};

describe("stream (fixtures)", () => {
  test("text: deltas, one finish, usage with cache counts last", () => {
    const chunks = run(events("converse-text.events.jsonl"));
    expect(assemble(chunks)).toEqual({ content: "Hello from Bedrock.", tools: [], finish: "stop" });
    expect(chunks.at(-1)!.usage).toEqual({ prompt_tokens: 27, completion_tokens: 4, total_tokens: 31, prompt_tokens_details: { cached_tokens: 10, cache_creation_tokens: 5 } });
  });

  test("thinking then two tools: reasoning deltas and the signed block, dense tool indexes, '{}' for a tool without input", () => {
    const chunks = run(events("converse-thinking-tools.events.jsonl"));
    const a = assemble(chunks);
    expect(a.content).toBe("Checking both.");
    expect(a.finish).toBe("tool_calls");
    expect(a.tools).toEqual([
      { id: "tooluse_Paris01", name: "get_weather", arguments: '{"city": "Paris"}' },
      { id: "tooluse_Now02", name: "get_time", arguments: "{}" },
    ]);
    const deltas = chunks.map((c) => c.choices[0]?.delta as Obj | undefined);
    expect(deltas.map((d) => d?.reasoning_content ?? "").join("")).toBe("The user wants weather for two cities.");
    expect(deltas.find((d) => d?.reasoning_details)!.reasoning_details).toEqual([{ type: "reasoning.text", text: "The user wants weather for two cities.", signature: "EqQBCkYIBxgCKkBsignature", format: "anthropic-claude-v1", index: 0 }]);
    // Not Claude: reasoning text only, no signed details to replay.
    expect(run(events("converse-thinking-tools.events.jsonl"), false).some((c) => (c.choices[0]?.delta as Obj | undefined)?.reasoning_details)).toBe(false);
  });

  test("an exception message throws the mapped failure; a stream ending early throws; messageStop without metadata still finishes", () => {
    const t = createConverseStreamTranslator(meta);
    t.push({ type: "messageStart", payload: { role: "assistant" } });
    const e = thrown(() => t.push({ type: "throttlingException", exception: true, payload: { message: "Too many requests" } }));
    expect(e.init.status).toBe(429);
    const early = createConverseStreamTranslator(meta);
    early.push({ type: "contentBlockDelta", payload: { contentBlockIndex: 0, delta: { text: "x" } } });
    expect(() => early.end()).toThrow(/ended before/);
    const noMeta = events("converse-text.events.jsonl").slice(0, -1);
    expect(run(noMeta).at(-1)!.usage!.total_tokens).toBe(0);
  });
});

describe("AWS errors", () => {
  const h = (type: string) => new Headers({ "x-amzn-errortype": `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/` });
  test("status, retryability and wording per type", () => {
    const throttled = mapBedrockError(429, '{"message":"Too many requests"}', h("ThrottlingException"));
    expect([throttled.kind, throttled.init.status, throttled.retryable]).toEqual(["upstream_client_error", 429, true]);
    const invalid = mapBedrockError(400, '{"message":"Malformed input request"}', h("ValidationException"));
    expect([invalid.init.status, invalid.message, invalid.retryable, invalid.init.code]).toEqual([400, "Malformed input request", false, "validation"]);
    const notFound = mapBedrockError(404, '{"message":"Model not found"}', h("ResourceNotFoundException"));
    expect(notFound.init.status).toBe(404);
    expect(mapBedrockError(408, "{}", h("ModelTimeoutException")).kind).toBe("upstream_timeout");
    expect(mapBedrockError(503, "{}", h("ServiceUnavailableException"))).toMatchObject({ kind: "upstream_failed" });
    expect(mapBedrockError(424, '{"message":"model failed"}', h("ModelErrorException")).retryable).toBe(true);
    // The body's __type, when the header is missing.
    expect(mapBedrockError(400, '{"__type":"com.amazon.coral.validate#ValidationException","message":"bad"}', new Headers()).init.status).toBe(400);
  });
  test("credential errors never echo AWS's words (account ids, ARNs)", () => {
    for (const type of ["AccessDeniedException", "UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException"]) {
      const e = bedrockFailure(403, type, { message: "User: arn:aws:iam::123456789012:user/x is not authorized" });
      expect(e.kind).toBe("upstream_failed");
      expect(e.retryable).toBe(false);
      expect(e.message).not.toContain("123456789012");
    }
  });
});
