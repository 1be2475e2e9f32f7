// GET /ui: the dashboard page and its files under a strict CSP; /ui/session: sign-in with the admin key (→ session cookie), session check, sign-out.
import { Elysia } from "elysia";
import type { Config } from "../../config/schema.ts";
import { adminKeyOf, type AdminKey } from "../../http/auth.ts";
import { crossSite, invalidRequest, routeNotFound, unauthorized } from "../../openai/errors.ts";
import { isSameOrigin, servedOverHttps, type Sessions } from "../../http/sessions.ts";
import { readJsonBody } from "../../http/body.ts";
import { pathOf } from "../../http/request-state.ts";
import { ASSETS_PREFIX, dashboardAssets } from "./assets.ts";
import { PAGE_CSP } from "../../http/page-security.ts";

/** The client-side routes: each serves the same page, which draws the view its path names. */
export const DASHBOARD_PAGES = ["/ui", "/ui/", "/ui/overview", "/ui/keys", "/ui/usage", "/ui/providers"] as const;

export const DASHBOARD_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": PAGE_CSP,
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
};

const NO_STORE = { ...DASHBOARD_HEADERS, "cache-control": "no-store" };
// Asset names carry a content hash: a new build is a new name.
const IMMUTABLE = { ...DASHBOARD_HEADERS, "cache-control": "public, max-age=31536000, immutable" };

const json = (body: unknown, status: number, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { ...NO_STORE, "content-type": "application/json", ...headers } });

export interface DashboardDeps {
  config: Config;
  /** The admin key sign-in checks against (default: the config's, fixed); a reload may change it. */
  adminKey?: AdminKey;
  sessions: Sessions;
  /** Largest body read (server.body_limit_bytes). */
  bodyLimit: number;
}

export function dashboardRoutes({ config, sessions, bodyLimit, adminKey = adminKeyOf(config) }: DashboardDeps) {
  const hide = { detail: { hide: true } };
  const pageHandler = async () => new Response((await dashboardAssets()).html, { headers: { ...NO_STORE, "content-type": "text/html; charset=utf-8" } });

  const app = new Elysia({ name: "api.dashboard" });
  // Elysia's route methods register on the instance itself.
  for (const path of DASHBOARD_PAGES) app.get(path, pageHandler, hide);
  return app
    .get(
      `${ASSETS_PREFIX}:file`,
      async ({ params, request }) => {
        const asset = (await dashboardAssets()).files.get(params.file);
        if (!asset) throw routeNotFound(request.method, pathOf(request.url));
        return new Response(asset.body, { headers: { ...IMMUTABLE, "content-type": asset.type } });
      },
      hide,
    )
    .get(
      "/ui/session",
      ({ request }) => {
        // 200 either way: the page asks this at every load, and a browser reports every 401 as a console error.
        const token = sessions.tokenFrom(request.headers.get("cookie"));
        return json({ signed_in: token !== null && sessions.check(token), idle_timeout_s: Math.round(sessions.idleMs / 1000) }, 200);
      },
      hide,
    )
    .post(
      "/ui/session",
      async ({ request }) => {
        // A sign-in from another site's page would sign the browser into the attacker's session (login CSRF).
        if (!isSameOrigin(request)) throw crossSite();
        const body = await readJsonBody(request, bodyLimit);
        const key = body.admin_key;
        if (typeof key !== "string" || key.length === 0) throw invalidRequest("Send the admin key as a non-empty string in 'admin_key'.", "admin_key");
        if (!adminKey.digest()) throw unauthorized("No admin key is configured (server.admin_key or server.admin_key_sha256).");
        if (!adminKey.matches(key)) throw unauthorized("Incorrect admin key.");
        const token = sessions.create();
        return json({ signed_in: true, idle_timeout_s: Math.round(sessions.idleMs / 1000) }, 200, { "set-cookie": sessions.cookie(token, servedOverHttps(request)) });
      },
      hide,
    )
    .delete(
      "/ui/session",
      ({ request }) => {
        if (!isSameOrigin(request)) throw crossSite();
        const token = sessions.tokenFrom(request.headers.get("cookie"));
        if (token !== null) sessions.destroy(token);
        return new Response(null, { status: 204, headers: { ...NO_STORE, "set-cookie": sessions.clearCookie(servedOverHttps(request)) } });
      },
      hide,
    );
}
