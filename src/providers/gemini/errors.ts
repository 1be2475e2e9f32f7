// Maps Google API error bodies (`{"error":{code,message,status,details}}`) to gateway failures per the contract.
import { GatewayError, upstreamFailed } from "../../openai/errors.ts";
import { parseJsonSafe, retryAfterSeconds } from "../http.ts";
import { isObj } from "../shared/json.ts";

interface GoogleError {
  code?: number;
  message?: string;
  status?: string;
  details: Record<string, unknown>[];
}


/** Reads a Google error body; the streaming endpoint without `alt=sse` wraps it in an array, so accept both. */
export function readGoogleError(body: unknown): GoogleError | undefined {
  const outer = Array.isArray(body) ? body[0] : body;
  if (!isObj(outer) || !isObj(outer.error)) return undefined;
  const e = outer.error;
  return {
    code: typeof e.code === "number" ? e.code : undefined,
    message: typeof e.message === "string" ? e.message : undefined,
    status: typeof e.status === "string" ? e.status : undefined,
    details: Array.isArray(e.details) ? e.details.filter(isObj) : [],
  };
}

/** Google reports a bad key as 400 INVALID_ARGUMENT; only the ErrorInfo reason tells it from a bad request. */
const CREDENTIAL_REASONS = /^(API_KEY_|SERVICE_DISABLED$|CONSUMER_INVALID$|ACCESS_TOKEN_)/;

function isCredentialFailure(status: number, e: GoogleError | undefined): boolean {
  if (status === 401 || status === 403) return true;
  if (!e) return false;
  if (e.status === "UNAUTHENTICATED" || e.status === "PERMISSION_DENIED") return true;
  if (e.details.some((d) => typeof d.reason === "string" && CREDENTIAL_REASONS.test(d.reason))) return true;
  // Belt and braces: a message about the API key is never the client's business.
  return /api[ _-]?key/i.test(e.message ?? "");
}

/** `RetryInfo.retryDelay` is a protobuf Duration in JSON ("34.4s"): whole seconds, rounded up. */
export function retryDelaySeconds(e: GoogleError | undefined): number | undefined {
  const info = e?.details.find((d) => typeof d["@type"] === "string" && d["@type"].endsWith("google.rpc.RetryInfo"));
  const m = typeof info?.retryDelay === "string" ? /^(\d+(?:\.\d+)?)s$/.exec(info.retryDelay) : null;
  return m ? Math.max(1, Math.ceil(Number(m[1]))) : undefined;
}

/** The one mapping, from an HTTP status (or an error event's `code`) and the parsed body. */
export function geminiError(status: number, body: unknown, headers: Headers = new Headers()): GatewayError {
  const e = readGoogleError(body);
  if (isCredentialFailure(status, e)) {
    // Never echo Google's message: it concerns the gateway's key, and may quote part of it.
    return upstreamFailed(`The provider rejected the gateway's credentials (status ${status}).`, { retryable: false });
  }
  const what = e?.message ?? `status ${status}`;
  if (status === 429 || e?.status === "RESOURCE_EXHAUSTED") {
    return new GatewayError("upstream_client_error", `The provider is rate limiting requests: ${what}`, {
      status: 429,
      retryable: true,
      retryAfter: retryDelaySeconds(e) ?? retryAfterSeconds(headers),
    });
  }
  if (status >= 500 || status < 400) {
    return upstreamFailed(`The provider failed (${status}${e?.status ? ` ${e.status}` : ""}): ${what}`);
  }
  // INVALID_ARGUMENT, FAILED_PRECONDITION, NOT_FOUND, …: the client's request, its status and Google's words.
  return new GatewayError("upstream_client_error", e?.message ?? `The provider rejected the request (status ${status}).`, {
    status,
    type: "invalid_request_error",
    code: e?.status ? e.status.toLowerCase() : null,
    retryable: false,
  });
}

/** ErrorMapper for upstreamFetch: a non-2xx answer from the Generative Language API. */
export function mapGeminiError(status: number, text: string, headers: Headers): GatewayError {
  return geminiError(status, parseJsonSafe(text), headers);
}

/** An `{"error":…}` object sent inside a stream: its `code` stands in for the HTTP status. */
export function geminiStreamError(body: unknown): GatewayError {
  const code = readGoogleError(body)?.code;
  return geminiError(code !== undefined && code >= 400 && code < 600 ? code : 500, body);
}
