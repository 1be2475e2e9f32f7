// A model entry's default request parameters (`params`): checked once at start-up, merged under each request's own.
import type { Config, ModelConfig } from "../config/schema.ts";
import { ConfigError } from "../config/load.ts";
import { GatewayError } from "../openai/errors.ts";
import type { ChatRequest } from "../openai/schemas.ts";
import { parseChatRequest } from "../http/validate.ts";

/** What a default may not set: the call's identity and shape belong to the client. */
const NOT_DEFAULTS = new Set(["model", "messages", "stream"]);

/** Throws a ConfigError naming `models[i].params…` for a default no request could legally carry (start-up only). */
export function checkModelParams(config: Config): void {
  config.models.forEach((m, i) => {
    if (!m.params) return;
    for (const k of Object.keys(m.params)) {
      if (NOT_DEFAULTS.has(k)) throw new ConfigError(`models[${i}].params.${k}: '${k}' cannot have a default`);
    }
    try {
      parseChatRequest({ ...m.params, model: m.id, messages: [{ role: "user", content: "x" }] });
    } catch (err) {
      if (err instanceof GatewayError) throw new ConfigError(`models[${i}].params${err.param ? `.${err.param}` : ""}: ${err.message}`);
      throw err;
    }
  });
}

/** The request with the model's defaults under it: a field the client sent (even null) wins. */
export function withModelParams(body: ChatRequest, model: ModelConfig): ChatRequest {
  if (!model.params) return body;
  // Validated again as a whole: defaults and the client's fields must also pass the cross-field rules together.
  return parseChatRequest({ ...model.params, ...body });
}
