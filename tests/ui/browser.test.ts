// The dashboard in a real browser (chromium): sign-in and sign-out, the Providers page, hostile text shown as text, keyboard use, phone width, dark mode; no script or console error anywhere.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { Browser, BrowserContext } from "playwright-core";
import { inPage, launchBrowser, signIn, until, watchedPage, type WatchedPage } from "../support/browser.ts";
import { post, startGateway, type GatewayHandle } from "../support/gateway.ts";
import { eventually } from "../support/wait.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore } from "../../src/store/open.ts";
import type { Store } from "../../src/store/store.ts";

const ADMIN = "admin-secret-ui-browser-1";
const KEY = "sk-ui-browser-key-1";
const HOSTILE = `<img src=x onerror="window.__pwned=1">`;
const HOSTILE_MODEL = `"><script>window.__pwned=2</script>`;

/** A browser test does many round trips; on a loaded machine 5 s (bun's default) is not enough. */
const slow = (name: string, fn: () => Promise<void>) => test(name, fn, 30_000);

const dir = mkdtempSync(join(tmpdir(), "sb-ui-browser-"));
// Started at module scope, not in beforeAll: bun test (1.4) kills every process spawned in a hook or test of the file
// when any test times out, which would take the browser down with one slow test.
const browser: Browser = await launchBrowser();
let store: Store;
let g: GatewayHandle;
let failing: ReturnType<typeof Bun.serve>;
let context: BrowserContext;
let pages: WatchedPage[] = [];

beforeAll(async () => {
  // A provider that fails (its breaker opens after one failure).
  failing = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: () => Response.json({ error: { message: `upstream broke ${HOSTILE}`, type: "server_error" } }, { status: 500 }),
  });
  store = await openStore(`sqlite://${join(dir, "store.db")}`);
  g = await startGateway({
    server: { admin_key: ADMIN },
    providers: { local: { type: "echo" }, [HOSTILE]: { type: "openai", base_url: `http://127.0.0.1:${failing.port}/v1`, api_key: "sk-upstream-ui" } },
    models: [
      { id: "echo", provider: "local" },
      { id: HOSTILE_MODEL, provider: HOSTILE, upstream_model: "gpt-4o" },
    ],
    keys: [{ name: "a", key: KEY }],
    routing: { cooldown_failures: 1, cooldown_ms: 600_000 },
  }, { store });
  // Trip the failing deployment's breaker.
  const r = await post(`${g.baseURL}/chat/completions`, { model: HOSTILE_MODEL, messages: [{ role: "user", content: "hi" }] }, KEY);
  expect(r.status).toBe(502);
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await g?.stop();
  await store?.close();
  failing?.stop(true);
  rmSync(dir, { recursive: true, force: true });
});

async function open(opts: Parameters<Browser["newContext"]>[0] = {}): Promise<WatchedPage> {
  context = await browser.newContext(opts);
  const w = await watchedPage(context);
  pages.push(w);
  return w;
}

afterEach(async () => {
  // Every page of every test: no uncaught exception, no console error.
  const problems = pages.flatMap((p) => p.problems);
  pages = [];
  await context?.close();
  expect(problems).toEqual([]);
});

