// What the gateway leaves unloaded until a route needs it: prom-client until /metrics is scraped, @elysiajs/openapi until /docs/json is asked for, and @pydantic/genai-prices (the price table's source) never.
import { expect, test } from "bun:test";
import { Registry } from "prom-client";
import { PROMETHEUS_CONTENT_TYPE } from "../../src/observability/metrics.ts";

// In a fresh process (this one has loaded them itself): which of the packages have been loaded, after each step.
const probe = `
  const { startGateway } = await import("./tests/support/gateway.ts");
  const loaded = () => ["prom-client", "@elysiajs/openapi", "@pydantic/genai-prices"].filter((p) => Object.keys(require.cache).some((k) => k.includes("/node_modules/" + p + "/")));
  const steps = {};
  // gpt-4o is priced from the built-in table: the table is read, its source package is not.
  const g = await startGateway({ providers: { e: { type: "echo" }, oa: { type: "openai", api_key: "x" } }, models: [{ id: "echo", provider: "e" }, { id: "gpt-4o", provider: "oa" }], keys: [{ name: "k", key: "sk-lazy-modules-0001" }] });
  steps.started = loaded();
  await fetch(g.url + "/health");
  await fetch(g.url + "/v1/chat/completions", { method: "POST", headers: { authorization: "Bearer sk-lazy-modules-0001", "content-type": "application/json" }, body: JSON.stringify({ model: "echo", messages: [{ role: "user", content: "hi" }] }) });
  await fetch(g.url + "/docs");
  steps.served = loaded();
  const m = await fetch(g.url + "/metrics");
  steps.metrics = [m.status, m.headers.get("content-type"), (await m.text()).includes("switchboard_requests_total{"), ...loaded()];
  const d = await fetch(g.url + "/docs/json");
  steps.docs = [d.status, Object.keys((await d.json()).paths).includes("/v1/chat/completions"), ...loaded()];
  await g.stop();
  console.log(JSON.stringify(steps));
  process.exit(0);`;

test("prom-client loads at the first scrape, @elysiajs/openapi at the first /docs/json, @pydantic/genai-prices never", () => {
  const run = Bun.spawnSync([process.execPath, "-e", probe], { cwd: `${import.meta.dir}/../..`, stdout: "pipe", stderr: "inherit" });
  const steps = JSON.parse(run.stdout.toString().trim().split("\n").at(-1)!) as Record<string, unknown[]>;
  expect(steps).toEqual({
    started: [],
    served: [],
    metrics: [200, PROMETHEUS_CONTENT_TYPE, true, "prom-client"],
    docs: [200, true, "prom-client", "@elysiajs/openapi"],
  });
});

test("the metrics content type, known before prom-client is loaded, is prom-client's", () => {
  expect(PROMETHEUS_CONTENT_TYPE).toBe(Registry.PROMETHEUS_CONTENT_TYPE);
});
