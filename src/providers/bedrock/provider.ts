// AWS Bedrock provider: the only impure file of the adapter (URLs, signing, fetch, event-stream wiring).
import { upstreamFailed } from "../../openai/errors.ts";
import type { ChatRequest } from "../../openai/schemas.ts";
import { readJson, upstreamFetch, streamBody } from "../http.ts";
import type { CallContext, Deployment, ProviderFactory } from "../types.ts";
import { fromLegacyFunctions, legacyStreamTranslator, toLegacyCompletion, usesLegacyFunctions } from "../legacy-functions.ts";
import { imageFetchOptions, inlineImageUrls } from "../image-fetch.ts";
import { translateEvents } from "../http.ts";
import { createAuthenticator, type BedrockCredentials } from "./auth.ts";
import { mapBedrockError } from "./errors.ts";
import { eventStreamMessages, headerString } from "./eventstream.ts";
import { toConverseRequest } from "./request.ts";
import { fromConverseResponse, type ResponseMeta } from "./response.ts";
import { createConverseStreamTranslator, type ConverseStreamEvent } from "./stream.ts";
import { fromBedrockEmbedResponses, toBedrockEmbedBodies } from "./embeddings.ts";
import { anthropicSse, inputTokensOf, toCountTokensBody, toInvokeBody } from "./native.ts";
import { checkMessagesBody } from "../shared/anthropic-sse.ts";
import { baseModelId, isClaude } from "./models.ts";
import { defaultMaxTokens } from "../anthropic/models.ts";
import { isObj } from "../shared/json.ts";
import { mapLimited } from "../shared/map-limited.ts";

const EVENT_STREAM = "application/vnd.amazon.eventstream";
/** Embedding calls in flight at once for one request (Titan embeds one text per call). */
const EMBED_CONCURRENCY = 8;


/** `https://bedrock-runtime.{region}.amazonaws.com`, as the AWS SDK resolves it, unless `base_url` says otherwise. */
export const bedrockBaseUrl = (region: string, baseUrl?: string): string => (baseUrl ?? `https://bedrock-runtime.${region}.amazonaws.com`).replace(/\/+$/, "");

/** `/model/{modelId}/{operation}`: the model id percent-encoded as one path segment (`:` → %3A, an ARN's `/` → %2F). */
export const bedrockUrl = (base: string, model: string, operation: string): string => `${base}/model/${encodeURIComponent(model)}/${operation}`;

/** ConverseStream messages as translator events: the event's type and JSON payload, exceptions flagged. */
async function* converseEvents(body: ReadableStream<Uint8Array>, maxBytes?: number): AsyncGenerator<ConverseStreamEvent> {
  for await (const m of eventStreamMessages(body, maxBytes)) {
    const kind = headerString(m, ":message-type");
    const exception = kind === "exception" || kind === "error";
    const type = exception ? (headerString(m, ":exception-type") ?? headerString(m, ":error-code") ?? "internalServerException") : headerString(m, ":event-type");
    if (!type) continue;
    let payload: unknown;
    try {
      payload = m.payload.length === 0 ? {} : JSON.parse(new TextDecoder().decode(m.payload));
    } catch {
      if (exception) payload = { message: headerString(m, ":error-message") };
      else throw upstreamFailed("The provider sent a stream event that is not valid JSON.");
    }
    yield { type, exception, payload: isObj(payload) ? payload : {} };
  }
}

