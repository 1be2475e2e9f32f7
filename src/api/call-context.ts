// The context a model request hands routing and its provider: one builder for chat and embeddings.
import type { CallContext, StreamMeter } from "../providers/types.ts";
import type { Route } from "../routing/router.ts";
import type { ChatDeps } from "./chat.ts";
import type { RequestState } from "./context.ts";
import type { Deadline } from "./deadline.ts";
import { requestWarnings, type RequestWarnings } from "./warnings.ts";

/** The call's context and its warnings, which go on the request's log line (only when something was noted). */
export function callContext(s: RequestState, model: string, route: Route, deps: ChatDeps, deadline: Deadline, meter: StreamMeter): { ctx: CallContext; warnings: RequestWarnings } {
  const warnings = requestWarnings(route.model.unsupported_params);
  Object.defineProperty(s.log, "warnings", { enumerable: true, get: () => (warnings.all.length ? warnings.all : undefined) });
  const ctx: CallContext = {
    requestId: s.id,
    publicModel: model,
    signal: deadline.signal,
    timeoutMs: route.timeoutMs,
    now: deps.now,
    meter,
    warn: warnings.warn,
    warnings,
    maxResponseBytes: deps.config.server.max_upstream_response_bytes,
    trace: s.telemetry?.tracer,
  };
  return { ctx, warnings };
}
