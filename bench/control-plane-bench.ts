// Control-plane figures, side by side in one run: req/s with the store and usage events on vs off, events written per
// second on SQLite and PostgreSQL, and GET /admin/v1/usage grouped by key and model over a million events.
// Run: node_modules/.bin/bun bench/control-plane-bench.ts   (starts its own PostgreSQL; env EVENTS, SECONDS, CONC, ROUNDS)
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApp } from "../src/entry/app.ts";
import { buildConfig } from "../src/config/load.ts";
import { createMemoryLogger } from "../src/observability/log.ts";
import { openStore } from "../src/store/open.ts";
import type { Store, UsageEvent } from "../src/store/store.ts";
import { createUsageWriter } from "../src/usage/writer.ts";
import { startPostgres } from "../tests/support/postgres.ts";

const EVENTS = Number(process.env.EVENTS ?? 1_000_000);
const SECONDS = Number(process.env.SECONDS ?? 4);
const CONC = Number(process.env.CONC ?? 64);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const ADMIN = "sk-bench-admin-0001";
const CONFIG_KEY = "sk-bench-config-0001";
const dir = mkdtempSync(join(tmpdir(), "sb-cp-bench-"));
const say = (s: string) => process.stdout.write(s + "\n");

const config = () =>
  buildConfig(
    {
      server: { admin_key: ADMIN },
      providers: { echo: { type: "echo" } },
      models: [{ id: "echo", provider: "echo" }],
      keys: [{ name: "bench", key: CONFIG_KEY }],
    },
    "bench",
    {},
  );

const body = JSON.stringify({ model: "echo", max_tokens: 64, messages: [{ role: "user", content: "Say hello to the benchmark, please." }] });

/** Requests per second through app.handle (no sockets: the gateway's own work), CONC in flight, for SECONDS. */
async function throughput(store: Store | undefined, key: string): Promise<number> {
  const gw = createApp(config(), { logger: createMemoryLogger(), store });
  await gw.ready;
  const once = async () => {
    const res = await gw.app.handle(new Request("http://localhost/v1/chat/completions", { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body }));
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`status ${res.status}`);
  };
  const drive = async (ms: number) => {
    let n = 0;
    const until = performance.now() + ms;
    await Promise.all(
      Array.from({ length: CONC }, async () => {
        while (performance.now() < until) {
          await once();
          n++;
        }
      }),
    );
    return n;
  };
  await drive(500); // warm-up
  const t0 = performance.now();
  const n = await drive(SECONDS * 1000);
  const rps = n / ((performance.now() - t0) / 1000);
  await gw.close();
  return rps;
}

let seq = 0;
function events(n: number, keys = 50, models = 10, days = 90): UsageEvent[] {
  const now = Date.now();
  return Array.from({ length: n }, () => {
    const i = seq++;
    return {
      id: `bench-${i}-${Math.random().toString(36).slice(2)}`,
      requestId: `req-${i}`,
      createdAt: now - (i % days) * 86_400_000 - (i % 86_400) * 1000,
      keyId: `key_bench_${i % keys}`,
      keyName: `bench-${i % keys}`,
      model: `model-${i % models}`,
      provider: "p",
      upstreamModel: "u",
      stream: i % 2 === 0,
      status: i % 50 === 0 ? 429 : 200,
      promptTokens: 100 + (i % 900),
      cachedTokens: 0,
      completionTokens: 20 + (i % 300),
      reasoningTokens: 0,
      costMicros: 50 + (i % 5000),
      latencyMs: 12.5,
      ttfbMs: 3.1,
      usageSource: "provider",
      endpoint: "chat.completions",
    };
  });
}

/** Events per second through the usage writer (batches of 500) into the store. */
async function writeRate(store: Store, n: number): Promise<number> {
  const writer = createUsageWriter({ store, logger: createMemoryLogger() });
  const evs = events(n);
  const t0 = performance.now();
  for (const e of evs) writer.enqueue(e);
  await writer.close(600_000);
  return n / ((performance.now() - t0) / 1000);
}

/** Loads `n` events in large batches (setup for the query figure). */
async function load(store: Store, n: number): Promise<void> {
  const batch = 5000;
  for (let done = 0; done < n; done += batch) await store.insertEvents(events(Math.min(batch, n - done)));
}

