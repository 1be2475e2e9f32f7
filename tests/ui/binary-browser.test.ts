// The dashboard from the one executable (`bun build --compile` output, run from an empty directory) in chromium: sign-in, keys created,
// rotated, revoked and blocked from the page and checked against /v1, usage and overview over real traffic, providers, a hostile key
// name, a cross-site change refused; no script or console error on any dashboard page.
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { inPage, launchBrowser, signIn, until, watchedPage, type WatchedPage } from "../support/browser.ts";
import { startGatewayProcess, type GatewayProcess, buildExecutable } from "../support/process.ts";

const ADMIN = "admin-secret-ui-binary-1";
const KEY = "sk-ui-binary-key-1";
const HOSTILE = `<img src=x onerror="window.__pwned=1">`;
const root = join(import.meta.dir, "..", "..");
const dir = mkdtempSync(join(tmpdir(), "sb-ui-bin-"));
const bin = join(dir, "switchboard");

/** A browser test does many round trips; on a loaded machine 5 s (bun's default) is not enough. */
const slow = (name: string, fn: () => Promise<void>) => test(name, fn, 30_000);

let context: BrowserContext | undefined;
let pages: WatchedPage[] = [];

// At module scope, not in beforeAll: bun test (1.4) kills every process spawned in a hook or test of the file when any
// test times out, which would take the executable and the browser down with one slow test.
// The build's own command (package.json "build"), into a temp dir, then run from there: nothing of the source tree is
// on hand to the executable.
buildExecutable(bin);
const gw: GatewayProcess = await startGatewayProcess(
  {
    server: { admin_key: ADMIN },
    store: { url: `sqlite://${join(dir, "store.db")}` },
    providers: { local: { type: "echo" }, [HOSTILE]: { type: "echo" } },
    models: [
      { id: "echo", provider: "local" },
      { id: "echo-2", provider: HOSTILE },
    ],
    prices: { echo: { input_per_mtok: 1, output_per_mtok: 2 }, "echo-2": { input_per_mtok: 1, output_per_mtok: 2 } },
    keys: [{ name: "config-key", key: KEY }],
  },
  { command: [bin], cwd: dir, env: { NODE_ENV: "production" } },
);
// Nothing may outlive the file: a browser that fails to start takes the gateway down with it.
const browser: Browser = await launchBrowser().catch(async (e: unknown) => {
  await gw.stop();
  throw e;
});
afterAll(async () => {
  await browser?.close();
  await gw?.stop();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  // Every dashboard page of every test: no uncaught exception, no console error.
  const problems = pages.flatMap((p) => p.problems);
  pages = [];
  await context?.close();
  context = undefined;
  expect(problems).toEqual([]);
});

async function open(path = "/ui"): Promise<Page> {
  context = await browser.newContext();
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: gw.url });
  const w = await watchedPage(context);
  pages.push(w);
  await signIn(w.page, gw.url, ADMIN, path);
  return w.page;
}

interface KeyObject {
  id: string;
  name: string;
  status: string;
  rpm: number | null;
  tpm: number | null;
  max_concurrent: number | null;
  models: string[] | null;
  budget: { usd: number; period: string } | null;
}
const admin = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
  const r = await fetch(`${gw.url}/admin/v1${path}`, { method, headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  expect(r.ok).toBe(true);
  return (await r.json()) as T;
};
const keyNamed = async (name: string) => (await admin<{ data: KeyObject[] }>("GET", "/keys")).data.find((k) => k.name === name && k.status !== "revoked")!;
const chat = (key: string, model = "echo") =>
  fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify({ model, messages: [{ role: "user", content: "hello from the dashboard test" }] }) });
/** Polls until a key's answer is the expected status (key changes reach the ring within 2 s). */
async function untilStatus(key: string, status: number): Promise<number> {
  let last = 0;
  for (let i = 0; i < 40; i++) {
    last = (await chat(key)).status;
    if (last === status) return last;
    await Bun.sleep(100);
  }
  return last;
}
const keysRow = (page: Page, name: string) => page.getByRole("table", { name: "Keys" }).getByRole("row").filter({ has: page.getByRole("rowheader", { name }) }).filter({ hasNot: page.getByText("revoked", { exact: true }) });

