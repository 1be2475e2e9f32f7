// What a Bedrock model id says about its model: the vendor (Claude, Llama, Nova, …) behind region prefixes and ARNs.

/** Cross-region inference profiles prefix the model id with a geography (`us.anthropic.claude-…`). */
const GEO_PREFIX = /^(?:us|eu|apac|global|us-gov|jp|au|ca|ap)\./;

/**
 * The foundation model id inside any form Bedrock takes: a plain id, a cross-region profile id (`us.…`), or the ARN
 * of a foundation model or system inference profile. An application inference profile's ARN names no model: it is
 * returned as it is (the vendor then reads as unknown).
 */
export function baseModelId(model: string): string {
  const arn = /^arn:aws[a-z-]*:bedrock:[^:]*:[^:]*:(?:foundation-model|inference-profile)\/(.+)$/.exec(model);
  const id = arn ? arn[1]! : model;
  return id.replace(GEO_PREFIX, "");
}

/** The vendor part of a model id (`anthropic`, `meta`, `amazon`, `mistral`, `cohere`, `deepseek`, `openai`, …). */
export function vendorOf(model: string): string {
  const id = baseModelId(model);
  const dot = id.indexOf(".");
  return dot > 0 ? id.slice(0, dot) : "";
}

/** Claude on Bedrock: Converse for chat, and Anthropic's own Messages format through InvokeModel. */
export const isClaude = (model: string): boolean => vendorOf(model) === "anthropic" || /(^|[./-])claude-/.test(model);
