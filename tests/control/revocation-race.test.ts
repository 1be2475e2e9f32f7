// Revocation is final whatever races it: DELETE against a concurrent PATCH or rotate, and concurrent rotations, on both stores.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { openStore } from "../../src/store/open.ts";
import type { Store } from "../../src/store/store.ts";
import { startGateway, type GatewayHandle } from "../support/gateway.ts";
import { storesUnderTest } from "../support/postgres.ts";

const ADMIN = "sk-admin-race-0123456789";
const TRIALS = 30;

const { freshUrl } = storesUnderTest("race");

for (const kind of ["sqlite", "postgres"] as const) {
  describe(`revocation races on ${kind}`, () => {
    let store: Store;
    let store2: Store;
    let g: GatewayHandle;
    /** A second instance on the same store: the DELETE goes to one, the racing write to the other. */
    let g2: GatewayHandle;
    beforeAll(async () => {
      const url = await freshUrl(kind);
      store = await openStore(url);
      store2 = await openStore(url);
      const config = { server: { admin_key: ADMIN }, providers: { e: { type: "echo" } }, models: [{ id: "echo", provider: "e" }] };
      g = await startGateway(config, { store });
      g2 = await startGateway(config, { store: store2 });
    });
    afterAll(async () => {
      await g?.stop();
      await g2?.stop();
      await store?.close();
      await store2?.close();
    });
    const admin = (method: string, path: string, body?: unknown, on = g) =>
      fetch(on.url + path, { method, headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
    const models = (key: string) => fetch(`${g.baseURL}/models`, { headers: { authorization: `Bearer ${key}` } });
    let n = 0;
    const create = async () => {
      const r = await admin("POST", "/admin/v1/keys", { name: `race-${kind}-${++n}` });
      expect(r.status).toBe(201);
      return (await r.json()) as { id: string; key: string };
    };

    /** DELETE raced against another write; the key must end revoked and its secrets refused. Returns trials undone. */
    async function race(other: (id: string) => Promise<Response>, otherStatuses: number[]): Promise<number> {
      let undone = 0;
      for (let i = 0; i < TRIALS; i++) {
        const k = await create();
        const [del, o] = await Promise.all([admin("DELETE", `/admin/v1/keys/${k.id}`), other(k.id)]);
        expect(del.status).toBe(200);
        expect(otherStatuses).toContain(o.status);
        const stored = await store.getKey(k.id);
        const oldWorks = (await models(k.key)).status === 200;
        const newKey = o.status === 200 ? ((await o.json()) as { key?: string }).key : undefined;
        const newWorks = newKey ? (await models(newKey)).status === 200 : false;
        if (stored?.status !== "revoked" || oldWorks || newWorks) undone++;
      }
      return undone;
    }

    test(`DELETE racing a PATCH, ${TRIALS} trials: the key ends revoked every time; the PATCH gets 200 (before) or 409 (after)`, async () => {
      // Half the PATCHes change limits, half set the status (a PATCH to "active" landing after the DELETE is the worst case).
      let i = 0;
      const undone = await race((id) => admin("PATCH", `/admin/v1/keys/${id}`, i++ % 2 ? { rpm: 99, metadata: { x: 1 } } : { status: "active" }, g2), [200, 409]);
      console.log(`[figure] ${kind}: revocations undone by a concurrent PATCH: ${undone} of ${TRIALS}`);
      expect(undone).toBe(0);
    }, 60_000);

    test(`DELETE racing a rotate, ${TRIALS} trials: the key ends revoked and neither secret works`, async () => {
      const undone = await race((id) => admin("POST", `/admin/v1/keys/${id}/rotate`, { grace_period_s: 60 }, g2), [200, 409]);
      console.log(`[figure] ${kind}: revocations undone by a concurrent rotate: ${undone} of ${TRIALS}`);
      expect(undone).toBe(0);
    }, 60_000);

    test("the store itself never changes a revoked key (whoever calls it, whatever they read before)", async () => {
      const k = await create();
      const audit = (action: string) => ({ at: Date.now(), action, keyId: k.id, detail: {} });
      await store.updateKey(k.id, { status: "revoked" }, audit("key.revoke"));
      // A writer that read the key before the revocation and writes now: refused, and the row stays revoked.
      expect(store2.updateKey(k.id, { status: "active", rpm: 5 }, audit("key.update"))).rejects.toThrow(/revoked/);
      await Bun.sleep(50);
      expect(await store.getKey(k.id)).toMatchObject({ status: "revoked", rpm: null });
    });

    test("a revoked key: PATCH, rotate and reactivation are 409, DELETE again is 200 and changes nothing", async () => {
      const k = await create();
      expect((await admin("DELETE", `/admin/v1/keys/${k.id}`)).status).toBe(200);
      for (const [m, p, b] of [["PATCH", `/admin/v1/keys/${k.id}`, { rpm: 5 }], ["PATCH", `/admin/v1/keys/${k.id}`, { status: "active" }], ["POST", `/admin/v1/keys/${k.id}/rotate`, {}]] as const) {
        const r = await admin(m, p, b);
        expect(r.status).toBe(409);
        expect(((await r.json()) as { error: { code: string } }).error.code).toBe("conflict");
      }
      const again = await admin("DELETE", `/admin/v1/keys/${k.id}`);
      expect(again.status).toBe(200);
      expect(((await again.json()) as { status: string }).status).toBe("revoked");
      expect((await store.getKey(k.id))?.status).toBe("revoked");
    });

    test("10 concurrent rotations: exactly one succeeds and its secret works; the others get 409", async () => {
      for (let trial = 0; trial < 3; trial++) {
        const k = await create();
        // Truly concurrent: each body's last byte is held back until all ten requests are in, then released at once.
        const release: (() => void)[] = [];
        const sent = Array.from({ length: 10 }, () => {
          const body = new ReadableStream<Uint8Array>({
            start(c) {
              c.enqueue(new TextEncoder().encode('{"grace_period_s":'));
              release.push(() => (c.enqueue(new TextEncoder().encode("0}")), c.close()));
            },
          });
          return fetch(`${g.url}/admin/v1/keys/${k.id}/rotate`, { method: "POST", headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" }, body });
        });
        await Bun.sleep(100);
        release.forEach((r) => r());
        const answers = await Promise.all(sent);
        const ok = answers.filter((r) => r.status === 200);
        expect(ok.length).toBe(1);
        expect(answers.filter((r) => r.status === 409).length).toBe(9);
        const secret = ((await ok[0]!.json()) as { key: string }).key;
        expect((await models(secret)).status).toBe(200);
        expect((await models(k.key)).status).toBe(401);
        expect((await store.getKey(k.id))?.hash).toBe(Bun.SHA256.hash(secret, "hex"));
      }
    }, 30_000);
  });
}