slow("the executable serves the page and its files under the strict headers", async () => {
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

describe("Keys", () => {
  slow("a key created from the form (hostile name, limits, budget, allowed models) works against /v1/chat/completions; its secret is shown once", async () => {
    const page = await open("/ui/keys");
    await page.getByRole("button", { name: "Create key" }).click();
    const dialog = page.getByRole("dialog", { name: "Create key" });
    await dialog.getByLabel("Name", { exact: true }).fill(HOSTILE);
    await dialog.getByLabel("Budget (USD)").fill("5");
    await dialog.getByLabel("Budget period").selectOption("day");
    await dialog.getByLabel("Requests per minute").fill("3");
    await dialog.getByLabel("Tokens per minute").fill("10000");
    await dialog.getByLabel("Max concurrent requests").fill("2");
    await dialog.getByRole("checkbox", { name: "echo", exact: true }).check();
    await dialog.getByRole("button", { name: "Create", exact: true }).click();

    const secretField = dialog.getByLabel("New secret");
    await secretField.waitFor();
    const secret = await secretField.inputValue();
    expect(secret).toMatch(/^sk-/);
    await expect(dialog.getByRole("alert").textContent()).resolves.toContain("cannot be shown again");
    await dialog.getByRole("button", { name: "Copy" }).click();
    await dialog.getByText("Copied to the clipboard.").waitFor();
    expect(await inPage(page, "navigator.clipboard.readText()")).toBe(secret);
    await dialog.getByRole("button", { name: "Done" }).click();
    await dialog.waitFor({ state: "detached" });
    // Once closed, the secret is nowhere in the page.
    expect(await inPage<string>(page, "document.documentElement.outerHTML")).not.toContain(secret);

    // The row shows the name as text; nothing ran.
    const row = keysRow(page, HOSTILE);
    await row.waitFor();
    await expect(row.getByRole("rowheader").textContent()).resolves.toContain(HOSTILE);
    expect(await inPage(page, "({ pwned: window.__pwned ?? null, imgs: document.images.length })")).toEqual({ pwned: null, imgs: 0 });
    await expect(row.textContent()).resolves.toContain("3 rpm");
    await expect(row.textContent()).resolves.toContain("of $5.00 per day");

    // Saved as typed.
    const saved = await keyNamed(HOSTILE);
    expect(saved).toMatchObject({ status: "active", rpm: 3, tpm: 10000, max_concurrent: 2, models: ["echo"], budget: { usd: 5, period: "day" } });

    // The secret works with the official client, within its limits.
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 });
    // The SDK's promise is a thenable of its own: read its failure's status rather than use .rejects.
    const failure = (p: Promise<unknown>) => p.then(() => null, (e: { status?: number }) => e.status ?? -1);
    expect(await failure(client.chat.completions.create({ model: "echo-2", messages: [{ role: "user", content: "not allowed" }] }))).toBe(403);
    for (let i = 0; i < 3; i++) {
      const r = await client.chat.completions.create({ model: "echo", messages: [{ role: "user", content: `dashboard key ${i}` }] });
      expect(r.choices[0]!.message.content).toBe(`dashboard key ${i}`);
    }
    expect(await failure(client.chat.completions.create({ model: "echo", messages: [{ role: "user", content: "fourth" }] }))).toBe(429);
  });

  slow("rotate with no grace period from the row: the new secret works, the old one stops", async () => {
    const created = await admin<{ key: string }>("POST", "/keys", { name: "rotate-me" });
    expect(await untilStatus(created.key, 200)).toBe(200);
    const page = await open("/ui/keys");
    await keysRow(page, "rotate-me").getByRole("button", { name: "Rotate" }).click();
    const dialog = page.getByRole("dialog", { name: "Rotate key rotate-me" });
    await dialog.getByLabel("Old secret stops working").selectOption({ label: "At once" });
    await dialog.getByRole("button", { name: "Rotate key" }).click();
    const fresh = await dialog.getByLabel("New secret").inputValue();
    expect(fresh).toMatch(/^sk-/);
    expect(fresh).not.toBe(created.key);
    await dialog.getByRole("button", { name: "Done" }).click();
    expect(await untilStatus(fresh, 200)).toBe(200);
    expect(await untilStatus(created.key, 401)).toBe(401);
  });

  slow("revoke after confirming: the row says revoked and the secret is refused; cancel leaves it", async () => {
    const created = await admin<{ key: string }>("POST", "/keys", { name: "revoke-me" });
    expect(await untilStatus(created.key, 200)).toBe(200);
    const page = await open("/ui/keys");
    const row = keysRow(page, "revoke-me");
    await row.getByRole("button", { name: "Revoke" }).click();
    await page.getByRole("dialog", { name: "Revoke key revoke-me?" }).getByRole("button", { name: "Cancel" }).click();
    expect((await keyNamed("revoke-me")).status).toBe("active");
    await row.getByRole("button", { name: "Revoke" }).click();
    await page.getByRole("dialog", { name: "Revoke key revoke-me?" }).getByRole("button", { name: "Revoke key" }).click();
    await page.getByRole("table", { name: "Keys" }).getByRole("row").filter({ has: page.getByRole("rowheader", { name: "revoke-me" }) }).getByText("revoked", { exact: true }).waitFor();
    expect(await untilStatus(created.key, 401)).toBe(401);
  });

  slow("block and unblock from the row", async () => {
    const created = await admin<{ key: string }>("POST", "/keys", { name: "block-me" });
    const page = await open("/ui/keys");
    const row = keysRow(page, "block-me");
    await row.getByRole("button", { name: "Block" }).click();
    await row.getByText("blocked", { exact: true }).waitFor();
    expect(await untilStatus(created.key, 401)).toBe(401);
    await row.getByRole("button", { name: "Unblock" }).click();
    await row.getByText("active", { exact: true }).waitFor();
    expect(await untilStatus(created.key, 200)).toBe(200);
  });

  slow("config keys are listed read-only", async () => {
    const page = await open("/ui/keys");
    const row = keysRow(page, "config-key");
    await expect(row.textContent()).resolves.toContain("Read-only");
    expect(await row.getByRole("button").count()).toBe(0);
  });
});

