// GET /docs/json, built by the gateway at its first request, is the document @elysiajs/openapi's own plugin serves for the same routes.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Elysia } from "elysia";
import { openapi } from "@elysiajs/openapi";
import pkg from "../../package.json" with { type: "json" };
import { startGateway, type GatewayHandle } from "../support/gateway.ts";

let g: GatewayHandle;
beforeAll(async () => {
  g = await startGateway({
    server: { admin_key: "sk-admin-openapi-doc-0001" },
    providers: { e: { type: "echo" } },
    models: [{ id: "echo", provider: "e" }],
    keys: [{ name: "docs", key: "sk-openapi-doc-00001" }],
  });
});
afterAll(() => g.stop());

test("the document is byte for byte what the openapi() plugin serves, from the same routes and settings", async () => {
  const ours = await fetch(`${g.url}/docs/json`);
  expect(ours.status).toBe(200);
  expect(ours.headers.get("content-type")).toMatch(/^application\/json/);
  const text = await ours.text();
  // Served again from the one built at the first request.
  expect(await (await fetch(`${g.url}/docs/json`)).text()).toBe(text);

  // The plugin as the gateway used it before (the settings of src/ops/docs.ts), mounted over the whole gateway.
  const reference = new Elysia()
    .use(
      openapi({
        path: "/reference",
        provider: null,
        documentation: {
          info: { title: "Switchboard", version: pkg.version, description: "OpenAI-compatible LLM gateway. Every /v1 and /api/v1 route takes `Authorization: Bearer <key>`." },
          components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
          security: [{ bearer: [] }],
        },
      }),
    )
    .use(g.gateway.app);
  const theirs = await reference.handle(new Request("http://localhost/reference/json"));
  expect(theirs.status).toBe(200);
  expect(theirs.headers.get("content-type")).toBe(ours.headers.get("content-type"));
  const expected = await theirs.text();
  expect(JSON.parse(text).paths["/v1/chat/completions"].post.requestBody).toBeDefined();
  expect(Object.keys(JSON.parse(text).paths).length).toBeGreaterThan(20);
  expect(text).toBe(expected);
});
