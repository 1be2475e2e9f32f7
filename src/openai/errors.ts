// Typed gateway failures and the one mapping from a failure to HTTP status, headers and OpenAI error body.
import type { ErrorBody } from "./schemas.ts";
import { redact } from "../config/secrets.ts";

export type ErrorKind =
  | "invalid_request"
  | "unauthorized"
  | "model_not_allowed"
  | "model_not_found"
  | "route_not_found"
  | "method_not_allowed"
  | "request_too_large"
  | "rate_limited"
  | "upstream_client_error"
  | "upstream_failed"
  | "upstream_timeout"
  | "client_closed"
  | "limits_unavailable"
  | "provider_busy"
  | "shutting_down"
  | "budget_exceeded"
  | "price_unknown"
  | "not_found"
  | "conflict"
  | "cross_site"
  | "store_unavailable"
  | "host_not_allowed"
  | "internal";

export interface GatewayErrorInit {
  param?: string | null;
  /** Provider-supplied status for `upstream_client_error` (a 4xx the client should see as-is). */
  status?: number;
  type?: string;
  code?: string | null;
  headers?: Record<string, string>;
  /** Whether another attempt (same or other target) may succeed: read by routing, never by the mapping. */
  retryable?: boolean;
  /** Seconds the provider asked us to wait, when it said so. */
  retryAfter?: number;
  /** Which of the key's limits refused the request (switchboard_rejections_total's `reason`). */
  rejection?: "rpm" | "tpm" | "concurrency" | "budget";
  cause?: unknown;
}

/** A failure with a known meaning. Anything else that reaches the error handler is a bug (500). */
export class GatewayError extends Error {
  readonly kind: ErrorKind;
  readonly param: string | null;
  readonly init: GatewayErrorInit;
  constructor(kind: ErrorKind, message: string, init: GatewayErrorInit = {}) {
    // Redacted at birth: a provider's text reaches clients and logs only through here (or a passed-through stream).
    super(redact(message), init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "GatewayError";
    this.kind = kind;
    this.param = init.param ?? null;
    if (init.headers) {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(init.headers)) headers[k] = redact(v);
      init = { ...init, headers };
    }
    this.init = init;
  }
  get retryable(): boolean {
    return this.init.retryable ?? false;
  }
}

export const invalidRequest = (message: string, param: string | null = null) =>
  new GatewayError("invalid_request", message, { param });
export const unauthorized = (message = "Incorrect or missing API key. Send it as 'Authorization: Bearer <key>'.") =>
  new GatewayError("unauthorized", message);
export const modelNotAllowed = (model: string) =>
  new GatewayError("model_not_allowed", `This API key is not allowed to use the model '${model}'.`, { param: "model" });
export const modelNotFound = (model: string) =>
  new GatewayError("model_not_found", `The model '${model}' does not exist or you do not have access to it.`, { param: "model" });
export const routeNotFound = (method: string, path: string) =>
  new GatewayError("route_not_found", `Invalid URL (${method} ${path}).`);
/** A known path asked with a method it does not take; `allow` lists the ones it does. */
export const methodNotAllowed = (method: string, path: string, allow: readonly string[]) =>
  new GatewayError("method_not_allowed", `Invalid method for URL (${method} ${path}); this URL takes ${allow.join(", ")}.`, { headers: { allow: allow.join(", ") } });
export const requestTooLarge = (limitBytes: number) =>
  new GatewayError("request_too_large", `Request body is larger than the limit of ${limitBytes} bytes.`);
export const rateLimited = (message: string, retryAfterSeconds: number, headers: Record<string, string> = {}, rejection?: GatewayErrorInit["rejection"]) =>
  new GatewayError("rate_limited", message, { retryAfter: Math.max(1, Math.ceil(retryAfterSeconds)), headers, rejection });
export const upstreamFailed = (message: string, init: GatewayErrorInit = {}) =>
  new GatewayError("upstream_failed", message, { retryable: true, ...init });
/** The shared rate-limit store cannot be reached and `rate_limit.on_store_error` is `deny`. */
export const storeUnavailable = (headers: Record<string, string> = {}) =>
  new GatewayError("limits_unavailable", "Rate limits cannot be checked right now (the rate-limit store is unreachable). Retry shortly.", { retryAfter: 1, headers });
export const notFound = (message: string, param: string | null = null) => new GatewayError("not_found", message, { param });
export const conflict = (message: string, param: string | null = null) => new GatewayError("conflict", message, { param });
/** A change to the admin API carried by the dashboard's session cookie but sent from another site's page. */
export const crossSite = () =>
  new GatewayError("cross_site", "This change was sent from another site's page with the dashboard's session cookie, and is refused. Use the dashboard at /ui, or send 'Authorization: Bearer <admin key>'.");
