// Every model route of the app (each POST under /v1 and /api/v1) runs on the one pipeline: budget, rpm, usage event with
// its endpoint and cost, span, metric and exactly one log line — on SQLite and PostgreSQL. A route added without a
// sample here fails the first test; a route added beside the pipeline fails the others.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore } from "../../src/store/open.ts";
import type { Store, UsageEvent } from "../../src/store/store.ts";
import { startGateway, type GatewayHandle } from "../support/gateway.ts";
import { startOpenAIUpstream, type OpenAIUpstream } from "../support/openai-upstream.ts";
import { attr, startOtlpReceiver, type OtlpReceiver } from "../support/otlp-receiver.ts";
import { startPostgres, type PostgresServer } from "../support/postgres.ts";
import { delta, scrape, series } from "../support/prometheus.ts";
import { eventually } from "../support/wait.ts";

/** How to call each model route: a valid body, its usage events' `endpoint`, and whether a budget applies to it. */
interface Sample {
  endpoint: UsageEvent["endpoint"];
  body: (model: string) => object;
  headers?: Record<string, string>;
  /** count_tokens is rate-limited but never charged to a budget. */
  budgeted: boolean;
  /** Answered by the gateway without a provider (count_tokens counted locally for an OpenAI-type model): no usage event. */
  local?: boolean;
}
const SAMPLES: Record<string, Sample> = {
  "/chat/completions": { endpoint: "chat.completions", budgeted: true, body: (model) => ({ model, messages: [{ role: "user", content: "Say hello in one word." }] }) },
  "/embeddings": { endpoint: "embeddings", budgeted: true, body: (model) => ({ model, input: "the quick brown fox" }) },
  "/responses": { endpoint: "responses", budgeted: true, body: (model) => ({ model, input: "Say hello in one word." }) },
  "/messages": { endpoint: "messages", budgeted: true, body: (model) => ({ model, max_tokens: 50, messages: [{ role: "user", content: "Say hello in one word." }] }) },
  "/messages/count_tokens": { endpoint: "count_tokens", budgeted: false, local: true, body: (model) => ({ model, messages: [{ role: "user", content: "Say hello in one word." }] }) },
};

const MODEL = "m";
/** $1 per token either way: any usage costs whole dollars, so a cost can be checked from the event's own counts. */
const PRICE = { input_per_mtok: 1_000_000, output_per_mtok: 1_000_000 };
const KEYS = { rich: "sk-rich-0123456789", poor: "sk-poor-0123456789", slow: "sk-slow-0123456789" };

