// /health/ready checks the write path: a ledger that cannot write, a stuck ledger, a deleted SQLite file and a full disk are not ready.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore } from "../../src/store/open.ts";
import type { Store } from "../../src/store/store.ts";
import { startGateway, post, type GatewayHandle } from "../support/gateway.ts";
import { startPostgres, type PostgresServer } from "../support/postgres.ts";
import { eventually } from "../support/wait.ts";

const KEY = "sk-ready-write-0001";
const config = {
  providers: { e: { type: "echo" } },
  models: [{ id: "echo", provider: "e" }],
  keys: [{ name: "rw", key: KEY }],
};

const dir = mkdtempSync(join(tmpdir(), "sb-readyw-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ready = async (g: GatewayHandle) => {
  const r = await fetch(`${g.url}/health/ready`);
  return { status: r.status, body: (await r.json()) as { status: string; down?: string[] } };
};
const chat = (g: GatewayHandle) => post(`${g.baseURL}/chat/completions`, { model: "echo", messages: [{ role: "user", content: "hi" }] }, KEY);

describe("PostgreSQL", () => {
  let pg: PostgresServer;
  let store: Store;
  let g: GatewayHandle;
  let url: string;
  beforeAll(async () => {
    pg = await startPostgres();
    url = await pg.createDatabase("readyw");
    store = await openStore(url);
    g = await startGateway(config, { store });
  }, 60_000);
  afterAll(async () => {
    await g?.stop();
    await store?.close();
    await pg?.stop();
  });
  const admin = async (sql: string) => {
    const c = new Bun.SQL(url);
    try {
      await c.unsafe(sql);
    } finally {
      await c.close();
    }
  };

  test("events the store cannot write: not ready, naming the ledger (the store itself answers); the log names the error; then ready again with nothing lost", async () => {
    expect(await ready(g)).toEqual({ status: 200, body: { status: "ready" } });
    await admin("ALTER TABLE usage_events RENAME TO usage_events_away");
    try {
      for (let i = 0; i < 5; i++) expect((await chat(g)).status).toBe(200);
      const down = await eventually(() => ready(g), (r) => r.status === 503);
      expect(down).toEqual({ status: 503, body: { status: "not_ready", down: ["ledger"] } });
      const line = g.logs.find((l) => l.msg === "usage store unreachable: events are kept in memory and retried");
      // SQLSTATE 42P01: undefined table. Which error it was, not just "unreachable".
      expect(line).toMatchObject({ error_code: "42P01" });
    } finally {
      await admin("ALTER TABLE usage_events_away RENAME TO usage_events");
    }
    expect((await eventually(() => ready(g), (r) => r.status === 200, 15_000)).status).toBe(200);
    await g.gateway.control!.writer.flush();
    expect((await store.listEvents({ limit: 100 })).rows.length).toBe(5);
  }, 30_000);

  test("a stuck ledger (its table locked, inserts hang) is not ready once nothing has been written for 10 s", async () => {
    const holder = new Bun.SQL(url);
    const reserved = await holder.reserve();
    try {
      await reserved.unsafe("BEGIN");
      await reserved.unsafe("LOCK TABLE usage_events IN ACCESS EXCLUSIVE MODE");
      expect((await chat(g)).status).toBe(200);
      const down = await eventually(() => ready(g), (r) => r.status === 503, 20_000, 250);
      expect(down.body).toEqual({ status: "not_ready", down: ["ledger"] });
    } finally {
      await reserved.unsafe("ROLLBACK");
      reserved.release();
      await holder.close();
    }
    expect((await eventually(() => ready(g), (r) => r.status === 200, 15_000)).status).toBe(200);
  }, 40_000);
});

describe("SQLite", () => {
  test("the database file deleted under a running gateway: not ready, naming the store", async () => {
    const file = join(dir, "gone.db");
    const store = await openStore(`sqlite://${file}`);
    const g = await startGateway(config, { store });
    try {
      expect((await ready(g)).status).toBe(200);
      for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
      const r = await ready(g);
      expect(r.status).toBe(503);
      expect(r.body.down).toContain("store");
    } finally {
      await g.stop();
      await store.close();
    }
  });

  test("a full disk: not ready, naming the store (a tmpfs of 2 MiB, filled)", async () => {
    const mnt = join(dir, "mnt");
    mkdirSync(mnt);
    const mount = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt]);
    expect(mount.exitCode).toBe(0);
    try {
      const store = await openStore(`sqlite://${join(mnt, "full.db")}`);
      const g = await startGateway(config, { store });
      try {
        expect((await ready(g)).status).toBe(200);
        // Fill what is left, then make the WAL need fresh pages: it starts over only after a checkpoint.
        try {
          writeFileSync(join(mnt, "filler"), Buffer.alloc(4 * 1024 * 1024));
        } catch {}
        for (let i = 0; i < 200; i++) await chat(g);
        const r = await eventually(() => ready(g), (x) => x.status === 503, 10_000, 200);
        expect(r.status).toBe(503);
        expect(r.body.down).toContain("store");
        unlinkSync(join(mnt, "filler"));
        expect((await eventually(() => ready(g), (x) => x.status === 200, 15_000, 200)).status).toBe(200);
      } finally {
        await g.stop();
        await store.close();
      }
    } finally {
      Bun.spawnSync(["umount", "-l", mnt]);
    }
  }, 40_000);
});
