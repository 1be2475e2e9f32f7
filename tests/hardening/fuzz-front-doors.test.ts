// Hardening: the Responses and Messages front doors under the same seeded fuzz as chat, on every provider kind. No answer may be a 5xx; every
// refusal is in the dialect of the API called (OpenAI's error object, or Anthropic's {"type":"error"}); every stream
// ends with its API's terminal event; /health never stalls; afterwards every model answers and no deployment is blamed.
import { expect, test } from "bun:test";
import { FUZZ_MODELS, fuzzTargetForFile } from "../support/fuzz-gateway.ts";
import { probeHealth } from "../support/probe.ts";
import { mutateText, mutateTree, rng, type Json, type Rng, type Vocabulary } from "../support/fuzz.ts";
import { isObj } from "../support/fake-core.ts";

const KEY = "sk-test-hardening-doors";
const ADMIN = "sk-admin-hardening-doors";
const RUNS = 1200;
const target = fuzzTargetForFile(KEY, ADMIN);

const schema = { type: "object", properties: { city: { type: "string" } }, required: ["city"] };
const PNG = "iVBORw0KGgo=";

interface Door {
  path: string;
  seeds: Json[];
  vocabulary: Vocabulary;
  /** The headers that carry the key (Messages takes x-api-key too). */
  auth(r: Rng): Record<string, string>;
  /** Why a refusal's body is not this API's error shape, or undefined when it is. */
  badError(body: unknown): string | undefined;
  /** The events a stream may end with. */
  terminal: RegExp;
}

const bearer = (r: Rng) =>
  r.int(10) < 7 ? `Bearer ${KEY}` : r.pick(["", "Bearer", `Basic ${KEY}`, `Bearer ${KEY} extra`, "Bearer sk-wrong", `Bearer ${"k".repeat(5000)}`]);

