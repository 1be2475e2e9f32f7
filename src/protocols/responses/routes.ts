// POST /responses, GET and DELETE /responses/{id}: OpenAI's Responses API for every configured model.
import { Elysia, t } from "elysia";
import type { AuthHook } from "../../http/auth.ts";
import { stateOf } from "../../http/request-state.ts";
import { GatewayError } from "../../openai/errors.ts";
import { ErrorBodySchema } from "../../openai/schemas.ts";
import type { ModelDeps } from "../../pipeline/deps.ts";
import { beginModelCall, callOf } from "../../pipeline/model-call.ts";
import { newMeter } from "../../providers/meter.ts";
import type { CallContext } from "../../providers/types.ts";
import { handleCreate } from "./create.ts";
import { RESPONSES_ERRORS } from "./dialect.ts";
import { ResponsesRequestSchema } from "./schema.ts";
import type { ResponsesService } from "./service.ts";
import { lookupResponse } from "./state.ts";

const createDoc = { required: true, content: { "application/json": { schema: JSON.parse(JSON.stringify(ResponsesRequestSchema)) as object } } };

/** OpenAI's answer for an id that is unknown, another key's, deleted or pruned (all alike to the caller). */
const unknownResponse = (id: string) => new GatewayError("not_found", `Response with id '${id}' not found.`);

export function responsesRoutes(prefix: string, current: () => ModelDeps, auth: AuthHook, rs: ResponsesService) {
  /**
   * A response a provider holds (passed through): asked of that provider, through the model's deployment on it. The
   * model's first deployment must be on it (the router shows no other); otherwise the response is not reachable.
   */
  const fromProvider = async (request: Request, id: string, method: "GET" | "DELETE", held: { provider: string; model: string }) => {
    const deps = current();
    const route = deps.router.resolve(held.model);
    if (!route || route.provider.name !== held.provider || !route.provider.nativeResource) throw unknownResponse(id);
    const timeoutMs = deps.config.server.upstream_timeout_ms;
    const ctx: CallContext = {
      requestId: stateOf(request)!.id,
      publicModel: held.model,
      signal: AbortSignal.any([request.signal, AbortSignal.timeout(timeoutMs)]),
      timeoutMs,
      now: deps.now,
      meter: newMeter(),
      warn: () => {},
      maxResponseBytes: deps.config.server.max_upstream_response_bytes,
    };
    const body = await route.provider.nativeResource("responses", method, id, route.deployment, ctx);
    return "model" in body ? { ...body, model: held.model } : body;
  };
  const json = (request: Request, body: unknown) =>
    new Response(JSON.stringify(body), { headers: { "content-type": "application/json", "x-request-id": stateOf(request)!.id } });

  return new Elysia({ name: `api.responses${prefix}`, prefix })
    .post("/responses", ({ request, server }) => handleCreate(callOf(request, server), rs), {
      beforeHandle: [beginModelCall("responses", current, RESPONSES_ERRORS), auth],
      response: { 400: ErrorBodySchema, 401: ErrorBodySchema, 404: ErrorBodySchema, 429: ErrorBodySchema, 502: ErrorBodySchema, 503: ErrorBodySchema, 504: ErrorBodySchema },
      detail: {
        requestBody: createDoc,
        summary: "Create a model response (OpenAI's Responses API)",
        description:
          "For every configured model: passed through to OpenAI and Azure deployments, translated for the others. With `stream: true` the answer is OpenAI's typed Server-Sent Events. Stored responses (`store`, default true) continue with `previous_response_id`.",
      },
    })
    .get(
      "/responses/:id",
      async ({ request, params }) => {
        const keyId = stateOf(request)!.principal!.id;
        const found = await lookupResponse(rs.store, params.id, keyId);
        if (!found) throw unknownResponse(params.id);
        return json(request, found.kind === "gateway" ? found.response : await fromProvider(request, params.id, "GET", found));
      },
      { beforeHandle: auth, params: t.Object({ id: t.String() }), response: { 404: ErrorBodySchema }, detail: { summary: "Retrieve a stored response (this key's own)" } },
    )
    .delete(
      "/responses/:id",
      async ({ request, params }) => {
        const keyId = stateOf(request)!.principal!.id;
        const found = await lookupResponse(rs.store, params.id, keyId);
        if (!found) throw unknownResponse(params.id);
        if (found.kind === "provider") await fromProvider(request, params.id, "DELETE", found);
        await rs.store!.deleteResponse(params.id, keyId);
        return json(request, { id: params.id, object: "response", deleted: true });
      },
      { beforeHandle: auth, params: t.Object({ id: t.String() }), response: { 404: ErrorBodySchema }, detail: { summary: "Delete a stored response (this key's own)" } },
    );
}
