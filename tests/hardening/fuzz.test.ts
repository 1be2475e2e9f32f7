// Hardening: a seeded fuzz of 2,400 mutated chat bodies and headers against every provider type (two models per
// cloud). No answer may be a 5xx, /health may never stall past 100 ms, and afterwards the gateway serves and no
// deployment was put in cool-down.
import { expect, test } from "bun:test";
import { FUZZ_MODELS, fuzzTargetForFile } from "../support/fuzz-gateway.ts";
import { probeHealth } from "../support/probe.ts";
import { mutateText, mutateTree, rng, type Rng } from "../support/fuzz.ts";

const KEY = "sk-test-hardening-fuzz";
const ADMIN = "sk-admin-hardening-fuzz";
const SEED = 0x5eed_2026;
const RUNS = 2400;

const target = fuzzTargetForFile(KEY, ADMIN);

const tool = { type: "function", function: { name: "get_weather", description: "w", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } };
const SEEDS: Record<string, unknown>[] = [
  { messages: [{ role: "user", content: "Hello there" }] },
  { messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Weather?" }], tools: [tool], tool_choice: "auto", temperature: 0.5, max_tokens: 50 },
  {
    messages: [{ role: "user", content: [{ type: "text", text: "What is this?" }, { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=", detail: "low" } }] }],
  },
  {
    messages: [
      { role: "user", content: "Weather in Paris?" },
      { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] },
      { role: "tool", tool_call_id: "call_1", content: "18C" },
    ],
    tools: [tool],
  },
  { messages: [{ role: "user", content: "json please" }], response_format: { type: "json_schema", json_schema: { name: "x", schema: { type: "object", properties: { a: { type: "integer" } } } } } },
  { messages: [{ role: "developer", content: "dev" }, { role: "user", content: "stream it" }], stream: true, stream_options: { include_usage: true }, stop: ["END"], top_p: 0.9 },
];

const VOCABULARY = {
  fields: ["model", "n", "seed", "logit_bias", "tools", "tool_choice", "max_completion_tokens", "user", "metadata", "frequency_penalty", "unknown_field"],
  models: ["echo", "gpt", "claude", "gemini", "bedrock-llama", "vertex-claude", "gpt-9", "", "../../etc", "claude\u0000"],
};

function request(r: Rng): { body: string; headers: Record<string, string> } {
  const body = structuredClone(r.pick(SEEDS));
  body.model = r.pick(FUZZ_MODELS);
  let text: string;
  if (r.next() < 0.8) {
    mutateTree(r, body, VOCABULARY);
    text = JSON.stringify(body);
  } else text = mutateText(r, JSON.stringify(body));
  const headers: Record<string, string> = {};
  const auth = r.int(10);
  headers.authorization = auth < 7 ? `Bearer ${KEY}` : r.pick(["", "Bearer", `Basic ${KEY}`, `Bearer ${KEY} extra`, `bearer ${KEY}`, "Bearer sk-wrong", `Bearer ${"k".repeat(5000)}`]);
  if (!headers.authorization) delete headers.authorization;
  headers["content-type"] = r.int(10) < 8 ? "application/json" : r.pick(["text/plain", "application/json; charset=latin1", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded"]);
  if (r.int(10) === 0) headers["x-request-id"] = r.pick(["a".repeat(200), "ok-id-1", "../x", "💥"]).replace(/[^\x20-\x7e]/g, "?");
  return { body: text, headers };
}

test(`${RUNS} mutated requests: no 5xx, no stall, still healthy`, async () => {
  const r = rng(SEED);
  const probe = probeHealth(target.gw.url, 10);
  const statuses = new Map<number, number>();
  const failures: string[] = [];
  let slowest = 0;
  const send = async (i: number) => {
    const { body, headers } = request(r);
    const t0 = performance.now();
    const res = await fetch(`${target.gw.baseURL}/chat/completions`, { method: "POST", headers, body });
    const text = await res.text();
    slowest = Math.max(slowest, performance.now() - t0);
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    if (res.status >= 500) failures.push(`#${i} ${res.status} ${text.slice(0, 200)} ← ${body.slice(0, 300)}`);
    if (!res.headers.get("content-type")?.includes(res.status === 200 && text.startsWith("data:") ? "text/event-stream" : "application/json")) {
      failures.push(`#${i} ${res.status} content-type ${res.headers.get("content-type")}`);
    }
  };
  for (let i = 0; i < RUNS; i += 8) await Promise.all(Array.from({ length: 8 }, (_, k) => send(i + k)));
  const { worstMs, count } = await probe.stop();
  console.log(`fuzz: ${RUNS} requests, statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}; slowest answer ${slowest.toFixed(0)} ms; worst /health ${worstMs.toFixed(1)} ms over ${count} probes`);
  expect(failures).toEqual([]);
  expect(statuses.get(200) ?? 0).toBeGreaterThan(100);
  expect(worstMs).toBeLessThan(100);
  expect(target.gw.logs.filter((l) => l.level === "error")).toEqual([]);
  // Valid requests went through to every kind of provider, so every translator met the mutations too.
  for (const [kind, n] of Object.entries(target.upstreamCalls())) expect([kind, n > 10]).toEqual([kind, true]);

  // Afterwards: every model still answers, and no deployment was blamed for the gateway's refusals.
  for (const model of FUZZ_MODELS) {
    const res = await fetch(`${target.gw.baseURL}/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ model, messages: [{ role: "user", content: "still there?" }] }),
    });
    expect(res.status).toBe(200);
  }
  const health = (await (await fetch(`${target.gw.url}/health/providers`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as { data: { id: string; state: string }[] };
  expect(health.data.filter((d) => d.state !== "healthy")).toEqual([]);
}, 120_000);
