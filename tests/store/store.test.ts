// One contract suite for the Store, run against a real SQLite file and a real PostgreSQL started here.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { LATEST_VERSION } from "../../src/store/migrations/index.ts";
import { openStore } from "../../src/store/open.ts";
import { StoreConflict, type AuditEntry, type Store, type StoredKey, type UsageEvent } from "../../src/store/store.ts";
import { storesUnderTest } from "../support/postgres.ts";
import { LATENCY_BINS, latencyBin } from "../../src/store/series.ts";

const { freshUrl, dir } = storesUnderTest("s");

const T0 = Date.UTC(2026, 10, 26, 10, 0, 0);
const DAY = 86_400_000;
const HOUR = 3_600_000;
const MINUTE = 60_000;

function key(over: Partial<StoredKey> = {}): Omit<StoredKey, "version"> {
  const id = over.id ?? `key_${crypto.randomUUID().slice(0, 8)}`;
  return {
    id,
    name: `team-${id}`,
    prefix: "sk-sb-abcd",
    hash: Bun.SHA256.hash(id, "hex"),
    oldHash: null,
    oldHashUntil: null,
    status: "active",
    models: null,
    rpm: null,
    tpm: null,
    maxConcurrent: null,
    budgetMicros: null,
    budgetPeriod: null,
    expiresAt: null,
    createdAt: T0,
    updatedAt: T0,
    metadata: {},
    ...over,
  };
}

const audit = (action: string, keyId: string | null, detail: Record<string, unknown> = {}, at = T0): AuditEntry => ({ at, action, keyId, detail });

let eventN = 0;
function event(over: Partial<UsageEvent> = {}): UsageEvent {
  eventN++;
  return {
    id: `ev-${eventN}-${crypto.randomUUID()}`,
    requestId: `req-${eventN}`,
    createdAt: T0,
    keyId: "key_a",
    keyName: "team-a",
    model: "gpt-4o",
    provider: "openai",
    upstreamModel: "gpt-4o-2024-08-06",
    stream: false,
    status: 200,
    promptTokens: 10,
    cachedTokens: 2,
    completionTokens: 5,
    reasoningTokens: 1,
    costMicros: 75,
    latencyMs: 12.5,
    ttfbMs: 3.25,
    usageSource: "provider",
    endpoint: "chat.completions",
    ...over,
  };
}

