// Anthropic's own SDK against the real gateway, on an OpenAI-type, a Gemini and an Anthropic model (fake providers).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Anthropic from "@anthropic-ai/sdk";
import { startGateway, type GatewayHandle } from "../../support/gateway.ts";
import { startOpenAIUpstream, type OpenAIUpstream } from "../../support/openai-upstream.ts";
import { startGeminiUpstream, type GeminiUpstream } from "../../support/gemini-upstream.ts";
import { startAnthropicUpstream, text as anthropicText, toolUse, type AnthropicUpstream } from "../../support/anthropic-upstream.ts";
import type { Block } from "../../support/fake-core.ts";
import { THINKING_PURPOSE, thinkingSealer } from "../../../src/protocols/messages/seal.ts";
import { createSealer as sharedSealer } from "../../../src/protocols/shared/seal.ts";

const createSealer = (secret: string) => thinkingSealer(sharedSealer(secret, THINKING_PURPOSE));

const KEY = "sk-messages-0123456789";
const POOR = "sk-poor-0123456789";
const SECRET = "a-messages-seal-secret-of-32-chars!!";
let oa: OpenAIUpstream;
let goog: GeminiUpstream;
let claude: AnthropicUpstream;
let gw: GatewayHandle;

beforeAll(async () => {
  [oa, goog, claude] = await Promise.all([startOpenAIUpstream(), startGeminiUpstream(), startAnthropicUpstream()]);
  gw = await startGateway({
    providers: {
      oa: { type: "openai", base_url: oa.url, api_key: oa.apiKey },
      goog: { type: "gemini", base_url: goog.url, api_key: goog.apiKey },
      claude: { type: "anthropic", base_url: claude.url, api_key: claude.apiKey },
    },
    models: [
      { id: "gpt-4o", provider: "oa" },
      { id: "gemini-flash", provider: "goog", upstream_model: "gemini-2.5-flash" },
      { id: "claude-sonnet", provider: "claude", upstream_model: "claude-sonnet-4-5-20250929" },
    ],
    prices: { "gpt-4o": { input_per_mtok: 1_000_000, output_per_mtok: 1_000_000 } },
    keys: [{ name: "main", key: KEY }, { name: "poor", key: POOR, budget: { usd: 0.5, period: "day" } }],
    server: { seal_secret: SECRET },
  });
});
afterAll(async () => {
  await gw?.stop();
  await Promise.all([oa?.stop(), goog?.stop(), claude?.stop()]);
});

const client = (o: { apiKey?: string; authToken?: string; maxRetries?: number } = {}) =>
  new Anthropic({ baseURL: gw.url, apiKey: o.authToken ? null : (o.apiKey ?? KEY), authToken: o.authToken ?? null, maxRetries: o.maxRetries ?? 0 });
const weather: Anthropic.Tool = { name: "get_weather", description: "Weather in a city.", input_schema: { type: "object", properties: { city: { type: "string" }, unit: { type: "string" } }, required: ["city"] } };
const ask = (model: string, extra: Partial<Anthropic.MessageCreateParamsNonStreaming> = {}): Anthropic.MessageCreateParamsNonStreaming => ({
  model,
  max_tokens: 200,
  messages: [{ role: "user", content: "Hello there" }],
  ...extra,
});
const textOf = (m: Anthropic.Message) => m.content.filter((b): b is Anthropic.TextBlock => b.type === "text").map((b) => b.text).join("");

describe.each(["gpt-4o", "gemini-flash", "claude-sonnet"])("%s", (model) => {
  test("messages.create", async () => {
    const m = await client().messages.create(ask(model));
    expect(m).toMatchObject({ type: "message", role: "assistant", model, stop_reason: "end_turn" });
    expect(m.id).toStartWith("msg_");
    expect(textOf(m).length).toBeGreaterThan(0);
    expect(m.usage.input_tokens).toBeGreaterThan(0);
    expect(m.usage.output_tokens).toBeGreaterThan(0);
  });

  test("messages.stream, with the key as a bearer token", async () => {
    const stream = client({ authToken: KEY }).messages.stream(ask(model));
    const texts: string[] = [];
    stream.on("text", (t) => texts.push(t));
    const m = await stream.finalMessage();
    expect(m.model).toBe(model);
    expect(texts.join("")).toBe(textOf(m));
    expect(texts.length).toBeGreaterThan(0);
    expect(m.usage.input_tokens).toBeGreaterThan(0);
    expect(m.stop_reason).toBe("end_turn");
  });

  test("messages.countTokens", async () => {
    const before = claude.calls.length;
    const r = await client().messages.countTokens({ model, system: "Be brief.", messages: [{ role: "user", content: "How many tokens is this?" }], tools: [weather] });
    expect(r.input_tokens).toBeGreaterThan(10);
    // Anthropic counts for itself; the others are counted by the gateway and never reach a provider.
    const asked = claude.calls.slice(before).filter((q) => q.path === "/v1/messages/count_tokens");
    expect(asked.length).toBe(model === "claude-sonnet" ? 1 : 0);
  });
});