let pg: PostgresServer;
let up: OpenAIUpstream;
let otlp: OtlpReceiver;
const dir = mkdtempSync(join(tmpdir(), "sb-pipeline-"));
beforeAll(async () => {
  [pg, up] = await Promise.all([startPostgres(), startOpenAIUpstream()]);
  otlp = startOtlpReceiver();
}, 60_000);
afterAll(async () => {
  otlp?.stop();
  await Promise.all([pg?.stop(), up?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

const config = () => ({
  providers: { oa: { type: "openai", base_url: up.url, api_key: up.apiKey } },
  models: [{ id: MODEL, provider: "oa", upstream_model: "gpt-4o" }],
  prices: { [MODEL]: PRICE },
  keys: [
    { name: "rich", key: KEYS.rich, budget: { usd: 1_000_000, period: "day" } },
    // Less than one token's price: every budgeted request is refused before it reaches the provider.
    { name: "poor", key: KEYS.poor, budget: { usd: 0.5, period: "day" } },
    { name: "slow", key: KEYS.slow, rpm: 1 },
  ],
  telemetry: { otlp_endpoint: otlp.url, batch_delay_ms: 20 },
});

let n = 0;
for (const kind of ["sqlite", "postgres"] as const) {
  describe(`model routes on ${kind}`, () => {
    let gw: GatewayHandle;
    let store: Store;
    let routes: string[] = [];
    beforeAll(async () => {
      store = await openStore(kind === "sqlite" ? `sqlite://${join(dir, `p${++n}.db`)}` : await pg.createDatabase(`pipeline${++n}`));
      gw = await startGateway(config(), { store });
      routes = gw.gateway.app.routes.filter((r) => r.method === "POST" && /^\/(api\/)?v1\//.test(r.path)).map((r) => r.path);
    });
    afterAll(async () => {
      await gw?.stop();
      await store?.close();
    });

    const call = (path: string, key: string) => {
      const s = SAMPLES[path.replace(/^\/(api\/)?v1/, "")]!;
      return fetch(gw.url + path, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${key}`, ...s.headers },
        body: JSON.stringify(s.body(MODEL)),
      });
    };
    const linesOf = (id: string | null) => gw.logs.filter((l) => l.msg === "request" && l.request_id === id);
    const eventOf = async (id: string): Promise<UsageEvent> => {
      let found: UsageEvent | undefined;
      await eventually(async () => {
        found = (await store.listEvents({ limit: 1000 })).rows.find((e) => e.requestId === id);
        return found !== undefined;
      });
      return found!;
    };

    test("every model route has a sample (a new route must be added here, and so proved on the pipeline)", () => {
      expect(routes.length).toBeGreaterThanOrEqual(4);
      for (const path of routes) expect({ path, sample: path.replace(/^\/(api\/)?v1/, "") in SAMPLES }).toEqual({ path, sample: true });
    });

    test("a successful call: one usage event with its endpoint and cost, a span, a metric, one log line", async () => {
      for (const path of routes) {
        const s = SAMPLES[path.replace(/^\/(api\/)?v1/, "")]!;
        const before = await scrape(gw.url);
        const res = await call(path, KEYS.rich);
        expect({ path, status: res.status }).toEqual({ path, status: 200 });
        await res.arrayBuffer();
        const id = res.headers.get("x-request-id")!;
        if (s.local) {
          // No model was called: the request is logged, counted and traced, but has no usage event.
          expect(linesOf(id)).toHaveLength(1);
          expect(linesOf(id)[0]).toMatchObject({ status: 200, endpoint: s.endpoint, model: MODEL, key: "rich" });
          expect(delta(before, await scrape(gw.url), series("switchboard_requests_total", { model: MODEL, provider: "oa", status: 200 }))).toBe(1);
          continue;
        }
        const e = await eventOf(id);
        expect({ path, endpoint: e.endpoint, status: e.status, usage: e.usageSource }).toEqual({ path, endpoint: s.endpoint, status: 200, usage: "provider" });
        expect(e.promptTokens).toBeGreaterThan(0);
        // $1 a token, in micro-USD.
        expect(e.costMicros).toBe((e.promptTokens + e.completionTokens) * 1_000_000);
        const after = await scrape(gw.url);
        expect(delta(before, after, series("switchboard_requests_total", { model: MODEL, provider: "oa", status: 200 }))).toBe(1);
        expect(delta(before, after, series("switchboard_cost_usd_total", { model: MODEL, provider: "oa" }))).toBe(e.promptTokens + e.completionTokens);
        expect(linesOf(id)).toHaveLength(1);
        expect(linesOf(id)[0]).toMatchObject({ status: 200, endpoint: s.endpoint, model: MODEL, key: "rich" });
        const span = await eventually(() => otlp.spans.find((sp) => attr(sp, "switchboard.request_id") === id));
        expect(span).toBeDefined();
        expect(attr(span!, "gen_ai.request.model")).toBe(MODEL);
        expect(attr(span!, "http.response.status_code")).toBe(200);
      }
    });

    test("a key over its budget is refused before the provider (429, x-should-retry: false), with its event and one log line", async () => {
      for (const path of routes) {
        const s = SAMPLES[path.replace(/^\/(api\/)?v1/, "")]!;
        const calls = up.calls.length;
        const before = await scrape(gw.url);
        const res = await call(path, KEYS.poor);
        await res.arrayBuffer();
        const id = res.headers.get("x-request-id")!;
        if (!s.budgeted) {
          expect({ path, status: res.status }).toEqual({ path, status: 200 });
          continue;
        }
        expect({ path, status: res.status, retry: res.headers.get("x-should-retry") }).toEqual({ path, status: 429, retry: "false" });
        expect(up.calls.length).toBe(calls);
        const e = await eventOf(id);
        expect({ path, endpoint: e.endpoint, status: e.status, cost: e.costMicros }).toEqual({ path, endpoint: s.endpoint, status: 429, cost: 0 });
        expect(delta(before, await scrape(gw.url), series("switchboard_rejections_total", { reason: "budget" }))).toBe(1);
        expect(linesOf(id)).toHaveLength(1);
      }
    });

    test("a key over its rpm is refused (429 with Retry-After), with its event and one log line", async () => {
      const used = new Set<string>();
      for (const path of routes) {
        const s = SAMPLES[path.replace(/^\/(api\/)?v1/, "")]!;
        // The rpm window is the key's, whichever route: its first request of all passes, every later one is refused.
        const res = await call(path, KEYS.slow);
        await res.arrayBuffer();
        const id = res.headers.get("x-request-id")!;
        if (used.size === 0) {
          expect({ path, status: res.status }).toEqual({ path, status: 200 });
          used.add(path);
          const again = await call(path, KEYS.slow);
          await again.arrayBuffer();
          expect({ path, status: again.status }).toEqual({ path, status: 429 });
          continue;
        }
        expect({ path, status: res.status }).toEqual({ path, status: 429 });
        expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
        const e = await eventOf(id);
        expect({ path, endpoint: e.endpoint, status: e.status }).toEqual({ path, endpoint: s.endpoint, status: 429 });
        expect(linesOf(id)).toHaveLength(1);
      }
    });
  });
}
