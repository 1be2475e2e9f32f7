// Anthropic Messages API provider: the only impure file of the adapter (headers, fetch, stream wiring).
import { readJson, translateSse, upstreamFetch, streamBody } from "../http.ts";
import type { CallContext, Deployment, ProviderFactory } from "../types.ts";
import type { ChatRequest } from "../../openai/schemas.ts";
import { mapAnthropicError } from "./errors.ts";
import { defaultMaxTokens } from "./models.ts";
import { DEFAULT_ANTHROPIC_VERSION, structuredToolOf, toAnthropicRequest } from "./request.ts";
import { fromAnthropicResponse } from "./response.ts";
import { createAnthropicStreamTranslator, parseAnthropicEvent } from "./stream.ts";
import { fromLegacyFunctions, legacyStreamTranslator, toLegacyCompletion, usesLegacyFunctions } from "../legacy-functions.ts";
import { imageFetchOptions, inlineImageUrls } from "../image-fetch.ts";
import { anthropicNative } from "./native.ts";

export const createAnthropicProvider: ProviderFactory = (name, config) => {
  // base_url as the official SDK takes it: the host, without /v1.
  const base = (config.base_url ?? "https://api.anthropic.com").replace(/\/+$/, "");
  const url = `${base}/v1/messages`;
  const version = config.anthropic_version ?? DEFAULT_ANTHROPIC_VERSION;
  // Lower-cased so a config header cannot sit beside ours under another spelling; ours are set last.
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(config.headers ?? {})) headers[k.toLowerCase()] = v;
  headers["content-type"] = "application/json";
  headers["anthropic-version"] = version;
  if (config.api_key) headers["x-api-key"] = config.api_key;

  const imageFetch = imageFetchOptions(config);
  const post = async (original: ChatRequest, d: Deployment, ctx: CallContext, stream: boolean) => {
    let req = usesLegacyFunctions(original) ? fromLegacyFunctions(original) : original;
    // URLs Anthropic cannot reach (intranet http://) become bytes, when the operator turned fetching on.
    if (imageFetch) req = await inlineImageUrls(req, imageFetch, ctx);
    const body = toAnthropicRequest(req, d, ctx.warn, { anthropicVersion: version });
    if (stream) body.stream = true;
    const structuredTool = structuredToolOf(req, body);
    return upstreamFetch({ url, headers, body: JSON.stringify(body) }, ctx, mapAnthropicError).then((res) => ({ res, structuredTool }));
  };
  const created = (ctx: CallContext) => Math.floor(ctx.now() / 1000);

  const noWarn = () => {};
  return {
    name,
    // What the translation sends as max_tokens, which bounds thinking and answer together (after it grew to fit a
    // thinking budget); never absent, Anthropic requires it. Legacy functions change no token setting.
    outputCap: (req, d) => toAnthropicRequest(req, d, noWarn, { anthropicVersion: version }).max_tokens,
    maxOutput: (d) => d.model.max_output_tokens ?? defaultMaxTokens(d.upstreamModel),
    // Messages API requests reach Anthropic as the client wrote them (src/protocols/messages).
    ...anthropicNative(base, headers),
    async complete(req, d, ctx) {
      const { res, structuredTool } = await post(req, d, ctx, false);
      const body = await readJson(res, ctx);
      const completion = fromAnthropicResponse(body, { requestId: ctx.requestId, publicModel: ctx.publicModel, created: created(ctx), structuredTool });
      return usesLegacyFunctions(req) ? toLegacyCompletion(completion) : completion;
    },
    async stream(req, d, ctx) {
      const { res, structuredTool } = await post(req, d, ctx, true);
      const sse = await streamBody(res);
      const translator = createAnthropicStreamTranslator({
        id: `chatcmpl-${ctx.requestId}`,
        created: created(ctx),
        publicModel: ctx.publicModel,
        structuredTool,
      });
      return translateSse(sse, (ev) => parseAnthropicEvent(ev.data, ev.event), usesLegacyFunctions(req) ? legacyStreamTranslator(translator) : translator, ctx);
    },
  };
};
