// A budget is a true upper bound: fake models that use every output token they are allowed (reasoning included), 20
// concurrent requests per provider on a $1/day key, on SQLite (one instance) and PostgreSQL + Redis (two instances).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore } from "../../src/store/open.ts";
import type { Store } from "../../src/store/store.ts";
import { startAnthropicUpstream, type AnthropicUpstream } from "../support/anthropic-upstream.ts";
import { startBedrockUpstream, type BedrockUpstream } from "../support/bedrock-upstream.ts";
import { startGateway, type GatewayHandle } from "../support/gateway.ts";
import { startGeminiUpstream, type GeminiUpstream } from "../support/gemini-upstream.ts";
import { startOpenAIUpstream, type OpenAIUpstream } from "../support/openai-upstream.ts";
import { startPostgres, type PostgresServer } from "../support/postgres.ts";
import { startRedis, type RedisServer } from "../support/redis.ts";
import { startVertexUpstream, type VertexUpstream } from "../support/vertex-upstream.ts";
import { eventually } from "../support/wait.ts";

/** $1 per million input tokens, $10 per million output: a greedy model without a cap writes $10 in one answer. */
const PRICE = { input_per_mtok: 1, output_per_mtok: 10 };
const BUDGET_USD = 1;
const CONCURRENT = 20;

/** What each model is asked (no cap, unless the case says so) and which upstream it greedily spends. */
const CASES: { model: string; provider: string; upstream: string; extra?: object }[] = [
  { model: "gpt", provider: "oa", upstream: "gpt-4o-greedy" },
  // A reasoning model: the cap goes as max_completion_tokens, reasoning included.
  { model: "o3", provider: "oa", upstream: "o3-greedy" },
  { model: "claude", provider: "an", upstream: "claude-sonnet-4-5-greedy" },
  // One token asked, but thinking raises max_tokens to fit its budget: the raise is what is reserved.
  { model: "claude-thinking", provider: "an", upstream: "claude-sonnet-4-5-greedy", extra: { max_tokens: 1, reasoning_effort: "max" } },
  { model: "gemini", provider: "ge", upstream: "gemini-2.5-pro-greedy", extra: { reasoning_effort: "high" } },
  { model: "bedrock-claude", provider: "bd", upstream: "anthropic.claude-sonnet-4-5-greedy-v1:0" },
  { model: "vertex-gemini", provider: "vx", upstream: "gemini-2.5-pro-greedy" },
  { model: "vertex-claude", provider: "vx", upstream: "claude-sonnet-4-5-greedy@20250929" },
];

