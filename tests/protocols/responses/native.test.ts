// Native passthrough (OpenAI, Azure): streams forwarded, ownership kept by the gateway, conversations crossing between kinds.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { KEY_A, KEY_B, startResponsesWorld, type ResponsesWorld } from "./gateway-setup.ts";
import { eventually } from "../../support/wait.ts";
import { checkResponseEvents } from "../../support/responses-invariants.ts";
import { apiError } from "../../support/fixtures.ts";

const KEY_BUDGET = "sk-responses-native-budget-9";
let w: ResponsesWorld;
let a: OpenAI;
let b: OpenAI;

beforeAll(async () => {
  // Azure is served by the same fake (its /openai/v1/responses surface, api-key auth).
  w = await startResponsesWorld({
    build: ({ openai, claude }) => ({
      providers: {
        oa: { type: "openai", base_url: openai.url, api_key: openai.apiKey },
        az: { type: "azure", base_url: openai.url.replace(/\/v1$/, ""), api_key: openai.apiKey, api_version: "2024-10-21" },
        anth: { type: "anthropic", base_url: claude.url, api_key: claude.apiKey },
      },
      keys: [
        { name: "team-a", key: KEY_A },
        { name: "team-b", key: KEY_B },
        { name: "budgeted", key: KEY_BUDGET, budget: { usd: 5, period: "day" } },
      ],
      prices: { gpt: { input_per_mtok: 2.5, output_per_mtok: 10 } },
      models: [
        { id: "gpt", provider: "oa", upstream_model: "gpt-4o" },
        { id: "gpt-azure", provider: "az", upstream_model: "gpt-4o", deployment: "my-gpt4o-deployment" },
        { id: "claude", provider: "anth", upstream_model: "claude-sonnet-4-5-20250929", max_tokens: 1024 },
      ],
    }),
  });
  a = new OpenAI({ baseURL: w.gw.baseURL, apiKey: KEY_A, maxRetries: 0 });
  b = new OpenAI({ baseURL: w.gw.baseURL, apiKey: KEY_B, maxRetries: 0 });
});
afterAll(() => w.stop());

