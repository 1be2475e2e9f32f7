// Provider type → factory; the registry of provider instances is built once from the config at start-up.
import type { Config, ProviderConfig } from "../config/schema.ts";
import type { Provider, ProviderFactory } from "./types.ts";
import { registerSecrets } from "../config/secrets.ts";
import { createOpenAIProvider } from "./openai/provider.ts";
import { createEchoProvider } from "./echo/provider.ts";
import { createGeminiProvider } from "./gemini/provider.ts";
import { createAzureProvider } from "./azure/provider.ts";
import { createAnthropicProvider } from "./anthropic/provider.ts";
import { createBedrockProvider } from "./bedrock/provider.ts";
import { createVertexProvider } from "./vertex/provider.ts";

const factories: Partial<Record<ProviderConfig["type"], ProviderFactory>> = {
  openai: createOpenAIProvider,
  echo: createEchoProvider,
  gemini: createGeminiProvider,
  azure: createAzureProvider,
  anthropic: createAnthropicProvider,
  bedrock: createBedrockProvider,
  vertex: createVertexProvider,
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
    out.set(name, factory(name, pc, { timeoutMs: pc.timeout_ms ?? config.server.upstream_timeout_ms }));
  }
  return out;
}
