// Maps Vertex errors: Google's error bodies (auth, quota, Gemini) or Anthropic's own (Claude's rawPredict passes them through).
import type { GatewayError } from "../../openai/errors.ts";
import { parseJsonSafe, retryAfterSeconds } from "../http.ts";
import { mapAnthropicFailure, readAnthropicError } from "../anthropic/errors.ts";
import { geminiError } from "../gemini/errors.ts";

/**
 * Vertex answers for itself in Google's format (401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 429 RESOURCE_EXHAUSTED
 * for quota, 404 for an unknown model) and relays Claude's own errors in Anthropic's; each is mapped by its own table,
 * which never echoes a credential message.
 */
export function mapVertexError(status: number, text: string, headers: Headers): GatewayError {
  const body = parseJsonSafe(text);
  // Anthropic's errors have `error.type`; Google's have `error.code` and `error.status` and no type.
  const anthropic = readAnthropicError(body);
  return anthropic ? mapAnthropicFailure(status, anthropic, retryAfterSeconds(headers)) : geminiError(status, body, headers);
}
