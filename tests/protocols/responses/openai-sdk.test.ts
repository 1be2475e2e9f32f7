// The official openai SDK's responses.create / .stream / .parse through the real gateway, for an OpenAI, an Anthropic and a Gemini model.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { zodTextFormat } from "openai/helpers/zod";
import { z } from "zod";
import { comparable, KEY_A, startResponsesWorld, type ResponsesWorld } from "./gateway-setup.ts";
import { toolUse } from "../../support/anthropic-upstream.ts";
import { checkResponseEvents } from "../../support/responses-invariants.ts";

let w: ResponsesWorld;
let client: OpenAI;
beforeAll(async () => {
  w = await startResponsesWorld();
  client = new OpenAI({ baseURL: w.gw.baseURL, apiKey: KEY_A, maxRetries: 0 });
});
afterAll(() => w.stop());

const weather = { type: "function" as const, name: "get_weather", description: "Weather in a city", parameters: { type: "object", properties: { city: { type: "string" }, unit: { type: "string" } }, required: ["city", "unit"], additionalProperties: false }, strict: true };

describe.each(["gpt", "claude", "gemini"])("%s", (model) => {
  test("responses.create: text, the public model id, usage", async () => {
    const r = await client.responses.create({ model, input: "hello there" });
    expect(r.object).toBe("response");
    expect(r.model).toBe(model);
    expect(r.status).toBe("completed");
    expect(r.output_text.length).toBeGreaterThan(0);
    expect(r.usage!.input_tokens).toBeGreaterThan(0);
    expect(r.usage!.total_tokens).toBe(r.usage!.input_tokens + r.usage!.output_tokens);
  });

  test("responses.stream: OpenAI's events in order, and finalResponse() equals the non-streamed answer", async () => {
    const json = await client.responses.create({ model, input: "tell me something" });
    const stream = client.responses.stream({ model, input: "tell me something" });
    const events: Record<string, unknown>[] = [];
    for await (const e of stream) events.push(e as unknown as Record<string, unknown>);
    const final = await stream.finalResponse();
    checkResponseEvents(events as never);
    expect(comparable(final)).toEqual(comparable(json));
    expect(events.some((e) => e.type === "response.output_text.delta")).toBe(true);
  });

  test("responses.parse with a zod schema", async () => {
    const Answer = z.object({ city: z.string(), celsius: z.number() });
    const r = await client.responses.parse({ model, input: "the weather in Paris as JSON", text: { format: zodTextFormat(Answer, "answer") } });
    expect(Answer.safeParse(r.output_parsed).success).toBe(true);
  });
});

