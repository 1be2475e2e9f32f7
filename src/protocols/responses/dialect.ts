// How the Responses API writes failures: OpenAI's error answer, and an `error` event to end a stream cut from outside.
import { errorBody, toErrorResponse, type GatewayError } from "../../openai/errors.ts";
import type { ErrorDialect } from "../../pipeline/dialect.ts";

const encoder = new TextEncoder();

/**
 * A stream the gateway itself must end (a shutdown's drain window ran out) gets OpenAI's `error` event: its `type`,
 * `code`, `message` and `param`, plus the `error` object OpenAI's SDKs raise as an APIError. Failures of the provider
 * are not this: the stream translator ends those with response.failed, in sequence.
 */
export const RESPONSES_ERRORS: ErrorDialect = {
  response: toErrorResponse,
  streamError(err: GatewayError) {
    const { error } = errorBody(err);
    const event = { type: "error", code: error.code ?? error.type, message: error.message, param: error.param, error };
    return encoder.encode(`event: error\ndata: ${JSON.stringify(event)}\n\n`);
  },
};
