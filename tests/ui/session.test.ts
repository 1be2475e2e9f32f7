// The dashboard over HTTP: its page and files under a strict CSP, sign-in for a session cookie, idle expiry, sign-out, and the same-origin rule for cookie-borne changes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Elysia } from "elysia";
import { startGateway, type GatewayHandle } from "../support/gateway.ts";
import { requireAdmin } from "../../src/http/auth.ts";
import { createSessions, SESSION_COOKIE } from "../../src/http/sessions.ts";
import { buildConfig } from "../../src/config/load.ts";
import { toErrorResponse } from "../../src/openai/errors.ts";

const ADMIN = "admin-secret-ui-session-1";
let clock = Date.parse("2026-11-26T10:00:00Z");
let g: GatewayHandle;
let origin: string;

beforeAll(async () => {
  g = await startGateway(
    { server: { admin_key: ADMIN }, providers: { e: { type: "echo" } }, models: [{ id: "echo", provider: "e" }], keys: [{ name: "a", key: "sk-ui-session-key-1" }] },
    { sessions: { idleMs: 60_000, maxAgeMs: 3_600_000, now: () => clock } },
  );
  origin = g.url;
});
afterAll(() => g.stop());

const signIn = (key: string, headers: Record<string, string> = { origin }) =>
  fetch(`${g.url}/ui/session`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ admin_key: key }) });

/** Signs in and returns the `name=value` pair a browser would send back. */
async function sessionCookie(): Promise<string> {
  const r = await signIn(ADMIN);
  expect(r.status).toBe(200);
  return r.headers.get("set-cookie")!.split(";")[0]!;
}

const providers = (headers: Record<string, string>) => fetch(`${g.url}/health/providers`, { headers });

