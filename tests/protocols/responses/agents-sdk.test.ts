// The OpenAI Agents SDK (@openai/agents, Responses API by default) running an agent with a function tool, on Claude and Gemini.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Agent, OpenAIProvider, Runner, setTracingDisabled, tool } from "@openai/agents";
import { z } from "zod";
import { KEY_A, startResponsesWorld, type ResponsesWorld } from "./gateway-setup.ts";
import { toolUse } from "../../support/anthropic-upstream.ts";

let w: ResponsesWorld;
let runner: Runner;
beforeAll(async () => {
  w = await startResponsesWorld();
  setTracingDisabled(true);
  // The SDK's own client (its bundled openai), pointed at the gateway; the Responses API is its default.
  runner = new Runner({ modelProvider: new OpenAIProvider({ apiKey: KEY_A, baseURL: w.gw.baseURL, useResponses: true }) });
});
afterAll(() => w.stop());

function weatherAgent(model: string, seen: string[]) {
  const getWeather = tool({
    name: "get_weather",
    description: "The weather in a city",
    parameters: z.object({ city: z.string(), unit: z.string() }),
    execute: async ({ city, unit }) => {
      seen.push(`${city}/${unit}`);
      return `It is 18 degrees ${unit} in ${city}.`;
    },
  });
  return new Agent({ name: "weather", instructions: "Answer with the tool.", model, tools: [getWeather] });
}

describe("@openai/agents", () => {
  test("on a Claude model: the tool runs and its result reaches Claude in the next turn", async () => {
    const seen: string[] = [];
    w.claude.reply(toolUse([{ name: "get_weather", input: { city: "Paris", unit: "celsius" } }]), { kind: "message", message: { content: [{ type: "text", text: "Paris: 18 degrees." }] } });
    const before = w.claude.calls.length;
    const result = await runner.run(weatherAgent("claude", seen), "What is the weather in Paris?");
    expect(seen).toEqual(["Paris/celsius"]);
    expect(result.finalOutput).toBe("Paris: 18 degrees.");
    const second = w.claude.calls[before + 1]!.body as { system?: unknown; messages: { role: string; content: { type: string; content?: unknown }[] }[] };
    expect(JSON.stringify(second.system)).toContain("Answer with the tool.");
    const last = second.messages.at(-1)!;
    expect(last.content[0]).toMatchObject({ type: "tool_result", content: "It is 18 degrees celsius in Paris." });
  });

  test("on a Gemini model: the call (with its thought signature) and the tool's result go back to Gemini", async () => {
    const seen: string[] = [];
    const before = w.gemini.calls.length;
    const result = await runner.run(weatherAgent("gemini", seen), "What is the weather in Paris?");
    expect(seen).toEqual(["Paris/celsius"]);
    expect(String(result.finalOutput)).toContain("18 degrees celsius");
    const second = w.gemini.calls[before + 1]!.body as { contents: { role: string; parts: Record<string, unknown>[] }[] };
    const call = second.contents.flatMap((c) => c.parts).find((p) => p.functionCall)!;
    expect(call.thoughtSignature).toBe(w.gemini.signature);
    const response = second.contents.flatMap((c) => c.parts).find((p) => p.functionResponse) as { functionResponse: { name: string } };
    expect(response.functionResponse.name).toBe("get_weather");
  });
});
