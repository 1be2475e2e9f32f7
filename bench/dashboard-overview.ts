// Dashboard figures: page weight (JS and CSS, raw and gzipped) and time to first render of Overview with 1,000,000 usage events in the store,
// measured in chromium against the compiled executable. Run: `bun bench/dashboard-overview.ts` (EVENTS=1000000, RUNS=7).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { openStore } from "../src/store/open.ts";
import type { UsageEvent } from "../src/store/store.ts";
import { launchBrowser, signIn, until, watchedPage } from "../tests/support/browser.ts";
import { startGatewayProcess, buildExecutable } from "../tests/support/process.ts";

const EVENTS = Number(process.env.EVENTS ?? 1_000_000);
const RUNS = Number(process.env.RUNS ?? 7);
const ADMIN = "sk-admin-bench";
const root = join(import.meta.dir, "..");
const dir = mkdtempSync(join(tmpdir(), "sb-dash-bench-"));
const bin = join(dir, "switchboard");
const storeUrl = `sqlite://${join(dir, "store.db")}`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

// 1. The store: EVENTS events over the last 30 days, 50 keys, 6 models (through the store's own insert, so the daily
// totals and series buckets are maintained as in production).
const store = await openStore(storeUrl);
const now = Date.now();
const span = 30 * 86_400_000;
const models = ["gpt-4o", "gpt-4o-mini", "claude-sonnet", "claude-haiku", "gemini-flash", "echo"];
let t0 = performance.now();
const BATCH = 5000;
for (let i = 0; i < EVENTS; i += BATCH) {
  const batch: UsageEvent[] = [];
  for (let j = i; j < Math.min(EVENTS, i + BATCH); j++) {
    const k = j % 50;
    batch.push({
      id: `bench-${j}`,
      requestId: `req-${j}`,
      createdAt: now - span + Math.floor((j / EVENTS) * span),
      keyId: `key_${k}`,
      keyName: `team-${k}`,
      model: models[j % models.length]!,
      provider: "bench",
      upstreamModel: null,
      stream: j % 2 === 0,
      status: j % 50 === 0 ? 502 : 200,
      promptTokens: 500 + (j % 700),
      cachedTokens: 0,
      completionTokens: 100 + (j % 300),
      reasoningTokens: 0,
      costMicros: 1000 + (j % 5000),
      latencyMs: 200 + (j % 3000),
      ttfbMs: 100,
      usageSource: "provider",
      endpoint: "chat.completions",
    });
  }
  await store.insertEvents(batch);
}
const insertS = (performance.now() - t0) / 1000;
await store.close();
console.log(`store: ${EVENTS.toLocaleString("en-US")} events inserted in ${insertS.toFixed(1)} s (${Math.round(EVENTS / insertS).toLocaleString("en-US")} events/s, SQLite)`);

// 2. The executable, built as `npm run build` builds it, on that store.
buildExecutable(bin);
const gw = await startGatewayProcess(
  { server: { admin_key: ADMIN }, store: { url: storeUrl }, providers: { e: { type: "echo" } }, models: [{ id: "echo", provider: "e" }], keys: [{ name: "k", key: "sk-bench-dash" }] },
  { command: [bin], cwd: dir, env: { NODE_ENV: "production" } },
);
const browser = await launchBrowser();
try {
  // 3. Page weight: what the browser downloads for /ui.
  const html = await (await fetch(`${gw.url}/ui`)).text();
  const weights: Record<string, { raw: number; gz: number }> = { js: { raw: 0, gz: 0 }, css: { raw: 0, gz: 0 }, html: { raw: html.length, gz: gzipSync(html).length } };
  for (const [, ref] of html.matchAll(/(?:src|href)="(\/ui\/assets\/[^"]+)"/g)) {
    const body = new Uint8Array(await (await fetch(`${gw.url}${ref}`)).arrayBuffer());
    const kind = ref!.endsWith(".css") ? "css" : "js";
    weights[kind]!.raw += body.length;
    weights[kind]!.gz += gzipSync(body).length;
  }
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  for (const [k, w] of Object.entries(weights)) console.log(`page weight ${k}: ${kb(w.raw)} raw, ${kb(w.gz)} gzipped`);
  console.log(`page weight total (html + js + css): ${kb(weights.html!.gz + weights.js!.gz + weights.css!.gz)} gzipped`);

  // 4. The API calls Overview makes, timed alone.
  const auth = { authorization: `Bearer ${ADMIN}` };
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  const calls: [string, string][] = [
    ["series 1h", "/admin/v1/usage/series?range=1h"],
    ["series 24h", "/admin/v1/usage/series?range=24h"],
    ["series 7d", "/admin/v1/usage/series?range=7d"],
    ["series 30d", "/admin/v1/usage/series?range=30d"],
    ["usage by key, 30 days", `/admin/v1/usage?group_by=key&from=${day(now - span)}&to=${day(now)}`],
    ["usage by model, 30 days", `/admin/v1/usage?group_by=model&from=${day(now - span)}&to=${day(now)}`],
  ];
  for (const [name, path] of calls) {
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      t0 = performance.now();
      const r = await fetch(`${gw.url}${path}`, { headers: auth });
      await r.arrayBuffer();
      times.push(performance.now() - t0);
      if (!r.ok) throw new Error(`${path}: ${r.status}`);
    }
    console.log(`${name}: p50 ${fmt(median(times))}, max ${fmt(Math.max(...times))}`);
  }

  // 5. Time to first render of Overview (24 hours, the default, and 30 days): from navigation start to the five
  // charts and both top tables drawn, read from the page's own clock. Each run is a fresh load of the page.
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const { page, problems } = await watchedPage(context);
  await signIn(page, gw.url, ADMIN, "/ui/overview");
  // The page's clock when the condition first holds (polled every 5 ms from outside: the CSP forbids an in-page eval).
  const drawnAt = `(document.querySelectorAll("figure canvas").length >= 5 && [...document.querySelectorAll("table")].filter((t) => t.querySelector("tbody tr")).length >= 2) ? performance.now() : 0`;
  const firstRender: number[] = [];
  const paints: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    await page.goto(`${gw.url}/ui/overview`, { waitUntil: "commit" });
    firstRender.push(await until<number>(page, drawnAt, 30_000, 5));
    paints.push(await page.evaluate<number>(`performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? -1`));
  }
  console.log(`Overview (24 h) first contentful paint: p50 ${fmt(median(paints))}`);
  console.log(`Overview (24 h) charts and top tables drawn: p50 ${fmt(median(firstRender))}, max ${fmt(Math.max(...firstRender))} (${RUNS} loads, ${EVENTS.toLocaleString("en-US")} events)`);
  const ranged: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    await page.goto(`${gw.url}/ui/overview`);
    await until<number>(page, drawnAt, 30_000, 5);
    const start = await page.evaluate<number>("performance.now()");
    await page.getByRole("button", { name: "30 days" }).click();
    const done = await until<number>(page, `[...document.querySelectorAll("figcaption")].some((f) => f.textContent === "Tokens per 4 h") ? performance.now() : 0`, 30_000, 5);
    ranged.push(done - start);
  }
  console.log(`Overview switched to 30 days, redrawn: p50 ${fmt(median(ranged))}`);
  if (problems.length) throw new Error(problems.join("\n"));
  await context.close();
} finally {
  await browser.close();
  await gw.stop();
  rmSync(dir, { recursive: true, force: true });
}
