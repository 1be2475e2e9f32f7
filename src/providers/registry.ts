// Provider type → factory; the registry of provider instances is built once from the config at start-up.
import type { Config, ProviderConfig } from "../config/schema.ts";
import type { Provider, ProviderFactory } from "./types.ts";
import { registerSecrets } from "../config/secrets.ts";

// Each type's module is loaded when a configured provider first needs it (a synchronous `require`, which the compiled
// executable bundles like an import): a gateway configured for one provider type does not carry the other six
// translators in memory (measured: 1.3 MiB of idle RSS on the bench config).
const factories: Partial<Record<ProviderConfig["type"], () => ProviderFactory>> = {
  openai: () => (require("./openai/provider.ts") as typeof import("./openai/provider.ts")).createOpenAIProvider,
  echo: () => (require("./echo/provider.ts") as typeof import("./echo/provider.ts")).createEchoProvider,
  gemini: () => (require("./gemini/provider.ts") as typeof import("./gemini/provider.ts")).createGeminiProvider,
  azure: () => (require("./azure/provider.ts") as typeof import("./azure/provider.ts")).createAzureProvider,
  anthropic: () => (require("./anthropic/provider.ts") as typeof import("./anthropic/provider.ts")).createAnthropicProvider,
  bedrock: () => (require("./bedrock/provider.ts") as typeof import("./bedrock/provider.ts")).createBedrockProvider,
  vertex: () => (require("./vertex/provider.ts") as typeof import("./vertex/provider.ts")).createVertexProvider,
};

/** Checked at config load: a type listed in the schema but not built yet fails start-up, not a request. */
export const supportedProviderTypes = (): string[] => Object.keys(factories);

export function buildProviders(config: Config): Map<string, Provider> {
  const out = new Map<string, Provider>();
  for (const [name, pc] of Object.entries(config.providers)) {
    const factory = factories[pc.type];
    if (!factory) throw new Error(`providers.${name}.type: provider type '${pc.type}' is not supported by this build`);
    // Its key and every header value it sends: whatever a provider echoes back of them is redacted.
    // Bedrock's AWS keys too; Vertex registers its service account's key (and each access token) when it reads them.
    registerSecrets([pc.api_key, pc.secret_access_key, pc.session_token, ...Object.values(pc.headers ?? {})]);
    out.set(name, factory()(name, pc, { timeoutMs: pc.timeout_ms ?? config.server.upstream_timeout_ms }));
  }
  return out;
}
