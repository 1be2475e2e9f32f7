// GET /health: liveness without auth.
import { Elysia, t } from "elysia";

const OK = JSON.stringify({ status: "ok" });

export const healthRoutes = () =>
  new Elysia({ name: "api.health" }).get("/health", () => new Response(OK, { headers: { "content-type": "application/json" } }), {
    response: { 200: t.Object({ status: t.Literal("ok") }) },
    detail: { summary: "Liveness (no auth)" },
  });
