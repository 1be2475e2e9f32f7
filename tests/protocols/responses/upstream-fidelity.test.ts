// The fake OpenAI server's Responses API, checked with the official SDK: what the passthrough tests rely on is real.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { startOpenAIUpstream, type OpenAIUpstream } from "../../support/openai-upstream.ts";
import { checkResponseEvents } from "../../support/responses-invariants.ts";

/** The SDK's APIPromise is a thenable, not a Promise: await it and hand back what it threw. */
const rejection = async (p: PromiseLike<unknown>) => {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected the call to fail");
};

let up: OpenAIUpstream;
let client: OpenAI;
beforeAll(async () => {
  up = await startOpenAIUpstream();
  client = new OpenAI({ baseURL: up.url, apiKey: up.apiKey, maxRetries: 0 });
});
afterAll(() => up.stop());

describe("fake OpenAI Responses API", () => {
  test("create, then continue with previous_response_id, retrieve and delete", async () => {
    const r1 = await client.responses.create({ model: "gpt-4o", input: "hello" });
    expect(r1.output_text).toBe("Echo from upstream: hello");
    expect(r1.usage).toMatchObject({ input_tokens: 19, output_tokens: 10 });
    const r2 = await client.responses.create({ model: "gpt-4o", input: "again", previous_response_id: r1.id });
    expect(r2.previous_response_id).toBe(r1.id);
    expect((await client.responses.retrieve(r1.id)).id).toBe(r1.id);
    await client.responses.delete(r1.id);
    expect(await rejection(client.responses.retrieve(r1.id))).toMatchObject({ status: 404 });
    expect(await rejection(client.responses.create({ model: "gpt-4o", input: "x", previous_response_id: "resp_nope" }))).toMatchObject({ status: 400, code: "previous_response_not_found" });
  });

  test("stream: the SDK's accumulated final response equals the completed event's, tools called with arguments deltas", async () => {
    const stream = client.responses.stream({ model: "gpt-4o", input: "weather?", tools: [{ type: "function", name: "get_weather", parameters: { type: "object", properties: {} }, strict: false }] });
    const events: Record<string, unknown>[] = [];
    for await (const e of stream) events.push(e as unknown as Record<string, unknown>);
    const final = await stream.finalResponse();
    expect(checkResponseEvents(events as never).id).toBe(final.id);
    expect(final.output[0]).toMatchObject({ type: "function_call", name: "get_weather", arguments: '{"city":"Paris","unit":"celsius"}' });
    expect(events.filter((e) => e.type === "response.function_call_arguments.delta").length).toBe(2);
  });

  test("the recorded OpenAI stream replays (reasoning with encrypted content, then a call)", async () => {
    const stream = client.responses.stream({ model: "recorded", input: "x" });
    const final = await stream.finalResponse();
    expect(final.output.map((o) => o.type)).toEqual(["reasoning", "function_call"]);
    expect(up.calls.at(-1)!.body.stream).toBe(true);
  });

  test("errors are OpenAI's", async () => {
    expect(await rejection(client.responses.create({ model: "fault-429", input: "x" }))).toMatchObject({ status: 429 });
  });
});
