// A real browser for the dashboard tests: Debian's chromium driven by playwright-core, every page's script errors and console errors collected.
import { existsSync } from "node:fs";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

// The machine's network is closed: without the background-networking flags chromium keeps trying Google's hosts.
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Fails (never skips) without chromium: the dashboard's tests are part of the suite. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`chromium is not installed at ${CHROMIUM} (apt-get install -y chromium; .ci/run installs it)`);
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 30_000 });
}

export interface WatchedPage {
  page: Page;
  /** Uncaught exceptions and console errors seen so far on this page. */
  problems: string[];
}

/** A page whose `pageerror` and console errors are collected, for the tests to assert there are none. */
export async function watchedPage(context: BrowserContext): Promise<WatchedPage> {
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (err) => problems.push(`pageerror: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(`console.error: ${msg.text()} (${msg.location().url})`);
  });
  return { page, problems };
}

/** Signs in through the form, as a person would. */
export async function signIn(page: Page, baseUrl: string, adminKey: string, path = "/ui"): Promise<void> {
  await page.goto(`${baseUrl}${path}`);
  await page.getByLabel("Admin key").fill(adminKey);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("navigation").getByRole("link", { name: "Overview" }).waitFor();
}

/**
 * Evaluates a JavaScript expression in the page. A string, not a function: the tests are type-checked without the
 * DOM's types (the server code must not see them), and the expression runs in the browser anyway.
 */
export const inPage = <T>(page: Page, expression: string): Promise<T> => page.evaluate<T>(expression);

/**
 * Polls an expression until it is truthy and returns its value. Playwright's waitForFunction compiles a string
 * predicate with eval inside the page, which the dashboard's CSP (rightly) refuses; this asks from outside instead.
 */
export async function until<T>(page: Page, expression: string, timeoutMs = 10_000, everyMs = 10): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await page.evaluate<T>(expression);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${expression}`);
    await Bun.sleep(everyMs);
  }
}
