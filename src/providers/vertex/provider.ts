// Google Vertex AI provider: Gemini (generateContent) and Claude (rawPredict) behind one service account; the only impure file here.
import { upstreamFailed } from "../../openai/errors.ts";
import type { ChatRequest } from "../../openai/schemas.ts";
import { readJson, translateSse, upstreamFetch, streamBody } from "../http.ts";
import type { CallContext, Deployment, NativeRequest, ProviderFactory } from "../types.ts";
import { fromLegacyFunctions, legacyStreamTranslator, toLegacyCompletion, usesLegacyFunctions } from "../legacy-functions.ts";
import { imageFetchOptions, inlineImageUrls } from "../image-fetch.ts";
import { geminiOutputCap, toGeminiRequest } from "../gemini/request.ts";
import { defaultMaxTokens } from "../anthropic/models.ts";
import { knownMaxOutput } from "../shared/output-limits.ts";
import { fromGeminiResponse } from "../gemini/response.ts";
import { createGeminiStreamTranslator } from "../gemini/stream.ts";
import { structuredToolOf, toAnthropicRequest } from "../anthropic/request.ts";
import { fromAnthropicResponse } from "../anthropic/response.ts";
import { createAnthropicStreamTranslator, parseAnthropicEvent } from "../anthropic/stream.ts";
import { checkMessagesBody, forwardAnthropicSse } from "../shared/anthropic-sse.ts";
import { readServiceAccount } from "./credentials.ts";
import { createTokenSource } from "./token.ts";
import { isVertexClaude, vertexBase, vertexModelUrl, type Publisher } from "./urls.ts";
import { mapVertexError } from "./errors.ts";
import { toVertexClaudeBody, toVertexCountTokensBody, toVertexNativeBody } from "./claude.ts";
import { fromVertexPredictResponses, toVertexPredictBodies } from "./embeddings.ts";
import { isObj } from "../shared/json.ts";
import { mapLimited } from "../shared/map-limited.ts";

const EMBED_CONCURRENCY = 8;