describe("the page and its files", () => {
  test("/ui and every page path serve the dashboard with the security headers", async () => {
    for (const path of ["/ui", "/ui/", "/ui/overview", "/ui/keys", "/ui/usage", "/ui/providers"]) {
      const r = await fetch(`${g.url}${path}`);
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toBe("text/html; charset=utf-8");
      const csp = r.headers.get("content-security-policy")!;
      for (const directive of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'"]) expect(csp).toContain(directive);
      // Nothing relaxes it: no inline code, no eval, no other origin.
      expect(csp).not.toMatch(/unsafe-|https?:|\*/);
      expect(r.headers.get("x-frame-options")).toBe("DENY");
      expect(r.headers.get("referrer-policy")).toBe("no-referrer");
      expect(r.headers.get("x-content-type-options")).toBe("nosniff");
      expect(r.headers.get("cache-control")).toBe("no-store");
      await r.text();
    }
  });

  test("the page has no inline script or style and loads nothing from another origin; its files are served with their types", async () => {
    const html = await (await fetch(`${g.url}/ui`)).text();
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attrs, body] of scripts) {
      expect(attrs).toMatch(/src="\/ui\/assets\/[^"]+\.js"/);
      expect(body!.trim()).toBe("");
    }
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=|https?:\/\//i);
    const refs = [...html.matchAll(/(?:src|href)="(\/ui\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(refs.some((r) => r.endsWith(".js"))).toBe(true);
    expect(refs.some((r) => r.endsWith(".css"))).toBe(true);
    for (const ref of refs) {
      const r = await fetch(`${g.url}${ref}`);
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toStartWith(ref.endsWith(".js") ? "text/javascript" : "text/css");
      expect(r.headers.get("cache-control")).toContain("immutable");
      expect(r.headers.get("x-content-type-options")).toBe("nosniff");
      const text = await r.text();
      // No web fonts and nothing fetched from the internet.
      expect(text).not.toMatch(/@import|@font-face|fonts\.googleapis|cdn\.|unpkg|jsdelivr/);
    }
  });

  test("an unknown asset is the contract's 404", async () => {
    const r = await fetch(`${g.url}/ui/assets/nope.js`);
    expect(r.status).toBe(404);
    expect(((await r.json()) as { error: { type: string } }).error.type).toBe("invalid_request_error");
  });
});

describe("sign-in", () => {
  test("no cookie: not signed in (a 200, so the page's first look logs no error)", async () => {
    const r = await fetch(`${g.url}/ui/session`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ signed_in: false, idle_timeout_s: 60 });
  });

  test("the admin key gets a random HttpOnly, SameSite=Strict cookie; Secure only over https", async () => {
    const r = await signIn(ADMIN);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ signed_in: true, idle_timeout_s: 60 });
    const set = r.headers.get("set-cookie")!;
    expect(set).toMatch(new RegExp(`^${SESSION_COOKIE}=[A-Za-z0-9_-]{43}; Path=/; HttpOnly; SameSite=Strict$`));
    // The cookie is not the key, nor derived from it in a way the page could see: two sign-ins, two tokens.
    expect(set).not.toContain(ADMIN);
    expect(await sessionCookie()).not.toBe(set.split(";")[0]);
    const https = await signIn(ADMIN, { origin, "x-forwarded-proto": "https" });
    expect(https.headers.get("set-cookie")).toEndWith("; Secure");
  });

  test("a wrong or missing key: 401 or 400 in the error shape, no cookie", async () => {
    const wrong = await signIn("not-the-admin-key");
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("set-cookie")).toBeNull();
    expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe("invalid_api_key");
    // A gateway key is not an admin key.
    expect((await signIn("sk-ui-session-key-1")).status).toBe(401);
    const missing = await fetch(`${g.url}/ui/session`, { method: "POST", headers: { "content-type": "application/json", origin }, body: "{}" });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { error: { param: string } }).error.param).toBe("admin_key");
    const broken = await fetch(`${g.url}/ui/session`, { method: "POST", headers: { "content-type": "application/json", origin }, body: "{nope" });
    expect(broken.status).toBe(400);
  });

  test("a sign-in from another site's page is refused (login CSRF), even with the right key", async () => {
    const attempts: Record<string, string>[] = [{ origin: "https://evil.example" }, {}, { origin: "null" }, { origin, "sec-fetch-site": "cross-site" }];
    for (const headers of attempts) {
      const r = await signIn(ADMIN, headers);
      expect(r.status).toBe(403);
      expect(r.headers.get("set-cookie")).toBeNull();
      expect(((await r.json()) as { error: { type: string; code: string } }).error).toMatchObject({ type: "permission_error", code: "cross_site_request" });
    }
  });
});

describe("the session cookie on admin routes", () => {
  test("authenticates admin reads; a made-up or missing cookie does not", async () => {
    const cookie = await sessionCookie();
    expect((await providers({ cookie })).status).toBe(200);
    expect((await providers({ cookie: `${SESSION_COOKIE}=${"A".repeat(43)}` })).status).toBe(401);
    expect((await providers({ cookie: `${SESSION_COOKIE}=<script>` })).status).toBe(401);
    expect((await providers({})).status).toBe(401);
    // Bearer is unchanged, and decides when present: a valid cookie does not rescue a wrong key.
    expect((await providers({ authorization: `Bearer ${ADMIN}` })).status).toBe(200);
    expect((await providers({ authorization: "Bearer wrong", cookie })).status).toBe(401);
  });

  test("ends after the idle time, is kept alive by use, and ends at its maximum age anyway", async () => {
    const cookie = await sessionCookie();
    clock += 50_000;
    expect((await providers({ cookie })).status).toBe(200);
    clock += 50_000; // 100 s since sign-in, 50 s since last use
    expect((await fetch(`${g.url}/ui/session`, { headers: { cookie } }).then((r) => r.json())) as object).toMatchObject({ signed_in: true });
    clock += 61_000;
    expect((await providers({ cookie })).status).toBe(401);

    const busy = await sessionCookie();
    for (let i = 0; i < 70; i++) {
      clock += 55_000;
      if ((await providers({ cookie: busy })).status !== 200) break;
    }
    // Used every 55 s, still gone after an hour.
    expect((await providers({ cookie: busy })).status).toBe(401);
  });

  test("sign-out ends the session and clears the cookie", async () => {
    const cookie = await sessionCookie();
    const out = await fetch(`${g.url}/ui/session`, { method: "DELETE", headers: { cookie, origin } });
    expect(out.status).toBe(204);
    expect(out.headers.get("set-cookie")).toStartWith(`${SESSION_COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict`);
    expect((await providers({ cookie })).status).toBe(401);
  });

  test("a sign-out from another site is refused and leaves the session", async () => {
    const cookie = await sessionCookie();
    const r = await fetch(`${g.url}/ui/session`, { method: "DELETE", headers: { cookie, origin: "https://evil.example" } });
    expect(r.status).toBe(403);
    expect((await providers({ cookie })).status).toBe(200);
  });
});