for (const kind of ["sqlite", "postgres"] as const) {
  describe(`${kind} store`, () => {
    let store: Store;
    let url: string;
    beforeAll(async () => {
      url = await freshUrl(kind);
      store = await openStore(url);
    });
    afterAll(() => store?.close());

    test("migrations run from empty to the latest version", async () => {
      expect(store.kind).toBe(kind);
      expect(await store.schemaVersion()).toBe(LATEST_VERSION);
      expect(await store.keyVersion()).toBe(0);
      expect(await store.listKeys()).toEqual([]);
    });

    test("a restart keeps the schema and the data, and runs no migration twice", async () => {
      const u = await freshUrl(kind);
      const s1 = await openStore(u);
      const k = await s1.createKey(key({ name: "survivor" }), audit("key.create", null));
      await s1.insertEvents([event({ keyId: k.id, costMicros: 1234 })]);
      await s1.close();
      const s2 = await openStore(u);
      try {
        expect(await s2.schemaVersion()).toBe(LATEST_VERSION);
        expect((await s2.getKey(k.id))?.name).toBe("survivor");
        expect(await s2.spendSince(k.id, "2026-01-01")).toBe(1234);
      } finally {
        await s2.close();
      }
    });

    test("instances starting together on one empty database all come up", async () => {
      const u = await freshUrl(kind);
      // Separate processes, as gateway instances are: one migrates, the others wait for it and find nothing to do.
      const procs = [1, 2, 3].map(() => Bun.spawn([process.execPath, join(import.meta.dir, "../support/open-store.ts"), u], { stdout: "pipe", stderr: "pipe" }));
      const outs = await Promise.all(procs.map(async (p) => [await p.exited, await new Response(p.stdout).text(), await new Response(p.stderr).text()]));
      for (const [code, out, err] of outs) {
        expect(err).toBe("");
        expect(code).toBe(0);
        expect(Number(out)).toBe(LATEST_VERSION);
      }
    }, 20_000);

    test("a database migrated by a newer build is refused, not misread", async () => {
      const u = await freshUrl(kind);
      const s = await openStore(u);
      await s.close();
      // Simulate a newer build's migration having run.
      if (kind === "sqlite") {
        const { Database } = await import("bun:sqlite");
        const db = new Database(u.slice("sqlite://".length));
        db.run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)");
        db.close();
      } else {
        const sql = new Bun.SQL(u);
        await sql.unsafe("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)");
        await sql.close();
      }
      await expect(openStore(u)).rejects.toThrow(/newer than this build/);
    });

    test("keys: create, read, update; every change bumps the change counter and is audited", async () => {
      const v0 = await store.keyVersion();
      const created = await store.createKey(
        key({ id: "key_one", name: "one", models: ["gpt-4o"], rpm: 60, budgetMicros: 10_000_000, budgetPeriod: "month", metadata: { team: "a" } }),
        audit("key.create", "key_one", { name: "one" }),
      );
      expect(created.version).toBe(v0 + 1);
      const read = await store.getKey("key_one");
      expect(read).toEqual(created);
      expect(read?.models).toEqual(["gpt-4o"]);
      expect(read?.metadata).toEqual({ team: "a" });
      expect(read?.budgetMicros).toBe(10_000_000);

      const updated = await store.updateKey("key_one", { status: "blocked", rpm: null, tpm: 1000 }, audit("key.update", "key_one", { status: "blocked" }, T0 + 5));
      expect(updated?.status).toBe("blocked");
      expect(updated?.rpm).toBeNull();
      expect(updated?.tpm).toBe(1000);
      expect(updated?.updatedAt).toBe(T0 + 5);
      expect(updated?.createdAt).toBe(T0);
      expect(updated?.version).toBe(v0 + 2);
      expect(await store.keyVersion()).toBe(v0 + 2);
      expect(await store.updateKey("key_missing", { status: "blocked" }, audit("key.update", "key_missing"))).toBeNull();
      expect(await store.getKey("key_missing")).toBeNull();
    });

    test("keysChangedSince returns exactly the keys changed after a version", async () => {
      const v = await store.keyVersion();
      const a = await store.createKey(key({ name: "since-a" }), audit("key.create", null));
      const b = await store.createKey(key({ name: "since-b" }), audit("key.create", null));
      const first = await store.keysChangedSince(v);
      expect(first.keys.map((k) => k.name)).toEqual(["since-a", "since-b"]);
      expect(first.version).toBe(v + 2);
      await store.updateKey(a.id, { status: "revoked" }, audit("key.revoke", a.id));
      const second = await store.keysChangedSince(first.version);
      expect(second.keys.map((k) => [k.id, k.status])).toEqual([[a.id, "revoked"]]);
      expect((await store.keysChangedSince(second.version)).keys).toEqual([]);
      expect(b.version).toBe(v + 2);
    });

    test("a name is unique among keys that are not revoked", async () => {
      const first = await store.createKey(key({ name: "dup" }), audit("key.create", null));
      await expect(store.createKey(key({ name: "dup" }), audit("key.create", null))).rejects.toBeInstanceOf(StoreConflict);
      const other = await store.createKey(key({ name: "dup-2" }), audit("key.create", null));
      await expect(store.updateKey(other.id, { name: "dup" }, audit("key.update", other.id))).rejects.toBeInstanceOf(StoreConflict);
      // A failed write leaves nothing behind (no half-applied change, no audit entry).
      expect((await store.getKey(other.id))?.name).toBe("dup-2");
      await store.updateKey(first.id, { status: "revoked" }, audit("key.revoke", first.id));
      const again = await store.createKey(key({ name: "dup" }), audit("key.create", null));
      expect(again.name).toBe("dup");
    });

    test("rotation fields round-trip (old hash and its end)", async () => {
      const k = await store.createKey(key({ name: "rot" }), audit("key.create", null));
      const r = await store.updateKey(k.id, { hash: "f".repeat(64), oldHash: k.hash, oldHashUntil: T0 + 60_000, prefix: "sk-sb-ffff" }, audit("key.rotate", k.id));
      expect(r).toMatchObject({ hash: "f".repeat(64), oldHash: k.hash, oldHashUntil: T0 + 60_000, prefix: "sk-sb-ffff" });
      expect(await store.getKey(k.id)).toEqual(r);
    });

    test("events land with daily totals maintained per day, key and model", async () => {
      const evs = [
        event({ keyId: "k1", keyName: "one", model: "m1", createdAt: T0, promptTokens: 100, completionTokens: 10, costMicros: 500 }),
        event({ keyId: "k1", keyName: "one", model: "m1", createdAt: T0 + 1000, promptTokens: 50, completionTokens: 5, costMicros: 250, status: 502 }),
        event({ keyId: "k1", keyName: "one", model: "m2", createdAt: T0 + DAY, promptTokens: 7, completionTokens: 3, costMicros: 40 }),
        event({ keyId: "k2", keyName: "two", model: "m1", createdAt: T0 + DAY, promptTokens: 1, completionTokens: 1, costMicros: 9, status: 429 }),
      ];
      expect(await store.insertEvents(evs)).toBe(4);
      const byKeyModel = await store.queryUsage({ groupBy: ["key", "model"], from: "2026-11-26", to: "2026-11-27" });
      const scoped = byKeyModel.filter((r) => r.keyId === "k1" || r.keyId === "k2");
      expect(scoped).toEqual([
        { keyId: "k1", keyName: "one", model: "m1", requests: 2, errors: 1, promptTokens: 150, cachedTokens: 4, completionTokens: 15, reasoningTokens: 2, costMicros: 750 },
        { keyId: "k1", keyName: "one", model: "m2", requests: 1, errors: 0, promptTokens: 7, cachedTokens: 2, completionTokens: 3, reasoningTokens: 1, costMicros: 40 },
        { keyId: "k2", keyName: "two", model: "m1", requests: 1, errors: 1, promptTokens: 1, cachedTokens: 2, completionTokens: 1, reasoningTokens: 1, costMicros: 9 },
      ]);
      const byDay = await store.queryUsage({ groupBy: ["day"], keyId: "k1" });
      expect(byDay.map((r) => [r.day, r.requests, r.costMicros])).toEqual([
        ["2026-11-26", 2, 750],
        ["2026-11-27", 1, 40],
      ]);
      const oneDay = await store.queryUsage({ groupBy: [], keyId: "k1", from: "2026-11-27", to: "2026-11-27" });
      expect(oneDay).toEqual([{ requests: 1, errors: 0, promptTokens: 7, cachedTokens: 2, completionTokens: 3, reasoningTokens: 1, costMicros: 40 }]);
      const byModel = await store.queryUsage({ groupBy: ["model"], model: "m2", keyId: "k1" });
      expect(byModel).toEqual([{ model: "m2", requests: 1, errors: 0, promptTokens: 7, cachedTokens: 2, completionTokens: 3, reasoningTokens: 1, costMicros: 40 }]);
      expect(await store.queryUsage({ groupBy: ["key"], keyId: "nobody" })).toEqual([]);
      expect(await store.queryUsage({ groupBy: [], keyId: "nobody" })).toEqual([]);
    });

    test("a batch retried after it was stored adds nothing twice", async () => {
      const evs = [event({ keyId: "retry", costMicros: 100 }), event({ keyId: "retry", costMicros: 200 })];
      expect(await store.insertEvents(evs)).toBe(2);
      expect(await store.insertEvents([...evs, event({ keyId: "retry", costMicros: 5 })])).toBe(1);
      expect(await store.spendSince("retry", "2000-01-01")).toBe(305);
      const rows = await store.queryUsage({ groupBy: [], keyId: "retry" });
      expect(rows[0]?.requests).toBe(3);
    });

    test("large batches (beyond one multi-row insert) are stored whole", async () => {
      const evs = Array.from({ length: 1234 }, (_, i) => event({ keyId: "bulk", model: `m${i % 3}`, costMicros: i }));
      expect(await store.insertEvents(evs)).toBe(1234);
      expect(await store.spendSince("bulk", "2000-01-01")).toBe((1233 * 1234) / 2);
      const page = await store.listEvents({ limit: 1000, keyId: "bulk" });
      expect(page.rows.length).toBe(1000);
      expect(page.next).not.toBeNull();
    });

    test("spendSince sums a key's cost from a day on, across models", async () => {
      await store.insertEvents([
        event({ keyId: "spend", model: "a", createdAt: Date.UTC(2026, 9, 31, 23, 59), costMicros: 1_000 }),
        event({ keyId: "spend", model: "a", createdAt: Date.UTC(2026, 10, 1, 0, 0), costMicros: 20 }),
        event({ keyId: "spend", model: "b", createdAt: Date.UTC(2026, 10, 15), costMicros: 300 }),
      ]);
      expect(await store.spendSince("spend", "2026-11-01")).toBe(320);
      expect(await store.spendSince("spend", "2026-10-31")).toBe(1320);
      expect(await store.spendSince("spend", "2026-11-16")).toBe(0);
      expect(await store.spendSince("nobody", "2000-01-01")).toBe(0);
    });

    test("events page newest first with a cursor, filtered by key and model, every field kept", async () => {
      const base = Date.UTC(2026, 5, 1);
      const evs = Array.from({ length: 25 }, (_, i) =>
        event({ keyId: "pager", model: i % 2 ? "odd" : "even", createdAt: base + Math.floor(i / 2) * 1000, stream: i % 3 === 0, ttfbMs: i % 4 ? 1.5 : null }),
      );
      await store.insertEvents(evs);
      const seen: UsageEvent[] = [];
      let cursor = undefined as Parameters<Store["listEvents"]>[0]["before"];
      for (let pages = 0; pages < 10; pages++) {
        const p = await store.listEvents({ limit: 7, keyId: "pager", before: cursor });
        seen.push(...p.rows);
        if (!p.next) break;
        cursor = p.next;
      }
      expect(seen.length).toBe(25);
      expect(new Set(seen.map((e) => e.id)).size).toBe(25);
      for (let i = 1; i < seen.length; i++) expect(seen[i - 1]!.createdAt).toBeGreaterThanOrEqual(seen[i]!.createdAt);
      const original = new Map(evs.map((e) => [e.id, e]));
      for (const e of seen) expect(e).toEqual(original.get(e.id)!);
      const odd = await store.listEvents({ limit: 100, keyId: "pager", model: "odd" });
      expect(odd.rows.length).toBe(12);
      expect(odd.rows.every((e) => e.model === "odd")).toBe(true);
      expect(odd.next).toBeNull();
    });

    test("pruning removes old events and keeps the daily totals", async () => {
      const old = Date.UTC(2025, 0, 1);
      await store.insertEvents([event({ keyId: "prune", createdAt: old, costMicros: 11 }), event({ keyId: "prune", createdAt: old + DAY * 400, costMicros: 22 })]);
      const removed = await store.pruneEvents(old + DAY);
      expect(removed).toBeGreaterThanOrEqual(1);
      const left = await store.listEvents({ limit: 10, keyId: "prune" });
      expect(left.rows.map((e) => e.costMicros)).toEqual([22]);
      expect(await store.spendSince("prune", "2000-01-01")).toBe(33);
    });

    test("series: minute and hour buckets with a latency histogram, summed into steps; a retried batch adds nothing; pruning keeps the hours", async () => {
      const s = await openStore(await freshUrl(kind));
      try {
        const evs = [
          event({ createdAt: T0 + 10_000, latencyMs: 40, promptTokens: 10, completionTokens: 5, costMicros: 75 }),
          event({ createdAt: T0 + 50_000, latencyMs: 120, status: 500, promptTokens: 20, completionTokens: 0, costMicros: 0 }),
          event({ createdAt: T0 + 70_000, latencyMs: 900, keyId: "other", model: "m2", promptTokens: 1, completionTokens: 1, costMicros: 3 }),
          event({ createdAt: T0 + HOUR + 5_000, latencyMs: 5000, status: 429, promptTokens: 0, completionTokens: 0, costMicros: 0 }),
        ];
        expect(await s.insertEvents(evs)).toBe(4);
        expect(await s.insertEvents(evs)).toBe(0);
        const hist = (...bins: number[]) => {
          const h = new Array<number>(LATENCY_BINS).fill(0);
          for (const b of bins) h[b]! += 1;
          return h;
        };
        const minutes = await s.usageSeries({ spanMs: MINUTE, stepMs: MINUTE, from: T0, to: T0 + 2 * HOUR });
        expect(minutes).toEqual([
          { start: T0, requests: 2, errors: 1, promptTokens: 30, completionTokens: 5, costMicros: 75, latency: hist(latencyBin(40), latencyBin(120)) },
          { start: T0 + MINUTE, requests: 1, errors: 0, promptTokens: 1, completionTokens: 1, costMicros: 3, latency: hist(latencyBin(900)) },
          { start: T0 + HOUR, requests: 1, errors: 1, promptTokens: 0, completionTokens: 0, costMicros: 0, latency: hist(latencyBin(5000)) },
        ]);
        // Steps of 5 minutes sum the minute buckets inside them; [from, to) bounds the buckets read.
        const fives = await s.usageSeries({ spanMs: MINUTE, stepMs: 5 * MINUTE, from: T0, to: T0 + HOUR });
        expect(fives.map((r) => [r.start, r.requests, r.errors, r.costMicros])).toEqual([[T0, 3, 1, 78]]);
        const hours = await s.usageSeries({ spanMs: HOUR, stepMs: HOUR, from: T0 - HOUR, to: T0 + 3 * HOUR });
        expect(hours.map((r) => [r.start, r.requests, r.errors, r.promptTokens, r.costMicros])).toEqual([
          [T0, 3, 1, 31, 78],
          [T0 + HOUR, 1, 1, 0, 0],
        ]);
        expect(hours[0]!.latency).toEqual(hist(latencyBin(40), latencyBin(120), latencyBin(900)));
        expect(await s.usageSeries({ spanMs: MINUTE, stepMs: MINUTE, from: T0 + 3 * HOUR, to: T0 + 4 * HOUR })).toEqual([]);
        // Minute buckets before the cut go; hour buckets stay.
        expect(await s.pruneSeries(T0 + HOUR)).toBe(2);
        expect((await s.usageSeries({ spanMs: MINUTE, stepMs: MINUTE, from: 0, to: T0 + 2 * HOUR })).map((r) => r.start)).toEqual([T0 + HOUR]);
        expect((await s.usageSeries({ spanMs: HOUR, stepMs: HOUR, from: 0, to: T0 + 2 * HOUR })).length).toBe(2);
      } finally {
        await s.close();
      }
    });

    test("series buckets are exact under concurrent writers (every value is a sum)", async () => {
      const u = await freshUrl(kind);
      // PostgreSQL: two instances' pools. SQLite: one store (two connections of one process on one file would wait on
      // each other's lock with the event loop blocked; separate processes are what share a SQLite file).
      const a = await openStore(u);
      const b = kind === "postgres" ? await openStore(u) : a;
      try {
        const batch = (n: number) => Array.from({ length: n }, (_, i) => event({ createdAt: T0 + (i % 120) * 1000, costMicros: 2, latencyMs: 30 }));
        await Promise.all([a.insertEvents(batch(300)), b.insertEvents(batch(300)), a.insertEvents(batch(200)), b.insertEvents(batch(200))]);
        const rows = await a.usageSeries({ spanMs: MINUTE, stepMs: HOUR, from: T0, to: T0 + HOUR });
        expect(rows.map((r) => [r.requests, r.costMicros, r.latency[latencyBin(30)]])).toEqual([[1000, 2000, 1000]]);
      } finally {
        await Promise.all(a === b ? [a.close()] : [a.close(), b.close()]);
      }
    });

    test("audit log: key changes and appended entries, newest first, paged", async () => {
      const u = await freshUrl(kind);
      const s = await openStore(u);
      try {
        const k = await s.createKey(key({ name: "aud" }), audit("key.create", "key_aud", { name: "aud" }, T0));
        await s.updateKey(k.id, { status: "blocked" }, audit("key.update", k.id, { status: "blocked" }, T0 + 1));
        await s.appendAudit(audit("config.note", null, { n: 1 }, T0 + 2));
        const p1 = await s.listAudit(2);
        expect(p1.rows.map((a) => a.action)).toEqual(["config.note", "key.update"]);
        expect(p1.rows[1]).toEqual({ at: T0 + 1, action: "key.update", keyId: k.id, detail: { status: "blocked" } });
        const p2 = await s.listAudit(2, p1.next!);
        expect(p2.rows.map((a) => a.action)).toEqual(["key.create"]);
        expect(p2.next).toBeNull();
      } finally {
        await s.close();
      }
    });

    test("ping answers while the database is up", async () => {
      await store.ping();
    });
  });
}

test("sqlite: the file is created on first start, in WAL mode", async () => {
  const path = join(dir, "nested", "first.db");
  const s = await openStore(`sqlite://${path}`);
  await s.close();
  const { Database } = await import("bun:sqlite");
  const db = new Database(path);
  expect((db.query("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode).toBe("wal");
  db.close();
});

test("an unknown store URL scheme is refused with a message naming store.url", async () => {
  await expect(openStore("mysql://x")).rejects.toThrow(/store\.url/);
});
