// POST /embeddings: validate → check model and key → limits.admit → the model's provider → OpenAI embeddings JSON.
import { Elysia } from "elysia";
import { countTextTokens } from "../limits/estimate.ts";
import { logRequest } from "../observability/request-log.ts";
import { invalidRequest, modelNotAllowed, modelNotFound } from "../openai/errors.ts";
import { EmbeddingsRequestSchema, EmbeddingsResponseSchema, ErrorBodySchema, type EmbeddingsRequest } from "../openai/schemas.ts";
import { newMeter } from "../providers/meter.ts";
import { DEPLOYMENT_HEADER } from "../routing/router.ts";
import { readJsonBody } from "./body.ts";
import { tokensOfFailure, type ChatDeps } from "./chat.ts";
import type { AuthHook } from "./auth.ts";
import { stateOf } from "./context.ts";
import { requestDeadline } from "./deadline.ts";
import { parseEmbeddingsRequest } from "./validate.ts";
import { WARNINGS_HEADER } from "./warnings.ts";
import { callContext } from "./call-context.ts";
import { observeRequest } from "./observe.ts";

const bodyDoc = { required: true, content: { "application/json": { schema: JSON.parse(JSON.stringify(EmbeddingsRequestSchema)) as object } } };

/** `current` gives the running config's deps, read once per request (see chatRoutes). */
export function embeddingsRoutes(prefix: string, current: () => ChatDeps, auth: AuthHook) {
  const handle = ({ request }: { request: Request }) => {
    const deps = current();
    return handleEmbeddings(request, deps.config.server.body_limit_bytes, deps.config.server.max_json_depth, deps);
  };
  return new Elysia({ name: `api.embeddings${prefix}`, prefix }).post("/embeddings", handle, {
    beforeHandle: [observeRequest("embeddings", current), auth],
    response: { 200: EmbeddingsResponseSchema, 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema, 429: ErrorBodySchema, 502: ErrorBodySchema },
    detail: {
      requestBody: bodyDoc,
      summary: "Create embeddings",
      description: "OpenAI-compatible. `encoding_format: base64` is Float32 little-endian, as OpenAI sends it (and the official SDKs ask for it by default).",
    },
  });
}

/** Input tokens to reserve: strings tokenised like chat prompts, token arrays counted as they are. */
function inputTokens(req: EmbeddingsRequest): number {
  const input = req.input;
  if (typeof input === "string") return countTextTokens(input);
  if (input.length > 0 && typeof input[0] === "number") return input.length;
  return (input as (string | number[])[]).reduce<number>((n, x) => n + (typeof x === "string" ? countTextTokens(x) : x.length), 0);
}

async function handleEmbeddings(request: Request, limit: number, maxDepth: number, deps: ChatDeps): Promise<Response> {
  const s = stateOf(request)!;
  const principal = s.principal!;
  const body = parseEmbeddingsRequest(await readJsonBody(request, limit, maxDepth));
  const route = deps.router.resolve(body.model);
  if (!route) throw modelNotFound(body.model);
  if (principal.allowed && !principal.allowed.has(body.model)) throw modelNotAllowed(body.model);
  s.log.model = body.model;
  s.log.provider = route.deployment.provider;
  s.log.upstream_model = route.deployment.upstreamModel;
  s.log.stream = false;
  // Refused before it counts against any limit: the model cannot answer it at all.
  if (!route.provider.embed) throw invalidRequest(`The model '${body.model}' does not support embeddings (its provider has no embeddings API).`, "model");

  let promptTokens = 0;
  const admission = await deps.limiter.admit({ principal, model: body.model, estimateTokens: () => (promptTokens = inputTokens(body)) });
  const deadline = requestDeadline(request.signal, route.timeoutMs);
  // A shutdown past its drain window ends the call through its signal, as for chat.
  const leave = deps.inflight.add((reason) => deadline.cancel(reason));
  try {
    s.rateHeaders = admission.headers;
    const { ctx, warnings } = callContext(s, body.model, route, deps, deadline, newMeter());
    // Retries, fallbacks and breakers as for chat.
    const routed = await deps.router.embed(route, body, ctx, (f) => Object.assign(s.log, f));
    const result = routed.result;
    admission.settle(result.usage.total_tokens);
    s.telemetry?.usage(result.usage);
    s.log.tokens_in = result.usage.prompt_tokens;
    s.log.tokens_out = 0;
    s.log.ttfb_ms = Math.round((performance.now() - s.start) * 1000) / 1000;
    logRequest(deps.logger, s, 200);
    const headers: Record<string, string> = { "content-type": "application/json", "x-request-id": s.id, ...admission.headers, [DEPLOYMENT_HEADER]: routed.label };
    const named = warnings.header();
    if (named) headers[WARNINGS_HEADER] = named;
    return new Response(JSON.stringify(result), { headers });
  } catch (err) {
    admission.settle(admission.metersTokens ? tokensOfFailure(err, promptTokens) : null);
    throw err;
  } finally {
    leave();
    deadline.release();
  }
}
