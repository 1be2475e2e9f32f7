// POST /embeddings: read and validate the request, run it on the pipeline, write OpenAI embeddings JSON.
import { Elysia } from "elysia";
import type { AuthHook } from "../../http/auth.ts";
import { parseEmbeddingsRequest } from "../../http/validate.ts";
import { invalidRequest } from "../../openai/errors.ts";
import { EmbeddingsRequestSchema, EmbeddingsResponseSchema, ErrorBodySchema } from "../../openai/schemas.ts";
import type { ModelDeps } from "../../pipeline/deps.ts";
import { OPENAI_ERRORS } from "../../pipeline/dialect.ts";
import { beginModelCall, callOf, type ModelCall } from "../../pipeline/model-call.ts";
import { embeddingsSizing } from "../../pipeline/sizing.ts";

const bodyDoc = { required: true, content: { "application/json": { schema: JSON.parse(JSON.stringify(EmbeddingsRequestSchema)) as object } } };

export function embeddingsRoutes(prefix: string, current: () => ModelDeps, auth: AuthHook) {
  return new Elysia({ name: `api.embeddings${prefix}`, prefix }).post("/embeddings", ({ request }) => handleEmbeddings(callOf(request)), {
    beforeHandle: [beginModelCall("embeddings", current, OPENAI_ERRORS), auth],
    response: { 200: EmbeddingsResponseSchema, 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema, 429: ErrorBodySchema, 502: ErrorBodySchema },
    detail: {
      requestBody: bodyDoc,
      summary: "Create embeddings",
      description: "OpenAI-compatible. `encoding_format: base64` is Float32 little-endian, as OpenAI sends it (and the official SDKs ask for it by default).",
    },
  });
}

async function handleEmbeddings(call: ModelCall): Promise<Response> {
  const raw = await call.readJson();
  call.asked(raw.model, false);
  const body = parseEmbeddingsRequest(raw);
  const route = call.resolve(body.model, false);
  // Refused before it counts against any limit: the model cannot answer it at all.
  if (!route.provider.embed) throw invalidRequest(`The model '${body.model}' does not support embeddings (its provider has no embeddings API).`, "model");
  await call.admit(embeddingsSizing(body));
  const routed = await call.whole((p, d, ctx) => {
    // A fallback on a provider without embeddings is the request's fault (400), never retried.
    if (!p.embed) throw invalidRequest(`The model '${ctx.publicModel}' does not support embeddings (its provider has no embeddings API).`, "model");
    return p.embed(body, d, ctx);
  });
  const usage = routed.result.usage;
  return call.answer(routed, JSON.stringify(routed.result), { prompt_tokens: usage.prompt_tokens, completion_tokens: 0, total_tokens: usage.total_tokens });
}
