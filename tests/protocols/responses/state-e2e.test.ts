// Saved conversations through the real gateway: ownership, GET/DELETE, budgets counting restored history, usage events, no leaks.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { KEY_A, KEY_B, startResponsesWorld, type ResponsesWorld } from "./gateway-setup.ts";
import { eventually } from "../../support/wait.ts";
import { apiError } from "../../support/fixtures.ts";

const KEY_BUDGET = "sk-responses-budget-0003";
let w: ResponsesWorld;
const sdk = (key: string) => new OpenAI({ baseURL: w.gw.baseURL, apiKey: key, maxRetries: 0 });

beforeAll(async () => {
  w = await startResponsesWorld({
    config: {
      keys: [
        { name: "team-a", key: KEY_A },
        { name: "team-b", key: KEY_B },
        // $10 a month; Claude priced at $1000/Mtok in and out so a long conversation is expensive.
        { name: "budgeted", key: KEY_BUDGET, budget: { usd: 10, period: "month" } },
      ],
      prices: { claude: { input_per_mtok: 1000, output_per_mtok: 1000 } },
    },
  });
});
afterAll(() => w.stop());

describe("ownership", () => {
  test("a key reads, continues and deletes only its own responses; another key's id is unknown", async () => {
    const a = sdk(KEY_A);
    const b = sdk(KEY_B);
    const r = await a.responses.create({ model: "claude", input: "remember the number 42" });
    expect((await a.responses.retrieve(r.id)).output_text).toBe(r.output_text);
    expect(await apiError(b.responses.retrieve(r.id))).toMatchObject({ status: 404 });
    expect(await apiError(b.responses.create({ model: "claude", input: "what was it?", previous_response_id: r.id }))).toMatchObject({
      status: 400,
      code: "previous_response_not_found",
      param: "previous_response_id",
    });
    expect(await apiError(b.responses.delete(r.id))).toMatchObject({ status: 404 });
    // The immediate follow-up finds it (saved before the answer was sent).
    const next = await a.responses.create({ model: "claude", input: "what was it?", previous_response_id: r.id });
    const sent = w.claude.calls.at(-1)!.body as { messages: { role: string }[] };
    expect(sent.messages.map((m) => m.role)).toEqual(["user", "assistant", "user"]);
    await a.responses.delete(r.id);
    expect(await apiError(a.responses.retrieve(r.id))).toMatchObject({ status: 404 });
    expect(await apiError(a.responses.create({ model: "claude", input: "and now?", previous_response_id: r.id }))).toMatchObject({ status: 400, code: "previous_response_not_found" });
    expect((await a.responses.retrieve(next.id)).previous_response_id).toBe(r.id);
  });

  test("a streamed response is saved before response.completed reaches the client", async () => {
    const a = sdk(KEY_A);
    const stream = a.responses.stream({ model: "gemini", input: "stream me" });
    for await (const e of stream) {
      if (e.type === "response.completed") {
        // Asked the moment the completion arrives, before the stream is even over.
        const again = await a.responses.retrieve(e.response.id);
        expect(again.status).toBe("completed");
      }
    }
  });

  test("/api/v1 is the same API", async () => {
    const res = await fetch(`${w.gw.url}/api/v1/responses`, { method: "POST", headers: { authorization: `Bearer ${KEY_A}`, "content-type": "application/json" }, body: JSON.stringify({ model: "gemini", input: "hi" }) });
    expect(res.status).toBe(200);
    const r = (await res.json()) as { id: string };
    expect((await fetch(`${w.gw.url}/api/v1/responses/${r.id}`, { headers: { authorization: `Bearer ${KEY_A}` } })).status).toBe(200);
    expect((await fetch(`${w.gw.url}/api/v1/responses/${r.id}`)).status).toBe(401);
  });
});