async function toolLoop(model: string, stream: boolean) {
  const c = client();
  const messages: Anthropic.MessageParam[] = [{ role: "user", content: "What is the weather in Paris?" }];
  const send = (ms: Anthropic.MessageParam[]) => (stream ? c.messages.stream({ ...ask(model), messages: ms, tools: [weather] }).finalMessage() : c.messages.create({ ...ask(model), messages: ms, tools: [weather] }));
  const first = await send(messages);
  expect(first.stop_reason).toBe("tool_use");
  const call = first.content.find((b): b is Anthropic.ToolUseBlock => b.type === "tool_use")!;
  expect(call).toMatchObject({ name: "get_weather", input: { city: "Paris" } });
  messages.push({ role: "assistant", content: first.content }, { role: "user", content: [{ type: "tool_result", tool_use_id: call.id, content: '{"temp": 21}' }] });
  const second = await send(messages);
  expect(second.stop_reason).toBe("end_turn");
  return { call, second };
}

describe("a tool loop", () => {
  for (const stream of [false, true]) {
    test(`on gpt-4o (${stream ? "streamed" : "JSON"}): the call's id comes back with its result`, async () => {
      const { call, second } = await toolLoop("gpt-4o", stream);
      expect(textOf(second)).toContain("21");
      const sent = oa.calls.at(-1)!.body.messages as Record<string, unknown>[];
      expect(sent.at(-1)).toEqual({ role: "tool", tool_call_id: call.id, content: '{"temp": 21}' });
      expect((sent.at(-2)!.tool_calls as { id: string }[])[0]!.id).toBe(call.id);
    });

    test(`on Gemini (${stream ? "streamed" : "JSON"})`, async () => {
      const { second } = await toolLoop("gemini-flash", stream);
      expect(textOf(second)).toContain("21");
      const contents = goog.calls.at(-1)!.body.contents as { role: string; parts: Record<string, unknown>[] }[];
      expect(contents.at(-1)!.parts[0]!.functionResponse).toEqual({ name: "get_weather", response: { temp: 21 } });
    });

    test(`on Claude (${stream ? "streamed" : "JSON"}), passed through`, async () => {
      claude.reply(toolUse([{ name: "get_weather", input: { city: "Paris" } }]), anthropicText("It is 21 degrees."));
      const { call, second } = await toolLoop("claude-sonnet", stream);
      expect(textOf(second)).toBe("It is 21 degrees.");
      const body = claude.calls.at(-1)!.body as { model: string; messages: { content: unknown }[] };
      expect(body.model).toBe("claude-sonnet-4-5-20250929");
      expect(body.messages.at(-1)!.content).toEqual([{ type: "tool_result", tool_use_id: call.id, content: '{"temp": 21}' }]);
    });
  }
});

