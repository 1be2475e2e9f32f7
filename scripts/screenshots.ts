// `npm run screenshots`: a gateway with a throw-away store, real keys and traffic plus 30 days of recorded history, photographed page by page in chromium into docs/screenshots/.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildConfig } from "../src/config/load.ts";
import { createApp } from "../src/entry/app.ts";
import { createMemoryLogger } from "../src/observability/log.ts";
import { openStore } from "../src/store/open.ts";
import type { UsageEvent } from "../src/store/store.ts";
import { launchBrowser, signIn, watchedPage } from "../tests/support/browser.ts";

const OUT = join(import.meta.dir, "..", "docs", "screenshots");
const ADMIN = "sk-admin-screenshots";
const dir = mkdtempSync(join(tmpdir(), "sb-shots-"));
mkdirSync(OUT, { recursive: true });

const store = await openStore(`sqlite://${join(dir, "store.db")}`);
const config = buildConfig(
  {
    server: { admin_key: ADMIN },
    providers: {
      local: { type: "echo" },
      // Nothing listens on port 9: these deployments fail and cool down, as a provider outage looks.
      openai: { type: "openai", base_url: "http://127.0.0.1:9/v1", api_key: "sk-unused" },
      anthropic: { type: "anthropic", base_url: "http://127.0.0.1:9", api_key: "sk-unused" },
    },
    models: [
      { id: "echo", provider: "local" },
      { id: "gpt-4o", provider: "openai" },
      { id: "gpt-4o-mini", provider: "openai" },
      { id: "claude-sonnet", provider: "anthropic", upstream_model: "claude-3-5-sonnet-20241022" },
    ],
    prices: { echo: { input_per_mtok: 2.5, output_per_mtok: 10 } },
    keys: [{ name: "ops-oncall", key: "sk-config-ops", rpm: 60 }],
    routing: { cooldown_failures: 1, cooldown_ms: 3_600_000 },
  },
  "screenshots",
);
async function start() {
  const gateway = createApp(config, { store, logger: createMemoryLogger() });
  await gateway.ready;
  gateway.listen("127.0.0.1", 0);
  return { gateway, url: `http://127.0.0.1:${gateway.app.server!.port}` };
}
let { gateway, url } = await start();