let oa: OpenAIUpstream, an: AnthropicUpstream, ge: GeminiUpstream, bd: BedrockUpstream, vx: VertexUpstream;
let pg: PostgresServer, redis: RedisServer;
const dir = mkdtempSync(join(tmpdir(), "sb-budget-bound-"));
beforeAll(async () => {
  [oa, an, ge, bd, vx, pg, redis] = await Promise.all([startOpenAIUpstream(), startAnthropicUpstream(), startGeminiUpstream(), startBedrockUpstream(), startVertexUpstream(), startPostgres(), startRedis()]);
}, 60_000);
afterAll(async () => {
  await Promise.all([oa?.stop(), an?.stop(), ge?.stop(), bd?.stop(), vx?.stop(), pg?.stop(), redis?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

const keyOf = (model: string) => `sk-greedy-${model}-0123456789`;
const config = (extra: object = {}) => ({
  providers: {
    oa: { type: "openai", base_url: oa.url, api_key: oa.apiKey },
    an: { type: "anthropic", base_url: an.url, api_key: an.apiKey },
    ge: { type: "gemini", base_url: ge.url, api_key: ge.apiKey },
    bd: { type: "bedrock", region: bd.region, base_url: bd.url, access_key_id: bd.accessKeyId, secret_access_key: bd.secretAccessKey },
    vx: { type: "vertex", project: vx.project, location: "us-east5", base_url: vx.url, credentials_file: vx.account.path },
  },
  models: CASES.map((c) => ({ id: c.model, provider: c.provider, upstream_model: c.upstream })),
  prices: Object.fromEntries(CASES.map((c) => [c.model, PRICE])),
  keys: CASES.map((c) => ({ name: `k-${c.model}`, key: keyOf(c.model), budget: { usd: BUDGET_USD, period: "day" } })),
  ...extra,
});

let n = 0;
const setups = {
  "SQLite, one instance": async () => {
    const store = await openStore(`sqlite://${join(dir, `b${++n}.db`)}`);
    return { store, gateways: [await startGateway(config(), { store })] };
  },
  "PostgreSQL + Redis, two instances": async () => {
    const url = await pg.createDatabase(`budget${++n}`);
    const [store, s1, s2] = await Promise.all([openStore(url), openStore(url), openStore(url)]);
    const shared = config({ rate_limit: { store: "redis", redis_url: redis.url } });
    return { store, gateways: [await startGateway(shared, { store: s1 }), await startGateway(shared, { store: s2 })], extra: [s1, s2] };
  },
};

for (const [name, setup] of Object.entries(setups)) {
  describe(`budgets bound greedy models: ${name}`, () => {
    let store: Store;
    let gateways: GatewayHandle[];
    let extra: Store[] | undefined = [];
    beforeAll(async () => {
      ({ store, gateways, extra } = (await setup()) as { store: Store; gateways: GatewayHandle[]; extra?: Store[] });
    }, 30_000);
    afterAll(async () => {
      for (const g of gateways ?? []) await g.stop();
      await Promise.all([store, ...(extra ?? [])].map((s) => s?.close()));
    });

    for (const c of CASES) {
      test(`${c.model}: ${CONCURRENT} concurrent requests never spend past $${BUDGET_USD}`, async () => {
        const results = await Promise.all(
          Array.from({ length: CONCURRENT }, async (_, i) => {
            const gw = gateways[i % gateways.length]!;
            const res = await fetch(`${gw.url}/v1/chat/completions`, {
              method: "POST",
              headers: { authorization: `Bearer ${keyOf(c.model)}`, "content-type": "application/json" },
              body: JSON.stringify({ model: c.model, stream: i % 2 === 1, messages: [{ role: "user", content: "Write as much as you can." }], ...c.extra }),
            });
            const text = await res.text();
            return { status: res.status, warnings: res.headers.get("x-switchboard-warnings"), text };
          }),
        );
        const ok = results.filter((r) => r.status === 200);
        // Some answers fit; the rest are refused as over budget, never as errors of another kind.
        expect(ok.length).toBeGreaterThan(0);
        expect(results.filter((r) => r.status !== 200 && r.status !== 429)).toEqual([]);
        for (const r of results.filter((x) => x.status === 429)) expect(r.text).toContain("budget_exceeded");
        if (!c.extra) expect(ok[0]!.warnings ?? "").toContain("max_tokens set to");
        // The ledger: every event of this key, summed.
        const events = await eventually(
          async () => (await store.listEvents({ limit: 1000, model: c.model })).rows,
          (rows) => rows.length === CONCURRENT,
        );
        expect(events.length).toBe(CONCURRENT);
        const spent = events.reduce((s, e) => s + e.costMicros, 0);
        console.log(`${name} · ${c.model}: ${ok.length}/${CONCURRENT} answered, spent $${(spent / 1e6).toFixed(6)} of $${BUDGET_USD}`);
        if (spent > BUDGET_USD * 1_000_000) console.log(events.map((e) => [e.status, e.stream, e.promptTokens, e.completionTokens, e.costMicros, e.usageSource]));
        expect(spent).toBeLessThanOrEqual(BUDGET_USD * 1_000_000);
        // The key's own view of its spend agrees.
        const info = (await (await fetch(`${gateways[0]!.url}/v1/key/info`, { headers: { authorization: `Bearer ${keyOf(c.model)}` } })).json()) as { budget: { spent_usd: number } };
        expect(info.budget.spent_usd).toBeLessThanOrEqual(BUDGET_USD);
        expect(info.budget.spent_usd).toBeCloseTo(spent / 1e6, 5);
      }, 30_000);
    }
  });
}

describe("the prompt bound counts every byte that goes upstream", () => {
  let gw: GatewayHandle;
  let store: Store;
  const KEY = "sk-small-budget-0123456789";
  beforeAll(async () => {
    store = await openStore(`sqlite://${join(dir, "prompt-bound.db")}`);
    gw = await startGateway(
      {
        providers: { oa: { type: "openai", base_url: oa.url, api_key: oa.apiKey } },
        models: [{ id: "m", provider: "oa", upstream_model: "gpt-4o" }],
        prices: { m: PRICE },
        // $0.05 at $1 per million input tokens: 50,000 prompt tokens at most.
        keys: [{ name: "small", key: KEY, budget: { usd: 0.05, period: "day" } }],
      },
      { store },
    );
  });
  afterAll(async () => {
    await gw?.stop();
    await store?.close();
  });

  const MB = "x".repeat(1024 * 1024);
  const schema = { type: "object", properties: { a: { type: "string", description: MB } } };
  const bodies: Record<string, object> = {
    "legacy functions": { functions: [{ name: "f", description: MB, parameters: { type: "object" } }] },
    "a response_format schema": { response_format: { type: "json_schema", json_schema: { name: "s", schema } } },
    "a message's name and other fields": { messages: [{ role: "user", name: MB.slice(0, 64), content: "hi" }, { role: "assistant", content: "ok", name: "a" }, { role: "user", content: "hi", tool_call_id: MB }] },
    "a tool call's arguments": { messages: [{ role: "user", content: "hi" }, { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: JSON.stringify({ x: MB }) } }] }, { role: "tool", tool_call_id: "c1", content: "done" }] },
  };
  for (const [what, extra] of Object.entries(bodies)) {
    test(`1 MB in ${what} is reserved, and refused on a $0.05 key before the provider`, async () => {
      const before = oa.calls.length;
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "m", max_tokens: 1, messages: [{ role: "user", content: "hi" }], ...extra }),
      });
      const body = (await res.json()) as { error: { code: string } };
      expect({ status: res.status, code: body.error?.code }).toEqual({ status: 429, code: "budget_exceeded" });
      expect(oa.calls.length).toBe(before);
    });
  }
});
