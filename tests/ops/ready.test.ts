// GET /health/ready against a real PostgreSQL store and a real Redis: 503 naming what is down while it is down, 200 once it is back.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { openStore } from "../../src/store/open.ts";
import type { Store } from "../../src/store/store.ts";
import { startGateway, type GatewayHandle } from "../support/gateway.ts";
import { startPostgres, type PostgresServer } from "../support/postgres.ts";
import { startRedis, type RedisServer } from "../support/redis.ts";

let pg: PostgresServer;
let redis: RedisServer;
let store: Store;
let g: GatewayHandle;

beforeAll(async () => {
  [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
  store = await openStore(await pg.createDatabase("ready"));
  g = await startGateway(
    {
      providers: { e: { type: "echo" } },
      models: [{ id: "echo", provider: "e" }],
      keys: [{ name: "a", key: "sk-ready-test-0001" }],
      rate_limit: { store: "redis", redis_url: redis.url, store_timeout_ms: 500 },
    },
    { store },
  );
  await g.gateway.ready;
}, 60_000);
afterAll(async () => {
  await g.stop();
  await store.close().catch(() => {});
  await Promise.all([pg.stop(), redis.stop()]);
});

const ready = async () => {
  const r = await fetch(`${g.url}/health/ready`);
  return { status: r.status, body: (await r.json()) as { status: string; down?: string[] } };
};

/** Polls until the probe says `status` (the store's and Redis's clients reconnect on their own schedule). */
async function until(status: number, ms = 10_000) {
  const end = Date.now() + ms;
  for (;;) {
    const r = await ready();
    if (r.status === status || Date.now() > end) return r;
    await Bun.sleep(100);
  }
}

test("ready while the store and Redis answer; /health stays pure liveness", async () => {
  expect(await ready()).toEqual({ status: 200, body: { status: "ready" } });
  expect((await fetch(`${g.url}/health`)).status).toBe(200);
});

test("the store stopped: 503 naming it; back: 200", async () => {
  await pg.kill();
  const down = await until(503);
  expect(down).toEqual({ status: 503, body: { status: "not_ready", down: ["store"] } });
  // Liveness does not depend on the store.
  expect((await fetch(`${g.url}/health`)).status).toBe(200);
  expect(g.logs.some((l) => l.msg === "readiness: a dependency does not answer" && l.dependency === "store")).toBe(true);
  await pg.start();
  expect((await until(200)).body).toEqual({ status: "ready" });
}, 30_000);

test("Redis stopped: 503 naming it; restarted: 200", async () => {
  await redis.kill();
  expect((await until(503)).body).toEqual({ status: "not_ready", down: ["redis"] });
  await redis.restart();
  expect((await until(200)).body).toEqual({ status: "ready" });
}, 30_000);

test("a Redis that accepts and never answers is down within the probe's bound", async () => {
  redis.pause();
  try {
    const t0 = performance.now();
    const r = await ready();
    expect(r.body).toEqual({ status: "not_ready", down: ["redis"] });
    expect(performance.now() - t0).toBeLessThan(2500);
  } finally {
    redis.resume();
  }
  expect((await until(200)).status).toBe(200);
}, 30_000);
