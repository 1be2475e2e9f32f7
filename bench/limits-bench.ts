// Added latency of the rate limiter: sequential echo requests through app.handle with no limits, the memory store, and Redis.
// Run: node_modules/.bin/bun bench/limits-bench.ts [requests]   (starts its own redis-server on a free port)
import { createApp } from "../src/entry/app.ts";
import { buildConfig } from "../src/config/load.ts";
import { createMemoryLogger } from "../src/observability/log.ts";
import { startRedis } from "../tests/support/redis.ts";

const N = Number(process.argv[2] ?? 2000);
const WARMUP = 200;
const KEY = "sk-bench-limits-0001";

function config(store: "none" | "memory" | "redis", redisUrl: string) {
  // Limits high enough never to refuse; tpm on, so the tokenizer's cost is part of the figure.
  const limits = store === "none" ? {} : { rpm: 10_000_000, tpm: 1_000_000_000, max_concurrent: 1000 };
  return buildConfig(
    {
      providers: { echo: { type: "echo" } },
      models: [{ id: "echo", provider: "echo" }],
      keys: [{ name: "bench", key: KEY, ...limits }],
      rate_limit: store === "redis" ? { store: "redis", redis_url: redisUrl, store_timeout_ms: 1000 } : { store: "memory" },
    },
    "bench",
    {},
  );
}

const body = JSON.stringify({ model: "echo", max_tokens: 64, messages: [{ role: "system", content: "You are terse." }, { role: "user", content: "Say hello to the benchmark, please." }] });

async function run(store: "none" | "memory" | "redis", redisUrl: string): Promise<number[]> {
  const gw = createApp(config(store, redisUrl), { logger: createMemoryLogger() });
  const once = async () => {
    const t = performance.now();
    const res = await gw.app.handle(new Request("http://localhost/v1/chat/completions", { method: "POST", headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" }, body }));
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${store}: status ${res.status}`);
    return performance.now() - t;
  };
  for (let i = 0; i < WARMUP; i++) await once();
  const times: number[] = [];
  for (let i = 0; i < N; i++) times.push(await once());
  await gw.close();
  return times.sort((a, b) => a - b);
}

const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const fmt = (ms: number) => `${(ms * 1000).toFixed(0)} µs`;

const redis = await startRedis();
try {
  const results: Record<string, number[]> = {};
  for (const store of ["none", "memory", "redis"] as const) results[store] = await run(store, redis.url);
  console.log(`${N} sequential requests each (after ${WARMUP} warm-up), echo model, app.handle (no sockets):`);
  for (const [store, xs] of Object.entries(results)) console.log(`  ${store.padEnd(7)} p50 ${fmt(pct(xs, 50))}  p90 ${fmt(pct(xs, 90))}  p99 ${fmt(pct(xs, 99))}`);
  const p50 = (s: string) => pct(results[s]!, 50);
  console.log(`added p50: memory ${fmt(p50("memory") - p50("none"))} over no limits; redis ${fmt(p50("redis") - p50("memory"))} over memory (${fmt(p50("redis") - p50("none"))} over no limits)`);
} finally {
  await redis.stop();
}