describe("sign-in", () => {
  slow("the admin key gets a session; the key is kept nowhere the page can read, the cookie is HttpOnly and SameSite=Strict", async () => {
    const { page } = await open();
    await signIn(page, g.url, ADMIN);
    expect(page.url()).toBe(`${g.url}/ui`);
    await page.getByRole("heading", { level: 1, name: "Overview" }).waitFor();
    const stored = await inPage(page, `({
      local: JSON.stringify({ ...localStorage }),
      session: JSON.stringify({ ...sessionStorage }),
      cookie: document.cookie,
      field: document.querySelector("input")?.value ?? null,
    })`);
    expect(stored).toEqual({ local: "{}", session: "{}", cookie: "", field: null });
    const cookies = await context.cookies();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({ name: "switchboard_session", httpOnly: true, sameSite: "Strict", secure: false, path: "/" });
    expect(cookies[0]!.value).not.toContain(ADMIN);
    // A reload keeps the session (the cookie), without asking for the key again.
    await page.reload();
    await page.getByRole("button", { name: "Sign out" }).waitFor();
  });

  slow("a wrong key shows the gateway's message and no session", async () => {
    const w = await open();
    await w.page.goto(`${g.url}/ui`);
    await w.page.getByLabel("Admin key").fill("wrong-key");
    await w.page.getByRole("button", { name: "Sign in" }).click();
    await expect(w.page.getByRole("alert").textContent()).resolves.toBe("Incorrect admin key.");
    expect(await w.page.getByLabel("Admin key").inputValue()).toBe("");
    expect(await context.cookies()).toEqual([]);
    // The one console line a refused sign-in causes is the browser reporting the 401 itself (it may trail the alert).
    expect(await eventually(() => w.problems.length, (n) => n >= 1, 2000)).toBe(1);
    expect(w.problems[0]).toContain("401");
    w.problems.length = 0;
  });

  slow("sign-out returns to the sign-in form and the old cookie no longer works", async () => {
    const { page } = await open();
    await signIn(page, g.url, ADMIN);
    const [cookie] = await context.cookies();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("Admin key").waitFor();
    expect(await context.cookies()).toEqual([]);
    const r = await fetch(`${g.url}/health/providers`, { headers: { cookie: `${cookie!.name}=${cookie!.value}` } });
    expect(r.status).toBe(401);
  });

  slow("a session that ends while the page is open brings back the sign-in form with a notice", async () => {
    const w = await open();
    await signIn(w.page, g.url, ADMIN, "/ui/keys");
    await w.page.getByRole("button", { name: "Create key" }).waitFor();
    // Signed out elsewhere (another tab): the next call the page makes finds the session gone.
    const out = await context.request.delete(`${g.url}/ui/session`, { headers: { origin: g.url } });
    expect(out.status()).toBe(204);
    await w.page.getByRole("navigation").getByRole("link", { name: "Providers" }).click();
    await w.page.getByLabel("Admin key").waitFor();
    await w.page.getByText("Your session ended. Sign in again.").waitFor();
    // The browser reports the refused call itself (its console message may trail the page's notice).
    expect(await eventually(() => w.problems.length, (n) => n >= 1, 2000)).toBeGreaterThanOrEqual(1);
    expect(w.problems.every((p) => p.includes("401"))).toBe(true);
    w.problems.length = 0;
  });
});

describe("Keys form", () => {
  slow("keyboard: Create key opens a dialog focused on Name; Escape closes it and focus returns to the button", async () => {
    const { page } = await open();
    await signIn(page, g.url, ADMIN, "/ui/keys");
    const button = page.getByRole("button", { name: "Create key" });
    await button.focus();
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("dialog", { name: "Create key" });
    await dialog.waitFor();
    await until(page, `document.activeElement?.id === "key-name"`);
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
    await until(page, `document.activeElement?.textContent === "Create key"`);
  });

  slow("the gateway's validation is shown at the field it names; a taken name says so", async () => {
    const { page } = await open();
    await signIn(page, g.url, ADMIN, "/ui/keys");
    await page.getByRole("button", { name: "Create key" }).click();
    const dialog = page.getByRole("dialog", { name: "Create key" });
    await dialog.getByRole("button", { name: "Create", exact: true }).click();
    await expect(dialog.getByRole("alert").textContent()).resolves.toContain("name");
    expect(await dialog.getByLabel("Name", { exact: true }).getAttribute("aria-invalid")).toBe("true");
    await dialog.getByLabel("Name", { exact: true }).fill("form-check");
    await dialog.getByLabel("Requests per minute").fill("2.5");
    await dialog.getByRole("button", { name: "Create", exact: true }).click();
    await until(page, `document.getElementById("key-rpm")?.getAttribute("aria-invalid") === "true"`);
    await dialog.getByLabel("Requests per minute").fill("");
    await dialog.getByRole("button", { name: "Create", exact: true }).click();
    await dialog.getByLabel("New secret").waitFor();
    await dialog.getByRole("button", { name: "Done" }).click();
    // The same name again: 409, shown in the form.
    await page.getByRole("button", { name: "Create key" }).click();
    await dialog.getByLabel("Name", { exact: true }).fill("form-check");
    await dialog.getByRole("button", { name: "Create", exact: true }).click();
    await expect(dialog.getByRole("alert").textContent()).resolves.toContain("already exists");
    // Refused requests are reported by the browser itself (400, 400, 409): those and only those. The browser's console
    // message for the last one can arrive after the form has already shown the refusal, so wait for it.
    const problems = await eventually(() => pages.flatMap((p) => p.problems), (ps) => ps.length >= 3, 2000);
    expect(problems.length).toBe(3);
    expect(problems.every((p) => / 40[09] /.test(p))).toBe(true);
    for (const p of pages) p.problems.length = 0;
  });
});

