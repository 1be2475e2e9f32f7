// GET /health/providers: every deployment's breaker state, recent errors and latency, behind the admin key.
import { timingSafeEqual } from "node:crypto";
import { Elysia } from "elysia";
import type { Config } from "../config/schema.ts";
import { unauthorized } from "../openai/errors.ts";
import type { Router } from "../routing/router.ts";
import { stateOf } from "./context.ts";

const sha256 = (s: string): Buffer => {
  const h = new Bun.CryptoHasher("sha256");
  h.update(s);
  return h.digest() as Buffer;
};

/** The admin key's digest, from `server.admin_key` or `server.admin_key_sha256`; none means the page is closed to all. */
function adminDigest(config: Config): Buffer | null {
  const { admin_key, admin_key_sha256 } = config.server;
  if (admin_key !== undefined) return sha256(admin_key);
  if (admin_key_sha256 !== undefined) return Buffer.from(admin_key_sha256.toLowerCase(), "hex");
  return null;
}

export function adminRoutes(config: Config, router: Router) {
  const digest = adminDigest(config);
  const authorize = (header: string | null) => {
    if (!digest) throw unauthorized("No admin key is configured (server.admin_key or server.admin_key_sha256).");
    const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    // Digests have equal length, so the compare is constant-time whatever was sent.
    if (!m || !timingSafeEqual(sha256(m[1]!), digest)) throw unauthorized("Missing or incorrect admin key.");
  };
  return new Elysia({ name: "api.admin" }).get(
    "/health/providers",
    ({ request }) => {
      authorize(request.headers.get("authorization"));
      const headers: Record<string, string> = { "content-type": "application/json", "cache-control": "no-store" };
      const id = stateOf(request)?.id;
      if (id) headers["x-request-id"] = id;
      return new Response(JSON.stringify({ object: "list", data: router.health() }), { headers });
    },
    { detail: { summary: "Deployment health (admin key)", description: "State (healthy, cooling_down with its end, probing), recent errors and latency of every deployment." } },
  );
}