describe("requireAdmin with sessions (the hook every admin route uses)", () => {
  // A change-making admin route, as the control plane's are: the hook alone decides.
  const config = buildConfig({ server: { admin_key: ADMIN }, providers: { e: { type: "echo" } }, models: [{ id: "echo", provider: "e" }] }, "test", {});
  const sessions = createSessions();
  const app = new Elysia({ handler: { standardHostname: false } })
    .onError(({ error }) => toErrorResponse(error))
    .post("/admin/v1/thing", () => ({ changed: true }), { beforeHandle: requireAdmin(config, sessions) })
    .get("/admin/v1/thing", () => ({ read: true }), { beforeHandle: requireAdmin(config, sessions) });
  const cookie = `${SESSION_COOKIE}=${sessions.create()}`;
  const send = (method: string, headers: Record<string, string>) => app.handle(new Request("http://gateway.local:8080/admin/v1/thing", { method, headers }));

  test("a cookie-borne change from another site gets 403; from the dashboard's own origin it passes", async () => {
    const refused = await send("POST", { cookie, host: "gateway.local:8080", origin: "https://evil.example" });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("cross_site_request");
    // No Origin at all is refused too: a cookie alone never proves where a change came from.
    expect((await send("POST", { cookie, host: "gateway.local:8080" })).status).toBe(403);
    expect((await send("POST", { cookie, host: "gateway.local:8080", origin: "http://gateway.local:8081" })).status).toBe(403);
    expect((await send("POST", { cookie, host: "gateway.local:8080", origin: "http://gateway.local:8080", "sec-fetch-site": "same-site" })).status).toBe(403);
    expect((await send("POST", { cookie, host: "gateway.local:8080", origin: "http://gateway.local:8080", "sec-fetch-site": "same-origin" })).status).toBe(200);
    // Behind a TLS proxy the page's origin is https while the gateway sees http: the host decides.
    expect((await send("POST", { cookie, host: "gateway.local:8080", origin: "https://gateway.local:8080" })).status).toBe(200);
    // A proxy that rewrites Host passes the original in X-Forwarded-Host; another origin still fails either way.
    expect((await send("POST", { cookie, host: "127.0.0.1:8080", "x-forwarded-host": "llm.example.com", origin: "https://llm.example.com" })).status).toBe(200);
    expect((await send("POST", { cookie, host: "127.0.0.1:8080", "x-forwarded-host": "llm.example.com", origin: "https://evil.example" })).status).toBe(403);
  });

  test("reads by cookie need no Origin; bearer changes are unaffected by Origin", async () => {
    expect((await send("GET", { cookie, host: "gateway.local:8080" })).status).toBe(200);
    expect((await send("POST", { authorization: `Bearer ${ADMIN}`, origin: "https://evil.example" })).status).toBe(200);
    expect((await send("POST", { origin: "https://evil.example" })).status).toBe(401);
  });
});
