// GET /docs: the API reference UI (Swagger UI, served from inside the gateway under a strict CSP) and /docs/json, the OpenAPI document built from the route schemas.
import { Elysia } from "elysia";
import { openapi } from "@elysiajs/openapi";
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

const asset = (body: Blob | string, type: string) => () => new Response(body, { headers: { "content-type": type, ...SECURITY_HEADERS } });

export function docsRoutes(info: { title: string; version: string; description: string }) {
  const bundle = Bun.file(bundlePath);
  const css = Bun.file(cssPath);
  const hide = { detail: { hide: true } };
  return new Elysia({ name: "api.docs" })
    .use(
      openapi({
        path: "/docs",
        // The page is ours (below); the plugin's would load its script from a CDN.
        provider: null,
        documentation: {
          info,
          components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
          security: [{ bearer: [] }],
        },
      }),
    )
    .get("/docs", asset(PAGE, "text/html; charset=utf-8"), hide)
    .get(`${ASSETS}/swagger-ui-bundle.js`, asset(bundle, "text/javascript; charset=utf-8"), hide)
    .get(`${ASSETS}/swagger-ui.css`, asset(css, "text/css; charset=utf-8"), hide)
    .get(`${ASSETS}/init.js`, asset(INIT, "text/javascript; charset=utf-8"), hide);
}
