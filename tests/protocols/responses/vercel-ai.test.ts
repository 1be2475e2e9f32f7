// The Vercel AI SDK (ai 6 with @ai-sdk/openai 3): createOpenAI({baseURL}) and its default model (the Responses API), on Claude.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { generateText, stepCountIs, streamText, tool } from "ai";
import { createOpenAI } from "@ai-sdk/openai";
import { z } from "zod";
import { KEY_A, startResponsesWorld, type ResponsesWorld } from "./gateway-setup.ts";
import { toolUse } from "../../support/anthropic-upstream.ts";

let w: ResponsesWorld;
let openai: ReturnType<typeof createOpenAI>;
beforeAll(async () => {
  w = await startResponsesWorld();
  openai = createOpenAI({ baseURL: w.gw.baseURL, apiKey: KEY_A });
});
afterAll(() => w.stop());

function weather(seen: string[]) {
  return tool({
    description: "The weather in a city",
    inputSchema: z.object({ city: z.string(), unit: z.string() }),
    execute: async ({ city, unit }) => {
      seen.push(city);
      return { city, unit, temperature: 18 };
    },
  });
}

/** The Anthropic request of the step after the tool ran: the tool's result in a tool_result, the lead text before the call. */
function expectSecondStep(before: number) {
  const second = w.claude.calls[before + 1]!.body as { messages: { role: string; content: Record<string, unknown>[] }[] };
  const [user, assistant, result] = second.messages;
  expect(user!.role).toBe("user");
  expect(assistant!.content.map((b) => b.type)).toEqual(["text", "tool_use"]);
  expect(assistant!.content[0]).toMatchObject({ text: "Let me check." });
  expect(result!.content[0]).toMatchObject({ type: "tool_result" });
  expect(JSON.stringify(result!.content[0]!.content)).toContain("18");
}

describe("Vercel AI SDK", () => {
  test("the default openai(id) model is the Responses API", () => {
    expect(openai("claude").provider).toBe("openai.responses");
  });

  test("generateText with a tool: two steps, the tool's result reaches Claude", async () => {
    const seen: string[] = [];
    w.claude.reply(toolUse([{ name: "weather", input: { city: "Paris", unit: "celsius" } }], "Let me check."), { kind: "message", message: { content: [{ type: "text", text: "It is 18 degrees in Paris." }] } });
    const before = w.claude.calls.length;
    const r = await generateText({ model: openai("claude"), prompt: "Weather in Paris?", tools: { weather: weather(seen) }, stopWhen: stepCountIs(3) });
    expect(seen).toEqual(["Paris"]);
    expect(r.text).toBe("It is 18 degrees in Paris.");
    expect(r.steps).toHaveLength(2);
    expect(r.totalUsage.inputTokens).toBeGreaterThan(0);
    expectSecondStep(before);
  });

  test("streamText with a tool: the same loop, streamed", async () => {
    const seen: string[] = [];
    w.claude.reply(toolUse([{ name: "weather", input: { city: "Oslo", unit: "celsius" } }], "Let me check."), { kind: "message", message: { content: [{ type: "text", text: "It is 18 degrees in Oslo." }] } });
    const before = w.claude.calls.length;
    const r = streamText({ model: openai("claude"), prompt: "Weather in Oslo?", tools: { weather: weather(seen) }, stopWhen: stepCountIs(3) });
    let text = "";
    for await (const piece of r.textStream) text += piece;
    expect(seen).toEqual(["Oslo"]);
    expect(text).toContain("It is 18 degrees in Oslo.");
    expect((await r.steps).length).toBe(2);
    expect(await r.finishReason).toBe("stop");
    expectSecondStep(before);
    expect(w.claude.calls[before]!.body).toMatchObject({ stream: true });
  });
});