describe("Usage and Overview over real traffic", () => {
  slow("Usage shows key names with their totals, recent requests by id, and a CSV export", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await chat(KEY);
      expect(r.status).toBe(200);
      ids.push(r.headers.get("x-request-id")!);
    }
    // Written off the request path; visible within 2 s.
    await Bun.sleep(1500);
    const page = await open("/ui/usage");
    const byKey = page.getByRole("table", { name: "Usage by key" });
    const configRow = byKey.getByRole("row").filter({ has: page.getByRole("rowheader", { name: "config-key", exact: true }) });
    await configRow.waitFor();
    const cells = await configRow.getByRole("cell").allTextContents();
    expect(Number(cells[0]!.replace(/,/g, ""))).toBeGreaterThanOrEqual(4);
    await byKey.getByRole("rowheader", { name: HOSTILE }).waitFor();
    const recent = page.getByRole("table", { name: "Recent requests, newest first" });
    for (const id of ids) await recent.getByRole("cell", { name: id }).waitFor();
    const href = await page.getByRole("link", { name: "Export CSV" }).getAttribute("href");
    // The link is fetched with the page's session cookie, as a click would.
    const csv = await context!.request.get(`${gw.url}${href}`);
    expect(csv.status()).toBe(200);
    expect(csv.headers()["content-type"]).toContain("text/csv");
    const text = await csv.text();
    expect(text.split("\r\n")[0]).toStartWith("request_id,created_at,key_id,key_name");
    for (const id of ids) expect(text).toContain(id);
    expect(await inPage(page, "window.__pwned ?? null")).toBeNull();
  });

  slow("Overview draws its charts on canvas and shows the traffic, top keys and models", async () => {
    const page = await open("/ui/overview");
    await page.getByRole("button", { name: "Last hour" }).click();
    expect(await page.getByRole("button", { name: "Last hour" }).getAttribute("aria-pressed")).toBe("true");
    await page.getByRole("img", { name: /^Requests per minute:/ }).waitFor();
    expect(await page.locator("figure canvas").count()).toBeGreaterThanOrEqual(5);
    const requests = await page.locator(".tiles div").filter({ hasText: "Requests" }).locator("dd").textContent();
    expect(Number(requests!.replace(/,/g, ""))).toBeGreaterThanOrEqual(7);
    const topKeys = page.getByRole("table", { name: "Top keys by spend" });
    await topKeys.getByRole("rowheader", { name: "config-key", exact: true }).waitFor();
    await topKeys.getByRole("rowheader", { name: HOSTILE }).waitFor();
    await page.getByRole("table", { name: "Top models by spend" }).getByRole("rowheader", { name: "echo", exact: true }).waitFor();
    for (const range of ["24 hours", "7 days", "30 days"]) {
      await page.getByRole("button", { name: range }).click();
      await until(page, `document.querySelectorAll("figure canvas").length >= 5 && document.querySelector("button[aria-pressed=true]")?.textContent === ${JSON.stringify(range)}`);
    }
    expect(await inPage(page, "({ pwned: window.__pwned ?? null, imgs: document.images.length })")).toEqual({ pwned: null, imgs: 0 });
  });
});

