// The one mapping from a gateway failure to Anthropic's error answer: status, headers and {"type":"error","error":{…}}.
import { GatewayError, type ErrorKind } from "../../openai/errors.ts";

/** Anthropic's error types (its API reference, "Errors"). */
export type AnthropicErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "billing_error"
  | "permission_error"
  | "not_found_error"
  | "request_too_large"
  | "rate_limit_error"
  | "api_error"
  | "timeout_error"
  | "overloaded_error";

export interface AnthropicErrorBody {
  type: "error";
  error: { type: AnthropicErrorType; message: string };
  request_id?: string;
}

const fixed: Record<Exclude<ErrorKind, "upstream_client_error" | "upstream_failed">, { status: number; type: AnthropicErrorType }> = {
  invalid_request: { status: 400, type: "invalid_request_error" },
  unauthorized: { status: 401, type: "authentication_error" },
  model_not_allowed: { status: 403, type: "permission_error" },
  model_not_found: { status: 404, type: "not_found_error" },
  route_not_found: { status: 404, type: "not_found_error" },
  method_not_allowed: { status: 405, type: "invalid_request_error" },
  request_too_large: { status: 413, type: "request_too_large" },
  rate_limited: { status: 429, type: "rate_limit_error" },
  // Not a rate limit but out of credit: the status and type Anthropic's SDK and Claude Code know, with
  // x-should-retry: false (below) so neither retries a refusal that lasts until the budget window resets.
  budget_exceeded: { status: 429, type: "rate_limit_error" },
  upstream_timeout: { status: 504, type: "timeout_error" },
  client_closed: { status: 499, type: "api_error" },
  limits_unavailable: { status: 503, type: "api_error" },
  provider_busy: { status: 503, type: "overloaded_error" },
  shutting_down: { status: 503, type: "api_error" },
  price_unknown: { status: 400, type: "invalid_request_error" },
  not_found: { status: 404, type: "not_found_error" },
  conflict: { status: 409, type: "invalid_request_error" },
  cross_site: { status: 403, type: "permission_error" },
  store_unavailable: { status: 503, type: "api_error" },
  host_not_allowed: { status: 403, type: "permission_error" },
  internal: { status: 500, type: "api_error" },
};

const TYPE_OF_STATUS: Record<number, AnthropicErrorType> = {
  400: "invalid_request_error",
  401: "authentication_error",
  402: "billing_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
};
const ANTHROPIC_TYPES = new Set<string>(["invalid_request_error", "authentication_error", "billing_error", "permission_error", "not_found_error", "request_too_large", "rate_limit_error", "api_error", "timeout_error", "overloaded_error"]);

/** Status and Anthropic type of a failure. */
export function anthropicMapping(err: GatewayError): { status: number; type: AnthropicErrorType } {
  if (err.kind === "upstream_failed") {
    // A provider that said it is overloaded (Anthropic's overloaded_error): 529, which Anthropic's clients back off on.
    return err.init.type === "overloaded_error" ? { status: 529, type: "overloaded_error" } : { status: 502, type: "api_error" };
  }
  if (err.kind !== "upstream_client_error") return fixed[err.kind];
  const status = err.init.status ?? 400;
  // A provider's own 4xx: the type Anthropic gives its status, else the provider's type when it is one of Anthropic's.
  const own = err.init.type;
  const type = TYPE_OF_STATUS[status] ?? (own && ANTHROPIC_TYPES.has(own) ? (own as AnthropicErrorType) : "invalid_request_error");
  return { status, type };
}

export function anthropicErrorBody(err: GatewayError, requestId?: string): AnthropicErrorBody {
  const body: AnthropicErrorBody = { type: "error", error: { type: anthropicMapping(err).type, message: err.message } };
  if (requestId) body.request_id = requestId;
  return body;
}

/** Any thrown value as a gateway failure: what is not a GatewayError is a bug, answered without internals. */
export const asGatewayError = (err: unknown): GatewayError => (err instanceof GatewayError ? err : new GatewayError("internal", "The gateway hit an internal error."));

/** The Anthropic-dialect answer for a failure on /v1/messages and /v1/messages/count_tokens. */
export function toAnthropicErrorResponse(err: unknown, extraHeaders?: Record<string, string>, requestId?: string): Response {
  const g = asGatewayError(err);
  const m = anthropicMapping(g);
  const headers: Record<string, string> = { "content-type": "application/json", ...extraHeaders, ...g.init.headers };
  if (g.kind === "budget_exceeded") {
    // Anthropic's SDKs (and Claude Code, built on them) obey x-should-retry before any status rule.
    headers["x-should-retry"] = "false";
    delete headers["retry-after"];
  } else if (m.status === 429 || g.init.retryAfter !== undefined) {
    headers["retry-after"] = String(Math.max(1, Math.ceil(g.init.retryAfter ?? 1)));
  }
  return new Response(JSON.stringify(anthropicErrorBody(g, requestId)), { status: m.status, headers });
}

/** The `event: error` a stream ends with when it fails after its first byte. */
export function encodeAnthropicStreamError(err: unknown): Uint8Array {
  const g = asGatewayError(err);
  return new TextEncoder().encode(`event: error\ndata: ${JSON.stringify(anthropicErrorBody(g))}\n\n`);
}
