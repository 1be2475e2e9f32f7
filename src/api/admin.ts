// GET /health/providers: every deployment's breaker state, recent errors and latency, behind the admin key.
import { timingSafeEqual } from "node:crypto";
import { Elysia } from "elysia";
import { bearerToken, configuredDigest, sha256 } from "../auth/keys.ts";
import type { Config } from "../config/schema.ts";
import { unauthorized } from "../openai/errors.ts";
import type { Router } from "../routing/router.ts";
import { stateOf } from "./context.ts";

export function adminRoutes(config: Config, router: Router) {
  // No admin key configured means the page is closed to all.
  const digest = configuredDigest(config.server.admin_key, config.server.admin_key_sha256);
  const authorize = (header: string | null) => {
    if (!digest) throw unauthorized("No admin key is configured (server.admin_key or server.admin_key_sha256).");
    const token = bearerToken(header);
    // Digests have equal length, so the compare is constant-time whatever was sent.
    if (!token || !timingSafeEqual(sha256(token), digest)) throw unauthorized("Missing or incorrect admin key.");
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
