// GET /metrics: Prometheus text format, open unless metrics.key is set (then Bearer metrics.key).
import { timingSafeEqual } from "node:crypto";
import { Elysia } from "elysia";
import { bearerToken, sha256 } from "../auth/keys.ts";
import { unauthorized } from "../openai/errors.ts";
import type { GatewayMetrics } from "../observability/metrics.ts";

/** `key` gives the running config's metrics.key (a reload may set, change or remove it). */
export function metricsRoutes(metrics: GatewayMetrics, key: () => string | undefined) {
  const check = ({ request }: { request: Request }) => {
    const k = key();
    if (k === undefined) return;
    const digest = sha256(k);
    const token = bearerToken(request.headers.get("authorization"));
    // Digests have equal length, so the compare is constant-time whatever was sent.
    if (!token || !timingSafeEqual(sha256(token), digest)) throw unauthorized("Missing or incorrect metrics key (metrics.key).");
  };
  return new Elysia({ name: "api.metrics" }).get(
    "/metrics",
    async () => new Response(await metrics.scrape(), { headers: { "content-type": metrics.contentType, "cache-control": "no-store" } }),
    {
      beforeHandle: check,
      detail: {
        summary: "Prometheus metrics",
        description: "Requests, latencies, tokens, cost, refusals, upstream attempts, deployment cool-downs and process metrics. `Authorization: Bearer <metrics.key>` when one is configured.",
      },
    },
  );
}
