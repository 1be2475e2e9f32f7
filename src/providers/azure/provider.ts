// Azure OpenAI provider: the OpenAI passthrough at a deployment's URL, with `api-key` auth and `api-version`.
import { authHeaders, openAICompatible } from "../openai/provider.ts";
import type { Deployment, ProviderFactory } from "../types.ts";
import { promptFilterPreambleDropper } from "./preamble.ts";

/**
 * `base_url` is the resource endpoint as the `openai` package's AzureOpenAI takes `endpoint`
 * (https://my-resource.openai.azure.com); its baseURL form ending in `/openai` is accepted too.
 */
export function azureChatUrl(baseUrl: string, deployment: string, apiVersion: string, operation = "chat/completions"): string {
  const base = baseUrl.replace(/\/+$/, "").replace(/\/openai$/, "");
  return `${base}/openai/deployments/${encodeURIComponent(deployment)}/${operation}?api-version=${encodeURIComponent(apiVersion)}`;
}

export const createAzureProvider: ProviderFactory = (name, config) => {
  // Config load checks these too; a factory built some other way must not produce URLs with "undefined" in them.
  const { base_url: baseUrl, api_version: apiVersion } = config;
  if (!apiVersion) throw new Error(`providers.${name}.api_version: required for type azure (e.g. 2024-10-21)`);
  if (!baseUrl) throw new Error(`providers.${name}.base_url: required for type azure (e.g. https://my-resource.openai.azure.com)`);
  const urls = new Map<string, string>();
  const urlOf = (d: Deployment, operation: string) => {
    const deployment = d.model.deployment ?? d.upstreamModel;
    const key = `${operation} ${deployment}`;
    let url = urls.get(key);
    if (!url) urls.set(key, (url = azureChatUrl(baseUrl, deployment, apiVersion, operation)));
    return url;
  };
  // The Responses API lives on Azure's v1 surface (no api-version); the deployment goes in the body's `model`.
  const responses = `${baseUrl.replace(/\/+$/, "").replace(/\/openai$/, "")}/openai/v1/responses`;
  // Without api_key, auth can still come from config `headers` (an Entra ID `authorization: Bearer …`).
  return openAICompatible(name, {
    chatUrl: (d) => urlOf(d, "chat/completions"),
    embeddingsUrl: (d) => urlOf(d, "embeddings"),
    responsesUrl: config.responses === false ? undefined : () => responses,
    responsesModel: (d) => d.model.deployment ?? d.upstreamModel,
    headers: authHeaders(config, config.api_key ? { "api-key": config.api_key } : {}),
    streamFilter: promptFilterPreambleDropper,
  });
};
