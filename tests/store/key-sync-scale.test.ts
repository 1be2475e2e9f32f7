// Key changes propagate incrementally: with 5,000 keys (2 KB of metadata each) a change reads its own row, never the table; /health stays fast meanwhile.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { openStore } from "../../src/store/open.ts";
import type { Store } from "../../src/store/store.ts";
import { startGateway, type GatewayHandle } from "../support/gateway.ts";
import { storesUnderTest } from "../support/postgres.ts";

const ADMIN = "sk-admin-scale-0123456789";
const KEYS = 5000;
const META = "x".repeat(2000);

const { freshUrl } = storesUnderTest("scale");

/** 5,000 keys written straight into the tables (the admin API would take minutes), with the change counter moved past them. */
async function seed(store: Store, url: string): Promise<void> {
  const now = Date.now();
  const row = (i: number) => [`key_seed${String(i).padStart(20, "0")}`, `seed-${i}`, "sk-sb-seed", Bun.SHA256.hash(`seed-secret-${i}`, "hex"), "active", now, now, JSON.stringify({ note: META, i }), i + 1];
  const cols = "id, name, prefix, hash, status, created_at, updated_at, metadata, version";
  if (store.kind === "sqlite") {
    const { Database } = await import("bun:sqlite");
    const db = new Database(url.replace("sqlite://", ""));
    const ins = db.prepare(`INSERT INTO api_keys (${cols}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)`);
    db.transaction(() => {
      for (let i = 0; i < KEYS; i++) ins.run(...(row(i) as [string]));
      db.exec(`UPDATE meta SET value = ${KEYS} WHERE name = 'key_version'`);
    })();
    db.close();
  } else {
    const sql = new Bun.SQL(url);
    for (let i = 0; i < KEYS; i += 500) {
      const rows = Array.from({ length: Math.min(500, KEYS - i) }, (_, j) => row(i + j));
      const ph = rows.map((_, r) => `(${Array.from({ length: 9 }, (_, c) => `$${r * 9 + c + 1}`).join(", ")})`).join(", ");
      await sql.unsafe(`INSERT INTO api_keys (${cols}) VALUES ${ph}`, rows.flat());
    }
    await sql.unsafe(`UPDATE meta SET value = ${KEYS} WHERE name = 'key_version'`);
    await sql.close();
  }
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;

for (const kind of ["sqlite", "postgres"] as const) {
  describe(`${KEYS} keys on ${kind}`, () => {
    let store: Store;
    let follower: Store;
    let g: GatewayHandle;
    /** A second instance on the same store that only follows the changes (as every other instance does). */
    let g2: GatewayHandle;
    const listed = { leader: 0, follower: 0 };
    beforeAll(async () => {
      const url = await freshUrl(kind);
      const opened = await openStore(url);
      await seed(opened, url);
      // Counts whole-table reads: one at start is expected, none per change.
      const spy = (s: Store, who: keyof typeof listed): Store => Object.assign(Object.create(null), s, { listKeys: () => (listed[who]++, s.listKeys()) }) as Store;
      store = spy(opened, "leader");
      follower = spy(await openStore(url), "follower");
      const config = { server: { admin_key: ADMIN }, providers: { e: { type: "echo" } }, models: [{ id: "echo", provider: "e" }] };
      g = await startGateway(config, { store });
      g2 = await startGateway(config, { store: follower });
      expect(g.gateway.control!.sync.byId().size).toBe(KEYS);
    }, 120_000);
    afterAll(async () => {
      await g?.stop();
      await g2?.stop();
      await store?.close();
      await follower?.close();
    });

    test("keys created and patched while /health is probed on both instances: no whole-table read after start, /health stays fast", async () => {
      const startReads = { ...listed };
      let running = true;
      const lat: Record<"leader" | "follower", number[]> = { leader: [], follower: [] };
      const probe = async (h: GatewayHandle, into: number[]) => {
        while (running) {
          const t0 = performance.now();
          await fetch(`${h.url}/health`);
          into.push(performance.now() - t0);
          await Bun.sleep(10);
        }
      };
      const probes = [probe(g, lat.leader), probe(g2, lat.follower)];
      const created: string[] = [];
      const admin = (method: string, path: string, body: unknown) =>
        fetch(g.url + path, { method, headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" }, body: JSON.stringify(body) });
      // About 3 s of changes, spread out so the follower's 500 ms poll finds new ones each time.
      for (let i = 0; i < 60; i++) {
        const r = await admin("POST", "/admin/v1/keys", { name: `new-${kind}-${i}`, metadata: { note: META } });
        expect(r.status).toBe(201);
        created.push(((await r.json()) as { id: string; key: string }).key);
        expect((await admin("PATCH", `/admin/v1/keys/key_seed${String(i).padStart(20, "0")}`, { rpm: 100 + i })).status).toBe(200);
        await Bun.sleep(50);
      }
      // The follower sees every change within the contract's 2 s, without reloading the table.
      const last = created[created.length - 1]!;
      let seen = 0;
      for (let i = 0; i < 40 && seen !== 200; i++) {
        seen = (await fetch(`${g2.baseURL}/models`, { headers: { authorization: `Bearer ${last}` } })).status;
        if (seen !== 200) await Bun.sleep(100);
      }
      expect(seen).toBe(200);
      expect(g2.gateway.control!.sync.byId().get("key_seed00000000000000000059")?.rpm).toBe(159);
      running = false;
      await Promise.all(probes);
      for (const who of ["leader", "follower"] as const) {
        const xs = lat[who];
        console.log(`[figure] ${kind}, ${KEYS} keys, ${who}: /health while keys change: p50 ${pct(xs, 50).toFixed(1)} ms, p99 ${pct(xs, 99).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms over ${xs.length} probes`);
      }
      expect(listed.leader - startReads.leader).toBe(0);
      expect(listed.follower - startReads.follower).toBe(0);
      expect(pct(lat.follower, 50)).toBeLessThan(50);
      expect(pct(lat.leader, 50)).toBeLessThan(50);
    }, 120_000);
  });
}
