// The app's one error handler: whatever reached it becomes a typed failure and one answer; a model route's call finishes itself in its own dialect.
import { logRequest } from "../http/request-log.ts";
import { pathOf, stateOf } from "../http/request-state.ts";
import type { AllowedMethods } from "../http/route-table.ts";
import { validationError } from "../http/validate.ts";
import type { Limiter } from "../limits/limiter.ts";
import type { Logger } from "../observability/log.ts";
import type { GatewayMetrics } from "../observability/metrics.ts";
import { GatewayError, invalidRequest, methodNotAllowed, routeNotFound, statusOf } from "../openai/errors.ts";
import { OPENAI_ERRORS, type ErrorDialect } from "../pipeline/dialect.ts";

/** Maps whatever reached onError to a GatewayError; anything unexpected is a bug and stays a 500. */
function asGatewayError(code: unknown, error: unknown, request: Request, allowed: () => AllowedMethods): GatewayError | undefined {
  if (error instanceof GatewayError) return error;
  if (code === "VALIDATION") return validationError((error as { valueError?: Parameters<typeof validationError>[0] }).valueError);
  if (code === "PARSE") return invalidRequest("We could not parse the JSON body of your request. Send a valid JSON object.");
  if (code === "NOT_FOUND") {
    const path = pathOf(request.url);
    const allow = allowed()(path);
    return allow.length > 0 ? methodNotAllowed(request.method, path, allow) : routeNotFound(request.method, path);
  }
  return undefined;
}

export interface ErrorHandlerDeps {
  logger: Logger;
  metrics: GatewayMetrics;
  limiter: Limiter;
  /** The app's route table (for 405 and its Allow header), built once the app is assembled. */
  allowed: () => AllowedMethods;
  /**
   * The dialect of the API a path belongs to, for failures before any route's hook ran (a body declared too large, a
   * Host not allowed, a wrong method): Anthropic's clients read only Anthropic's error shape. Undefined: OpenAI's.
   */
  dialectOf: (path: string) => ErrorDialect | undefined;
}

export function errorHandler(d: ErrorHandlerDeps) {
  return async ({ code, error, request }: { code: unknown; error: unknown; request: Request }): Promise<Response> => {
    const s = stateOf(request);
    const g = asGatewayError(code, error, request, d.allowed);
    if (!g) {
      // A bug: the details go to the log with the request id, never to the client.
      d.logger.error("unhandled error", {
        request_id: s?.id,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        stack: error instanceof Error ? error.stack : undefined,
      });
    }
    // A model route's call ends itself: settles what it held, writes its event and log line, answers in its dialect.
    if (s?.call) return s.call.fail(g ?? error);
    // A body declared too large is refused before any route is chosen, so it is counted wherever it was sent.
    if (g?.kind === "request_too_large") d.metrics.rejections.validation.value++;
    const headers: Record<string, string> = {};
    if (s) {
      headers["x-request-id"] = s.id;
      if (s.principal) {
        try {
          Object.assign(headers, s.rateHeaders ?? (await d.limiter.peek(s.principal)));
        } catch {
          // Headers are informative; a store failure must not turn an error answer into another error.
        }
      }
      logRequest(d.logger, s, statusOf(g ?? error), { error: g ? `${g.kind}: ${g.message}` : "internal error" });
    }
    return (d.dialectOf(pathOf(request.url)) ?? OPENAI_ERRORS).response(g ?? error, headers);
  };
}