async function usageQueryMs(store: Store): Promise<{ p50: number; max: number; rows: number }> {
  const gw = createApp(config(), { logger: createMemoryLogger(), store });
  await gw.ready;
  const times: number[] = [];
  let rows = 0;
  for (let i = 0; i < 7; i++) {
    const t = performance.now();
    const res = await gw.app.handle(new Request("http://localhost/admin/v1/usage?group_by=key,model", { headers: { authorization: `Bearer ${ADMIN}` } }));
    rows = ((await res.json()) as { data: unknown[] }).data.length;
    times.push(performance.now() - t);
  }
  await gw.close();
  times.sort((a, b) => a - b);
  return { p50: times[3]!, max: times[6]!, rows };
}

const pg = await startPostgres();
try {
  say(`# control-plane bench ${new Date().toISOString()} — bun ${Bun.version}, ${navigator.hardwareConcurrency} cores; CONC=${CONC}, ${SECONDS}s × ${ROUNDS} rounds, EVENTS=${EVENTS}`);

  // 1. Throughput, store and events off vs on (SQLite: the default, in process), alternating rounds.
  const sqliteStore = await openStore(`sqlite://${join(dir, "rps.db")}`);
  const gwSetup = createApp(config(), { logger: createMemoryLogger(), store: sqliteStore });
  await gwSetup.ready;
  const created = await gwSetup.app.handle(new Request("http://localhost/admin/v1/keys", { method: "POST", headers: { authorization: `Bearer ${ADMIN}` }, body: JSON.stringify({ name: "bench-api", budget: { usd: 1_000_000, period: "month" } }) }));
  const storeKey = ((await created.json()) as { key: string }).key;
  await gwSetup.close();
  const off: number[] = [];
  const on: number[] = [];
  const onBudget: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    off.push(await throughput(undefined, CONFIG_KEY));
    on.push(await throughput(sqliteStore, CONFIG_KEY));
    onBudget.push(await throughput(sqliteStore, storeKey));
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  say("\n## requests/s (echo model, app.handle, median of rounds)");
  say(`store off (no usage events)                      ${med(off).toFixed(0)}   rounds: ${off.map((x) => x.toFixed(0)).join(" ")}`);
  say(`store on, SQLite, usage events (config key)      ${med(on).toFixed(0)}   rounds: ${on.map((x) => x.toFixed(0)).join(" ")}   ${((med(on) / med(off) - 1) * 100).toFixed(1)}%`);
  say(`store on, SQLite, events + budget (store key)    ${med(onBudget).toFixed(0)}   rounds: ${onBudget.map((x) => x.toFixed(0)).join(" ")}   ${((med(onBudget) / med(off) - 1) * 100).toFixed(1)}%`);
  await sqliteStore.close();

  // 2. Events written per second through the writer.
  say("\n## usage events written per second (writer: batches of 500)");
  const wSqlite = await openStore(`sqlite://${join(dir, "w.db")}`);
  const wPg = await openStore(await pg.createDatabase("w"));
  say(`SQLite       ${(await writeRate(wSqlite, 100_000)).toFixed(0)} events/s (100,000 events)`);
  say(`PostgreSQL   ${(await writeRate(wPg, 100_000)).toFixed(0)} events/s (100,000 events)`);
  await Promise.all([wSqlite.close(), wPg.close()]);

  // 3. The usage query over EVENTS events (50 keys × 10 models × 90 days): it reads daily totals, not raw events.
  say(`\n## GET /admin/v1/usage?group_by=key,model over ${EVENTS.toLocaleString("en")} events`);
  for (const [name, url] of [["SQLite", `sqlite://${join(dir, "q.db")}`], ["PostgreSQL", await pg.createDatabase("q")]] as const) {
    const s = await openStore(url);
    const t0 = performance.now();
    await load(s, EVENTS);
    const loadS = (performance.now() - t0) / 1000;
    const q = await usageQueryMs(s);
    say(`${name.padEnd(12)} p50 ${q.p50.toFixed(1)} ms, max ${q.max.toFixed(1)} ms (${q.rows} rows; loading took ${loadS.toFixed(1)} s, ${(EVENTS / loadS).toFixed(0)} events/s in batches of 5,000)`);
    await s.close();
  }
} finally {
  await pg.stop();
  rmSync(dir, { recursive: true, force: true });
}