const admin = async (method: string, path: string, body?: unknown) => {
  const r = await fetch(`${url}/admin/v1${path}`, { method, headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" }, body: body ? JSON.stringify(body) : undefined });
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  return (await r.json()) as { id: string; name: string; key?: string };
};
const keys = [
  await admin("POST", "/keys", { name: "search-service", rpm: 600, tpm: 200_000, budget: { usd: 50, period: "month" } }),
  await admin("POST", "/keys", { name: "support-bot", rpm: 120, max_concurrent: 8, models: ["echo", "gpt-4o-mini"], budget: { usd: 10, period: "day" } }),
  await admin("POST", "/keys", { name: "batch-jobs", tpm: 1_000_000, budget: { usd: 200, period: "week" }, expires_at: new Date(Date.now() + 60 * 86_400_000).toISOString() }),
  await admin("POST", "/keys", { name: "mobile-app", rpm: 30 }),
];
const legacy = await admin("POST", "/keys", { name: "legacy-integration" });
await admin("PATCH", `/keys/${keys[3]!.id}`, { status: "blocked" });
await admin("DELETE", `/keys/${legacy.id}`);

// History: 30 days of recorded traffic with a daily rhythm, written straight to the store; then a restart, which
// recovers every key's budget spend from the store.
await insertHistory();
await gateway.app.stop(true);
await gateway.close();
({ gateway, url } = await start());

// Real requests: they are the newest events, and they trip the unreachable providers' breakers.
const chat = (key: string, model: string, content: string) =>
  fetch(`${url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify({ model, messages: [{ role: "user", content }] }) });
for (let i = 0; i < 24; i++) await chat(keys[i % 3]!.key!, "echo", `Summarise ticket ${1000 + i} in one line, please.`.repeat(1 + (i % 4)));
await chat(keys[0]!.key!, "gpt-4o", "hello");
await chat(keys[2]!.key!, "claude-sonnet", "hello");

async function insertHistory() {
  const now = Date.now();
  const models = ["gpt-4o", "gpt-4o-mini", "claude-sonnet", "echo"];
  const price: Record<string, [number, number]> = { "gpt-4o": [2.5, 10], "gpt-4o-mini": [0.15, 0.6], "claude-sonnet": [3, 15], echo: [2.5, 10] };
  let seed = 7;
  const rand = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648);
  const history: UsageEvent[] = [];
  for (let t = now - 30 * 86_400_000; t < now - 120_000; t += 45_000) {
    const hour = new Date(t).getUTCHours();
    const busy = 0.25 + 0.75 * Math.max(0, Math.sin(((hour - 6) / 24) * 2 * Math.PI));
    if (rand() > busy) continue;
    const k = keys[Math.floor(rand() * 3)]!;
    const model = models[Math.floor(rand() * rand() * models.length)]!;
    const prompt = 200 + Math.floor(rand() * 1800);
    const completion = 50 + Math.floor(rand() * 600);
    const failed = rand() < 0.02;
    const [pin, pout] = price[model]!;
    history.push({
      id: `hist-${t}`,
      requestId: crypto.randomUUID(),
      createdAt: t,
      keyId: k.id,
      keyName: k.name,
      model,
      provider: model === "echo" ? "local" : model.startsWith("claude") ? "anthropic" : "openai",
      upstreamModel: model,
      stream: rand() < 0.6,
      status: failed ? 502 : 200,
      promptTokens: failed ? 0 : prompt,
      cachedTokens: 0,
      completionTokens: failed ? 0 : completion,
      reasoningTokens: 0,
      costMicros: failed ? 0 : Math.round(prompt * pin + completion * pout),
      latencyMs: 250 + rand() * rand() * 4000,
      ttfbMs: 120 + rand() * 400,
      usageSource: "provider",
      endpoint: "chat.completions",
    });
  }
  for (let i = 0; i < history.length; i += 1000) await store.insertEvents(history.slice(i, i + 1000));
}

// The live requests' events are written off the request path: wait until they are in.
await Bun.sleep(1500);

const browser = await launchBrowser();
async function shoot(name: string, path: string, opts: { width?: number; height?: number; dark?: boolean; mobile?: boolean; then?: (p: import("playwright-core").Page) => Promise<void> } = {}) {
  const context = await browser.newContext({ viewport: { width: opts.width ?? 1280, height: opts.height ?? 900 }, colorScheme: opts.dark ? "dark" : "light", isMobile: opts.mobile, hasTouch: opts.mobile, deviceScaleFactor: 1 });
  const { page, problems } = await watchedPage(context);
  if (path === "sign-in") await page.goto(`${url}/ui`);
  else await signIn(page, url, ADMIN, path);
  await page.waitForLoadState("networkidle");
  if (opts.then) await opts.then(page);
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: !opts.mobile });
  await context.close();
  if (problems.length) throw new Error(`${name}: ${problems.join("\n")}`);
  console.log(`docs/screenshots/${name}.png`);
}

try {
  await shoot("sign-in", "sign-in", { height: 560 });
  await shoot("overview", "/ui/overview", { then: (p) => p.getByRole("button", { name: "7 days" }).click() });
  await shoot("overview-dark", "/ui/overview", { dark: true, then: (p) => p.getByRole("button", { name: "24 hours" }).click() });
  await shoot("keys", "/ui/keys");
  await shoot("create-key", "/ui/keys", {
    then: async (p) => {
      await p.getByRole("button", { name: "Create key" }).click();
      await p.getByLabel("Name", { exact: true }).fill("analytics-dashboard");
      await p.getByLabel("Budget (USD)").fill("25");
      await p.getByLabel("Requests per minute").fill("300");
    },
  });
  await shoot("usage", "/ui/usage");
  await shoot("providers", "/ui/providers", { height: 600 });
  await shoot("phone", "/ui/overview", { width: 390, height: 844, mobile: true });
} finally {
  await browser.close();
  await gateway.app.stop(true);
  await gateway.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
