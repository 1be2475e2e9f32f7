// GET /v1/key/info (and /api/v1/key/info): the caller's own key object, so a key holder sees its limits, budget and spend.
import { Elysia } from "elysia";
import type { AuthHook } from "../http/auth.ts";
import { stateOf } from "../http/request-state.ts";
import type { Limiter } from "../limits/limiter.ts";
import type { KeySync } from "../store/key-sync.ts";
import { configKeyObject, storeKeyObject } from "./admin/key-object.ts";
import { json } from "./admin/respond.ts";

export function keyInfoRoutes(prefix: string, d: { auth: AuthHook; sync: KeySync | null; limiter: Limiter; now: () => number }) {
  return new Elysia({ name: `api.key-info${prefix}`, prefix }).get(
    "/key/info",
    async ({ request }) => {
      const p = stateOf(request)!.principal!;
      const stored = p.source === "api" ? d.sync?.byId().get(p.id) : undefined;
      const body = stored ? await storeKeyObject(stored, d.limiter, d.now()) : await configKeyObject(p, d.limiter, d.now());
      const res = json(body);
      res.headers.set("x-request-id", stateOf(request)!.id);
      return res;
    },
    { beforeHandle: d.auth, detail: { summary: "The calling key's own limits, budget and spend (never its secret)" } },
  );
}
