// How a front door writes failures: the error answer and the final stream event, one mapping per client API.
import { toErrorResponse, type GatewayError } from "../openai/errors.ts";
import { encodeError } from "../openai/sse.ts";

export interface ErrorDialect {
  /** The error answer, before any byte of an answer was sent (status, headers and body in this API's shape). */
  response(err: unknown, headers: Record<string, string>): Response;
  /** The event that ends a stream failing after its first byte. */
  streamError(err: GatewayError): Uint8Array;
}

/** OpenAI's: chat completions, embeddings, responses. */
export const OPENAI_ERRORS: ErrorDialect = { response: toErrorResponse, streamError: encodeError };
