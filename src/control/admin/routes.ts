// The /admin/v1 API behind the admin key (mounted only when one is configured: otherwise the whole prefix is a 404).
import { Elysia } from "elysia";
import type { AuthHook } from "../../http/auth.ts";
import type { PriceTable } from "../../costs/prices.ts";
import { keyRoutes, type AdminDeps } from "./keys.ts";
import { usageRoutes } from "./usage.ts";
import { seriesRoutes } from "./series.ts";
import { reloadRoutes, type ReloadResult } from "./reload.ts";
import { guardStore } from "./store-guard.ts";

export function adminApi(deps: AdminDeps & { prices: PriceTable; admin: AuthHook; reload: () => Promise<ReloadResult> }) {
  // The same deps (their getters read the running config) with a store whose failures are 503s naming it.
  const d: typeof deps = Object.create(deps, { store: { value: guardStore(deps.store) } });
  return new Elysia({ name: "admin.v1", prefix: "/admin/v1" })
    .guard({ beforeHandle: d.admin, detail: { tags: ["admin"], security: [{ bearer: [] }] } }, (g) => g.use(keyRoutes(d)).use(usageRoutes(d)).use(seriesRoutes(d)).use(reloadRoutes(d.reload)));
}
