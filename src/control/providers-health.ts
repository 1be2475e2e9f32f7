// GET /health/providers: every deployment's breaker state, recent errors and latency, behind the admin key.
import { Elysia } from "elysia";
import type { Router } from "../routing/router.ts";
import type { AuthHook } from "../http/auth.ts";
import { stateOf } from "../http/request-state.ts";

/** `router` gives the running router (a reload replaces it). */
export function adminRoutes(router: () => Router, admin: AuthHook) {
  return new Elysia({ name: "api.admin" }).get(
    "/health/providers",
    ({ request }) => {
      const headers: Record<string, string> = { "content-type": "application/json", "cache-control": "no-store" };
      const id = stateOf(request)?.id;
      if (id) headers["x-request-id"] = id;
      return new Response(JSON.stringify({ object: "list", data: router().health() }), { headers });
    },
    {
      beforeHandle: admin,
      detail: { summary: "Deployment health (admin key)", description: "State (healthy, cooling_down with its end, probing), recent errors and latency of every deployment." },
    },
  );
}