export const clientClosed = () => new GatewayError("client_closed", "The client closed the request.");
export const upstreamTimeout = (ms: number) =>
  new GatewayError("upstream_timeout", `The provider did not answer within ${ms} ms.`, { retryable: true });

interface Mapped {
  status: number;
  type: string;
  code: string | null;
}

const fixed: Record<Exclude<ErrorKind, "upstream_client_error">, Mapped> = {
  invalid_request: { status: 400, type: "invalid_request_error", code: null },
  unauthorized: { status: 401, type: "invalid_request_error", code: "invalid_api_key" },
  model_not_allowed: { status: 403, type: "permission_error", code: "model_not_allowed" },
  model_not_found: { status: 404, type: "invalid_request_error", code: "model_not_found" },
  // As OpenAI answers an unknown URL: no code (model_not_found would send clients looking for a model).
  route_not_found: { status: 404, type: "invalid_request_error", code: null },
  method_not_allowed: { status: 405, type: "invalid_request_error", code: null },
  request_too_large: { status: 413, type: "invalid_request_error", code: "request_too_large" },
  rate_limited: { status: 429, type: "rate_limit_error", code: "rate_limit_exceeded" },
  upstream_failed: { status: 502, type: "upstream_error", code: null },
  upstream_timeout: { status: 504, type: "timeout_error", code: null },
  // Never sent (nobody is listening); 499 is what the request log records, as nginx does.
  client_closed: { status: 499, type: "client_closed", code: null },
  // Not in the contract's table: neither the key's limit nor a provider's, so not a 429; 503 is what clients retry.
  limits_unavailable: { status: 503, type: "server_error", code: "rate_limit_store_unavailable" },
  // A provider's max_concurrent is full and the wait in line ran out: the gateway protecting it, not its failure.
  provider_busy: { status: 503, type: "server_error", code: "provider_busy" },
  shutting_down: { status: 503, type: "server_error", code: "server_shutting_down" },
  // A budget is not a rate limit: OpenAI's own "out of credit" answer, which SDKs do not retry (see below).
  budget_exceeded: { status: 429, type: "insufficient_quota", code: "budget_exceeded" },
  price_unknown: { status: 400, type: "invalid_request_error", code: "price_unknown" },
  // Admin API: an unknown key id; a change the resource refuses (a config key, a taken name, a revoked key).
  not_found: { status: 404, type: "invalid_request_error", code: "not_found" },
  conflict: { status: 409, type: "invalid_request_error", code: "conflict" },
  cross_site: { status: 403, type: "permission_error", code: "cross_site_request" },
  // The control plane's store (SQLite or PostgreSQL) cannot take the call now: unreachable, locked, full. Retryable.
  store_unavailable: { status: 503, type: "server_error", code: "store_unavailable" },
  // The request's Host is not one this gateway answers (server.allowed_hosts): a DNS-rebinding page, or a misroute.
  host_not_allowed: { status: 403, type: "permission_error", code: "host_not_allowed" },
  internal: { status: 500, type: "server_error", code: null },
};

function mapping(err: GatewayError): Mapped {
  if (err.kind !== "upstream_client_error") return fixed[err.kind];
  const { status = 400, type = "invalid_request_error", code = null } = err.init;
  if (status === 429) return { status, type: "rate_limit_error", code: code ?? "rate_limit_exceeded" };
  return { status, type, code };
}

export function errorBody(err: GatewayError): ErrorBody {
  const m = mapping(err);
  return { error: { message: err.message, type: m.type, param: err.param, code: m.code } };
}

/** The one place a failure becomes an HTTP answer. Unknown errors become a generic 500 with no internals. */
export function toErrorResponse(err: unknown, extraHeaders?: Record<string, string>): Response {
  const g = err instanceof GatewayError ? err : new GatewayError("internal", "The gateway hit an internal error.");
  const m = mapping(g);
  const headers: Record<string, string> = { "content-type": "application/json", ...extraHeaders, ...g.init.headers };
  if (g.kind === "budget_exceeded") {
    // Retrying cannot help until the window resets (maybe weeks away); the OpenAI SDKs obey this header and would
    // otherwise sleep out any Retry-After we sent.
    headers["x-should-retry"] = "false";
  } else if (m.status === 429 || g.init.retryAfter !== undefined) {
    headers["retry-after"] = String(Math.max(1, Math.ceil(g.init.retryAfter ?? 1)));
  }
  return new Response(JSON.stringify(errorBody(g)), { status: m.status, headers });
}

export function statusOf(err: unknown): number {
  return err instanceof GatewayError ? mapping(err).status : 500;
}
