// A streamed and a non-streamed request cost the same, for every provider type, at the built-in prices; budgets see the same spend.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { builtinPrice, costMicros } from "../../src/costs/prices.ts";
import { openStore } from "../../src/store/open.ts";
import type { Store } from "../../src/store/store.ts";
import { startAnthropicUpstream, type AnthropicUpstream } from "../support/anthropic-upstream.ts";
import { startAzureUpstream, type AzureUpstream } from "../support/azure-upstream.ts";
import { startGateway, type GatewayHandle } from "../support/gateway.ts";
import { startGeminiUpstream, type GeminiUpstream } from "../support/gemini-upstream.ts";
import { startOpenAIUpstream, type OpenAIUpstream } from "../support/openai-upstream.ts";

const ADMIN = "sk-admin-parity-0123456789";
let oa: OpenAIUpstream;
let an: AnthropicUpstream;
let ge: GeminiUpstream;
let az: AzureUpstream;
let store: Store;
let gw: GatewayHandle;
const dir = mkdtempSync(join(tmpdir(), "sb-parity-"));

const MODELS = [
  { id: "oa-mini", type: "openai", upstream: "gpt-4o-mini" },
  { id: "az-4o", type: "azure", upstream: "gpt-4o" },
  { id: "haiku", type: "anthropic", upstream: "claude-3-5-haiku-latest" },
  { id: "flash", type: "gemini", upstream: "gemini-2.0-flash" },
] as const;

beforeAll(async () => {
  [oa, an, ge, az] = await Promise.all([startOpenAIUpstream(), startAnthropicUpstream(), startGeminiUpstream(), startAzureUpstream()]);
  store = await openStore(`sqlite://${join(dir, "parity.db")}`);
  gw = await startGateway(
    {
      server: { admin_key: ADMIN },
      providers: {
        openai: { type: "openai", base_url: oa.url, api_key: oa.apiKey },
        azure: { type: "azure", base_url: az.url, api_key: az.apiKey, api_version: az.apiVersion },
        anthropic: { type: "anthropic", base_url: an.url, api_key: an.apiKey },
        gemini: { type: "gemini", base_url: ge.url, api_key: ge.apiKey },
      },
      models: [
        ...MODELS.map((m) => ({ id: m.id, provider: m.type, upstream_model: m.upstream, ...(m.type === "anthropic" ? { max_tokens: 256 } : {}) })),
        { id: "slow", provider: "openai", upstream_model: "fault-slow" },
      ],
      prices: { slow: { input_per_mtok: 100, output_per_mtok: 1000 } },
    },
    { store },
  );
});
afterAll(async () => {
  await gw?.stop();
  await store?.close();
  await Promise.all([oa?.stop(), an?.stop(), ge?.stop(), az?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

interface Ev {
  model: string;
  stream: boolean;
  cost_usd: number;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  usage_source: string;
}

test("for each provider type: the stream and the JSON answer record the same tokens and cost, at the built-in price, and the budget is charged exactly that", async () => {
  const created = (await (
    await fetch(`${gw.url}/admin/v1/keys`, { method: "POST", headers: { authorization: `Bearer ${ADMIN}` }, body: JSON.stringify({ name: "parity", budget: { usd: 5, period: "month" } }) })
  ).json()) as { id: string; key: string };
  const client = new OpenAI({ apiKey: created.key, baseURL: gw.baseURL, maxRetries: 0 });
  for (const m of MODELS) {
    const messages = [{ role: "user" as const, content: "Say hello to the parity test, please." }];
    const json = await client.chat.completions.create({ model: m.id, messages, max_tokens: 50 });
    expect(json.usage).toBeDefined();
    const stream = await client.chat.completions.create({ model: m.id, messages, max_tokens: 50, stream: true });
    for await (const _ of stream) {
      // drain
    }
  }
  let events: Ev[] = [];
  const t0 = performance.now();
  while (events.length < 8 && performance.now() - t0 < 3000) {
    events = ((await (await fetch(`${gw.url}/admin/v1/usage/events?key=${created.id}`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as { data: Ev[] }).data;
    await Bun.sleep(50);
  }
  expect(events.length).toBe(8);
  let total = 0;
  for (const m of MODELS) {
    const pair = events.filter((e) => e.model === m.id);
    const json = pair.find((e) => !e.stream)!;
    const streamed = pair.find((e) => e.stream)!;
    const accounted = (e: Ev) => ({ model: e.model, prompt_tokens: e.prompt_tokens, cached_tokens: e.cached_tokens, completion_tokens: e.completion_tokens, cost_usd: e.cost_usd, usage_source: e.usage_source });
    expect(accounted(streamed)).toEqual(accounted(json));
    expect(json.usage_source).toBe("provider");
    expect(json.prompt_tokens).toBeGreaterThan(0);
    // Priced by provider type and upstream model from the built-in table, not zero.
    const price = builtinPrice(m.type, m.upstream)!;
    const micros = costMicros(price, { promptTokens: json.prompt_tokens, cachedTokens: json.cached_tokens, completionTokens: json.completion_tokens });
    expect(micros).toBeGreaterThan(0);
    expect(json.cost_usd).toBe(micros / 1e6);
    total += 2 * micros;
  }
  const info = (await (await fetch(`${gw.url}/v1/key/info`, { headers: { authorization: `Bearer ${created.key}` } })).json()) as { budget: { spent_usd: number } };
  expect(info.budget.spent_usd).toBe(total / 1e6);
});

test("a stream the client leaves early is charged its prompt plus the text delivered, in the event and in the budget alike", async () => {
  const created = (await (
    await fetch(`${gw.url}/admin/v1/keys`, { method: "POST", headers: { authorization: `Bearer ${ADMIN}` }, body: JSON.stringify({ name: "leaver", budget: { usd: 5, period: "day" } }) })
  ).json()) as { id: string; key: string };
  const ac = new AbortController();
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${created.key}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "slow", stream: true, max_tokens: 500, messages: [{ role: "user", content: "a long story please" }] }),
    signal: ac.signal,
  });
  const reader = res.body!.getReader();
  let text = "";
  // Two content chunks delivered (they come 150 ms apart), then the client goes.
  while (!text.includes('"content":"from "')) {
    const r = await reader.read();
    if (r.done) throw new Error("the stream ended before the client could leave");
    text += new TextDecoder().decode(r.value);
  }
  ac.abort();
  await oa.waitForAbort(1);
  let ev: Ev | undefined;
  const t0 = performance.now();
  while (!ev && performance.now() - t0 < 3000) {
    ev = ((await (await fetch(`${gw.url}/admin/v1/usage/events?key=${created.id}`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as { data: Ev[] }).data[0];
    await Bun.sleep(50);
  }
  expect(ev).toMatchObject({ model: "slow", stream: true, usage_source: "estimated" });
  expect(ev!.prompt_tokens).toBeGreaterThan(0);
  expect(ev!.completion_tokens).toBeGreaterThan(0);
  // Not the whole 500-token allowance that never came: only what was delivered.
  expect(ev!.completion_tokens).toBeLessThan(20);
  expect(ev!.cost_usd).toBe(Math.round(ev!.prompt_tokens * 100 + ev!.completion_tokens * 1000) / 1e6);
  const info = (await (await fetch(`${gw.url}/v1/key/info`, { headers: { authorization: `Bearer ${created.key}` } })).json()) as { budget: { spent_usd: number } };
  expect(info.budget.spent_usd).toBe(ev!.cost_usd);
});
