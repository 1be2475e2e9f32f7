// Maps Anthropic error answers (HTTP errors and stream `error` events) to gateway failures per the contract.
import { GatewayError, upstreamFailed } from "../../openai/errors.ts";
import { parseJsonSafe, retryAfterSeconds } from "../http.ts";

export interface AnthropicErrorFields {
  type: string;
  message: string;
}

/** Reads `{"type":"error","error":{"type","message"}}`; anything else is undefined. */
export function readAnthropicError(body: unknown): AnthropicErrorFields | undefined {
  if (!body || typeof body !== "object") return undefined;
  const e = (body as { error?: unknown }).error;
  if (!e || typeof e !== "object") return undefined;
  const { type, message } = e as { type?: unknown; message?: unknown };
  if (typeof type !== "string") return undefined;
  return { type, message: typeof message === "string" ? message : "" };
}

/** The status Anthropic documents for each error type: used when a stream `error` event carries no HTTP status. */
const STATUS_OF_TYPE: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

/**
 * One table for both paths. `retryable` means another attempt (same or another deployment) may succeed:
 * true for capacity and server failures, false for anything about this request or the gateway's account.
 */
export function mapAnthropicFailure(status: number, f: AnthropicErrorFields, retryAfter?: number): GatewayError {
  // Our key or account: the provider's wording is not the client's business (it may name the key or org).
  if (status === 401 || status === 403 || status === 402 || ["authentication_error", "permission_error", "billing_error"].includes(f.type)) {
    return upstreamFailed(`The provider rejected the gateway's credentials or account (${f.type}).`, { retryable: false });
  }
  switch (status === 429 ? "rate_limit_error" : f.type) {
    case "rate_limit_error":
      return new GatewayError("upstream_client_error", "The provider is rate limiting requests; retry later.", {
        status: 429,
        retryable: true,
        retryAfter,
      });
    case "overloaded_error":
      // `type` is read only by the Messages API's error mapping (529 overloaded_error); chat answers stay 502.
      return upstreamFailed("The provider is overloaded (overloaded_error); retry later.", { retryable: true, retryAfter, type: "overloaded_error" });
    case "api_error":
      return upstreamFailed("The provider had an internal error (api_error).", { retryable: true });
    case "timeout_error":
      return new GatewayError("upstream_timeout", "The provider timed out (timeout_error).", { retryable: true });
    case "request_too_large":
      return clientError(413, f, "request_too_large");
    case "not_found_error":
      return clientError(404, f, null);
    case "invalid_request_error":
      return clientError(status >= 400 && status < 500 ? status : 400, f, null);
  }
  if (status >= 400 && status < 500 && status !== 429) return clientError(status, f, null);
  return upstreamFailed(`The provider failed (${f.type}, status ${status}).`, { retryable: true, retryAfter });
}

function clientError(status: number, f: AnthropicErrorFields, code: string | null): GatewayError {
  return new GatewayError("upstream_client_error", f.message || `The provider rejected the request (${f.type}).`, {
    status,
    type: "invalid_request_error",
    code,
    retryable: false,
  });
}

/** The ErrorMapper for upstreamFetch: a non-2xx answer from POST /v1/messages. */
export function mapAnthropicError(status: number, bodyText: string, headers: Headers): GatewayError {
  const f = readAnthropicError(parseJsonSafe(bodyText));
  if (!f) {
    if (status === 401 || status === 403) return upstreamFailed(`The provider rejected the gateway's credentials (status ${status}).`, { retryable: false });
    return upstreamFailed(`The provider answered status ${status} with an unreadable error body.`, {
      retryable: status >= 500 || status === 429 || status === 408,
    });
  }
  return mapAnthropicFailure(status, f, retryAfterSeconds(headers));
}

/** An `error` event inside a 200 stream (e.g. overloaded mid-answer): mapped by its type alone. */
export function mapAnthropicStreamError(event: unknown): GatewayError {
  const f = readAnthropicError(event);
  if (!f) return upstreamFailed("The provider sent an unreadable error event.");
  return mapAnthropicFailure(STATUS_OF_TYPE[f.type] ?? 500, f);
}
