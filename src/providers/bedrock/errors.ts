// Maps AWS error answers (HTTP errors and in-stream exception messages) to gateway failures; credentials are never echoed.
import { GatewayError, upstreamFailed } from "../../openai/errors.ts";
import { parseJsonSafe, retryAfterSeconds } from "../http.ts";
import { isObj } from "../shared/json.ts";

/** Errors about the gateway's AWS identity: their wording (key ids, account ids, ARNs) is never the client's business. */
const CREDENTIAL_ERRORS = new Set([
  "AccessDeniedException",
  "UnrecognizedClientException",
  "InvalidSignatureException",
  "IncompleteSignatureException",
  "ExpiredTokenException",
  "MissingAuthenticationTokenException",
  "InvalidClientTokenId",
  "SignatureDoesNotMatch",
  "UnauthorizedException",
]);

/** The status AWS documents for each Bedrock runtime error: used for exceptions inside a 200 stream. */
const STATUS_OF_TYPE: Record<string, number> = {
  AccessDeniedException: 403,
  ValidationException: 400,
  ConflictException: 400,
  ServiceQuotaExceededException: 400,
  ResourceNotFoundException: 404,
  ModelTimeoutException: 408,
  ModelErrorException: 424,
  ModelStreamErrorException: 424,
  ThrottlingException: 429,
  ModelNotReadyException: 429,
  InternalServerException: 500,
  ServiceUnavailableException: 503,
};


/**
 * The error's type: the `x-amzn-errortype` header (`ThrottlingException:http://internal.amazon.com/…`), else the
 * body's `__type` (`com.amazon.coral.service#UnrecognizedClientException`) or `code`.
 */
export function awsErrorType(headers: Headers | undefined, body: unknown): string | undefined {
  const header = headers?.get("x-amzn-errortype");
  const raw = header || (isObj(body) ? (typeof body.__type === "string" ? body.__type : typeof body.code === "string" ? body.code : undefined) : undefined);
  if (!raw) return undefined;
  return raw.split(":")[0]!.split("#").pop()!;
}

const messageOf = (body: unknown): string | undefined =>
  isObj(body) ? (typeof body.message === "string" ? body.message : typeof body.Message === "string" ? body.Message : undefined) : undefined;

/** The one mapping, from an HTTP status (or the documented one of an in-stream exception), the type and the body. */
export function bedrockFailure(status: number, type: string | undefined, body: unknown, retryAfter?: number): GatewayError {
  const t = type ?? "";
  if (CREDENTIAL_ERRORS.has(t) || status === 401 || status === 403) {
    return upstreamFailed(`The provider rejected the gateway's AWS credentials or their permissions${t ? ` (${t})` : ` (status ${status})`}.`, { retryable: false });
  }
  const message = messageOf(body);
  const what = message ? `${t || `status ${status}`}: ${message}` : t || `status ${status}`;
  if (t === "ThrottlingException" || t === "ModelNotReadyException" || t === "ServiceQuotaExceededException" || status === 429) {
    return new GatewayError("upstream_client_error", `The provider is throttling requests (${what}); retry later.`, { status: 429, retryable: true, retryAfter });
  }
  if (t === "ModelTimeoutException" || status === 408) return new GatewayError("upstream_timeout", `The provider timed out (${what}).`, { retryable: true });
  if (t === "ValidationException" || t === "ConflictException" || (status >= 400 && status < 500 && t !== "ModelErrorException" && t !== "ModelStreamErrorException")) {
    const code = status === 404 || t === "ResourceNotFoundException" ? 404 : status >= 400 && status < 500 ? status : 400;
    return new GatewayError("upstream_client_error", message ?? `The provider rejected the request (${t || `status ${status}`}).`, {
      status: code,
      type: "invalid_request_error",
      code: t ? t.replace(/Exception$/, "").replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase() : null,
      retryable: false,
    });
  }
  return upstreamFailed(`The provider failed (${what}).`, { retryable: true, retryAfter });
}

/** ErrorMapper for upstreamFetch: a non-2xx answer from bedrock-runtime. */
export function mapBedrockError(status: number, text: string, headers: Headers): GatewayError {
  const body = parseJsonSafe(text);
  return bedrockFailure(status, awsErrorType(headers, body), body, retryAfterSeconds(headers));
}

/** An exception message inside a 200 event stream (`:exception-type` `throttlingException`, …): mapped by its type. */
export function mapStreamException(type: string, payload: unknown): GatewayError {
  const t = type.charAt(0).toUpperCase() + type.slice(1);
  return bedrockFailure(STATUS_OF_TYPE[t] ?? 500, t, payload);
}
