// The Vercel AI SDK's Anthropic provider (ai 6, @ai-sdk/anthropic 3) through the gateway to an OpenAI-type model, with a tool.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createAnthropic } from "@ai-sdk/anthropic";
import { generateText, stepCountIs, streamText, tool } from "ai";
import { z } from "zod";
import { startGateway, type GatewayHandle } from "../../support/gateway.ts";
import { startOpenAIUpstream, type OpenAIUpstream } from "../../support/openai-upstream.ts";

const KEY = "sk-vercel-0123456789";
let up: OpenAIUpstream;
let gw: GatewayHandle;

beforeAll(async () => {
  up = await startOpenAIUpstream();
  gw = await startGateway({ providers: { oa: { type: "openai", base_url: up.url, api_key: up.apiKey } }, models: [{ id: "gpt-4o", provider: "oa" }], keys: [{ name: "v", key: KEY }] });
});
afterAll(async () => {
  await gw?.stop();
  await up?.stop();
});

const weather = () => {
  const seen: string[] = [];
  const t = tool({
    description: "Weather in a city.",
    inputSchema: z.object({ city: z.string(), unit: z.string().optional() }),
    execute: async ({ city }) => {
      seen.push(city);
      return { city, temp: 21 };
    },
  });
  return { t, seen };
};

test("generateText with a tool: the SDK runs it and the model answers from its result", async () => {
  const anthropic = createAnthropic({ baseURL: `${gw.url}/v1`, apiKey: KEY });
  const { t, seen } = weather();
  const before = up.calls.length;
  const r = await generateText({ model: anthropic("gpt-4o"), maxOutputTokens: 500, prompt: "What is the weather in Paris?", tools: { get_weather: t }, stopWhen: stepCountIs(3) });
  expect(seen).toEqual(["Paris"]);
  expect(r.steps.length).toBe(2);
  expect(r.steps[0]!.finishReason).toBe("tool-calls");
  expect(r.text).toContain("21");
  expect(r.finishReason).toBe("stop");
  expect(r.totalUsage.inputTokens).toBeGreaterThan(0);
  // The provider saw the tool's result as a tool message answering the call it made.
  const second = up.calls.slice(before)[1]!.body.messages as Record<string, unknown>[];
  const call = (second.find((m) => m.role === "assistant")!.tool_calls as { id: string }[])[0]!;
  expect(second.find((m) => m.role === "tool")).toMatchObject({ tool_call_id: call.id });
});

test("streamText with a tool: deltas as they come, the tool run between steps", async () => {
  const anthropic = createAnthropic({ baseURL: `${gw.url}/v1`, apiKey: KEY });
  const { t, seen } = weather();
  const r = streamText({ model: anthropic("gpt-4o"), maxOutputTokens: 500, prompt: "Weather in Paris, please.", tools: { get_weather: t }, stopWhen: stepCountIs(3) });
  const parts: string[] = [];
  for await (const p of r.fullStream) parts.push(p.type);
  expect(seen).toEqual(["Paris"]);
  expect(parts).toContain("tool-call");
  expect(parts).toContain("tool-result");
  expect(parts.filter((p) => p === "text-delta").length).toBeGreaterThan(1);
  expect(parts).not.toContain("error");
  expect(await r.text).toContain("21");
  expect((await r.steps).length).toBe(2);
});