describe("thinking", () => {
  for (const stream of [false, true]) {
    test(`asked of Gemini (${stream ? "streamed" : "JSON"}): thoughts come back as thinking, and the thought signature reaches Gemini again`, async () => {
      goog.respond = (body) => {
        const contents = body.contents as { parts: Record<string, unknown>[] }[];
        const answered = contents.at(-1)!.parts.some((p) => p.functionResponse);
        // Gemini thinks first (a thought part, since the gateway asks for thoughts), then answers or calls the tool.
        const content: Block[] = [{ type: "thinking", thinking: "Planning the next step." }];
        content.push(answered ? { type: "text", text: "It is 21 degrees in Paris." } : { type: "tool_use", name: "get_weather", input: { city: "Paris" } });
        return { kind: "message", message: { content } };
      };
      try {
        const c = client();
        const params = { ...ask("gemini-flash"), tools: [weather], thinking: { type: "enabled" as const, budget_tokens: 2048 } };
        const messages: Anthropic.MessageParam[] = [{ role: "user", content: "Weather in Paris?" }];
        const first = stream ? await c.messages.stream({ ...params, messages }).finalMessage() : await c.messages.create({ ...params, messages });
        const thinking = first.content.filter((b): b is Anthropic.ThinkingBlock => b.type === "thinking");
        expect(thinking.map((b) => b.thinking).join("")).toBe("Planning the next step.");
        for (const b of thinking) expect(b.signature).toStartWith("sb1.");
        // Neither the thought signature nor the provider's name can be read from what the client holds.
        expect(JSON.stringify(first)).not.toContain(goog.signature);
        expect(goog.calls.at(-1)!.body.generationConfig).toMatchObject({ thinkingConfig: { includeThoughts: true } });
        const call = first.content.find((b): b is Anthropic.ToolUseBlock => b.type === "tool_use")!;
        messages.push({ role: "assistant", content: first.content }, { role: "user", content: [{ type: "tool_result", tool_use_id: call.id, content: "21 degrees" }] });
        const second = await c.messages.create({ ...params, messages });
        expect(textOf(second)).toBe("It is 21 degrees in Paris.");
        const model = (goog.calls.at(-1)!.body.contents as { role: string; parts: Record<string, unknown>[] }[]).find((t) => t.role === "model")!;
        const fc = model.parts.find((p) => p.functionCall)!;
        expect(fc.thoughtSignature).toBe(goog.signature);
        // The thought text is not replayed as text.
        expect(JSON.stringify(model)).not.toContain("Planning the next step.");
      } finally {
        goog.respond = undefined;
      }
    });
  }

  test("a history holding Claude's thinking blocks: never sent to an OpenAI-type model", async () => {
    const m = await client().messages.create({
      ...ask("gpt-4o"),
      messages: [
        { role: "user", content: "Think about it." },
        { role: "assistant", content: [{ type: "thinking", thinking: "Claude's private reasoning", signature: "EvQBCkYICxgCKkAxhD4NUKFz" }, { type: "redacted_thinking", data: "EmwKAhgBEgy3va3pzix" }, { type: "text", text: "Done thinking." }] },
        { role: "user", content: "And now?" },
      ],
    });
    expect(m.stop_reason).toBe("end_turn");
    const sent = JSON.stringify(oa.calls.at(-1)!.body);
    for (const secret of ["Claude's private reasoning", "EvQBCkYICxgCKkAxhD4NUKFz", "EmwKAhgBEgy3va3pzix"]) expect(sent).not.toContain(secret);
    expect(oa.calls.at(-1)!.body.messages).toEqual([
      { role: "user", content: "Think about it." },
      { role: "assistant", content: "Done thinking." },
      { role: "user", content: "And now?" },
    ]);
  });

  test("a history holding another model's reasoning (the gateway's seal): Claude gets its own blocks, not that one", async () => {
    const sealed = createSealer(SECRET).seal({ provider: "goog", toolSignatures: { x: "y" } });
    await client().messages.create({
      ...ask("claude-sonnet"),
      max_tokens: 2048,
      thinking: { type: "enabled", budget_tokens: 1024 },
      messages: [
        { role: "user", content: "q1" },
        { role: "assistant", content: [{ type: "thinking", thinking: "Gemini's thought", signature: sealed }, { type: "text", text: "a1" }] },
        { role: "user", content: "q2" },
        { role: "assistant", content: [{ type: "thinking", thinking: "Claude's thought", signature: "EvQBCkYICxgCKkAx" }, { type: "text", text: "a2" }] },
        { role: "user", content: "q3" },
      ],
    });
    const body = claude.calls.at(-1)!.body as { messages: { content: unknown }[] };
    expect(body.messages[1]!.content).toEqual([{ type: "text", text: "a1" }]);
    expect(body.messages[3]!.content).toEqual([{ type: "thinking", thinking: "Claude's thought", signature: "EvQBCkYICxgCKkAx" }, { type: "text", text: "a2" }]);
  });
});

describe("errors as Anthropic's SDK reads them", () => {
  test("a spent budget: RateLimitError that the SDK does not retry (x-should-retry: false)", async () => {
    const before = oa.calls.length;
    const lines = gw.logs.length;
    const err = await client({ apiKey: POOR, maxRetries: 3 }).messages.create(ask("gpt-4o")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    expect((err as InstanceType<typeof Anthropic.RateLimitError>).headers.get("x-should-retry")).toBe("false");
    expect((err as InstanceType<typeof Anthropic.RateLimitError>).headers.get("retry-after")).toBeNull();
    expect(oa.calls.length).toBe(before);
    // One request reached the gateway: the SDK, allowed three retries, made none.
    expect(gw.logs.slice(lines).filter((l) => l.msg === "request" && l.endpoint === "messages")).toHaveLength(1);
  });

  test("Claude overloaded: 529 overloaded_error", async () => {
    claude.reply({ kind: "error", status: 529, type: "overloaded_error", message: "Overloaded" }, { kind: "error", status: 529, type: "overloaded_error", message: "Overloaded" });
    const err = await client().messages.create(ask("claude-sonnet")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect((err as InstanceType<typeof Anthropic.APIError>).status).toBe(529);
    expect(((err as InstanceType<typeof Anthropic.APIError>).error as { error: { type: string } }).error.type).toBe("overloaded_error");
  });

  test("an unknown model: NotFoundError; a bad body: BadRequestError naming the field", async () => {
    expect(await client().messages.create(ask("no-such-model")).catch((e: unknown) => e)).toBeInstanceOf(Anthropic.NotFoundError);
    const bad = await client().messages.create({ ...ask("gpt-4o"), thinking: { type: "enabled", budget_tokens: 5 } }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(Anthropic.BadRequestError);
    expect((bad as Error).message).toContain("thinking.budget_tokens");
  });

  test("a wrong key: AuthenticationError", async () => {
    expect(await client({ apiKey: "sk-wrong-0123456789" }).messages.create(ask("gpt-4o")).catch((e: unknown) => e)).toBeInstanceOf(Anthropic.AuthenticationError);
  });

  test("what a provider cannot use is named in x-switchboard-warnings, not refused", async () => {
    const { response } = await client()
      .messages.create({ ...ask("gpt-4o"), top_k: 5, context_management: { edits: [] } } as Anthropic.MessageCreateParamsNonStreaming)
      .withResponse();
    const warned = response.headers.get("x-switchboard-warnings")!;
    expect(warned).toContain("top_k");
    expect(warned).toContain("context_management");
  });
});