export const createVertexProvider: ProviderFactory = (name, config) => {
  const project = config.project!;
  const location = config.location!;
  const base = vertexBase(location, config.base_url);
  // Read once at start-up (a bad file fails the config); its key is registered as a secret as it is read.
  const tokens = createTokenSource(readServiceAccount(config.credentials_file!, `providers.${name}.credentials_file`));
  const extra: Record<string, string> = {};
  for (const [k, v] of Object.entries(config.headers ?? {})) extra[k.toLowerCase()] = v;
  const imageFetch = imageFetchOptions(config);
  const url = (publisher: Publisher, model: string, method: string) => vertexModelUrl(base, project, location, publisher, model, method);

  /**
   * POST with a bearer token. A 401 means the token was revoked or expired early: it is forgotten and the call made
   * once more with a fresh one (as google-auth-library does); a second 401 is the credentials' fault (502).
   */
  const post = async (target: string, body: unknown, ctx: CallContext, more: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    for (let attempt = 0; ; attempt++) {
      const token = await tokens.token(ctx);
      let refused = false;
      const headers = { ...extra, ...more, "content-type": "application/json", authorization: `Bearer ${token}` };
      try {
        return await upstreamFetch({ url: target, headers, body: text }, ctx, (status, t, h) => {
          refused = status === 401;
          return mapVertexError(status, t, h);
        });
      } catch (err) {
        if (!refused || attempt > 0) throw err;
        tokens.invalidate(token);
      }
    }
  };
  const sseBody = (res: Response) => streamBody(res);
  const prepare = async (original: ChatRequest, ctx: CallContext) => {
    const req = usesLegacyFunctions(original) ? fromLegacyFunctions(original) : original;
    return imageFetch ? inlineImageUrls(req, imageFetch, ctx) : req;
  };
  const created = (ctx: CallContext) => Math.floor(ctx.now() / 1000);
  const geminiMeta = (ctx: CallContext) => ({ id: `chatcmpl-${ctx.requestId}`, created: created(ctx), model: ctx.publicModel, requestId: ctx.requestId });
  const claudeBody = (req: ChatRequest, d: Deployment, ctx: CallContext) => {
    // Translated as for Anthropic's own API (its sampling rules keyed to 2023-06-01); Vertex's version goes in the body.
    const body = toAnthropicRequest(req, d, ctx.warn);
    return { body, structuredTool: structuredToolOf(req, body) };
  };
  const anthropicBeta = (req: NativeRequest): Record<string, string> => {
    const beta = req.headers["anthropic-beta"];
    return beta ? { "anthropic-beta": beta } : {};
  };

  const noWarn = () => {};
  return {
    name,
    // As the translation sends it: Claude's max_tokens (after a raise for thinking), Gemini's maxOutputTokens.
    outputCap: (req, d) => (isVertexClaude(d.upstreamModel) ? toAnthropicRequest(req, d, noWarn).max_tokens : geminiOutputCap(req, d.model.max_tokens)),
    maxOutput: (d) => d.model.max_output_tokens ?? (isVertexClaude(d.upstreamModel) ? defaultMaxTokens(d.upstreamModel) : knownMaxOutput(d.upstreamModel)),
    async complete(original, d, ctx) {
      const req = await prepare(original, ctx);
      if (isVertexClaude(d.upstreamModel)) {
        const { body, structuredTool } = claudeBody(req, d, ctx);
        const res = await post(url("anthropic", d.upstreamModel, "rawPredict"), toVertexClaudeBody(body), ctx);
        const completion = fromAnthropicResponse(await readJson(res, ctx), { requestId: ctx.requestId, publicModel: ctx.publicModel, created: created(ctx), structuredTool });
        return usesLegacyFunctions(original) ? toLegacyCompletion(completion) : completion;
      }
      const body = toGeminiRequest(req, { warn: ctx.warn, defaultMaxTokens: d.model.max_tokens, model: d.upstreamModel });
      const res = await post(url("google", d.upstreamModel, "generateContent"), body, ctx);
      const completion = fromGeminiResponse(await readJson(res, ctx), geminiMeta(ctx), ctx.warn);
      return usesLegacyFunctions(original) ? toLegacyCompletion(completion) : completion;
    },
    async stream(original, d, ctx) {
      const req = await prepare(original, ctx);
      const legacy = usesLegacyFunctions(original);
      if (isVertexClaude(d.upstreamModel)) {
        const { body, structuredTool } = claudeBody(req, d, ctx);
        const res = await post(url("anthropic", d.upstreamModel, "streamRawPredict"), { ...toVertexClaudeBody(body), stream: true }, ctx);
        const translator = createAnthropicStreamTranslator({ id: `chatcmpl-${ctx.requestId}`, created: created(ctx), publicModel: ctx.publicModel, structuredTool });
        return translateSse(await sseBody(res), (ev) => parseAnthropicEvent(ev.data, ev.event), legacy ? legacyStreamTranslator(translator) : translator, ctx);
      }
      const body = toGeminiRequest(req, { warn: ctx.warn, defaultMaxTokens: d.model.max_tokens, model: d.upstreamModel });
      const res = await post(url("google", d.upstreamModel, "streamGenerateContent?alt=sse"), body, ctx);
      const translator = createGeminiStreamTranslator(geminiMeta(ctx), ctx.warn);
      return translateSse(await sseBody(res), (ev) => (ev.data.trim() === "" ? undefined : ev.data), legacy ? legacyStreamTranslator(translator) : translator, ctx);
    },
    async embed(req, d, ctx) {
      const bodies = toVertexPredictBodies(req, d.upstreamModel, ctx.warn);
      const answers = await mapLimited(bodies, EMBED_CONCURRENCY, async (b) => readJson(await post(url("google", d.upstreamModel, "predict"), b, ctx), ctx));
      return fromVertexPredictResponses(answers, req, ctx.publicModel);
    },
    speaks(api, d) {
      return api === "messages" && isVertexClaude(d.upstreamModel);
    },
    async nativeComplete(req, d, ctx) {
      checkMessagesBody(req);
      const res = await post(url("anthropic", d.upstreamModel, "rawPredict"), toVertexNativeBody(req, false), ctx, anthropicBeta(req));
      const body = await readJson(res, ctx);
      if (!isObj(body)) throw upstreamFailed("The provider returned a response that is not a JSON object.");
      return body;
    },
    async nativeStream(req, d, ctx) {
      checkMessagesBody(req);
      const res = await post(url("anthropic", d.upstreamModel, "streamRawPredict"), toVertexNativeBody(req, true), ctx, anthropicBeta(req));
      return forwardAnthropicSse(await sseBody(res), ctx);
    },
    async countTokens(req, d, ctx) {
      checkMessagesBody(req);
      const res = await post(url("anthropic", "count-tokens", "rawPredict"), toVertexCountTokensBody(req, d.upstreamModel), ctx, anthropicBeta(req));
      const body = await readJson(res, ctx);
      if (!isObj(body) || typeof body.input_tokens !== "number") throw upstreamFailed("The provider's token count answer has no input_tokens.");
      return body.input_tokens;
    },
  };
};
