// /admin/v1/keys: create, list, read, patch, rotate and revoke keys; config keys are listed and read-only.
import { Elysia } from "elysia";
import type { KeyRing, Principal } from "../../auth/keys.ts";
import type { Config } from "../../config/schema.ts";
import { usdToMicros } from "../../costs/budget.ts";
import type { Limiter } from "../../limits/limiter.ts";
import { conflict, invalidRequest, notFound } from "../../openai/errors.ts";
import type { KeySync } from "../../store/key-sync.ts";
import { StoreConflict, type KeyChange, type Store, type StoredKey } from "../../store/store.ts";
import { KeyStateConflict } from "../../store/errors.ts";
import { configKeyObject, storeKeyObject, type KeyObject } from "./key-object.ts";
import { json } from "./respond.ts";
import { CreateKeyBody, PatchKeyBody, readBody, RotateKeyBody } from "./schemas.ts";
import { newKeyId, newSecret } from "./secrets.ts";
import { stateOf } from "../../http/request-state.ts";

export interface AdminDeps {
  config: Config;
  store: Store;
  sync: KeySync;
  ring: KeyRing;
  limiter: Limiter;
  now: () => number;
}

/** `expires_at` as epoch ms; a 400 naming the field when it is not a date-time. */
function expiry(value: string | null | undefined, now: number): number | null | undefined {
  if (value === undefined || value === null) return value;
  // Date-time with a zone, as RFC 3339 has it; Date.parse alone accepts far too much.
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) throw invalidRequest(`Invalid 'expires_at': expected an ISO 8601 date-time such as 2026-12-31T23:59:59Z, got '${value}'.`, "expires_at");
  if (ms <= now) throw invalidRequest("Invalid 'expires_at': the time is already past.", "expires_at");
  return ms;
}

/** The body's fields as a store change (only those present; null clears). */
function changeOf(body: PatchKeyBody, config: Config, now: number): KeyChange {
  const models = new Set(config.models.map((m) => m.id));
  body.models?.forEach((m, i) => {
    if (!models.has(m)) throw invalidRequest(`Invalid 'models[${i}]': no model with id '${m}'.`, `models[${i}]`);
  });
  const c: KeyChange = {};
  if (body.name !== undefined) c.name = body.name;
  if (body.models !== undefined) c.models = body.models;
  if (body.rpm !== undefined) c.rpm = body.rpm;
  if (body.tpm !== undefined) c.tpm = body.tpm;
  if (body.max_concurrent !== undefined) c.maxConcurrent = body.max_concurrent;
  if (body.budget !== undefined) {
    c.budgetMicros = body.budget === null ? null : usdToMicros(body.budget.usd);
    c.budgetPeriod = body.budget === null ? null : body.budget.period;
  }
  if (body.expires_at !== undefined) c.expiresAt = expiry(body.expires_at, now) ?? null;
  if (body.metadata !== undefined) c.metadata = body.metadata;
  if (body.status !== undefined) c.status = body.status;
  return c;
}

