// Writes a request's one log line from its state: status, latency, key, model and what the route added.
import type { RequestState } from "../api/context.ts";
import type { Logger } from "./log.ts";

export function logRequest(logger: Logger, s: RequestState, status: number, extra?: { error?: string }): void {
  if (s.logged) return;
  s.logged = true;
  logger.request({
    request_id: s.id,
    method: s.method,
    path: s.path,
    status,
    latency_ms: Math.round((performance.now() - s.start) * 1000) / 1000,
    ...(s.principal ? { key: s.principal.name } : {}),
    ...s.log,
    ...extra,
  });
}
