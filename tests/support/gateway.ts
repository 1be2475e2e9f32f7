// Starts a real gateway on port 0 from a config object (the YAML as data), with its log lines kept in memory.
import { buildConfig } from "../../src/config/load.ts";
import { createApp, type AppDeps, type Gateway } from "../../src/entry/app.ts";
import { createMemoryLogger } from "../../src/observability/log.ts";

export interface GatewayHandle {
  url: string;
  /** url + "/v1": what an OpenAI SDK's baseURL is set to. */
  baseURL: string;
  /** Structured log lines (request lines and operational ones). */
  logs: Record<string, unknown>[];
  gateway: Gateway;
  stop(): Promise<void>;
}

export async function startGateway(config: object, deps: AppDeps = {}, env: Record<string, string | undefined> = process.env): Promise<GatewayHandle> {
  const logger = createMemoryLogger();
  const gateway = createApp(buildConfig(config, "test", env), { logger, ...deps });
  await gateway.ready;
  gateway.listen("127.0.0.1", 0);
  const url = `http://127.0.0.1:${gateway.app.server!.port}`;
  return {
    url,
    baseURL: `${url}/v1`,
    logs: logger.lines,
    gateway,
    async stop() {
      await gateway.app.stop(true);
      await gateway.close();
    },
  };
}

/** A helper for raw HTTP calls with a key. */
export const post = (url: string, body: unknown, key?: string, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
