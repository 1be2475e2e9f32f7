// Gateway processes sharing one PostgreSQL and one Redis: key propagation within 2 s, a budget no burst can overrun, restarts keep spend.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startGatewayProcess, type GatewayProcess } from "../support/process.ts";
import { startOpenAIUpstream, type OpenAIUpstream } from "../support/openai-upstream.ts";
import { startPostgres, type PostgresServer } from "../support/postgres.ts";
import { startRedis, type RedisServer } from "../support/redis.ts";

const ADMIN = "sk-admin-multi-0123456789";
let pg: PostgresServer;
let redis: RedisServer;
let up: OpenAIUpstream;
const procs: GatewayProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), "sb-multi-cp-"));

beforeAll(async () => {
  [pg, redis, up] = await Promise.all([startPostgres(), startRedis(), startOpenAIUpstream()]);
}, 60_000);
afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop(2000)));
  await Promise.all([pg?.stop(), redis?.stop(), up?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

/** $0.001 per prompt token and $1 per completion token: a 10-token allowance reserves just over $10. */
const PRICE = { input_per_mtok: 1000, output_per_mtok: 1_000_000 };
/** What the fixture reports for every answer (19 prompt, 10 completion tokens), in micro-USD at PRICE. */
const COST = 19 * 1000 + 10 * 1_000_000;

const config = (storeUrl: string, extra: object = {}) => ({
  server: { admin_key: ADMIN },
  store: { url: storeUrl },
  providers: { oa: { type: "openai", base_url: up.url, api_key: up.apiKey } },
  models: [{ id: "pricey", provider: "oa", upstream_model: "gpt-4o" }],
  prices: { pricey: PRICE },
  ...extra,
});

async function start(cfg: object): Promise<GatewayProcess> {
  const p = await startGatewayProcess(cfg, { cwd: dir });
  procs.push(p);
  return p;
}
async function stop(p: GatewayProcess): Promise<void> {
  expect(await p.stop(10_000)).toBe(0);
  procs.splice(procs.indexOf(p), 1);
}

const admin = (gw: GatewayProcess, method: string, path: string, body?: unknown) =>
  fetch(gw.url + path, { method, headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) }).then(
    async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }),
  );
const chat = (gw: GatewayProcess, key: string) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "pricey", max_tokens: 10, messages: [{ role: "user", content: "hi" }] }),
  });
const keyInfo = async (gw: GatewayProcess, key: string) =>
  (await (await fetch(`${gw.url}/v1/key/info`, { headers: { authorization: `Bearer ${key}` } })).json()) as { budget: { spent_usd: number; remaining_usd: number } };

/** Polls until `ok` holds; returns the milliseconds it took (fails the test past `ms`). */
async function within(ms: number, ok: () => Promise<boolean>): Promise<number> {
  const t0 = performance.now();
  while (!(await ok())) {
    if (performance.now() - t0 > ms) throw new Error(`not within ${ms} ms`);
    await Bun.sleep(25);
  }
  return performance.now() - t0;
}

