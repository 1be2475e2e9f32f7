// GET /docs: the API reference UI comes from the gateway itself (also from the compiled executable), under a strict CSP.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { freePort, buildExecutable } from "../support/process.ts";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startGateway, type GatewayHandle } from "../support/gateway.ts";

const root = join(import.meta.dir, "../..");
const swaggerBundle = readFileSync(join(root, "node_modules", "swagger-ui-dist", "swagger-ui-bundle.js"));

/** A CSP header as directive → sources. */
function directives(csp: string): Map<string, string[]> {
  return new Map(
    csp
      .split(";")
      .map((d) => d.trim().split(/\s+/))
      .filter((d) => d[0])
      .map(([name, ...sources]) => [name!.toLowerCase(), sources]),
  );
}

/** Everything a browser would load for the page, checked: same origin only, served, the right types, the CSP on. */
async function checkDocs(origin: string): Promise<void> {
  const page = await fetch(`${origin}/docs`);
  expect(page.status).toBe(200);
  expect(page.headers.get("content-type")).toMatch(/^text\/html/);
  const html = await page.text();

  const csp = page.headers.get("content-security-policy");
  expect(csp).toBeTruthy();
  const d = directives(csp!);
  expect(d.get("default-src")).toEqual(["'none'"]);
  expect(d.get("script-src")).toEqual(["'self'"]);
  expect(d.get("style-src")).toEqual(["'self'"]);
  expect(d.get("connect-src")).toEqual(["'self'"]);
  expect(d.get("frame-ancestors")).toEqual(["'none'"]);
  expect(d.get("base-uri")).toEqual(["'none'"]);
  // No remote origin anywhere in the policy: no host, no scheme wildcard, no '*', nothing inline or eval'd.
  for (const [name, sources] of d) {
    for (const s of sources) expect(`${name} ${s}`).toMatch(/^[a-z-]+ ('self'|'none'|data:)$/);
  }

  // No http(s) origin but the gateway's own, whether in an attribute or anywhere else in the page.
  for (const url of html.match(/https?:\/\/[^\s"'<>]+/g) ?? []) expect(new URL(url).origin).toBe(origin);
  const refs = [...html.matchAll(/\s(src|href)="([^"]*)"/g)].map((m) => ({ attr: m[1]!, url: new URL(m[2]!, `${origin}/docs`) }));
  const scripts = [...html.matchAll(/<script\b[^>]*\bsrc="([^"]*)"/g)].map((m) => new URL(m[1]!, `${origin}/docs`));
  const styles = [...html.matchAll(/<link\b[^>]*rel="stylesheet"[^>]*href="([^"]*)"/g)].map((m) => new URL(m[1]!, `${origin}/docs`));
  expect(scripts.length).toBeGreaterThanOrEqual(2);
  expect(styles.length).toBe(1);
  for (const r of refs) expect(r.url.protocol === "data:" || r.url.origin === origin).toBe(true);
  // Scripts only from files: an inline script would be refused by the CSP (and would need it weakened).
  expect(html.match(/<script\b[^>]*>/g)!.every((tag) => /\bsrc="/.test(tag))).toBe(true);

  const served: Buffer[] = [];
  for (const u of scripts) {
    const r = await fetch(u);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^(text|application)\/javascript\b/);
    expect(r.headers.get("x-content-type-options")).toBe("nosniff");
    served.push(Buffer.from(await r.arrayBuffer()));
  }
  // The UI itself, byte for byte the packaged Swagger UI, and a script of ours that starts it on the gateway's spec.
  expect(served.some((b) => b.equals(swaggerBundle))).toBe(true);
  expect(served.some((b) => /SwaggerUIBundle\(\{[^]*"\/docs\/json"/.test(b.toString()))).toBe(true);
  const css = await fetch(styles[0]!);
  expect(css.status).toBe(200);
  expect(css.headers.get("content-type")).toMatch(/^text\/css\b/);
  expect((await css.text()).length).toBeGreaterThan(10_000);

  // The OpenAPI document is still generated from the route schemas.
  const spec = (await (await fetch(`${origin}/docs/json`)).json()) as { openapi: string; paths: Record<string, Record<string, { requestBody?: unknown }>> };
  expect(spec.openapi).toMatch(/^3\.1/);
  expect(JSON.stringify(spec.paths["/v1/chat/completions"]!.post!.requestBody)).toContain("messages");
}

describe("/docs served by the gateway", () => {
  let g: GatewayHandle;
  beforeAll(async () => {
    g = await startGateway({ providers: { e: { type: "echo" } }, models: [{ id: "echo", provider: "e" }], keys: [{ name: "docs", key: "sk-docs-test-00001" }] });
  });
  afterAll(() => g.stop());

  test("the page, its script and stylesheet come from the gateway only, under a strict CSP", async () => {
    await checkDocs(g.url);
  });

  test("an asset that does not exist is a 404 in the OpenAI error shape", async () => {
    const r = await fetch(`${g.url}/docs/assets/other.js`);
    expect(r.status).toBe(404);
    expect(((await r.json()) as { error: { type: string } }).error.type).toBe("invalid_request_error");
  });
});

describe("/docs from the compiled executable", () => {
  const dir = mkdtempSync(join(tmpdir(), "sb-docs-bin-"));
  const bin = join(dir, "switchboard");
  const port = freePort();
  let proc: ReturnType<typeof Bun.spawn> | undefined;

  beforeAll(async () => {
    buildExecutable(bin);
    // Started from an empty folder: nothing it serves may come from the source tree.
    proc = Bun.spawn([bin, "--port", String(port)], { cwd: dir, env: { ...process.env, NODE_ENV: "production" }, stdout: "ignore", stderr: "ignore" });
    for (let i = 0; i < 100; i++) {
      if (await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false)) return;
      await Bun.sleep(50);
    }
    throw new Error("compiled binary did not start");
  }, 120_000);
  afterAll(() => proc?.kill());

  test("the executable carries the UI inside and serves it the same way", async () => {
    // Embedded: the bundle's bytes are in the executable file itself.
    const slice = swaggerBundle.subarray(800_000, 800_256);
    expect(readFileSync(bin).indexOf(slice)).toBeGreaterThan(0);
    await checkDocs(`http://127.0.0.1:${port}`);
  });
});
