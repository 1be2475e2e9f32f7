// /admin/v1/keys: create, list, read, patch, rotate and revoke keys; config keys are listed and read-only.
import { Elysia } from "elysia";
import type { KeyRing, Principal } from "../../auth/keys.ts";
import type { Config } from "../../config/schema.ts";
import { usdToMicros } from "../../costs/budget.ts";
import type { Limiter } from "../../limits/limiter.ts";
import { conflict, invalidRequest, notFound } from "../../openai/errors.ts";
import type { KeySync } from "../../store/key-sync.ts";
import { StoreConflict, type KeyChange, type Store, type StoredKey } from "../../store/store.ts";
import { configKeyObject, storeKeyObject, type KeyObject } from "./key-object.ts";
import { json } from "./respond.ts";
import { CreateKeyBody, PatchKeyBody, readBody, RotateKeyBody } from "./schemas.ts";
import { newKeyId, newSecret } from "./secrets.ts";

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
  /** A change is effective at once here; other instances follow the change counter. */
  const applied = async <T>(write: Promise<T>): Promise<T> => {
    try {
      const out = await write;
      await d.sync.refresh();
      return out;
    } catch (e) {
      if (e instanceof StoreConflict) throw conflict(e.message, "name");
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
      if (cur.status === "revoked") throw conflict(`Key '${cur.name}' is revoked; a revoked key cannot be changed.`, "id");
      const now = d.now();
      const change = changeOf(body, d.config, now);
      if (change.name !== undefined && change.name !== cur.name && nameTaken(change.name, cur.id)) throw taken(change.name);
      const detail = { fields: Object.keys(body), ...(body.status ? { status: body.status } : {}) };
      const updated = await applied(d.store.updateKey(cur.id, change, { at: now, action: body.status === "blocked" ? "key.block" : body.status === "active" && cur.status === "blocked" ? "key.unblock" : "key.update", keyId: cur.id, detail }));
      return json(await render(updated ?? cur));
    })
    .post("/keys/:id/rotate", async ({ params, request }) => {
      const p = configKey(params.id);
      if (p) throw readOnly(p);
      const cur = await stored(params.id);
      const body = await readBody(request, RotateKeyBody, { optional: true });
      if (cur.status === "revoked") throw conflict(`Key '${cur.name}' is revoked; a revoked key cannot be rotated.`, "id");
      const grace = body.grace_period_s ?? 0;
      const now = d.now();
      const s = newSecret();
      // Rotating again within the grace period replaces the old secret: only the newest old one keeps working.
      const change: KeyChange = { hash: s.hash, prefix: s.prefix, oldHash: grace > 0 ? cur.hash : null, oldHashUntil: grace > 0 ? now + grace * 1000 : null };
      const updated = await applied(d.store.updateKey(cur.id, change, { at: now, action: "key.rotate", keyId: cur.id, detail: { grace_period_s: grace } }));
      return json({ ...(await render(updated ?? cur)), key: s.secret });
    })
    .delete("/keys/:id", async ({ params }) => {
      const p = configKey(params.id);
      if (p) throw readOnly(p);
      const cur = await stored(params.id);
      if (cur.status === "revoked") return json(await render(cur));
      const now = d.now();
      const updated = await applied(d.store.updateKey(cur.id, { status: "revoked", oldHash: null, oldHashUntil: null }, { at: now, action: "key.revoke", keyId: cur.id, detail: {} }));
      return json(await render(updated ?? cur));
    });
}
