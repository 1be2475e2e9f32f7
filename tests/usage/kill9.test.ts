// kill -9 under load: the ledger loses at most what finished in the last flush interval (≤ 200 ms); with Redis limits the budget keeps all of it.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configKeyId } from "../../src/auth/keys.ts";
import { createMemoryLogger } from "../../src/observability/log.ts";
import { openStore } from "../../src/store/open.ts";
import type { UsageEvent } from "../../src/store/store.ts";
import { createUsageWriter } from "../../src/usage/writer.ts";
import { startGatewayProcess } from "../support/process.ts";
import { startRedis, type RedisServer } from "../support/redis.ts";

const KEY = "sk-kill9-budget-key-0001";
let redis: RedisServer;
const dir = mkdtempSync(join(tmpdir(), "sb-kill9-"));
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("under a steady stream of events none waits in the queue longer than the 200 ms flush interval (plus the write)", async () => {
  const waited: number[] = [];
  const at = new Map<string, number>();
  const w = createUsageWriter({
    store: {
      async insertEvents(events: readonly UsageEvent[]) {
        const t = performance.now();
        for (const e of events) waited.push(t - at.get(e.id)!);
        return events.length;
      },
    },
    logger: createMemoryLogger(),
  });
  for (let i = 0; i < 150; i++) {
    const id = `k9-${i}`;
    at.set(id, performance.now());
    w.enqueue({ id, requestId: id, createdAt: Date.now(), keyId: "k", keyName: "k", model: "m", provider: null, upstreamModel: null, stream: false, status: 200, promptTokens: 1, cachedTokens: 0, completionTokens: 1, reasoningTokens: 0, costMicros: 1, latencyMs: 1, ttfbMs: null, usageSource: "provider", endpoint: "chat.completions" });
    await Bun.sleep(7);
  }
  await w.close();
  expect(waited.length).toBe(150);
  // 200 ms is the interval; the margin is for a loaded machine's timer.
  expect(Math.max(...waited)).toBeLessThan(200 + 150);
});

test("kill -9 under load: the ledger misses at most the last flush interval's answers; Redis's counter has them all, and a restart keeps it", async () => {
  const file = join(dir, "k9.db");
  const config = {
    store: { url: `sqlite://${file}` },
    providers: { e: { type: "echo" } },
    models: [{ id: "echo", provider: "e" }],
    prices: { echo: { input_per_mtok: 1000, output_per_mtok: 1000 } },
    keys: [{ name: "k9", key: KEY, budget: { usd: 1000, period: "day" } }],
    rate_limit: { store: "redis", redis_url: redis.url },
  };
  const gw = await startGatewayProcess(config);
  const body = JSON.stringify({ model: "echo", messages: [{ role: "user", content: "hi" }], max_tokens: 5 });
  const ok: number[] = [];
  let going = true;
  const t0 = performance.now();
  const clients = Array.from({ length: 8 }, async () => {
    while (going) {
      try {
        const r = await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" }, body });
        await r.text();
        if (r.status === 200) ok.push(performance.now());
      } catch {
        return;
      }
    }
  });
  await Bun.sleep(1500);
  gw.proc.kill("SIGKILL");
  const killedAt = performance.now();
  going = false;
  await Promise.all(clients);
  await gw.proc.exited;

  const store = await openStore(`sqlite://${file}`);
  const id = configKeyId("k9");
  const events = (await store.queryUsage({ groupBy: [], keyId: id }))[0]?.requests ?? 0;
  const ledgerMicros = await store.spendSince(id, "2000-01-01");
  await store.close();
  const answered = ok.length;
  const rate = answered / ((killedAt - t0) / 1000);
  const lastWindow = ok.filter((t) => t > killedAt - 250).length;
  console.log(`[figure] kill -9 after ${answered} answers (~${rate.toFixed(0)}/s): ledger has ${events}; lost ${answered - events} (${((100 * (answered - events)) / answered).toFixed(1)}%), answers in the last 250 ms: ${lastWindow}`);
  expect(events).toBeLessThanOrEqual(answered);
  // Lost: only what finished in the last flush interval (with a little slack for the write in flight).
  expect(answered - events).toBeLessThanOrEqual(lastWindow + 8);

  // Redis's counter is the budget's truth after the crash: every settled answer is in it, lost events included.
  const perAnswer = ledgerMicros / Math.max(1, events);
  const restarted = await startGatewayProcess(config);
  try {
    const info = (await (await fetch(`${restarted.url}/v1/key/info`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as { budget: { spent_usd: number } };
    const spent = Math.round(info.budget.spent_usd * 1e6);
    console.log(`[figure] after the restart: budget spent ${spent} µ$, ledger ${ledgerMicros} µ$, answers × cost ${Math.round(answered * perAnswer)} µ$`);
    expect(spent).toBeGreaterThanOrEqual(ledgerMicros);
    expect(spent).toBeGreaterThanOrEqual(Math.round((answered - 8) * perAnswer));
  } finally {
    await restarted.stop();
  }
}, 60_000);
