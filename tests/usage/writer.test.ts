// The usage-event queue: batches, visibility within 2 s, retries while the store is down, bounded buffer, flush on close.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createMemoryLogger } from "../../src/observability/log.ts";
import { openStore } from "../../src/store/open.ts";
import type { Store, UsageEvent } from "../../src/store/store.ts";
import { createUsageWriter } from "../../src/usage/writer.ts";
import { startPostgres, type PostgresServer } from "../support/postgres.ts";

let n = 0;
const event = (over: Partial<UsageEvent> = {}): UsageEvent => ({
  id: `w-${++n}-${crypto.randomUUID()}`,
  requestId: `r${n}`,
  createdAt: Date.now(),
  keyId: "key_w",
  keyName: "w",
  model: "echo",
  provider: "echo",
  upstreamModel: "echo",
  stream: false,
  status: 200,
  promptTokens: 3,
  cachedTokens: 0,
  completionTokens: 2,
  reasoningTokens: 0,
  costMicros: 7,
  latencyMs: 1,
  ttfbMs: null,
  usageSource: "provider",
  endpoint: "chat.completions",
  ...over,
});

/** A store double that records batches and fails while `failing` is set (the real stores are tested below). */
function recordingStore() {
  const batches: UsageEvent[][] = [];
  const s = {
    failing: false,
    calls: 0,
    batches,
    async insertEvents(events: readonly UsageEvent[]) {
      s.calls++;
      if (s.failing) throw new Error("connection refused");
      batches.push([...events]);
      return events.length;
    },
  };
  return s;
}

const dir = mkdtempSync(join(tmpdir(), "sb-writer-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("batching", () => {
  test("a burst goes out in batches of at most batchSize, in order, without waiting for the timer", async () => {
    const store = recordingStore();
    const w = createUsageWriter({ store, logger: createMemoryLogger(), flushEveryMs: 10_000, batchSize: 500 });
    const evs = Array.from({ length: 1200 }, () => event());
    for (const e of evs) w.enqueue(e);
    // Nothing is written synchronously on enqueue (the request path never waits for the store)…
    expect(store.calls).toBe(0);
    await Bun.sleep(50);
    // …but a full batch starts a drain at once, long before the 10 s timer; the drain takes the tail along.
    expect(store.batches.map((b) => b.length)).toEqual([500, 500, 200]);
    await w.close();
    expect(store.batches.flat().map((e) => e.id)).toEqual(evs.map((e) => e.id));
    expect(w.stats()).toMatchObject({ queued: 0, written: 1200, dropped: 0 });
  });

  test("a single event is written by the timer, well within 2 s", async () => {
    const store = recordingStore();
    const w = createUsageWriter({ store, logger: createMemoryLogger(), flushEveryMs: 200 });
    const t0 = performance.now();
    w.enqueue(event());
    while (store.batches.length === 0 && performance.now() - t0 < 3000) await Bun.sleep(10);
    expect(store.batches.length).toBe(1);
    expect(performance.now() - t0).toBeLessThan(1000);
    await w.close();
  });
});

test("a flush with nothing queued leaves the writer working (it used to leave a finished drain in place, and nothing was written again)", async () => {
  const store = recordingStore();
  const w = createUsageWriter({ store, logger: createMemoryLogger(), flushEveryMs: 20 });
  await w.flush();
  w.enqueue(event());
  const t0 = performance.now();
  while (store.batches.length === 0 && performance.now() - t0 < 2000) await Bun.sleep(10);
  expect(store.batches.length).toBe(1);
  await w.close();
});