describe("accounting through the pipeline", () => {
  test("the budget reservation counts the history restored from previous_response_id", async () => {
    const c = sdk(KEY_BUDGET);
    // ~9 KB: the prompt bound is a token per byte (~$9 reserved of $10), the fixture bills ~2,250 tokens (~$2.25).
    const long = "lorem ipsum dolor sit amet ".repeat(333);
    const prev = (await c.responses.create({ model: "claude", input: long, max_output_tokens: 16 })).id;
    // A short question alone still fits what is left of the budget…
    expect((await c.responses.create({ model: "claude", input: "short", max_output_tokens: 16 })).status).toBe("completed");
    // …but not with the long turn it would continue (~$9 reserved, ~$7.7 left).
    const refused = await apiError(c.responses.create({ model: "claude", input: "short", max_output_tokens: 16, previous_response_id: prev }));
    expect(refused).toMatchObject({ status: 429, code: "budget_exceeded" });
  });

  test("usage events name the endpoint 'responses' (stream and JSON), with the provider's tokens", async () => {
    const a = sdk(KEY_A);
    await a.responses.create({ model: "gemini", input: "count me" }, { headers: { "x-request-id": "resp-usage-json" } });
    const s = a.responses.stream({ model: "claude", input: "count me too" }, { headers: { "x-request-id": "resp-usage-stream" } });
    await s.finalResponse();
    const mine = (rows: { requestId: string }[]) => rows.filter((e) => e.requestId === "resp-usage-json" || e.requestId === "resp-usage-stream");
    const page = await eventually(
      () => w.store.listEvents({ limit: 100 }),
      (p) => mine(p.rows).length === 2,
    );
    const [json, streamed] = ["resp-usage-json", "resp-usage-stream"].map((id) => page.rows.find((e) => e.requestId === id));
    expect(json).toMatchObject({ endpoint: "responses", model: "gemini", stream: false, usageSource: "provider", status: 200 });
    expect(json!.promptTokens).toBeGreaterThan(0);
    expect(streamed).toMatchObject({ endpoint: "responses", model: "claude", stream: true, usageSource: "provider", status: 200 });
    expect(streamed!.completionTokens).toBeGreaterThan(0);
  });

  test("a client that leaves mid-stream: the provider call is cancelled, the event charges the prompt and what was delivered", async () => {
    const long = Array.from({ length: 40 }, (_, i) => `piece${i} `).join("");
    w.claude.reply({ kind: "message", message: { content: [{ type: "text", text: long }] }, gapMs: 60 });
    const aborted = w.claude.aborted;
    const res = await fetch(`${w.gw.baseURL}/responses`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY_A}`, "content-type": "application/json", "x-request-id": "resp-abandoned-1" },
      body: JSON.stringify({ model: "claude", input: "talk slowly", stream: true }),
    });
    const reader = res.body!.getReader();
    let seen = "";
    while (!seen.includes("response.output_text.delta")) seen += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    await eventually(() => w.claude.aborted, (n) => n > aborted);
    expect(w.claude.aborted).toBe(aborted + 1);
    const page = await eventually(
      () => w.store.listEvents({ limit: 50 }),
      (p) => p.rows.some((e) => e.requestId === "resp-abandoned-1"),
    );
    const event = page.rows.find((e) => e.requestId === "resp-abandoned-1")!;
    expect(event).toMatchObject({ endpoint: "responses", status: 499, stream: true, usageSource: "estimated" });
    expect(event.promptTokens).toBeGreaterThan(0);
    expect(event.completionTokens).toBeGreaterThan(0);
  });

  test("conversations are never in the log lines", async () => {
    const marker = "PRIVATE-CONVERSATION-7f3a";
    const a = sdk(KEY_A);
    const r = await a.responses.create({ model: "claude", input: marker });
    await a.responses.create({ model: "claude", input: `${marker} again`, previous_response_id: r.id });
    expect(JSON.stringify(w.gw.logs)).not.toContain(marker);
    const line = w.gw.logs.filter((l) => l.msg === "request" && l.endpoint === "responses").at(-1)!;
    expect(line).toMatchObject({ status: 200, model: "claude", key: "team-a" });
  });
});
