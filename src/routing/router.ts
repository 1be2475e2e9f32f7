// Model id → deployment and provider, resolved from a table built at start-up.
import type { Config, ModelConfig } from "../config/schema.ts";
import type { Deployment, Provider } from "../providers/types.ts";

export interface Route {
  model: ModelConfig;
  deployment: Deployment;
  provider: Provider;
  /** The upstream limit for this route: the provider's `timeout_ms`, else the server's. */
  timeoutMs: number;
}

export interface Router {
  /** The route for a public model id, or undefined when no such model is configured. */
  resolve(modelId: string): Route | undefined;
  /** Every configured model, in config order. */
  models(): readonly ModelConfig[];
}

export function buildRouter(config: Config, providers: Map<string, Provider>): Router {
  const routes = new Map<string, Route>();
  for (const m of config.models) {
    const provider = providers.get(m.provider);
    if (!provider) throw new Error(`models: provider '${m.provider}' was not built`);
    const timeoutMs = config.providers[m.provider]?.timeout_ms ?? config.server.upstream_timeout_ms;
    routes.set(m.id, { model: m, provider, timeoutMs, deployment: { provider: m.provider, upstreamModel: m.upstream_model ?? m.id, model: m } });
  }
  return {
    resolve: (id) => routes.get(id),
    models: () => config.models,
  };
}
