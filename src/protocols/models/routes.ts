// GET /models (and /chat/models, /models/{id}): the models the caller's key may use.
import { Elysia, t } from "elysia";
import type { Principal } from "../../auth/keys.ts";
import type { Config, ModelConfig } from "../../config/schema.ts";
import { modelNotFound } from "../../openai/errors.ts";
import { ErrorBodySchema, ModelListSchema, ModelSchema, type ModelObject } from "../../openai/schemas.ts";
import type { Limiter } from "../../limits/limiter.ts";
import type { AuthHook } from "../../http/auth.ts";
import { stateOf } from "../../http/request-state.ts";

/** `%ff`, a lone `%` or `%zz` cannot be decoded: such an id names no model. */
function decodeId(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

/** `config` gives the running config (a reload replaces it): the model objects are built once per config. */
export function modelRoutes(prefix: string, config: () => Config, limiter: Limiter, auth: AuthHook) {
  const created = Math.floor(Date.now() / 1000);
  const built = new WeakMap<Config, Map<string, ModelObject>>();
  const objectsOf = (c: Config) => {
    let objects = built.get(c);
    if (!objects) {
      objects = new Map(c.models.map((m: ModelConfig) => [m.id, { id: m.id, object: "model", created, owned_by: m.owned_by ?? m.provider ?? m.targets?.[0]?.provider ?? "switchboard" }]));
      built.set(c, objects);
    }
    return objects;
  };
  const visible = (p: Principal | undefined) => [...objectsOf(config()).values()].filter((m) => !p?.allowed || p.allowed.has(m.id));
  const respond = async (request: Request, body: unknown) => {
    const s = stateOf(request)!;
    const headers: Record<string, string> = { "content-type": "application/json", "x-request-id": s.id };
    if (s.principal) Object.assign(headers, await limiter.peek(s.principal));
    return new Response(JSON.stringify(body), { headers });
  };
  const list = ({ request }: { request: Request }) => respond(request, { object: "list", data: visible(stateOf(request)?.principal) });
  const listDoc = { beforeHandle: auth, response: { 200: ModelListSchema, 401: ErrorBodySchema }, detail: { summary: "List the models this key may use" } };
  return new Elysia({ name: `api.models${prefix}`, prefix })
    .get("/models", list, listDoc)
    .get("/chat/models", list, { ...listDoc, detail: { summary: "List models (the original page's name)" } })
    .get(
      "/models/*",
      ({ request, params }) => {
        // Model ids may contain slashes (org/model), so the id is the rest of the path.
        const id = decodeId(params["*"]);
        const p = stateOf(request)?.principal;
        const m = id === undefined ? undefined : objectsOf(config()).get(id);
        if (!m || (p?.allowed && !p.allowed.has(m.id))) throw modelNotFound(id ?? params["*"]);
        return respond(request, m);
      },
      { beforeHandle: auth, params: t.Object({ "*": t.String() }), response: { 200: ModelSchema, 404: ErrorBodySchema }, detail: { summary: "Retrieve one model" } },
    );
}
