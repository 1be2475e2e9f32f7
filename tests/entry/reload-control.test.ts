// Reload and the control plane: a config key may not take a run-time key's name; a new admin key ends the old one and its dashboard sessions.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { buildConfig } from "../../src/config/load.ts";
import type { Config } from "../../src/config/schema.ts";
import { openStore } from "../../src/store/open.ts";
import type { Store } from "../../src/store/store.ts";
import { startGateway, type GatewayHandle } from "../support/gateway.ts";

const ADMIN_A = "sk-reload-admin-aaaa-0001";
const ADMIN_B = "sk-reload-admin-bbbb-0002";
const CFG_KEY = "sk-reload-config-key-0003";

let current: object;
const base = (over: Record<string, unknown> = {}) => ({ server: { admin_key: ADMIN_A }, providers: { e: { type: "echo" } }, models: [{ id: "echo", provider: "e" }], keys: [{ name: "cfg", key: CFG_KEY }], ...over });

let store: Store;
let g: GatewayHandle;
beforeAll(async () => {
  store = await openStore("sqlite://:memory:");
  current = base();
  g = await startGateway(current, { store, loadConfig: async (): Promise<Config> => buildConfig(current, "test", {}) });
});
afterAll(async () => {
  await g?.stop();
  await store?.close();
});

const call = (method: string, path: string, key: string | null, body?: unknown, headers: Record<string, string> = {}) =>
  fetch(g.url + path, { method, headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), "content-type": "application/json", ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });

test("a reload adding a config key with a run-time key's name is refused, naming the clash; the running config stays", async () => {
  const created = await call("POST", "/admin/v1/keys", ADMIN_A, { name: "team-x", rpm: 1 });
  expect(created.status).toBe(201);
  const id = ((await created.json()) as { id: string }).id;
  const secret = "sk-reload-clash-key-0004";
  current = base({ keys: [{ name: "cfg", key: CFG_KEY }, { name: "team-x", key: secret }] });
  const r = await call("POST", "/admin/v1/reload", ADMIN_A);
  expect(r.status).toBe(400);
  const err = ((await r.json()) as { error: { message: string; param: string | null } }).error;
  expect(err.param).toBe("keys[1].name");
  expect(err.message).toContain("'team-x'");
  expect(err.message).toContain(id);
  // Not applied: the clashing key's secret does not work.
  expect((await fetch(`${g.baseURL}/models`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(401);
  // Once the run-time key is revoked its name is free, and the same reload goes through.
  expect((await call("DELETE", `/admin/v1/keys/${id}`, ADMIN_A)).status).toBe(200);
  expect((await call("POST", "/admin/v1/reload", ADMIN_A)).status).toBe(200);
  expect((await fetch(`${g.baseURL}/models`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200);
  current = base();
  expect((await call("POST", "/admin/v1/reload", ADMIN_A)).status).toBe(200);
});

test("a reload that changes server.admin_key ends the old key and every dashboard session at once; the new key works; no restart needed", async () => {
  const origin = { origin: g.url };
  const signIn = await call("POST", "/ui/session", null, { admin_key: ADMIN_A }, origin);
  expect(signIn.status).toBe(200);
  const cookie = signIn.headers.get("set-cookie")!.split(";")[0]!;
  expect((await call("GET", "/admin/v1/keys", null, undefined, { cookie })).status).toBe(200);

  current = base({ server: { admin_key: ADMIN_B } });
  const r = await call("POST", "/admin/v1/reload", ADMIN_A);
  expect(r.status).toBe(200);
  const body = (await r.json()) as { restart_needed: string[]; changes: string };
  expect(body.restart_needed).toEqual([]);
  expect(body.changes).toContain("admin_key");
  expect(body.changes).not.toContain(ADMIN_B);

  expect((await call("GET", "/admin/v1/keys", ADMIN_A)).status).toBe(401);
  expect((await call("GET", "/admin/v1/keys", null, undefined, { cookie })).status).toBe(401);
  expect((await call("POST", "/ui/session", null, { admin_key: ADMIN_A }, origin)).status).toBe(401);
  expect((await call("GET", "/admin/v1/keys", ADMIN_B)).status).toBe(200);
  expect((await call("POST", "/ui/session", null, { admin_key: ADMIN_B }, origin)).status).toBe(200);
  expect(g.logs.some((l) => l.msg === "admin key changed by reload: the old key no longer works and dashboard sessions are ended" && l.sessions_ended === 1)).toBe(true);
});