describe("store outages", () => {
  test("events wait while the store fails and are all written, in order, when it answers again; the outage is logged once", async () => {
    const store = recordingStore();
    const logger = createMemoryLogger();
    const w = createUsageWriter({ store, logger, flushEveryMs: 20, batchSize: 10, maxBackoffMs: 40 });
    store.failing = true;
    const evs = Array.from({ length: 35 }, () => event());
    for (const e of evs) w.enqueue(e);
    await Bun.sleep(300);
    expect(store.calls).toBeGreaterThan(1);
    expect(w.stats()).toMatchObject({ queued: 35, storeDown: true });
    expect(w.stats().failures).toBeGreaterThan(1);
    store.failing = false;
    const t0 = performance.now();
    while (w.stats().queued > 0 && performance.now() - t0 < 2000) await Bun.sleep(10);
    expect(store.batches.flat().map((e) => e.id)).toEqual(evs.map((e) => e.id));
    expect(w.stats()).toMatchObject({ queued: 0, written: 35, dropped: 0, storeDown: false });
    const msgs = logger.lines.map((l) => l.msg);
    expect(msgs.filter((m) => m === "usage store unreachable: events are kept in memory and retried").length).toBe(1);
    expect(msgs).toContain("usage store reachable again");
    await w.close();
  });

  test("the buffer is bounded: beyond it, events are dropped and counted", async () => {
    const store = recordingStore();
    store.failing = true;
    const logger = createMemoryLogger();
    const w = createUsageWriter({ store, logger, flushEveryMs: 20, maxBuffered: 10 });
    for (let i = 0; i < 15; i++) w.enqueue(event());
    expect(w.stats()).toMatchObject({ queued: 10, dropped: 5 });
    store.failing = false;
    await w.close();
    expect(w.stats()).toMatchObject({ queued: 0, written: 10, dropped: 5 });
  });

  test("close gives up after its timeout when the store stays down, and says how many were lost", async () => {
    const store = recordingStore();
    store.failing = true;
    const logger = createMemoryLogger();
    const w = createUsageWriter({ store, logger, flushEveryMs: 20 });
    w.enqueue(event());
    w.enqueue(event());
    const t0 = performance.now();
    await w.close(300);
    expect(performance.now() - t0).toBeLessThan(1500);
    expect(logger.lines.find((l) => l.msg === "usage events not written at shutdown: the store did not answer")).toMatchObject({ lost: 2 });
  });
});

describe("against the real stores", () => {
  let pg: PostgresServer;
  beforeAll(async () => {
    pg = await startPostgres();
  }, 60_000);
  afterAll(() => pg?.stop());

  for (const kind of ["sqlite", "postgres"] as const) {
    test(`${kind}: events are visible within 2 s and close() writes the rest`, async () => {
      const store: Store = await openStore(kind === "sqlite" ? `sqlite://${join(dir, "w.db")}` : await pg.createDatabase("w1"));
      try {
        const w = createUsageWriter({ store, logger: createMemoryLogger() });
        const first = event({ keyId: `vis-${kind}` });
        const t0 = performance.now();
        w.enqueue(first);
        let seen = 0;
        while (seen === 0 && performance.now() - t0 < 3000) {
          seen = (await store.listEvents({ limit: 10, keyId: `vis-${kind}` })).rows.length;
          if (!seen) await Bun.sleep(20);
        }
        expect(seen).toBe(1);
        expect(performance.now() - t0).toBeLessThan(2000);
        for (let i = 0; i < 700; i++) w.enqueue(event({ keyId: `vis-${kind}`, costMicros: 1 }));
        await w.close();
        expect(await store.spendSince(`vis-${kind}`, "2000-01-01")).toBe(7 + 700);
      } finally {
        await store.close();
      }
    });
  }

  test("postgres restarted while events arrive: none is lost, none counted twice", async () => {
    const store = await openStore(await pg.createDatabase("w2"));
    try {
      const w = createUsageWriter({ store, logger: createMemoryLogger(), flushEveryMs: 50, maxBackoffMs: 200 });
      for (let i = 0; i < 50; i++) w.enqueue(event({ keyId: "outage", costMicros: 1 }));
      await w.flush();
      await pg.kill();
      for (let i = 0; i < 50; i++) w.enqueue(event({ keyId: "outage", costMicros: 1 }));
      await Bun.sleep(400);
      expect(w.stats().storeDown).toBe(true);
      await pg.start();
      const t0 = performance.now();
      while (w.stats().queued > 0 && performance.now() - t0 < 10_000) await Bun.sleep(50);
      expect(w.stats().queued).toBe(0);
      expect(await store.spendSince("outage", "2000-01-01")).toBe(100);
      await w.close();
    } finally {
      await store.close();
    }
  }, 30_000);
});