describe("Usage", () => {
  slow("filters, date range and paging of recent requests", async () => {
    const base = Date.now() - 60_000;
    await store.insertEvents(
      Array.from({ length: 30 }, (_, i) => ({
        id: `ui-usage-${i}`,
        requestId: `req-ui-usage-${String(i).padStart(2, "0")}`,
        createdAt: base + i * 100,
        keyId: "key_ui_usage",
        keyName: "usage-filter-key",
        model: i % 3 === 0 ? "echo" : HOSTILE_MODEL,
        provider: "local",
        upstreamModel: "echo",
        stream: false,
        status: 200,
        promptTokens: 10,
        cachedTokens: 0,
        completionTokens: 5,
        reasoningTokens: 0,
        costMicros: 100,
        latencyMs: 20,
        ttfbMs: null,
        usageSource: "provider" as const,
        endpoint: "chat.completions" as const,
      })),
    );
    const { page } = await open();
    await signIn(page, g.url, ADMIN, "/ui/usage");
    const byKey = page.getByRole("table", { name: "Usage by key" });
    const row = byKey.getByRole("row").filter({ has: page.getByRole("rowheader", { name: "usage-filter-key" }) });
    await expect(row.getByRole("cell").first().textContent()).resolves.toBe("30");
    // The hostile model id is a row header with those characters.
    await page.getByRole("table", { name: "Usage by model" }).getByRole("rowheader", { name: HOSTILE_MODEL }).waitFor();
    // By model, filtered to echo.
    await page.getByLabel("Model").selectOption("echo");
    await until(page, `[...document.querySelectorAll("table")].find((t) => t.caption?.textContent === "Usage by key")?.querySelector("tbody tr td")?.textContent === "10"`);
    await page.getByLabel("Model").selectOption("");
    // Recent requests: 25 a page, newest first; Older and Newer move by cursor.
    const recent = page.getByRole("table", { name: "Recent requests, newest first" });
    await recent.getByRole("cell", { name: "req-ui-usage-29" }).waitFor();
    expect(await recent.getByRole("cell", { name: "req-ui-usage-04" }).count()).toBe(0);
    await page.getByRole("button", { name: "Older" }).click();
    await recent.getByRole("cell", { name: "req-ui-usage-04" }).waitFor();
    await page.getByRole("button", { name: "Newer" }).click();
    await recent.getByRole("cell", { name: "req-ui-usage-29" }).waitFor();
    // A date range with no traffic.
    await page.getByLabel("From (UTC)").fill("2020-01-01");
    await page.getByLabel("To (UTC)").fill("2020-01-31");
    await page.getByText("No usage for these filters.").first().waitFor();
  });
});

describe("Providers", () => {
  slow("shows each provider by name with its deployments' state, errors and latency; hostile names and messages are text", async () => {
    const { page } = await open();
    await signIn(page, g.url, ADMIN, "/ui/providers");
    await page.getByRole("heading", { level: 1, name: "Providers" }).waitFor();
    // The provider named like an <img> tag is a heading with those characters, and no image exists.
    const hostile = page.getByRole("heading", { level: 2, name: HOSTILE });
    await hostile.waitFor();
    await expect(hostile.textContent()).resolves.toContain(HOSTILE);
    const table = page.getByRole("table", { name: `Deployments of ${HOSTILE}` });
    const row = table.getByRole("row", { name: /gpt-4o/ });
    await expect(row.getByRole("cell").nth(0).textContent()).resolves.toBe(HOSTILE_MODEL);
    await expect(row.textContent()).resolves.toContain("Cooling down");
    await expect(row.textContent()).resolves.toContain("The provider failed (status 500)");
    const local = page.getByRole("table", { name: "Deployments of local" }).getByRole("row", { name: /echo/ });
    await expect(local.textContent()).resolves.toContain("Healthy");
    expect(await inPage(page, "({ pwned: window.__pwned ?? null, imgs: document.images.length, scripts: document.scripts.length })")).toEqual({ pwned: null, imgs: 0, scripts: 1 });
  });
});

