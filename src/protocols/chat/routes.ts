// POST /chat/completions: read and validate the request, run it on the pipeline, write JSON or SSE.
import { Elysia } from "elysia";
import type { AuthHook } from "../../http/auth.ts";
import { parseChatRequest } from "../../http/validate.ts";
import { ChatCompletionSchema, ChatRequestSchema, ErrorBodySchema } from "../../openai/schemas.ts";
import type { ModelDeps } from "../../pipeline/deps.ts";
import { OPENAI_ERRORS } from "../../pipeline/dialect.ts";
import { beginModelCall, callOf, type ModelCall } from "../../pipeline/model-call.ts";
import { withModelParams } from "../../pipeline/model-params.ts";
import { chatSizing } from "../../pipeline/sizing.ts";
import { withoutUsageChunk } from "./usage-chunk.ts";
import { rawOf } from "../../providers/shared/raw-answer.ts";

// The OpenAPI request body, from the same TypeBox schema the handler validates with (TypeBox schemas are JSON Schema).
const chatBodyDoc = { required: true, content: { "application/json": { schema: JSON.parse(JSON.stringify(ChatRequestSchema)) as object } } };

export function chatRoutes(prefix: string, current: () => ModelDeps, auth: AuthHook) {
  return new Elysia({ name: `api.chat${prefix}`, prefix }).post(
    "/chat/completions",
    // The body is read and validated by the handler (strict, size-capped); Elysia only documents it.
    ({ request, server }) => handleChat(callOf(request, server)),
    {
      beforeHandle: [beginModelCall("chat.completions", current, OPENAI_ERRORS), auth],
      response: { 200: ChatCompletionSchema, 400: ErrorBodySchema, 401: ErrorBodySchema, 404: ErrorBodySchema, 429: ErrorBodySchema, 502: ErrorBodySchema, 503: ErrorBodySchema, 504: ErrorBodySchema },
      detail: {
        requestBody: chatBodyDoc,
        summary: "Create a chat completion",
        description: "OpenAI-compatible. With `stream: true` the answer is Server-Sent Events of chat.completion.chunk objects ending with `data: [DONE]`.",
      },
    },
  );
}

async function handleChat(call: ModelCall): Promise<Response> {
  const raw = await call.readJson();
  // The event of a request refused by validation still names the model it asked for, when it named one.
  call.asked(raw.model, raw.stream === true);
  const parsed = parseChatRequest(raw);
  const stream = parsed.stream === true;
  const route = call.resolve(parsed.model, stream);
  const body = withModelParams(parsed, route.model);
  call.requested(body);
  await call.admit(chatSizing(body));
  if (!stream) {
    const routed = await call.whole((p, d, ctx) => p.complete(body, d, ctx));
    // An OpenAI-type provider's own bytes when it kept them (nothing re-encoded), else the translated answer encoded.
    return call.answer(routed, rawOf(routed.result) ?? JSON.stringify(routed.result), routed.result.usage ?? null);
  }
  const routed = await call.stream((p, d, ctx) => p.stream(body, d, ctx));
  // Usage is always asked of the provider (limits settle on it); a client that opted out just does not get the chunk.
  return call.streamAnswer(routed, body.stream_options?.include_usage === false ? withoutUsageChunk : undefined);
}
