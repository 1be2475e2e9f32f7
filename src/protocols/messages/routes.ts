// POST /messages and /messages/count_tokens: read and validate Anthropic's request, run it on the pipeline, answer in Anthropic's dialect.
import { Elysia } from "elysia";
import type { KeyRing } from "../../auth/keys.ts";
import { requireKey } from "../../http/auth.ts";
import type { ModelDeps } from "../../pipeline/deps.ts";
import type { ErrorDialect } from "../../pipeline/dialect.ts";
import { beginModelCall, callOf, type ModelCall } from "../../pipeline/model-call.ts";
import { encodeAnthropicStreamError, toAnthropicErrorResponse } from "./errors.ts";
import { CountTokensRequestSchema, MessagesRequestSchema } from "./schema.ts";
import type { SealKeys } from "../shared/seal-keys.ts";
import { THINKING_PURPOSE, thinkingSealer, type ThinkingSealer } from "./seal.ts";
import { messagesSizing } from "./sizing.ts";
import { countTokensLocally } from "./count.ts";
import { countTokens, forwardedHeaders, outputCapOn, streamMessage, wholeMessage, type MessagesContext } from "./targets.ts";
import { parseCountTokensRequest, parseMessagesRequest } from "./validate.ts";

/** Anthropic's: every failure on these routes, before or after the first byte. */
export const ANTHROPIC_ERRORS: ErrorDialect = { response: (err, headers) => toAnthropicErrorResponse(err, headers), streamError: encodeAnthropicStreamError };

const doc = (schema: object) => ({ required: true, content: { "application/json": { schema: JSON.parse(JSON.stringify(schema)) as object } } });

export function messagesRoutes(prefix: string, current: () => ModelDeps, keys: KeyRing, seals: SealKeys) {
  const sealer = async () => thinkingSealer(await seals.sealer(THINKING_PURPOSE));
  // Anthropic's clients send the key as x-api-key (ANTHROPIC_API_KEY) or as a bearer token (ANTHROPIC_AUTH_TOKEN).
  const auth = requireKey(keys, { apiKeyHeader: "x-api-key" });
  return new Elysia({ name: `api.messages${prefix}`, prefix })
    .post("/messages", ({ request, server }) => handleMessages(callOf(request, server), request, sealer), {
      beforeHandle: [beginModelCall("messages", current, ANTHROPIC_ERRORS), auth],
      detail: {
        requestBody: doc(MessagesRequestSchema),
        summary: "Create a message (Anthropic's Messages API)",
        description:
          "Anthropic-compatible, for every model: passed through to Anthropic-type providers, translated for the others. Key as `x-api-key` or `Authorization: Bearer`. With `stream: true` the answer is Anthropic's server-sent events.",
      },
    })
    .post("/messages/count_tokens", ({ request, server }) => handleCountTokens(callOf(request, server), request, sealer), {
      beforeHandle: [beginModelCall("count_tokens", current, ANTHROPIC_ERRORS), auth],
      detail: {
        requestBody: doc(CountTokensRequestSchema),
        summary: "Count a message's input tokens",
        description: "Anthropic's own count for Anthropic-type providers; the gateway's tokenizer for the others. Rate-limited, never charged to a budget.",
      },
    });
}

async function handleMessages(call: ModelCall, request: Request, sealerOf: () => Promise<ThinkingSealer>): Promise<Response> {
  const raw = await call.readJson();
  // The event of a request refused by validation still names the model it asked for, when it named one.
  call.asked(raw.model, raw.stream === true);
  const req = parseMessagesRequest(raw);
  const stream = req.stream === true;
  call.resolve(req.model, stream);
  call.requested({ max_tokens: req.max_tokens, temperature: req.temperature, top_p: req.top_p, stream });
  let sizing: ReturnType<typeof messagesSizing> | undefined;
  const m: MessagesContext = { req, raw, headers: forwardedHeaders(request.headers), sealer: await sealerOf(), config: call.deps.config, inputTokens: () => sizing!.promptTokens() };
  sizing = messagesSizing(req, req.max_tokens, (t) => outputCapOn(m, t.provider, t.deployment));
  await call.admit(sizing);
  if (!stream) {
    const routed = await call.whole(wholeMessage(m));
    return call.answer(routed, JSON.stringify(routed.result.body), routed.result.usage);
  }
  return call.streamAnswer(await call.stream(streamMessage(m)));
}

/** Counting reads the prompt but produces nothing: the event records the call with no tokens and no cost. */
const NOTHING_USED = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };

/**
 * Asked of the provider where it counts (Anthropic-type; the call then has its usage event, with no tokens), else
 * counted by the gateway's tokenizer and answered without a provider (no usage event: no model was called).
 */
async function handleCountTokens(call: ModelCall, request: Request, sealerOf: () => Promise<ThinkingSealer>): Promise<Response> {
  const raw = await call.readJson();
  call.asked(raw.model, false);
  const req = parseCountTokensRequest(raw);
  const route = call.resolve(req.model, false);
  // Rate limits only: a count is never charged to a budget.
  await call.admit(messagesSizing(req, 0), { budget: false });
  if (!(route.provider.speaks?.("messages", route.deployment) && route.provider.countTokens)) {
    return call.answerLocal(JSON.stringify({ input_tokens: countTokensLocally(req) }));
  }
  const routed = await call.whole(countTokens({ req, raw, headers: forwardedHeaders(request.headers), sealer: await sealerOf(), config: call.deps.config }));
  return call.answer(routed, JSON.stringify({ input_tokens: routed.result }), NOTHING_USED);
}
