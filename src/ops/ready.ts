// GET /health/ready: 200 when the store takes a write, Redis (when configured) answers and the usage ledger is being written; 503 naming what is down. No auth, no details.
import { Elysia, t } from "elysia";
import type { Logger } from "../observability/log.ts";

/** One dependency the gateway needs to serve: asked on every probe. */
export interface ReadinessCheck {
  name: string;
  ping(): Promise<void>;
}

/** A probe never hangs on a dependency that accepts and never answers. */
const PROBE_TIMEOUT_MS = 2000;

function within(p: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

export function readyRoutes(checks: () => readonly ReadinessCheck[], logger: Logger) {
  // Logged when a dependency goes down or comes back, not on every probe (a load balancer probes every few seconds).
  const downNow = new Set<string>();
  return new Elysia({ name: "api.ready" }).get(
    "/health/ready",
    async () => {
      const list = checks();
      const results = await Promise.all(list.map((c) => within(c.ping(), PROBE_TIMEOUT_MS).then(() => null, (e: unknown) => (e instanceof Error ? e.message : String(e)))));
      const down: string[] = [];
      list.forEach((c, i) => {
        const error = results[i];
        if (error !== null) {
          down.push(c.name);
          // The cause stays in the log: the probe is unauthenticated and must not show internal addresses.
          if (!downNow.has(c.name)) logger.error("readiness: a dependency does not answer", { dependency: c.name, error });
          downNow.add(c.name);
        } else if (downNow.delete(c.name)) logger.info("readiness: a dependency answers again", { dependency: c.name });
      });
      const body = down.length === 0 ? { status: "ready" } : { status: "not_ready", down };
      return new Response(JSON.stringify(body), { status: down.length === 0 ? 200 : 503, headers: { "content-type": "application/json", "cache-control": "no-store" } });
    },
    {
      response: { 200: t.Object({ status: t.Literal("ready") }), 503: t.Object({ status: t.Literal("not_ready"), down: t.Array(t.String()) }) },
      detail: { summary: "Readiness (no auth)", description: "200 when the store takes a write (not a full disk, a deleted SQLite file, a read-only database), Redis answers (with `rate_limit.store: redis`) and usage events are being written; otherwise 503 with `down` naming `store`, `redis` or `ledger`. `/health` stays pure liveness." },
    },
  );
}
