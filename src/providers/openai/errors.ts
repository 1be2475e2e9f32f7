// Maps an OpenAI-compatible provider's error answer to a gateway failure per the contract's status table.
import { GatewayError, upstreamFailed } from "../../openai/errors.ts";
import { parseJsonSafe, retryAfterSeconds } from "../http.ts";

interface OpenAIErrorFields {
  message?: string;
  type?: string;
  code?: string | null;
  param?: string | null;
}

/** Reads `{"error":{message,type,code,param}}` (OpenAI, vLLM, Groq…) or `{"error":"text"}` (some servers). */
export function readOpenAIError(text: string): OpenAIErrorFields {
  const body = parseJsonSafe(text);
  if (!body || typeof body !== "object") return {};
  const e = (body as { error?: unknown }).error;
  if (typeof e === "string") return { message: e };
  if (!e || typeof e !== "object") {
    const detail = (body as { detail?: unknown; message?: unknown }).detail ?? (body as { message?: unknown }).message;
    return typeof detail === "string" ? { message: detail } : {};
  }
  const f = e as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === "string" ? v : undefined);
  return {
    message: str(f.message),
    type: str(f.type),
    code: str(f.code) ?? (typeof f.code === "number" ? String(f.code) : null),
    param: str(f.param) ?? null,
  };
}

export function mapOpenAIError(status: number, text: string, headers: Headers): GatewayError {
  if (status === 401 || status === 403) {
    // The provider's message about our credentials is not the client's business (and may quote the key).
    return upstreamFailed(`The provider rejected the gateway's credentials (status ${status}).`, { retryable: false });
  }
  if (status === 429) {
    return new GatewayError("upstream_client_error", "The provider is rate limiting requests; retry later.", {
      status: 429,
      retryable: true,
      retryAfter: retryAfterSeconds(headers),
    });
  }
  if (status >= 500 || status < 400) return upstreamFailed(`The provider failed (status ${status}).`);
  const f = readOpenAIError(text);
  return new GatewayError("upstream_client_error", f.message ?? `The provider rejected the request (status ${status}).`, {
    status,
    type: f.type ?? "invalid_request_error",
    code: f.code ?? null,
    param: f.param ?? null,
    retryable: status === 408 || status === 409,
  });
}
