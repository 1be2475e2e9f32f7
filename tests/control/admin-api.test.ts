// The admin API end to end on a real gateway, against both stores: keys, rotation, audit, usage, prices, validation, secrets.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { openStore } from "../../src/store/open.ts";
import type { Store } from "../../src/store/store.ts";
import { startGateway, type GatewayHandle } from "../support/gateway.ts";
import { startOpenAIUpstream, type OpenAIUpstream } from "../support/openai-upstream.ts";
import { startPostgres, type PostgresServer } from "../support/postgres.ts";

const ADMIN = "sk-admin-test-0123456789";
/** The fixture's 19 prompt and 10 completion tokens at gpt-4o's built-in $2.50 / $10 per million, rounded to the micro-USD. */
const GPT4O_COST = Math.round(19 * 2.5 + 10 * 10) / 1e6;
const CONFIG_KEY = "sk-config-key-abcdef";

let pg: PostgresServer;
let up: OpenAIUpstream;
const dir = mkdtempSync(join(tmpdir(), "sb-admin-"));
beforeAll(async () => {
  [pg, up] = await Promise.all([startPostgres(), startOpenAIUpstream()]);
}, 60_000);
afterAll(async () => {
  await Promise.all([pg?.stop(), up?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

const config = (extra: object = {}) => ({
  server: { admin_key: ADMIN },
  providers: { echo: { type: "echo" }, oa: { type: "openai", base_url: up.url, api_key: up.apiKey } },
  models: [
    { id: "echo", provider: "echo" },
    { id: "gpt-4o", provider: "oa" },
    { id: "mystery", provider: "oa", upstream_model: "not-in-any-price-table" },
  ],
  keys: [{ name: "cfg", key: CONFIG_KEY, rpm: 100, budget: { usd: 50, period: "day" } }],
  ...extra,
});

interface Call {
  status: number;
  body: Record<string, unknown>;
  text: string;
  headers: Headers;
}

let dbN = 0;
for (const kind of ["sqlite", "postgres"] as const) {
  describe(`admin API on ${kind}`, () => {
    let gw: GatewayHandle;
    let store: Store;
    let storeUrl: string;
    beforeAll(async () => {
      storeUrl = kind === "sqlite" ? `sqlite://${join(dir, `a${++dbN}.db`)}` : await pg.createDatabase(`admin${++dbN}`);
      store = await openStore(storeUrl);
      gw = await startGateway(config(), { store });
    });
    afterAll(async () => {
      await gw?.stop();
      await store?.close();
    });

    const call = async (method: string, path: string, body?: unknown, auth: string | null = ADMIN): Promise<Call> => {
      const headers: Record<string, string> = {};
      if (auth) headers.authorization = `Bearer ${auth}`;
      if (body !== undefined) headers["content-type"] = "application/json";
      const res = await fetch(gw.url + path, { method, headers, body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body) });
      const text = await res.text();
      let parsed: Record<string, unknown> = {};
      try {
        parsed = JSON.parse(text) as Record<string, unknown>;
      } catch {}
      return { status: res.status, body: parsed, text, headers: res.headers };
    };
    const chat = (key: string, model = "echo") =>
      fetch(`${gw.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
      });
    const secrets: string[] = [];
    const create = async (body: Record<string, unknown>) => {
      const r = await call("POST", "/admin/v1/keys", body);
      expect(r.status).toBe(201);
      secrets.push(String(r.body.key));
      return r.body as { id: string; key: string } & Record<string, unknown>;
    };

    test("every admin route needs the admin key (401 in the OpenAI error shape)", async () => {
      for (const [m, p] of [["GET", "/admin/v1/keys"], ["POST", "/admin/v1/keys"], ["GET", "/admin/v1/usage"], ["GET", "/admin/v1/audit"], ["GET", "/admin/v1/prices"], ["DELETE", "/admin/v1/keys/x"]] as const) {
        for (const auth of [null, "wrong-admin-key", CONFIG_KEY]) {
          const r = await call(m, p, undefined, auth);
          expect(r.status).toBe(401);
          expect(r.body).toEqual({ error: { message: expect.any(String), type: "invalid_request_error", param: null, code: "invalid_api_key" } });
        }
      }
    });

    test("create → 201 with the secret once; the key object has exactly the contract's fields", async () => {
      const k = await create({ name: "team-a", models: ["echo", "gpt-4o"], rpm: 60, budget: { usd: 10, period: "month" }, metadata: { owner: "ana" } });
      expect(k.key).toMatch(/^sk-sb-[A-Za-z0-9_-]{43}$/);
      expect(k.id).toMatch(/^key_[0-9a-f]{24}$/);
      const { key: _secret, ...obj } = k;
      expect(Object.keys(obj).sort()).toEqual(["budget", "created_at", "expires_at", "id", "max_concurrent", "metadata", "models", "name", "object", "prefix", "rpm", "source", "status", "tpm"]);
      expect(obj).toMatchObject({ object: "key", name: "team-a", source: "api", status: "active", models: ["echo", "gpt-4o"], rpm: 60, tpm: null, max_concurrent: null, expires_at: null, metadata: { owner: "ana" } });
      expect(obj.prefix).toBe(k.key.slice(0, 10));
      expect(obj.budget).toEqual({ usd: 10, period: "month", spent_usd: 0, remaining_usd: 10, resets_at: expect.stringMatching(/^\d{4}-\d{2}-01T00:00:00Z$/) });
      expect(String(obj.created_at)).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      // The secret works at once on this instance; only its hash is stored.
      expect((await chat(k.key)).status).toBe(200);
      const stored = await store.getKey(k.id);
      expect(stored?.hash).toBe(Bun.SHA256.hash(k.key, "hex"));
      expect(JSON.stringify(stored)).not.toContain(k.key);
      const read = await call("GET", `/admin/v1/keys/${k.id}`);
      expect(read.status).toBe(200);
      expect(read.body.key).toBeUndefined();
      expect(read.body).toMatchObject({ id: k.id, name: "team-a" });
    });

    test("the list holds config keys (source config) and store keys; unknown id → 404", async () => {
      const r = await call("GET", "/admin/v1/keys");
      expect(r.status).toBe(200);
      expect(r.body.object).toBe("list");
      const data = r.body.data as Record<string, unknown>[];
      const cfg = data.find((k) => k.name === "cfg")!;
      expect(cfg).toMatchObject({ source: "config", status: "active", rpm: 100, budget: { usd: 50, period: "day", spent_usd: 0, remaining_usd: 50 } });
      expect(String(cfg.id)).toStartWith("key_");
      expect(data.some((k) => k.name === "team-a" && k.source === "api")).toBe(true);
      const missing = await call("GET", "/admin/v1/keys/key_nope");
      expect(missing.status).toBe(404);
      expect((missing.body.error as Record<string, unknown>).type).toBe("invalid_request_error");
    });

    test("config keys are read-only: PATCH, rotate and DELETE answer 409", async () => {
      const id = ((await call("GET", "/admin/v1/keys")).body.data as { id: string; source: string }[]).find((k) => k.source === "config")!.id;
      for (const [m, p, b] of [["PATCH", `/admin/v1/keys/${id}`, { rpm: 1 }], ["POST", `/admin/v1/keys/${id}/rotate`, {}], ["DELETE", `/admin/v1/keys/${id}`, undefined]] as const) {
        const r = await call(m, p, b);
        expect(r.status).toBe(409);
        expect(r.body.error).toMatchObject({ type: "invalid_request_error", code: "conflict" });
      }
      expect((await chat(CONFIG_KEY)).status).toBe(200);
    });

    test("validation errors are 400 with the offending field in param", async () => {
      const cases: [unknown, string][] = [
        [{}, "name"],
        [{ name: "" }, "name"],
        [{ name: "x", rpm: "5" }, "rpm"],
        [{ name: "x", rpm: 0 }, "rpm"],
        [{ name: "x", rpm: 1.5 }, "rpm"],
        [{ name: "x", budget: { usd: 5, period: "year" } }, "budget.period"],
        [{ name: "x", budget: { usd: -1, period: "day" } }, "budget.usd"],
        [{ name: "x", models: ["echo", "ghost"] }, "models[1]"],
        [{ name: "x", expires_at: "tomorrow" }, "expires_at"],
        [{ name: "x", expires_at: "2001-01-01T00:00:00Z" }, "expires_at"],
        [{ name: "x", color: "red" }, "color"],
      ];
      for (const [body, param] of cases) {
        const r = await call("POST", "/admin/v1/keys", body);
        expect({ body, status: r.status, param: (r.body.error as Record<string, unknown>)?.param }).toEqual({ body, status: 400, param });
        expect((r.body.error as Record<string, unknown>).type).toBe("invalid_request_error");
      }
      const bad = await call("POST", "/admin/v1/keys", "{not json");
      expect(bad.status).toBe(400);
      const k = await create({ name: "valid-target" });
      expect((await call("PATCH", `/admin/v1/keys/${k.id}`, { status: "revoked" })).body.error).toMatchObject({ param: "status" });
      expect((await call("POST", `/admin/v1/keys/${k.id}/rotate`, { grace_period_s: -1 })).body.error).toMatchObject({ param: "grace_period_s" });
      for (const [q, param] of [["group_by=key,week", "group_by"], ["from=2026-02-30", "from"], ["from=2026-03-02&to=2026-03-01", "from"]] as const) {
        const r = await call("GET", `/admin/v1/usage?${q}`);
        expect([r.status, (r.body.error as Record<string, unknown>).param]).toEqual([400, param]);
      }
      for (const [q, param] of [["limit=0", "limit"], ["limit=1001", "limit"], ["limit=ten", "limit"], ["cursor=garbage", "cursor"], ["format=xml", "format"]] as const) {
        const r = await call("GET", `/admin/v1/usage/events?${q}`);
        expect([r.status, (r.body.error as Record<string, unknown>).param]).toEqual([400, param]);
      }
    });

    test("names are unique among keys that are not revoked, config keys included (409)", async () => {
      await create({ name: "unique-1" });
      expect((await call("POST", "/admin/v1/keys", { name: "unique-1" })).status).toBe(409);
      expect((await call("POST", "/admin/v1/keys", { name: "cfg" })).status).toBe(409);
      const other = await create({ name: "unique-2" });
      expect((await call("PATCH", `/admin/v1/keys/${other.id}`, { name: "unique-1" })).status).toBe(409);
    });

    test("PATCH sets and clears limits (null), blocks and unblocks; a blocked key is refused at once", async () => {
      const k = await create({ name: "patchy", rpm: 5, tpm: 100_000, budget: { usd: 1, period: "day" } });
      const p = await call("PATCH", `/admin/v1/keys/${k.id}`, { rpm: null, budget: null, max_concurrent: 3, metadata: { a: 1 } });
      expect(p.status).toBe(200);
      expect(p.body).toMatchObject({ rpm: null, tpm: 100_000, max_concurrent: 3, budget: null, metadata: { a: 1 } });
      expect((await call("PATCH", `/admin/v1/keys/${k.id}`, { status: "blocked" })).body.status).toBe("blocked");
      const refused = await chat(k.key);
      expect(refused.status).toBe(401);
      expect(((await refused.json()) as { error: { message: string } }).error.message).toContain("blocked");
      expect((await call("PATCH", `/admin/v1/keys/${k.id}`, { status: "active" })).body.status).toBe("active");
      expect((await chat(k.key)).status).toBe(200);
    });

    test("DELETE revokes: 200 with status revoked, refused at once, no further change allowed, the name is free again", async () => {
      const k = await create({ name: "doomed" });
      const d = await call("DELETE", `/admin/v1/keys/${k.id}`);
      expect(d.status).toBe(200);
      expect(d.body).toMatchObject({ id: k.id, status: "revoked" });
      expect((await chat(k.key)).status).toBe(401);
      expect((await call("PATCH", `/admin/v1/keys/${k.id}`, { status: "active" })).status).toBe(409);
      expect((await call("POST", `/admin/v1/keys/${k.id}/rotate`, {})).status).toBe(409);
      await create({ name: "doomed" });
    });

    test("expiry: a key works until expires_at, then is refused and shows as expired", async () => {
      const k = await create({ name: "mayfly", expires_at: new Date(Date.now() + 1200).toISOString() });
      expect((await chat(k.key)).status).toBe(200);
      await Bun.sleep(1400);
      const r = await chat(k.key);
      expect(r.status).toBe(401);
      expect((await call("GET", `/admin/v1/keys/${k.id}`)).body.status).toBe("expired");
    });

    test("rotation with grace: both secrets work during it; rotating again keeps only the newest old secret; then only the new one", async () => {
      const k = await create({ name: "rotor" });
      const r1 = await call("POST", `/admin/v1/keys/${k.id}/rotate`, { grace_period_s: 2 });
      expect(r1.status).toBe(200);
      const s1 = String(r1.body.key);
      secrets.push(s1);
      expect(s1).not.toBe(k.key);
      expect(r1.body.prefix).toBe(s1.slice(0, 10));
      expect((await chat(k.key)).status).toBe(200);
      expect((await chat(s1)).status).toBe(200);
      const r2 = await call("POST", `/admin/v1/keys/${k.id}/rotate`, { grace_period_s: 2 });
      const s2 = String(r2.body.key);
      secrets.push(s2);
      expect((await chat(k.key)).status).toBe(401);
      expect((await chat(s1)).status).toBe(200);
      expect((await chat(s2)).status).toBe(200);
      await Bun.sleep(2200);
      expect((await chat(s1)).status).toBe(401);
      expect((await chat(s2)).status).toBe(200);
      // Without a grace period (the default) the old secret stops at once; an empty body is fine.
      const r3 = await call("POST", `/admin/v1/keys/${k.id}/rotate`);
      expect(r3.status).toBe(200);
      secrets.push(String(r3.body.key));
      expect((await chat(s2)).status).toBe(401);
      expect((await chat(String(r3.body.key))).status).toBe(200);
    });

    test("every change is in the audit log, newest first, paged, without secrets", async () => {
      const k = await create({ name: "audited" });
      await call("PATCH", `/admin/v1/keys/${k.id}`, { status: "blocked" });
      await call("POST", `/admin/v1/keys/${k.id}/rotate`, { grace_period_s: 5 });
      await call("DELETE", `/admin/v1/keys/${k.id}`);
      const page = await call("GET", "/admin/v1/audit?limit=4");
      const data = page.body.data as { action: string; key_id: string; at: string; detail: Record<string, unknown> }[];
      expect(data.map((a) => [a.action, a.key_id])).toEqual([
        ["key.revoke", k.id],
        ["key.rotate", k.id],
        ["key.block", k.id],
        ["key.create", k.id],
      ]);
      expect(data[1]!.detail).toEqual({ grace_period_s: 5 });
      expect(typeof page.body.next_cursor).toBe("string");
      const next = await call("GET", `/admin/v1/audit?limit=4&cursor=${page.body.next_cursor}`);
      expect((next.body.data as unknown[]).length).toBeGreaterThan(0);
    });

    test("one usage event per chat request with a valid key, refusals included; usage totals, events pages and CSV", async () => {
      const k = await create({ name: "metered", rpm: 2 });
      const ok = await chat(k.key, "gpt-4o");
      expect(ok.status).toBe(200);
      const notFound = await chat(k.key, "no-such-model");
      expect(notFound.status).toBe(404);
      const invalid = await fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${k.key}`, "content-type": "application/json" }, body: '{"model":"echo","messages":[]}' });
      expect(invalid.status).toBe(400);
      const limited = await chat(k.key, "echo");
      expect(limited.status).toBe(200);
      expect((await chat(k.key, "echo")).status).toBe(429);
      // Refused before the limiter (404, 400): they did not use the rpm of 2. Without a valid key there is no event.
      expect((await chat("sk-sb-unknown-key-aaaaaaaaaaaaaaaaaa")).status).toBe(401);
      let events: Record<string, unknown>[] = [];
      const t0 = performance.now();
      while (events.length < 5 && performance.now() - t0 < 3000) {
        events = (await call("GET", `/admin/v1/usage/events?key=${k.id}`)).body.data as Record<string, unknown>[];
        if (events.length < 5) await Bun.sleep(50);
      }
      expect(performance.now() - t0).toBeLessThan(2000);
      expect(events.map((e) => e.status)).toEqual([429, 200, 400, 404, 200]);
      const first = events[4]!;
      expect(Object.keys(first).sort()).toEqual(
        ["cached_tokens", "completion_tokens", "cost_usd", "created_at", "endpoint", "key_id", "key_name", "latency_ms", "model", "prompt_tokens", "provider", "reasoning_tokens", "request_id", "status", "stream", "ttfb_ms", "upstream_model", "usage_source"].sort(),
      );
      // gpt-4o at the built-in $2.50 / $10 per million tokens; the fixture reports 19 prompt and 10 completion tokens.
      expect(first).toMatchObject({ key_name: "metered", model: "gpt-4o", provider: "oa", upstream_model: "gpt-4o", stream: false, prompt_tokens: 19, completion_tokens: 10, usage_source: "provider", cost_usd: GPT4O_COST, endpoint: "chat.completions" });
      expect(events[3]).toMatchObject({ status: 404, prompt_tokens: 0, completion_tokens: 0, cost_usd: 0, model: "no-such-model", provider: null });
      const page1 = await call("GET", `/admin/v1/usage/events?key=${k.id}&limit=2`);
      expect((page1.body.data as unknown[]).length).toBe(2);
      const page2 = await call("GET", `/admin/v1/usage/events?key=${k.id}&limit=2&cursor=${page1.body.next_cursor}`);
      expect((page2.body.data as { request_id: string }[]).map((e) => e.request_id)).toEqual(events.slice(2, 4).map((e) => String(e.request_id)));
      const csv = await call("GET", `/admin/v1/usage/events?key=${k.id}&format=csv`);
      expect(csv.headers.get("content-type")).toStartWith("text/csv");
      const lines = csv.text.trim().split("\r\n");
      expect(lines[0]).toBe("request_id,created_at,key_id,key_name,model,provider,upstream_model,stream,status,prompt_tokens,cached_tokens,completion_tokens,reasoning_tokens,cost_usd,latency_ms,ttfb_ms,usage_source,endpoint");
      expect(lines.length).toBe(6);
      expect(lines[5]).toContain(`,metered,gpt-4o,oa,gpt-4o,false,200,19,0,10,0,${GPT4O_COST},`);
      const usage = await call("GET", `/admin/v1/usage?group_by=key,model&key=${k.id}`);
      expect(usage.body.data).toEqual([
        { key_id: k.id, key_name: "metered", model: "echo", requests: 3, errors: 2, prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number), cached_tokens: 0, reasoning_tokens: 0, cost_usd: 0 },
        { key_id: k.id, key_name: "metered", model: "gpt-4o", requests: 1, errors: 0, prompt_tokens: 19, completion_tokens: 10, cached_tokens: 0, reasoning_tokens: 0, cost_usd: GPT4O_COST },
        { key_id: k.id, key_name: "metered", model: "no-such-model", requests: 1, errors: 1, prompt_tokens: 0, completion_tokens: 0, cached_tokens: 0, reasoning_tokens: 0, cost_usd: 0 },
      ]);
      const today = new Date().toISOString().slice(0, 10);
      const byDay = await call("GET", `/admin/v1/usage?group_by=day&key=${k.id}&from=${today}&to=${today}`);
      expect(byDay.body.data).toEqual([expect.objectContaining({ day: today, requests: 5, errors: 3 })]);
    });

    test("prices: every configured model with its source", async () => {
      const r = await call("GET", "/admin/v1/prices");
      expect(r.body.data).toEqual([
        { model: "echo", input_per_mtok: 0, output_per_mtok: 0, cached_input_per_mtok: 0, source: "builtin" },
        { model: "gpt-4o", input_per_mtok: 2.5, output_per_mtok: 10, cached_input_per_mtok: 1.25, source: "builtin" },
        { model: "mystery", input_per_mtok: null, output_per_mtok: null, cached_input_per_mtok: null, source: "none" },
      ]);
    });

    test("a key with a budget asking for a model without a price gets 400 price_unknown; one without a budget is served", async () => {
      const budgeted = await create({ name: "careful", budget: { usd: 5, period: "week" } });
      const r = await chat(budgeted.key, "mystery");
      expect(r.status).toBe(400);
      expect(((await r.json()) as { error: unknown }).error).toMatchObject({ code: "price_unknown", param: "model" });
      const free = await create({ name: "carefree" });
      expect((await chat(free.key, "mystery")).status).toBe(200);
    });

    test("/v1/key/info and /api/v1/key/info: the caller's own object with its spend, never the secret", async () => {
      const k = await create({ name: "self", budget: { usd: 1, period: "total" }, rpm: 9 });
      expect((await chat(k.key, "gpt-4o")).status).toBe(200);
      for (const prefix of ["/v1", "/api/v1"]) {
        const r = await fetch(`${gw.url}${prefix}/key/info`, { headers: { authorization: `Bearer ${k.key}` } });
        expect(r.status).toBe(200);
        const body = (await r.json()) as Record<string, unknown>;
        expect(body).toMatchObject({ id: k.id, object: "key", name: "self", source: "api", rpm: 9, budget: { usd: 1, period: "total", spent_usd: GPT4O_COST, resets_at: null } });
        expect(JSON.stringify(body)).not.toContain(k.key);
      }
      const cfg = (await (await fetch(`${gw.url}/v1/key/info`, { headers: { authorization: `Bearer ${CONFIG_KEY}` } })).json()) as Record<string, unknown>;
      expect(cfg).toMatchObject({ name: "cfg", source: "config", rpm: 100 });
      expect((await fetch(`${gw.url}/v1/key/info`)).status).toBe(401);
    });

    test("the OpenAI SDK does not retry a budget refusal (x-should-retry: false)", async () => {
      const k = await create({ name: "broke", budget: { usd: 0.0001, period: "day" } });
      const client = new OpenAI({ apiKey: k.key, baseURL: gw.baseURL, maxRetries: 3 });
      const before = up.calls.length;
      const t0 = performance.now();
      const err = await client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }], max_tokens: 100 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.APIError);
      expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(429);
      expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe("budget_exceeded");
      expect((err as InstanceType<typeof OpenAI.APIError>).type).toBe("insufficient_quota");
      expect(performance.now() - t0).toBeLessThan(1000);
      expect(up.calls.length).toBe(before);
    });

    test("no admin answer and no log line ever contains a secret or its hash", async () => {
      const all = [
        (await call("GET", "/admin/v1/keys")).text,
        (await call("GET", "/admin/v1/audit?limit=1000")).text,
        (await call("GET", "/admin/v1/usage/events?limit=1000")).text,
        (await call("GET", "/admin/v1/usage/events?limit=1000&format=csv")).text,
        JSON.stringify(gw.logs),
      ].join("\n");
      expect(secrets.length).toBeGreaterThan(10);
      for (const s of [...secrets, CONFIG_KEY, ADMIN]) {
        expect(all).not.toContain(s);
        expect(all).not.toContain(Bun.SHA256.hash(s, "hex"));
      }
    });
  });
}

describe("without an admin key", () => {
  test("the whole /admin/v1 prefix is 404; /health/providers still answers 401", async () => {
    const store = await openStore(`sqlite://${join(dir, "noadmin.db")}`);
    const { server: _s, ...rest } = config();
    const gw = await startGateway(rest, { store });
    try {
      for (const [m, p] of [["GET", "/admin/v1/keys"], ["POST", "/admin/v1/keys"], ["GET", "/admin/v1/usage"], ["GET", "/admin/v1/anything"]] as const) {
        const r = await fetch(gw.url + p, { method: m, headers: { authorization: `Bearer ${ADMIN}` } });
        expect(r.status).toBe(404);
        expect(((await r.json()) as { error: { type: string } }).error.type).toBe("invalid_request_error");
      }
      expect((await fetch(`${gw.url}/health/providers`, { headers: { authorization: `Bearer ${ADMIN}` } })).status).toBe(401);
    } finally {
      await gw.stop();
      await store.close();
    }
  });
});
