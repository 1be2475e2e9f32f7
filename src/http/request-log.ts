// Writes a request's one log line from its state (status, latency, key, model and what the route added) and ends its telemetry.
import type { RequestState } from "./request-state.ts";
import type { Logger, RequestLogLine } from "../observability/log.ts";

export function logRequest(logger: Logger, s: RequestState, status: number, extra?: { error?: string }): void {
  if (s.logged) return;
  s.logged = true;
  const ms = performance.now() - s.start;
  // One object, filled in place: the keys and order of the former spread of s.log and extra, without its copies.
  const line: RequestLogLine = {
    request_id: s.id,
    method: s.method,
    path: s.path,
    status,
    latency_ms: Math.round(ms * 1000) / 1000,
  };
  if (s.principal) line.key = s.principal.name;
  Object.assign(line, s.log, extra);
  // Metrics and the request's span are ended from the same line: one place where a request is over.
  s.telemetry?.end(status, ms, line);
  logger.request(line);
}