export const createBedrockProvider: ProviderFactory = (name, config) => {
  const region = config.region!;
  const base = bedrockBaseUrl(region, config.base_url);
  // Resolved at config load: an API key, or an access key pair (from the config or the AWS_* environment).
  const creds: BedrockCredentials = config.api_key
    ? { kind: "bearer", apiKey: config.api_key }
    : { kind: "sigv4", accessKeyId: config.access_key_id!, secretAccessKey: config.secret_access_key!, ...(config.session_token ? { sessionToken: config.session_token } : {}) };
  const authenticate = createAuthenticator(creds, region);
  const extra: Record<string, string> = {};
  for (const [k, v] of Object.entries(config.headers ?? {})) extra[k.toLowerCase()] = v;
  const imageFetch = imageFetchOptions(config);

  const post = async (model: string, operation: string, body: unknown, ctx: CallContext, accept = "application/json") => {
    const url = bedrockUrl(base, model, operation);
    const text = JSON.stringify(body);
    const headers = await authenticate({ url, headers: { ...extra, "content-type": "application/json", accept }, body: text });
    return upstreamFetch({ url, headers, body: text }, ctx, mapBedrockError);
  };
  const eventStream = (res: Response) => streamBody(res, EVENT_STREAM);
  const converseBody = async (original: ChatRequest, d: Deployment, ctx: CallContext) => {
    let req = usesLegacyFunctions(original) ? fromLegacyFunctions(original) : original;
    // Bedrock reads image bytes or S3 objects only; with fetching on, the gateway fetches URLs itself.
    if (imageFetch) req = await inlineImageUrls(req, imageFetch, ctx);
    return toConverseRequest(req, { warn: ctx.warn, model: d.upstreamModel, defaultMaxTokens: d.model.max_tokens });
  };
  const metaOf = (ctx: CallContext, d: Deployment): ResponseMeta => ({
    id: `chatcmpl-${ctx.requestId}`,
    created: Math.floor(ctx.now() / 1000),
    model: ctx.publicModel,
    claude: isClaude(d.upstreamModel),
  });

  const noWarn = () => {};
  return {
    name,
    // inferenceConfig.maxTokens as the translation sends it (after a raise for Claude's thinking budget); it bounds
    // reasoning and answer together. Models without a default and no client cap go uncapped (null).
    outputCap: (req, d) => toConverseRequest(req, { warn: noWarn, model: d.upstreamModel, defaultMaxTokens: d.model.max_tokens }).inferenceConfig?.maxTokens ?? null,
    maxOutput: (d) => d.model.max_output_tokens ?? (isClaude(d.upstreamModel) ? defaultMaxTokens(baseModelId(d.upstreamModel)) : undefined),
    async complete(req, d, ctx) {
      const res = await post(d.upstreamModel, "converse", await converseBody(req, d, ctx), ctx);
      const completion = fromConverseResponse(await readJson(res, ctx), metaOf(ctx, d), ctx.warn);
      return usesLegacyFunctions(req) ? toLegacyCompletion(completion) : completion;
    },
    async stream(req, d, ctx) {
      const res = await post(d.upstreamModel, "converse-stream", await converseBody(req, d, ctx), ctx, EVENT_STREAM);
      const body = await eventStream(res);
      const translator = createConverseStreamTranslator(metaOf(ctx, d), ctx.warn);
      return translateEvents(converseEvents(body, ctx.maxResponseBytes), usesLegacyFunctions(req) ? legacyStreamTranslator(translator) : translator, ctx);
    },
    async embed(req, d, ctx) {
      const bodies = toBedrockEmbedBodies(req, d.upstreamModel, ctx.warn);
      const answers = await mapLimited(bodies, EMBED_CONCURRENCY, async (b) => readJson(await post(d.upstreamModel, "invoke", b, ctx), ctx));
      return fromBedrockEmbedResponses(answers, req, d.upstreamModel, ctx.publicModel);
    },
    speaks(api, d) {
      return api === "messages" && isClaude(d.upstreamModel);
    },
    async nativeComplete(req, d, ctx) {
      checkMessagesBody(req);
      const body = await readJson(await post(d.upstreamModel, "invoke", toInvokeBody(req), ctx), ctx);
      if (!isObj(body)) throw upstreamFailed("The provider returned a response that is not a JSON object.");
      return body;
    },
    async nativeStream(req, d, ctx) {
      checkMessagesBody(req);
      const url = bedrockUrl(base, d.upstreamModel, "invoke-with-response-stream");
      const text = JSON.stringify(toInvokeBody(req));
      // The answer's own content type is asked with x-amzn-bedrock-accept; `accept` is the event stream's.
      const headers = await authenticate({ url, headers: { ...extra, "content-type": "application/json", accept: EVENT_STREAM, "x-amzn-bedrock-accept": "application/json" }, body: text });
      const res = await upstreamFetch({ url, headers, body: text }, ctx, mapBedrockError);
      return anthropicSse(eventStreamMessages(await eventStream(res), ctx.maxResponseBytes), ctx);
    },
    async countTokens(req, d, ctx) {
      checkMessagesBody(req);
      // CountTokens names the foundation model, not a cross-region profile.
      const res = await post(baseModelId(d.upstreamModel), "count-tokens", toCountTokensBody(req), ctx);
      const n = inputTokensOf(await readJson(res, ctx));
      if (n === undefined) throw upstreamFailed("The provider's token count answer has no inputTokens.");
      return n;
    },
  };
};