export function keyRoutes(d: AdminDeps) {
  const configured = () => d.ring.configured();
  const configKey = (id: string): Principal | undefined => configured().find((p) => p.id === id);
  const nameTaken = (name: string, exceptId?: string) => configured().some((p) => p.name === name) || [...d.sync.byId().values()].some((k) => k.name === name && k.status !== "revoked" && k.id !== exceptId);
  const render = (k: StoredKey) => storeKeyObject(k, d.limiter, d.now());
  /** The key as stored now (not the possibly older copy in the sync's map), or the 404. */
  const stored = async (id: string): Promise<StoredKey> => {
    const k = await d.store.getKey(id);
    if (!k) throw notFound(`No key with id '${id}'.`, "id");
    return k;
  };
  const readOnly = (p: Principal) => conflict(`Key '${p.name}' comes from the config file and is read-only here; change it in the file.`, "id");
  const taken = (name: string) => conflict(`A key named '${name}' already exists (names are unique among keys that are not revoked).`, "name");
  /** When each key's last rotation through this instance landed (performance.now()); bounded, old entries go. */
  const rotatedAt = new Map<string, number>();
  const noteRotation = (id: string) => {
    const t = performance.now();
    if (rotatedAt.size >= 10_000) for (const [k, at] of rotatedAt) if (t - at > 60_000) rotatedAt.delete(k);
    rotatedAt.delete(id);
    rotatedAt.set(id, t);
  };
  const concurrentChange = (k: StoredKey) =>
    conflict(`Key '${k.name}' was rotated by another request while this one was handled: nothing was changed here. Read the key again and retry.`, "id");
  const revoked = (k: StoredKey, what: string) => conflict(`Key '${k.name}' is revoked; a revoked key cannot be ${what}.`, "id");
  /**
   * A change is effective at once here; other instances follow the change counter. The store applies it only to a
   * key that is not revoked (and, for a rotation, still has the secret it was read with), whatever raced it.
   */
  const applied = async <T>(write: Promise<T>, cur?: StoredKey, what = "changed"): Promise<T> => {
    try {
      const out = await write;
      await d.sync.refresh();
      return out;
    } catch (e) {
      if (e instanceof StoreConflict) throw conflict(e.message, "name");
      if (e instanceof KeyStateConflict && cur) {
        if (e.reason === "revoked") throw revoked(cur, what);
        throw concurrentChange(cur);
      }
      throw e;
    }
  };

  return new Elysia({ name: "admin.keys" })
    .post("/keys", async ({ request }) => {
      const body = await readBody(request, CreateKeyBody);
      const now = d.now();
      const change = changeOf(body, d.config, now);
      if (nameTaken(body.name)) throw taken(body.name);
      const s = newSecret();
      const key: Omit<StoredKey, "version"> = {
        id: newKeyId(),
        name: body.name,
        prefix: s.prefix,
        hash: s.hash,
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
        metadata: {},
        ...change,
        createdAt: now,
        updatedAt: now,
      };
      const created = await applied(d.store.createKey(key, { at: now, action: "key.create", keyId: key.id, detail: { name: key.name, fields: Object.keys(body) } }));
      return json({ ...(await render(created)), key: s.secret }, 201);
    })
    .get("/keys", async () => {
      const now = d.now();
      const fromConfig = await Promise.all(configured().map((p) => configKeyObject(p, d.limiter, now)));
      const fromStore = await Promise.all((await d.store.listKeys()).map((k) => storeKeyObject(k, d.limiter, now)));
      return json({ object: "list", data: [...fromConfig, ...fromStore] satisfies KeyObject[] });
    })
    .get("/keys/:id", async ({ params }) => {
      const p = configKey(params.id);
      if (p) return json(await configKeyObject(p, d.limiter, d.now()));
      return json(await render(await stored(params.id)));
    })
    .patch("/keys/:id", async ({ params, request }) => {
      const p = configKey(params.id);
      if (p) throw readOnly(p);
      const cur = await stored(params.id);
      const body = await readBody(request, PatchKeyBody);
      if (cur.status === "revoked") throw revoked(cur, "changed");
      const now = d.now();
      const change = changeOf(body, d.config, now);
      if (change.name !== undefined && change.name !== cur.name && nameTaken(change.name, cur.id)) throw taken(change.name);
      const detail = { fields: Object.keys(body), ...(body.status ? { status: body.status } : {}) };
      const action = body.status === "blocked" ? "key.block" : body.status === "active" && cur.status === "blocked" ? "key.unblock" : "key.update";
      const updated = await applied(d.store.updateKey(cur.id, change, { at: now, action, keyId: cur.id, detail }), cur, "changed");
      return json(await render(updated ?? cur));
    })
    .post("/keys/:id/rotate", async ({ params, request }) => {
      const p = configKey(params.id);
      if (p) throw readOnly(p);
      // Rotations that overlap must not each answer 200 with a secret the next one replaces at once: exactly one wins,
      // the others get a 409. Overlap on this instance: another rotation of the key landed after this request arrived.
      // Across instances: the store applies a rotation only if the key still has the secret this request read.
      const arrived = stateOf(request)?.start ?? performance.now();
      const body = await readBody(request, RotateKeyBody, { optional: true });
      const seen = d.sync.byId().get(params.id)?.hash;
      const cur = await stored(params.id);
      if (cur.status === "revoked") throw revoked(cur, "rotated");
      if ((seen !== undefined && seen !== cur.hash) || (rotatedAt.get(cur.id) ?? -Infinity) > arrived) throw concurrentChange(cur);
      const grace = body.grace_period_s ?? 0;
      const now = d.now();
      const s = newSecret();
      // Rotating again within the grace period replaces the old secret: only the newest old one keeps working.
      const change: KeyChange = { hash: s.hash, prefix: s.prefix, oldHash: grace > 0 ? cur.hash : null, oldHashUntil: grace > 0 ? now + grace * 1000 : null };
      // Guarded by the secret it replaces: of concurrent rotations one wins, the others get a 409 (never a secret that does not work).
      const updated = await applied(d.store.updateKey(cur.id, change, { at: now, action: "key.rotate", keyId: cur.id, detail: { grace_period_s: grace } }, { hash: seen ?? cur.hash }), cur, "rotated");
      noteRotation(cur.id);
      return json({ ...(await render(updated ?? cur)), key: s.secret });
    })
    .delete("/keys/:id", async ({ params }) => {
      const p = configKey(params.id);
      if (p) throw readOnly(p);
      const cur = await stored(params.id);
      if (cur.status === "revoked") return json(await render(cur));
      const now = d.now();
      try {
        const updated = await applied(d.store.updateKey(cur.id, { status: "revoked", oldHash: null, oldHashUntil: null }, { at: now, action: "key.revoke", keyId: cur.id, detail: {} }));
        return json(await render(updated ?? cur));
      } catch (e) {
        // Revoked meanwhile by another request: revoking is idempotent, the answer is the revoked key.
        if (e instanceof KeyStateConflict) return json(await render(await stored(cur.id)));
        throw e;
      }
    });
}
