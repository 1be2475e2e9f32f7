// The CLI (loaded by main.ts): flags, config, createApp, listen, graceful drain on SIGTERM, config reload on SIGHUP.
import { parseArgs } from "node:util";
import { ConfigError, DEFAULT_ADMIN_KEY, DEFAULT_DEV_KEY, defaultConfig, loadConfigFile } from "../config/load.ts";
import { openStore } from "../store/open.ts";
import type { Store } from "../store/store.ts";
import type { Config } from "../config/schema.ts";
import { createApp } from "./app.ts";
import pkg from "../../package.json" with { type: "json" };

const HELP = `switchboard ${pkg.version} — OpenAI-compatible LLM gateway

Usage: switchboard [--config FILE] [--port N] [--host ADDR]

  --config FILE   YAML config (default: $SWITCHBOARD_CONFIG, else a built-in offline 'echo' model)
  --port N        listen port (default: $PORT, else server.port, else 8080)
  --host ADDR     listen address (default: server.host, else 127.0.0.1)
  --help          this text
  --version       print the version

Environment: SWITCHBOARD_KEY and SWITCHBOARD_ADMIN_KEY set the API and admin keys of the built-in default config;
OPENAI_API_KEY adds OpenAI models to it.

Signals: SIGHUP reloads the config file (requests in flight finish on the old one); SIGTERM drains and stops.`;

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|\[::1\]|localhost)$/;

function fail(message: string): never {
  process.stderr.write(`switchboard: ${message}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  let args;
  try {
    args = parseArgs({
      args: Bun.argv.slice(2),
      options: { config: { type: "string" }, port: { type: "string" }, host: { type: "string" }, help: { type: "boolean" }, version: { type: "boolean" } },
      strict: true,
    }).values;
  } catch (err) {
    fail(`${err instanceof Error ? err.message : String(err)}\n\n${HELP}`);
  }
  if (args.help) return void process.stdout.write(HELP + "\n");
  if (args.version) return void process.stdout.write(pkg.version + "\n");
  // Elysia reads NODE_ENV at run time; a compiled binary would otherwise run in development mode.
  process.env.NODE_ENV ??= "production";

  const path = args.config ?? process.env.SWITCHBOARD_CONFIG;
  let config: Config;
  try {
    config = path ? await loadConfigFile(path) : defaultConfig();
  } catch (err) {
    if (err instanceof ConfigError) fail(`invalid config: ${err.message}`);
    throw err;
  }
  const portText = args.port ?? process.env.PORT;
  const port = portText !== undefined ? Number(portText) : config.server.port;
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port/PORT: '${portText}' is not a port number`);
  const host = args.host ?? config.server.host;
  const usesDevKey = config.keys.length === 0 || config.keys.some((k) => k.key === DEFAULT_DEV_KEY) || config.server.admin_key === DEFAULT_ADMIN_KEY;
  if (!LOOPBACK.test(host) && usesDevKey) {
    fail(`refusing to listen on ${host} without keys configured (or with the built-in development key): configure keys, or listen on 127.0.0.1`);
  }

  let store: Store;
  try {
    // Migrations run here, from inside the executable too; a store that cannot be opened stops the start.
    store = await openStore(config.store.url);
  } catch (err) {
    fail(`store.url: cannot open the store: ${err instanceof Error ? err.message : String(err)}`);
  }
  let gw: ReturnType<typeof createApp>;
  try {
    // A reload (SIGHUP, POST /admin/v1/reload) reads the same file again, with the environment as it is then.
    gw = createApp(config, { store, loadConfig: () => (path ? loadConfigFile(path) : Promise.resolve(defaultConfig())) });
  } catch (err) {
    // Checks that need the built app (a model's default params against the request schema) fail like the config's own.
    if (err instanceof ConfigError) fail(`invalid config: ${err.message}`);
    throw err;
  }
  try {
    await gw.ready;
  } catch (err) {
    fail(`store.url: cannot load keys from the store: ${err instanceof Error ? err.message : String(err)}`);
  }
  gw.listen(host, port);
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${gw.app.server?.port}`;
  const say = (s: string) => process.stderr.write(s + "\n");
  say(`switchboard ${pkg.version} listening on ${url} (config: ${config.source}; ${config.models.length} models, ${config.keys.length} keys)`);
  if (config.server.admin_key !== undefined || config.server.admin_key_sha256 !== undefined) say(`dashboard: ${url}/ui (sign in with the admin key)`);
  if (config.keys.length === 0) say("no keys configured: every request on loopback is accepted without a key");
  else if (!path) {
    const key = process.env.SWITCHBOARD_KEY || DEFAULT_DEV_KEY;
    say(`default config: authenticate with 'Authorization: Bearer ${key}'${process.env.SWITCHBOARD_KEY ? "" : " (set SWITCHBOARD_KEY to choose your own)"}`);
    say(`try: curl ${url}/v1/chat/completions -H 'Authorization: Bearer ${key}' -H 'Content-Type: application/json' -d '{"model":"echo","messages":[{"role":"user","content":"Hello"}]}'`);
    const admin = config.server.admin_key!;
    say(`admin API: 'Authorization: Bearer ${admin}' on ${url}/admin/v1/ (keys, usage, prices, audit)${process.env.SWITCHBOARD_ADMIN_KEY ? "" : " (set SWITCHBOARD_ADMIN_KEY to choose your own)"}; store: ${config.store.url}`);
  }

  let stopping = false;
  const drain = async (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    const grace = gw.config.server.shutdown_grace_s;
    say(`${signal}: draining ${gw.inflight.size} requests in flight (up to ${grace} s)`);
    // Stops accepting at once; resolves when every request in flight has finished.
    const drained = gw.app.server?.stop(false) ?? Promise.resolve();
    const inTime = await Promise.race([drained.then(() => true), Bun.sleep(grace * 1000).then(() => false)]);
    if (!inTime) {
      // What is left gets an answer (503, or an error event on a stream) and its log line, not a silent cut.
      const cut = gw.inflight.cutAll();
      say(`${signal}: drain window over; ended ${cut} requests still in flight`);
      await Promise.race([drained, Bun.sleep(1000)]);
      await gw.app.server?.stop(true);
    }
    // Queued usage events are written before the store closes.
    await gw.close();
    await store.close();
    await gw.logger.flush();
    process.exit(0);
  };
  process.on("SIGHUP", () => {
    void gw.reload().then((r) =>
      say(r.ok ? `SIGHUP: config reloaded (${r.changes})${r.restartNeeded.length ? `; takes a restart: ${r.restartNeeded.join(", ")}` : ""}` : `SIGHUP: ${r.message}; the running config stays`),
    );
  });
  process.on("SIGTERM", () => void drain("SIGTERM"));
  process.on("SIGINT", () => void drain("SIGINT"));
}

await main();
