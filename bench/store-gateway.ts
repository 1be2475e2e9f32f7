// A gateway for the store on/off comparison: `bun bench/store-gateway.ts off|on|budget PORT UPSTREAM_URL [STORE_URL]`.
// off: no store (no usage events); on: the SQLite store with usage events (config key); budget: a store key with a budget.
import { createApp } from "../src/entry/app.ts";
import { buildConfig } from "../src/config/load.ts";
import { createStdoutLogger } from "../src/observability/log.ts";
import { openStore } from "../src/store/open.ts";

const [mode = "off", port = "9110", upstream = "http://127.0.0.1:9100/v1", storeUrl = "sqlite:///tmp/sb-store-bench.db"] = process.argv.slice(2);
const config = buildConfig(
  {
    server: { admin_key: "sk-bench-admin" },
    providers: { mock: { type: "openai", base_url: upstream, api_key: "upstream-key" } },
    models: [{ id: "bench-model", provider: "mock", upstream_model: "gpt-4o-mini" }],
    keys: [{ name: "bench", key: "sk-bench" }],
  },
  "bench",
  {},
);
const store = mode === "off" ? undefined : await openStore(storeUrl);
// Request lines go to stdout as in service (the bench sends them to a file).
const gw = createApp(config, { store, logger: createStdoutLogger() });
await gw.ready;
if (mode === "budget") {
  const res = await gw.app.handle(
    new Request("http://localhost/admin/v1/keys", { method: "POST", headers: { authorization: "Bearer sk-bench-admin" }, body: JSON.stringify({ name: `bench-${Date.now()}`, budget: { usd: 1_000_000, period: "month" } }) }),
  );
  process.stderr.write(`KEY=${((await res.json()) as { key: string }).key}\n`);
}
gw.app.listen({ hostname: "127.0.0.1", port: Number(port), reusePort: false });
process.on("SIGTERM", async () => {
  await gw.app.stop();
  await gw.close();
  await store?.close();
  process.exit(0);
});