describe("navigation", () => {
  slow("links change the page in place; back and forward follow; a deep link opens its page", async () => {
    const { page } = await open();
    await signIn(page, g.url, ADMIN, "/ui/providers");
    await page.getByRole("heading", { level: 1, name: "Providers" }).waitFor();
    const nav = page.getByRole("navigation", { name: "Dashboard" });
    for (const name of ["Overview", "Keys", "Usage", "Providers"]) {
      await nav.getByRole("link", { name }).click();
      await page.getByRole("heading", { level: 1, name }).waitFor();
      expect(await nav.getByRole("link", { name }).getAttribute("aria-current")).toBe("page");
      expect(page.url()).toBe(`${g.url}/ui/${name.toLowerCase()}`);
    }
    await page.goBack();
    await page.getByRole("heading", { level: 1, name: "Usage" }).waitFor();
    await page.goForward();
    await page.getByRole("heading", { level: 1, name: "Providers" }).waitFor();
  });

  slow("keyboard only: Tab reaches the links with a visible focus ring, Enter follows them, focus moves to the new page's heading", async () => {
    const { page } = await open();
    await signIn(page, g.url, ADMIN);
    await page.getByRole("heading", { level: 1, name: "Overview" }).waitFor();
    await page.locator("body").focus();
    const seen: string[] = [];
    for (let i = 0; i < 8 && !seen.includes("Keys"); i++) {
      await page.keyboard.press("Tab");
      seen.push(await inPage<string>(page, `document.activeElement?.textContent?.trim() ?? ""`));
    }
    expect(seen[0]).toBe("Skip to content");
    expect(seen).toContain("Keys");
    const ring = await inPage<{ style: string; width: number }>(page, `(() => {
      const s = getComputedStyle(document.activeElement);
      return { style: s.outlineStyle, width: parseFloat(s.outlineWidth) };
    })()`);
    expect(ring.style).not.toBe("none");
    expect(ring.width).toBeGreaterThanOrEqual(2);
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { level: 1, name: "Keys" }).waitFor();
    // Focus moves after the new page is drawn (an effect), so wait for it rather than read it at once.
    await until(page, `document.activeElement?.tagName === "H1" && document.activeElement.textContent === "Keys"`, 5000);
  });
});

describe("layout", () => {
  slow("on a phone the pages fit the screen width (tables scroll inside their card)", async () => {
    const { page } = await open({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    await signIn(page, g.url, ADMIN, "/ui/providers");
    await page.getByRole("heading", { level: 2, name: "local" }).waitFor();
    for (const name of ["Providers", "Overview", "Keys", "Usage"]) {
      await page.getByRole("navigation").getByRole("link", { name }).click();
      await page.getByRole("heading", { level: 1, name }).waitFor();
      const { scroll, width } = await inPage<{ scroll: number; width: number }>(page, "({ scroll: document.documentElement.scrollWidth, width: innerWidth })");
      expect(scroll).toBeLessThanOrEqual(width);
    }
  });

  slow("light and dark follow the system setting", async () => {
    const colours: string[] = [];
    for (const colorScheme of ["light", "dark"] as const) {
      const { page } = await open({ colorScheme });
      await page.goto(`${g.url}/ui`);
      await page.getByLabel("Admin key").waitFor();
      colours.push(await inPage<string>(page, "getComputedStyle(document.body).backgroundColor"));
      await context.close();
    }
    expect(colours[0]).not.toBe(colours[1]);
    // Dark is dark: the background's red channel is low.
    expect(Number(/\d+/.exec(colours[1]!)![0])).toBeLessThan(60);
  });
});
