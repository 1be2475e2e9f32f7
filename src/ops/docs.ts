// GET /docs: the API reference UI (Swagger UI, served from inside the gateway under a strict CSP) and /docs/json, the OpenAPI document built from the route schemas.
import { Elysia } from "elysia";
import type { toOpenAPISchema as ToOpenAPISchema } from "@elysiajs/openapi";
// Embedded by `bun build --compile` (type "file": the import is the file's path, inside the executable once compiled).
import bundlePath from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "file" };
import cssPath from "swagger-ui-dist/swagger-ui.css" with { type: "file" };
import { PAGE_CSP } from "../http/page-security.ts";

const ASSETS = "/docs/assets";

const SECURITY_HEADERS = {
  "content-security-policy": PAGE_CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Switchboard API</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="${ASSETS}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="${ASSETS}/swagger-ui-bundle.js"></script>
  <script src="${ASSETS}/init.js"></script>
</body>
</html>
`;

// A file of its own, not an inline script: the CSP allows scripts from the gateway only. validatorUrl: null, or
// Swagger UI shows a badge loaded from its public validator.
const INIT = `window.ui = SwaggerUIBundle({ url: "/docs/json", dom_id: "#swagger-ui", validatorUrl: null, deepLinking: true });\n`;

/** What @elysiajs/openapi's `openapi()` plugin serves at `${path}/json` with these settings (its default OpenAPI version). */
const OPENAPI_VERSION = "3.1.2";

const asset = (body: Blob | string, type: string) => () => new Response(body, { headers: { "content-type": type, ...SECURITY_HEADERS } });

/**
 * The OpenAPI document is built at its first request, from every route of the app this plugin is mounted in, and kept
 * (the routes never change once the app is assembled). @elysiajs/openapi (~260 KB of JavaScript, with TypeBox's
 * syntax module: ~1.6 MiB of the gateway's idle RSS) is imported only then, so a gateway whose /docs/json nobody
 * asks for never loads it. The document is the one the package's `openapi()` plugin served here before: the same
 * function, arguments and merge of `documentation` (tests/ops/openapi-doc.test.ts compares the two).
 */
export function docsRoutes(info: { title: string; version: string; description: string }) {
  const bundle = Bun.file(bundlePath);
  const css = Bun.file(cssPath);
  const hide = { detail: { hide: true } };
  const documentation = {
    info,
    components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
    security: [{ bearer: [] }],
  };
  let spec: Promise<Record<string, unknown>> | undefined;
  const build = async (): Promise<Record<string, unknown>> => {
    const { toOpenAPISchema } = (await import("@elysiajs/openapi")) as { toOpenAPISchema: typeof ToOpenAPISchema };
    // `app` gets the whole app's routes once mounted (Elysia gives a plugin its parent's getGlobalRoutes).
    const { paths, components } = toOpenAPISchema(app, undefined, undefined, undefined, OPENAPI_VERSION);
    // The plugin's merge: `documentation` first (so its keys keep their places), info in the plugin's key order, its
    // components beside the generated schemas.
    const { title, description, version } = info;
    return { ...documentation, openapi: OPENAPI_VERSION, info: { title, description, version }, paths, components: { ...documentation.components, schemas: components.schemas } };
  };
  const app = new Elysia({ name: "api.docs" });
  return app
    .get(
      "/docs/json",
      () =>
        (spec ??= build().catch((err: unknown) => {
          // A failed build is retried by the next request rather than kept.
          spec = undefined;
          throw err;
        })),
      hide,
    )
    .get("/docs", asset(PAGE, "text/html; charset=utf-8"), hide)
    .get(`${ASSETS}/swagger-ui-bundle.js`, asset(bundle, "text/javascript; charset=utf-8"), hide)
    .get(`${ASSETS}/swagger-ui.css`, asset(css, "text/css; charset=utf-8"), hide)
    .get(`${ASSETS}/init.js`, asset(INIT, "text/javascript; charset=utf-8"), hide);
}