describe("tool loops", () => {
  test("stateless (store: false, the items sent back): Claude calls, the result reaches it, it answers", async () => {
    w.claude.reply(toolUse([{ name: "get_weather", input: { city: "Paris", unit: "celsius" } }], "Let me check."));
    const input: OpenAI.Responses.ResponseInput = [{ role: "user", content: "Weather in Paris?" }];
    const r1 = await client.responses.create({ model: "claude", input, tools: [weather], store: false });
    const call = r1.output.find((o) => o.type === "function_call")!;
    expect(call).toMatchObject({ type: "function_call", name: "get_weather", arguments: '{"city":"Paris","unit":"celsius"}' });
    const r2 = await client.responses.create({
      model: "claude",
      tools: [weather],
      store: false,
      input: [...input, ...(r1.output as OpenAI.Responses.ResponseInputItem[]), { type: "function_call_output", call_id: call.call_id, output: "18°C and sunny" }],
    });
    expect(r2.status).toBe("completed");
    const sent = w.claude.calls.at(-1)!.body as { messages: { role: string; content: { type: string; tool_use_id?: string; content?: unknown; id?: string }[] }[] };
    const assistant = sent.messages[1]!;
    expect(assistant.content.map((b) => b.type)).toEqual(["text", "tool_use"]);
    expect(assistant.content[1]!.id).toBe(call.call_id);
    expect(sent.messages[2]!.content[0]).toMatchObject({ type: "tool_result", tool_use_id: call.call_id, content: "18°C and sunny" });
    // Not stored: nothing to continue.
    const err = await client.responses.create({ model: "claude", input: "again", previous_response_id: r1.id }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ status: 400, code: "previous_response_not_found", param: "previous_response_id" });
  });

  test("stateful (previous_response_id): Gemini's call and its thought signature come back from the store", async () => {
    const r1 = await client.responses.create({ model: "gemini", input: "Weather in Paris?", tools: [weather] });
    const call = r1.output.find((o) => o.type === "function_call")!;
    expect(call.type).toBe("function_call");
    const r2 = await client.responses.create({ model: "gemini", previous_response_id: r1.id, tools: [weather], input: [{ type: "function_call_output", call_id: (call as { call_id: string }).call_id, output: "18°C" }] });
    expect(r2.previous_response_id).toBe(r1.id);
    expect(r2.output_text).toContain("18°C");
    const contents = w.gemini.calls.at(-1)!.body.contents as { role: string; parts: Record<string, unknown>[] }[];
    expect(contents.map((c) => c.role)).toEqual(["user", "model", "user"]);
    const fc = contents[1]!.parts.find((p) => p.functionCall)!;
    expect(fc.thoughtSignature).toBe(w.gemini.signature);
    // And a third turn chains through both.
    const r3 = await client.responses.create({ model: "gemini", previous_response_id: r2.id, input: "thanks" });
    expect(r3.status).toBe("completed");
    expect((w.gemini.calls.at(-1)!.body.contents as unknown[]).length).toBe(5);
  });

  test("Claude's signed thinking round-trips through a tool loop, sealed, byte for byte", async () => {
    const signature = "EuYBCkQYAiJA" + "x/+=".repeat(30) + "ZZ==";
    const thinking = "The user wants Paris weather; I should call the tool.";
    w.claude.reply({ kind: "message", message: { content: [{ type: "thinking", thinking, signature }, { type: "tool_use", name: "get_weather", input: { city: "Paris", unit: "celsius" } }] } });
    const input: OpenAI.Responses.ResponseInput = [{ role: "user", content: "Weather in Paris?" }];
    const common = { model: "claude", tools: [weather], store: false, include: ["reasoning.encrypted_content" as const], reasoning: { effort: "high" as const, summary: "auto" as const } };
    const stream = client.responses.stream({ ...common, input });
    const r1 = await stream.finalResponse();
    const rs = r1.output.find((o) => o.type === "reasoning")!;
    expect(rs.summary).toEqual([{ type: "summary_text", text: thinking }]);
    expect(rs.encrypted_content).toStartWith("sb1.");
    expect(JSON.stringify(r1)).not.toContain(signature);
    const call = r1.output.find((o) => o.type === "function_call")!;
    await client.responses.create({ ...common, input: [...input, ...(r1.output as OpenAI.Responses.ResponseInputItem[]), { type: "function_call_output", call_id: (call as { call_id: string }).call_id, output: "18°C" }] });
    const sent = w.claude.calls.at(-1)!.body as { thinking?: unknown; messages: { role: string; content: Record<string, unknown>[] }[] };
    expect(sent.thinking).toBeDefined();
    expect(sent.messages[1]!.content[0]).toEqual({ type: "thinking", thinking, signature });
  });

  test("a tampered encrypted_content is a 400 naming it", async () => {
    const bad = "sb1." + Buffer.from("0".repeat(64)).toString("base64url");
    const err = await client.responses
      .create({ model: "claude", input: [{ role: "user", content: "q" }, { type: "reasoning", id: "rs_1", summary: [], encrypted_content: bad }, { role: "assistant", content: "a" }, { role: "user", content: "q2" }] })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).toMatchObject({ status: 400, param: "input[1].encrypted_content" });
  });
});

describe("passthrough and translation", () => {
  test("an OpenAI deployment gets the client's body with only model rewritten (unknown fields kept); usage read", async () => {
    const body = { model: "gpt", input: "hi", store: true, service_tier: "flex", some_future_field: { x: 1 }, include: ["message.output_text.logprobs"] };
    const res = await fetch(`${w.gw.baseURL}/responses`, { method: "POST", headers: { authorization: `Bearer ${KEY_A}`, "content-type": "application/json" }, body: JSON.stringify(body) });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchboard-warnings")).toBeNull();
    const sent = w.openai.calls.at(-1)!;
    expect(sent.path).toBe("/v1/responses");
    expect(sent.body).toEqual({ ...body, model: "gpt-4o", stream: false });
    const r = (await res.json()) as { model: string; id: string };
    expect(r.model).toBe("gpt");
    // Its owner is recorded: the key reads it back through the gateway (the provider holds it).
    expect((await client.responses.retrieve(r.id)).model).toBe("gpt");
  });

  test("a chat-only OpenAI-compatible server (responses: false) is translated to /chat/completions", async () => {
    const r = await client.responses.create({ model: "gpt-chat", input: "hi", instructions: "be brief" });
    expect(r.output_text).toBe("Echo from upstream: hi");
    const sent = w.openai.calls.at(-1)!;
    expect(sent.path).toBe("/v1/chat/completions");
    expect(sent.body.messages).toEqual([
      { role: "system", content: "be brief" },
      { role: "user", content: "hi" },
    ]);
  });

  test("hosted tools are dropped and named in x-switchboard-warnings, never a 400", async () => {
    const { data, response } = await client.responses.create({ model: "claude", input: "hi", tools: [{ type: "web_search" }, weather] }).withResponse();
    expect(data.status).toBe("completed");
    expect(response.headers.get("x-switchboard-warnings")).toContain("web_search");
    expect(data.tools).toEqual([{ type: "web_search" }, weather] as never);
  });

  test("invalid requests are 400s with param, in OpenAI's shape", async () => {
    const err = await client.responses.create({ model: "claude", input: "x", temperature: 5 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ status: 400, param: "temperature", type: "invalid_request_error" });
    const unknown = await client.responses.create({ model: "nope", input: "x" }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(unknown).toMatchObject({ status: 404, code: "model_not_found" });
  });
});
