// The model routes' first hook: the request's telemetry (metrics recorder, and its span when traces are on), before auth refuses anything.
import type { ConfigTelemetry, Operation } from "../observability/telemetry.ts";
import { stateOf } from "./context.ts";

/** A `beforeHandle` placed before the key check, so a refused request is counted and traced like the others. */
export function observeRequest(op: Operation, current: () => { telemetry: ConfigTelemetry }) {
  return ({ request }: { request: Request }): void => {
    const s = stateOf(request)!;
    const cfg = current().telemetry;
    // The header is only read when there is a trace to continue.
    const t = cfg.request(op, s.start, cfg.obs.tracing ? request.headers.get("traceparent") : null);
    s.telemetry = t;
    const traceId = t.traceId;
    if (traceId !== undefined) s.log.trace_id = traceId;
  };
}