const responses: Door = {
  path: "/v1/responses",
  seeds: [
    { input: "Hello there" },
    { instructions: "Be brief.", input: [{ role: "user", content: [{ type: "input_text", text: "Weather?" }] }], tools: [{ type: "function", name: "get_weather", description: "w", parameters: schema }], tool_choice: "auto", max_output_tokens: 50 },
    {
      input: [
        { role: "user", content: "Weather in Paris?" },
        { type: "function_call", call_id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' },
        { type: "function_call_output", call_id: "call_1", output: "sunny" },
      ],
      tools: [{ type: "function", name: "get_weather", parameters: schema }],
    },
    { input: [{ role: "user", content: [{ type: "input_text", text: "What is this?" }, { type: "input_image", image_url: `data:image/png;base64,${PNG}` }] }], stream: true },
    { input: "json please", text: { format: { type: "json_schema", name: "x", schema: { type: "object", properties: { a: { type: "integer" } } } } }, reasoning: { effort: "low" } },
    { input: [{ role: "developer", content: "dev" }, { role: "user", content: "stream it" }], stream: true, store: false, temperature: 0.5 },
  ],
  vocabulary: {
    fields: ["model", "input", "instructions", "tools", "tool_choice", "max_output_tokens", "previous_response_id", "store", "include", "reasoning", "text", "metadata", "conversation", "background", "unknown_field"],
    models: ["echo", "gpt", "claude", "gemini", "bedrock-claude", "vertex-claude", "gpt-9", "", "../../etc", "claude\u0000"],
  },
  auth: (r) => {
    const a = bearer(r);
    return a ? { authorization: a } : ({} as Record<string, string>);
  },
  badError: (body) => {
    if (!isObj(body) || !isObj(body.error)) return "no error object";
    if (typeof body.error.message !== "string" || !body.error.message) return "no error.message";
    if (typeof body.error.type !== "string") return "no error.type";
    return undefined;
  },
  terminal: /event: (response\.completed|response\.incomplete|response\.failed|error)\ndata: [^\n]*\n\n$/,
};

const messages: Door = {
  path: "/v1/messages",
  seeds: [
    { max_tokens: 100, messages: [{ role: "user", content: "Hello there" }] },
    { max_tokens: 50, system: "Be brief.", messages: [{ role: "user", content: [{ type: "text", text: "Weather?" }] }], tools: [{ name: "get_weather", description: "w", input_schema: schema }], tool_choice: { type: "auto" } },
    {
      max_tokens: 100,
      messages: [
        { role: "user", content: "Weather in Paris?" },
        { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris" } }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "sunny" }] },
      ],
      tools: [{ name: "get_weather", input_schema: schema }],
    },
    { max_tokens: 100, stream: true, messages: [{ role: "user", content: [{ type: "text", text: "What is this?" }, { type: "image", source: { type: "base64", media_type: "image/png", data: PNG } }] }] },
    { max_tokens: 2048, thinking: { type: "enabled", budget_tokens: 1024 }, messages: [{ role: "user", content: "think" }], stop_sequences: ["END"] },
    { max_tokens: 100, stream: true, temperature: 0.5, metadata: { user_id: "u1" }, messages: [{ role: "user", content: "stream it" }] },
  ],
  vocabulary: {
    fields: ["model", "max_tokens", "system", "tools", "tool_choice", "thinking", "stop_sequences", "metadata", "top_k", "output_config", "stream", "unknown_field"],
    models: ["echo", "gpt", "claude", "gemini", "bedrock-llama", "vertex-gemini", "claude-9", "", "../../etc", "gpt\u0000"],
  },
  auth: (r) => {
    if (r.int(2) === 0) {
      const a = bearer(r);
      return a ? { authorization: a } : ({} as Record<string, string>);
    }
    return { "x-api-key": r.int(10) < 7 ? KEY : r.pick(["", "sk-wrong", KEY + " ", "k".repeat(5000)]) };
  },
  badError: (body) => {
    if (!isObj(body) || body.type !== "error" || !isObj(body.error)) return 'not {"type":"error","error":…}';
    if (typeof body.error.type !== "string" || typeof body.error.message !== "string" || !body.error.message) return "no error.type or error.message";
    return undefined;
  },
  terminal: /event: (message_stop|error)\ndata: [^\n]*\n\n$/,
};

function request(r: Rng, door: Door): { body: string; headers: Record<string, string> } {
  const body = structuredClone(r.pick(door.seeds));
  body.model = r.pick(FUZZ_MODELS);
  let text: string;
  if (r.next() < 0.8) {
    mutateTree(r, body, door.vocabulary);
    text = JSON.stringify(body);
  } else text = mutateText(r, JSON.stringify(body));
  const headers = door.auth(r);
  headers["content-type"] = r.int(10) < 8 ? "application/json" : r.pick(["text/plain", "application/json; charset=latin1", "multipart/form-data; boundary=x"]);
  return { body: text, headers };
}

for (const [door, seed] of [[responses, 0x5eed_0021], [messages, 0x5eed_0022]] as const) {
  test(`${door.path}: ${RUNS} mutated requests, no 5xx, refusals in its dialect, streams ended, no stall`, async () => {
    const r = rng(seed);
    const probe = probeHealth(target.gw.url, 10);
    const statuses = new Map<number, number>();
    const failures: string[] = [];
    const send = async (i: number) => {
      const { body, headers } = request(r, door);
      const res = await fetch(`${target.gw.url}${door.path}`, { method: "POST", headers, body });
      const text = await res.text();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      const type = res.headers.get("content-type") ?? "";
      const why = (w: string) => failures.push(`#${i} ${res.status} ${w}: ${text.slice(0, 200)} ← ${body.slice(0, 300)}`);
      if (res.status >= 500) why("5xx");
      else if (res.status >= 400) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        const bad = type.includes("application/json") ? door.badError(parsed) : `content-type ${type}`;
        if (bad) why(bad);
      } else if (type.includes("text/event-stream")) {
        if (!door.terminal.test(text)) why("stream without its terminal event");
      } else if (!type.includes("application/json")) why(`content-type ${type}`);
    };
    for (let i = 0; i < RUNS; i += 8) await Promise.all(Array.from({ length: 8 }, (_, k) => send(i + k)));
    const { worstMs, count } = await probe.stop();
    console.log(`${door.path} fuzz: ${RUNS} requests, statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}; worst /health ${worstMs.toFixed(1)} ms over ${count} probes`);
    expect(failures).toEqual([]);
    expect(statuses.get(200) ?? 0).toBeGreaterThan(100);
    expect(worstMs).toBeLessThan(100);
    expect(target.gw.logs.filter((l) => l.level === "error")).toEqual([]);
    // Valid requests went through to every kind of provider, so every translator met the mutations too.
    for (const [kind, n] of Object.entries(target.upstreamCalls())) expect([kind, n > 10]).toEqual([kind, true]);
  }, 120_000);
}

test("afterwards every model answers on both doors and no deployment was blamed for the refusals", async () => {
  for (const model of FUZZ_MODELS) {
    const a = await fetch(`${target.gw.url}/v1/responses`, { method: "POST", headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" }, body: JSON.stringify({ model, input: "still there?" }) });
    expect(a.status).toBe(200);
    const b = await fetch(`${target.gw.url}/v1/messages`, { method: "POST", headers: { "x-api-key": KEY, "content-type": "application/json" }, body: JSON.stringify({ model, max_tokens: 50, messages: [{ role: "user", content: "still there?" }] }) });
    expect(b.status).toBe(200);
  }
  const health = (await (await fetch(`${target.gw.url}/health/providers`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as { data: { id: string; state: string }[] };
  expect(health.data.filter((d) => d.state !== "healthy")).toEqual([]);
});
