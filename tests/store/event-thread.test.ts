// Usage events inserted on the worker thread land in the same store the request thread reads (SQLite WAL, two connections).
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore } from "../../src/store/open.ts";
import { startStoreThread } from "../../src/store/event-thread.ts";
import type { Store, UsageEvent } from "../../src/store/store.ts";

const url = `sqlite://${join(mkdtempSync(join(tmpdir(), "sb-evt-")), "e.db")}`;
let store: Store;
afterAll(() => store?.close());

const event = (i: number): UsageEvent => ({
  id: `ev-thread-${i}`,
  requestId: `req-${i}`,
  createdAt: Date.UTC(2026, 10, 26, 10),
  keyId: "key_t",
  keyName: "thread",
  model: "m",
  provider: "p",
  upstreamModel: "m",
  stream: false,
  status: 200,
  promptTokens: 10,
  cachedTokens: 0,
  completionTokens: 5,
  reasoningTokens: 0,
  costMicros: 7,
  latencyMs: 3,
  ttfbMs: 1,
  usageSource: "provider",
  endpoint: "chat.completions",
});

test("a batch posted to the thread is stored, totals included, and a repeated id is ignored", async () => {
  store = await openStore(url);
  const thread = startStoreThread(url)!;
  expect(thread).not.toBeNull();
  expect(await thread.insertEvents(Array.from({ length: 600 }, (_, i) => event(i)))).toBe(600);
  expect(await thread.insertEvents([event(0), event(600)])).toBe(1);
  const [row] = await store.queryUsage({ groupBy: ["key"], from: "2026-11-26", to: "2026-11-26" });
  expect(row).toMatchObject({ requests: 601, promptTokens: 6010, completionTokens: 3005 });
  expect(await store.spendSince("key_t", "2026-11-26")).toBe(601 * 7);
  await thread.close();
  // After close the thread is gone: a later insert fails instead of hanging.
  expect(thread.insertEvents([event(700)])).rejects.toThrow();
});

test("an in-memory SQLite store has no thread (a second connection would see another database)", () => {
  expect(startStoreThread("sqlite://:memory:")).toBeNull();
});
