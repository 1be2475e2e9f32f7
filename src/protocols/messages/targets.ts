// The per-deployment calls of a Messages request: passthrough where the provider speaks Messages, translation through chat elsewhere.
import type { Config } from "../../config/schema.ts";
import type { GatewayError } from "../../openai/errors.ts";
import type { ChatRequest, Usage } from "../../openai/schemas.ts";
import { withModelParams } from "../../pipeline/model-params.ts";
import type { CallContext, Deployment, NativeRequest, Provider } from "../../providers/types.ts";
import { countTokensLocally } from "./count.ts";
import { fromChatCompletion, type AnthropicMessage } from "./from-chat.ts";
import { forwardNativeStream, nativeAnswer, prepareNativeBody } from "./native.ts";
import type { CountTokensRequest, MessagesRequest } from "./schema.ts";
import type { ThinkingSealer } from "./seal.ts";
import { pipeChatToMessages } from "./sse.ts";
import { createMessagesStreamTranslator } from "./stream.ts";
import type { TargetProfile } from "./target.ts";
import { omitsThinkingText, toChatRequest, wantsThinking } from "./to-chat.ts";

/** What one deployment is asked (the router's Upstream): the provider, the deployment, the attempt's context. */
export type TargetCall<T> = (provider: Provider, d: Deployment, ctx: CallContext) => Promise<T>;

/** Client headers forwarded to providers that speak Messages (lower-case names). */
export const FORWARDED = ["anthropic-version", "anthropic-beta"] as const;

export function forwardedHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of FORWARDED) {
    const v = headers.get(h);
    if (v) out[h] = v;
  }
  return out;
}

export interface MessagesContext {
  req: MessagesRequest;
  /** The validated body as the client sent it, unknown fields included (what a passthrough forwards). */
  raw: Record<string, unknown>;
  headers: Record<string, string>;
  sealer: ThinkingSealer;
  config: Config;
  /** The prompt's tokens as the gateway counts them, once per request (the sizing's count, when it made one). */
  inputTokens?: () => number;
}

/** The deployment as the translation sees it: its provider's kind and name, its model, its output cap. */
export function profileOf(config: Config, d: Deployment): TargetProfile {
  return { provider: d.provider, kind: config.providers[d.provider]?.type ?? "openai", upstreamModel: d.upstreamModel, maxTokens: d.model.max_tokens };
}

const speaksMessages = (p: Provider, d: Deployment) => p.speaks?.("messages", d) === true;

export interface WholeAnswer {
  body: AnthropicMessage | Record<string, unknown>;
  usage: Usage | null;
}

/** A whole answer from one deployment, as an Anthropic message with the public model id. */
export function wholeMessage(m: MessagesContext): TargetCall<WholeAnswer> {
  return async (provider, d, ctx) => {
    if (speaksMessages(provider, d) && provider.nativeComplete) {
      const native: NativeRequest = { api: "messages", body: prepareNativeBody(m.raw, ctx.warn), headers: m.headers };
      return nativeAnswer(await provider.nativeComplete(native, d, ctx), ctx.publicModel);
    }
    const chat = chatFor(m, d, ctx);
    delete chat.stream;
    const completion = await provider.complete(chat, d, ctx);
    const body = fromChatCompletion(completion, {
      requestId: ctx.requestId,
      publicModel: ctx.publicModel,
      provider: d.provider,
      sealer: m.sealer,
      thinking: wantsThinking(m.req),
      omitThinkingText: omitsThinkingText(m.req),
    });
    return { body, usage: completion.usage ?? null };
  };
}

/** Marks the attempt failed (routing then fails over before the first byte, or counts the break after it). */
function failed(ctx: CallContext, f: GatewayError | undefined) {
  if (!f || f.kind === "client_closed") return;
  ctx.meter.failed = true;
  ctx.meter.failure ??= f;
}

/**
 * The most output a deployment can bill for this request: its max_tokens where it speaks Messages (thinking fits
 * inside it there), else the cap its provider sends for the translated request (after any raise it makes).
 */
export function outputCapOn(m: MessagesContext, provider: Provider, d: Deployment): number | null {
  if (speaksMessages(provider, d)) return m.req.max_tokens;
  try {
    const chat = withModelParams(toChatRequest(m.req, { target: profileOf(m.config, d), warn: () => {}, sealer: m.sealer }), d.model);
    return provider.outputCap(chat, d);
  } catch {
    // A request this deployment refuses never reaches it: it bills nothing there.
    return m.req.max_tokens;
  }
}

/** The chat request one deployment gets: the translation for its kind, under its model entry's default `params`. */
function chatFor(m: MessagesContext, d: Deployment, ctx: CallContext): ChatRequest {
  return withModelParams(toChatRequest(m.req, { target: profileOf(m.config, d), warn: ctx.warn, sealer: m.sealer }), d.model);
}

/**
 * A stream from one deployment in Anthropic's events: the provider's own (model rewritten, usage read) where it
 * speaks Messages, else its chat stream translated, message_start carrying the prompt as the gateway counts it.
 */
export function streamMessage(m: MessagesContext): TargetCall<ReadableStream<Uint8Array>> {
  return async (provider, d, ctx) => {
    if (speaksMessages(provider, d) && provider.nativeStream) {
      const native: NativeRequest = { api: "messages", body: prepareNativeBody(m.raw, ctx.warn), headers: m.headers };
      const body = await provider.nativeStream(native, d, ctx);
      return forwardNativeStream(body, { publicModel: ctx.publicModel, meter: ctx.meter, maxEventBytes: ctx.maxResponseBytes });
    }
    const chat = chatFor(m, d, ctx);
    chat.stream = true;
    const translator = createMessagesStreamTranslator({
      requestId: ctx.requestId,
      publicModel: ctx.publicModel,
      provider: d.provider,
      sealer: m.sealer,
      thinking: wantsThinking(m.req),
      omitThinkingText: omitsThinkingText(m.req),
      inputTokens: m.inputTokens?.() ?? inputTokensOf(m.req),
    });
    const chatStream = await provider.stream(chat, d, ctx);
    return pipeChatToMessages(chatStream, translator, { maxEventBytes: ctx.maxResponseBytes, onEnd: (f) => failed(ctx, f) });
  };
}

/** The prompt's tokens for message_start: the gateway's count (a file it cannot read makes it an estimate). */
export function inputTokensOf(req: CountTokensRequest): number {
  try {
    return Math.max(1, countTokensLocally(req));
  } catch {
    return Math.max(1, Math.ceil(JSON.stringify([req.system, req.messages, req.tools]).length / 4));
  }
}

/** count_tokens on one deployment: asked of a provider that has it, else counted by the gateway. */
export function countTokens(m: Omit<MessagesContext, "req"> & { req: CountTokensRequest }): TargetCall<number> {
  return async (provider, d, ctx) => {
    if (speaksMessages(provider, d) && provider.countTokens) {
      return provider.countTokens({ api: "messages", body: prepareNativeBody(m.raw, ctx.warn), headers: m.headers }, d, ctx);
    }
    return countTokensLocally(m.req);
  };
}