describe("native passthrough", () => {
  test("a stream is OpenAI's own events with the public model; usage read from response.completed", async () => {
    const stream = a.responses.stream({ model: "gpt", input: "stream please" });
    const events: Record<string, unknown>[] = [];
    for await (const e of stream) events.push(e as unknown as Record<string, unknown>);
    const final = checkResponseEvents(events as never);
    expect(final.model).toBe("gpt");
    expect(events.some((e) => "obfuscation" in e)).toBe(true);
    expect(w.openai.calls.at(-1)!.body).toMatchObject({ model: "gpt-4o", stream: true, input: "stream please" });
    const page = await eventually(
      () => w.store.listEvents({ limit: 20 }),
      (p) => p.rows.some((e) => e.endpoint === "responses" && e.stream && e.model === "gpt"),
    );
    expect(page.rows.find((e) => e.endpoint === "responses" && e.stream && e.model === "gpt")).toMatchObject({ promptTokens: 19, completionTokens: 10, usageSource: "provider" });
  });

  test("a key with a budget: the cap the gateway admits the request with is the provider's max_output_tokens", async () => {
    const c = new OpenAI({ baseURL: w.gw.baseURL, apiKey: KEY_BUDGET, maxRetries: 0 });
    const { response } = await c.responses.create({ model: "gpt", input: "no cap from me" }).withResponse();
    const sent = w.openai.calls.at(-1)!.body;
    expect(typeof sent.max_output_tokens).toBe("number");
    expect(sent.max_output_tokens as number).toBeGreaterThan(0);
    expect(response.headers.get("x-switchboard-warnings") ?? "").toContain("max");
    // A client's own cap goes as it is.
    await c.responses.create({ model: "gpt", input: "my cap", max_output_tokens: 64 });
    expect(w.openai.calls.at(-1)!.body.max_output_tokens).toBe(64);
  });

  test("Azure: the v1 Responses surface, api-key auth, the deployment name as the model", async () => {
    const r = await a.responses.create({ model: "gpt-azure", input: "hi azure" }, { headers: { "x-request-id": "native-json-usage" } });
    expect(r.model).toBe("gpt-azure");
    const page = await eventually(
      () => w.store.listEvents({ limit: 50 }),
      (p) => p.rows.some((e) => e.requestId === "native-json-usage"),
    );
    expect(page.rows.find((e) => e.requestId === "native-json-usage")).toMatchObject({ endpoint: "responses", stream: false, promptTokens: 19, completionTokens: 10, usageSource: "provider" });
    const sent = w.openai.calls.at(-1)!;
    expect(sent.path).toBe("/openai/v1/responses");
    expect(sent.headers["api-key"]).toBe(w.openai.apiKey);
    expect(sent.body.model).toBe("my-gpt4o-deployment");
  });

  test("a provider's response: continued by its owner on that provider, unknown to another key (which never reaches it)", async () => {
    const r1 = await a.responses.create({ model: "gpt", input: "first" });
    const r2 = await a.responses.create({ model: "gpt", input: "second", previous_response_id: r1.id });
    expect(w.openai.calls.at(-1)!.body.previous_response_id).toBe(r1.id);
    expect(r2.previous_response_id).toBe(r1.id);
    const calls = w.openai.calls.length;
    expect(await apiError(b.responses.create({ model: "gpt", input: "steal", previous_response_id: r1.id }))).toMatchObject({ status: 400, code: "previous_response_not_found" });
    expect(await apiError(b.responses.retrieve(r1.id))).toMatchObject({ status: 404 });
    expect(w.openai.calls.length).toBe(calls);
    // Only the provider holding it can continue it.
    const pinned = await apiError(a.responses.create({ model: "claude", input: "switch", previous_response_id: r1.id }));
    expect(pinned).toMatchObject({ status: 400, param: "previous_response_id" });
    expect(String(pinned.message)).toContain("'oa'");
    // Retrieve and delete go to the provider that holds it.
    expect((await a.responses.retrieve(r1.id)).model).toBe("gpt");
    expect(w.openai.calls.at(-1)!.path).toBe(`/v1/responses/${r1.id}`);
    await a.responses.delete(r1.id);
    expect(await apiError(a.responses.retrieve(r1.id))).toMatchObject({ status: 404 });
  });

  test("a conversation the gateway holds continues on an OpenAI deployment: its items inlined, its ids and sealed reasoning left out", async () => {
    w.claude.reply({ kind: "message", message: { content: [{ type: "thinking", thinking: "hmm", signature: "sig-xyz" }, { type: "text", text: "Claude's answer." }] } });
    const r1 = await a.responses.create({ model: "claude", input: "question one", reasoning: { effort: "low" } });
    expect(r1.output.map((o) => o.type)).toEqual(["reasoning", "message"]);
    const r2 = await a.responses.create({ model: "gpt", input: "question two", previous_response_id: r1.id });
    expect(r2.status).toBe("completed");
    const sent = w.openai.calls.at(-1)!.body as { previous_response_id?: unknown; input: Record<string, unknown>[] };
    expect(sent.previous_response_id).toBeUndefined();
    expect(sent.input).toEqual([
      { type: "message", role: "user", content: "question one" },
      { type: "message", status: "completed", content: [{ type: "output_text", annotations: [], logprobs: [], text: "Claude's answer." }], role: "assistant" },
      { type: "message", role: "user", content: "question two" },
    ]);
  });

  test("a provider's error before the answer is the client's, in OpenAI's shape", async () => {
    w.openai.script.push(400);
    expect(await apiError(a.responses.create({ model: "gpt", input: "x" }))).toMatchObject({ status: 400, param: "input", message: expect.stringContaining("too long") });
  });
});
