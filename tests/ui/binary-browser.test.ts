// The dashboard from the one executable: `bun build --compile` output serves /ui with everything embedded, driven in chromium.
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext } from "playwright-core";
import { inPage, launchBrowser, signIn, watchedPage, type WatchedPage } from "../support/browser.ts";
import { startGatewayProcess, type GatewayProcess } from "../support/process.ts";

const ADMIN = "admin-secret-ui-binary-1";
const KEY = "sk-ui-binary-key-1";
const HOSTILE = `<img src=x onerror="window.__pwned=1">`;
const root = join(import.meta.dir, "..", "..");
const dir = mkdtempSync(join(tmpdir(), "sb-ui-bin-"));
const bin = join(dir, "switchboard");

let browser: Browser;
let gw: GatewayProcess;
let context: BrowserContext | undefined;
let pages: WatchedPage[] = [];

beforeAll(async () => {
  // The build's own command (package.json "build"), into a temp dir, then run from another directory: nothing of the
  // source tree is on hand to the executable.
  const build = Bun.spawnSync([process.execPath, "build", "--compile", "--minify-whitespace", "--minify-syntax", join(root, "src", "main.ts"), "--outfile", bin], { cwd: root, stderr: "pipe" });
  if (build.exitCode !== 0) throw new Error(`build failed: ${build.stderr.toString()}`);
  [browser, gw] = await Promise.all([
    launchBrowser(),
    startGatewayProcess(
      {
        server: { admin_key: ADMIN },
        providers: { local: { type: "echo" }, [HOSTILE]: { type: "echo" } },
        models: [
          { id: "echo", provider: "local" },
          { id: "echo-2", provider: HOSTILE },
        ],
        keys: [{ name: "a", key: KEY }],
      },
      { command: [bin], cwd: dir, env: { NODE_ENV: "production" } },
    ),
  ]);
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await gw?.stop();
});
afterEach(async () => {
  const problems = pages.flatMap((p) => p.problems);
  pages = [];
  await context?.close();
  expect(problems).toEqual([]);
});

async function open(): Promise<WatchedPage> {
  context = await browser.newContext();
  const w = await watchedPage(context);
  pages.push(w);
  return w;
}

test("the executable serves the page and its files under the strict headers", async () => {
  const r = await fetch(`${gw.url}/ui`);
  expect(r.status).toBe(200);
  expect(r.headers.get("content-security-policy")).toContain("script-src 'self'");
  expect(r.headers.get("x-frame-options")).toBe("DENY");
  const html = await r.text();
  const refs = [...html.matchAll(/(?:src|href)="(\/ui\/assets\/[^"]+)"/g)].map((m) => m[1]!);
  expect(refs.length).toBeGreaterThanOrEqual(2);
  for (const ref of refs) {
    const a = await fetch(`${gw.url}${ref}`);
    expect(a.status).toBe(200);
    expect(a.headers.get("content-type")).toStartWith(ref.endsWith(".css") ? "text/css" : "text/javascript");
    expect(a.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect((await a.arrayBuffer()).byteLength).toBeGreaterThan(1000);
  }
});

test("sign-in and the Providers page, from the executable", async () => {
  const { page } = await open();
  await signIn(page, gw.url, ADMIN, "/ui/providers");
  await page.getByRole("heading", { level: 1, name: "Providers" }).waitFor();
  await page.getByRole("heading", { level: 2, name: "local" }).waitFor();
  const hostile = page.getByRole("heading", { level: 2, name: HOSTILE });
  await expect(hostile.textContent()).resolves.toContain(HOSTILE);
  const row = page.getByRole("table", { name: "Deployments of local" }).getByRole("row", { name: /echo/ });
  await expect(row.textContent()).resolves.toContain("Healthy");
  expect(await inPage(page, "({ pwned: window.__pwned ?? null, imgs: document.images.length })")).toEqual({ pwned: null, imgs: 0 });
});