describe("two gateway processes on one PostgreSQL and one Redis", () => {
  let a: GatewayProcess;
  let b: GatewayProcess;
  let cfg: object;
  beforeAll(async () => {
    cfg = config(await pg.createDatabase("multi"), { rate_limit: { store: "redis", redis_url: redis.url } });
    [a, b] = await Promise.all([start(cfg), start(cfg)]);
  }, 60_000);

  test("a key created on one works on the other within 2 s; revoked on one, refused on the other within 2 s", async () => {
    const created = await admin(a, "POST", "/admin/v1/keys", { name: "roaming" });
    expect(created.status).toBe(201);
    const key = String(created.body.key);
    expect((await chat(a, key)).status).toBe(200);
    const seen = await within(2000, async () => (await chat(b, key)).status === 200);
    expect(seen).toBeLessThan(2000);
    const blocked = await admin(a, "PATCH", `/admin/v1/keys/${created.body.id}`, { status: "blocked" });
    expect(blocked.body.status).toBe("blocked");
    expect((await chat(a, key)).status).toBe(401);
    await within(2000, async () => (await chat(b, key)).status === 401);
    await admin(b, "PATCH", `/admin/v1/keys/${created.body.id}`, { status: "active" });
    await within(2000, async () => (await chat(a, key)).status === 200);
    const revoked = await admin(b, "DELETE", `/admin/v1/keys/${created.body.id}`);
    expect(revoked.body.status).toBe("revoked");
    // Revoking the last key of a gateway without config keys does not open it to anonymous callers.
    expect((await chat(b, key)).status).toBe(401);
    await within(2000, async () => (await chat(a, key)).status === 401);
  });

  test("20 concurrent requests across both against a budget that fits 2: 2 admitted, spend exactly usage × price, never above", async () => {
    const created = await admin(a, "POST", "/admin/v1/keys", { name: "burst", budget: { usd: 25, period: "total" } });
    const key = String(created.body.key);
    await within(2000, async () => ((await keyInfo(b, key)) as unknown as { name?: string }).name === "burst");
    const calls = up.calls.length;
    // Every answer takes 400 ms, so all 20 are in flight together.
    up.delayMs = 400;
    let answers: Response[];
    try {
      answers = await Promise.all(Array.from({ length: 20 }, (_, i) => chat(i % 2 ? b : a, key)));
    } finally {
      up.delayMs = 0;
    }
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 200).length).toBe(2);
    expect(statuses.filter((s) => s === 429).length).toBe(18);
    const refusal = answers.find((r) => r.status === 429)!;
    expect(refusal.headers.get("x-should-retry")).toBe("false");
    expect(refusal.headers.get("retry-after")).toBeNull();
    expect(((await refusal.json()) as { error: unknown }).error).toMatchObject({ type: "insufficient_quota", code: "budget_exceeded" });
    expect(up.calls.length - calls).toBe(2);
    // Settled to the providers' usage × price, seen alike from both instances (the counters live in Redis).
    for (const gw of [a, b]) expect((await keyInfo(gw, key)).budget).toMatchObject({ spent_usd: (2 * COST) / 1e6, remaining_usd: (25_000_000 - 2 * COST) / 1e6 });
    // …and the usage events say the same, within 2 s.
    await within(2000, async () => {
      const u = await admin(a, "GET", `/admin/v1/usage?key=${created.body.id}`);
      const row = (u.body.data as { requests: number; cost_usd: number; errors: number }[])[0];
      return row?.requests === 20 && row.cost_usd === (2 * COST) / 1e6 && row.errors === 18;
    });
  });

  test("restarting every instance and Redis keeps keys and spend (recovered from the store)", async () => {
    const created = await admin(a, "POST", "/admin/v1/keys", { name: "survivor", budget: { usd: 15, period: "month" } });
    const key = String(created.body.key);
    expect((await chat(a, key)).status).toBe(200);
    // SIGTERM flushes the usage events; then Redis loses everything.
    await Promise.all([stop(a), stop(b)]);
    await redis.restart();
    [a, b] = await Promise.all([start(cfg), start(cfg)]);
    for (const gw of [a, b]) expect((await keyInfo(gw, key)).budget.spent_usd).toBe(COST / 1e6);
    // $15 − $10.019 spent leaves less than one reservation: refused, the budget did not reset.
    const r = await chat(b, key);
    expect(r.status).toBe(429);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe("budget_exceeded");
  }, 60_000);
});

test("one process on SQLite: a restart keeps keys created at run time and their spend", async () => {
  const cfg = config(`sqlite://${join(dir, "restart.db")}`);
  let gw = await start(cfg);
  const created = await admin(gw, "POST", "/admin/v1/keys", { name: "local-survivor", budget: { usd: 15, period: "day" } });
  const key = String(created.body.key);
  expect((await chat(gw, key)).status).toBe(200);
  await stop(gw);
  gw = await start(cfg);
  expect((await keyInfo(gw, key)).budget.spent_usd).toBe(COST / 1e6);
  expect((await chat(gw, key)).status).toBe(429);
  let statuses: number[] = [];
  await within(2000, async () => {
    const events = await admin(gw, "GET", `/admin/v1/usage/events?key=${created.body.id}`);
    statuses = (events.body.data as { status: number }[]).map((e) => e.status);
    return statuses.length === 2;
  });
  expect(statuses).toEqual([429, 200]);
}, 60_000);
