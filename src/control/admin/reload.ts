// POST /admin/v1/reload: re-reads the config file; 200 once the new config serves, 400 naming the invalid field while the old one stays.
import { Elysia } from "elysia";
import { invalidRequest } from "../../openai/errors.ts";
import { json } from "./respond.ts";

export type ReloadResult =
  | { ok: true; changes: string; restartNeeded: string[] }
  /** `message` is the start-up's own (`invalid config: models[1].provider: …`); `field` what it names. */
  | { ok: false; message: string; field: string | null };

export function reloadRoutes(reload: () => Promise<ReloadResult>) {
  return new Elysia({ name: "admin.reload" }).post(
    "/reload",
    async () => {
      const r = await reload();
      if (!r.ok) throw invalidRequest(r.message, r.field);
      return json({ status: "reloaded", changes: r.changes, restart_needed: r.restartNeeded });
    },
    { detail: { summary: "Reload the config file", description: "Re-reads the config file (and the environment variables it names) and swaps it in: requests in flight finish on the old config. 400 naming the invalid field, the running config untouched." } },
  );
}