slow("Providers shows each provider by name with its deployments' state, hostile names as text", async () => {
  const page = await open("/ui/providers");
  await page.getByRole("heading", { level: 2, name: "local" }).waitFor();
  const hostile = page.getByRole("heading", { level: 2, name: HOSTILE });
  await expect(hostile.textContent()).resolves.toContain(HOSTILE);
  const row = page.getByRole("table", { name: "Deployments of local" }).getByRole("row", { name: /echo/ });
  await expect(row.textContent()).resolves.toContain("Healthy");
  expect(await inPage(page, "({ pwned: window.__pwned ?? null, imgs: document.images.length })")).toEqual({ pwned: null, imgs: 0 });
});

// A text/plain form posts `name=value`: these two halves make the body a valid key-creation request.
const BODY_NAME = `{"name":"csrf-made","metadata":{"x":"`;
const BODY_VALUE = `"}}`;

slow("a change sent from another origin's page with the session cookie is refused (403), and nothing changes", async () => {
  // Another port on the same host is another origin but the same site: the SameSite=Strict cookie goes with the
  // request, so the Origin check is what stops it.
  const attacker = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: () =>
      new Response(
        `<!doctype html><form method="post" action="${gw.url}/admin/v1/keys" enctype="text/plain"><input name='${BODY_NAME}' value='${BODY_VALUE}'></form><script>document.forms[0].submit()</script>`,
        { headers: { "content-type": "text/html" } },
      ),
  });
  try {
    const page = await open("/ui/keys");
    const before = (await admin<{ data: KeyObject[] }>("GET", "/keys")).data.length;
    const evil = await context!.newPage();
    const answer = evil.waitForResponse((r) => r.url() === `${gw.url}/admin/v1/keys` && r.request().method() === "POST");
    await evil.goto(`http://127.0.0.1:${attacker.port}/`);
    const res = await answer;
    expect((await res.request().allHeaders())["cookie"]).toContain("switchboard_session=");
    expect(res.status()).toBe(403);
    expect(await res.json()).toMatchObject({ error: { type: "permission_error", code: "cross_site_request" } });
    expect((await admin<{ data: KeyObject[] }>("GET", "/keys")).data.length).toBe(before);
    await evil.close();
    // The same body with the admin key is accepted: it was refused for where it came from, not for what it said.
    const direct = await fetch(`${gw.url}/admin/v1/keys`, { method: "POST", headers: { authorization: `Bearer ${ADMIN}`, "content-type": "text/plain" }, body: `${BODY_NAME}=${BODY_VALUE}\r\n` });
    expect(direct.status).toBe(201);
    // The dashboard's own changes still pass.
    await page.getByRole("button", { name: "Create key" }).click();
    await page.getByLabel("Name", { exact: true }).fill("same-origin-ok");
    await page.getByRole("button", { name: "Create", exact: true }).click();
    await page.getByLabel("New secret").waitFor();
  } finally {
    attacker.stop(true);
  }
});
