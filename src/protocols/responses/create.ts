// POST /responses on the pipeline: restore the conversation, admit it whole, then per deployment pass through or translate.
import { GatewayError, invalidRequest } from "../../openai/errors.ts";
import type { ChatRequest, Usage } from "../../openai/schemas.ts";
import type { ModelCall } from "../../pipeline/model-call.ts";
import { withModelParams } from "../../pipeline/model-params.ts";
import { chatSizing } from "../../pipeline/sizing.ts";
import type { CallContext, Deployment, NativeRequest, Provider } from "../../providers/types.ts";
import { completionToResponse } from "./from-chat.ts";
import { newResponseKey } from "./ids.ts";
import { nativeBody } from "./native-input.ts";
import { chatUsage, nativeJson, nativeStream } from "./native.ts";
import { createOutputBuilder, type OutputContext, type OutputResult } from "./output.ts";
import type { ResponsesRequest } from "./schema.ts";
import type { ResponsesService } from "./service.ts";
import { nativeRow, responseRow, restore, type Restored } from "./state.ts";
import { responsesStream } from "./stream.ts";
import { ENCRYPTED_REASONING, toChatRequest, type ChatTranslation } from "./to-chat.ts";
import { parseResponsesRequest } from "./validate.ts";

interface Note {
  message: string;
  param?: string;
}

/** Whether deployment `d` takes the request as it is (OpenAI, Azure) rather than translated. */
const native = (p: Provider, d: Deployment) => p.speaks?.("responses", d) === true && p.nativeComplete !== undefined && p.nativeStream !== undefined;

/**
 * For sizing alone, when the request cannot be translated (a native deployment may still take it): the whole input as
 * one message, so the budget reservation still counts every byte of the conversation.
 */
function roughChat(req: ResponsesRequest, restored: Restored): ChatRequest {
  const text = JSON.stringify({ instructions: req.instructions, input: restored.items.map((s) => s.item), tools: req.tools });
  const chat: ChatRequest = { model: req.model, messages: [{ role: "user", content: text }] };
  if (req.max_output_tokens != null) chat.max_tokens = req.max_output_tokens;
  return chat;
}

export async function handleCreate(call: ModelCall, rs: ResponsesService): Promise<Response> {
  const raw = await call.readJson();
  // The event of a request refused by validation still names the model it asked for, when it named one.
  call.asked(raw.model, raw.stream === true);
  const req = parseResponsesRequest(raw);
  const stream = req.stream === true;
  const route = call.resolve(req.model, stream);
  const keyId = call.principal.id;
  const sealer = await rs.sealer();
  const restored = await restore(req, { store: rs.store, sealer, keyId });

  // Translated once; what it dropped is noted on the attempts that use the translation (a native one drops nothing).
  const notes: Note[] = [];
  let translation: ChatTranslation | undefined;
  let untranslatable: unknown;
  try {
    const t = toChatRequest(req, restored.items, (message, param) => notes.push({ message, param }));
    translation = { ...t, chat: withModelParams(t.chat, route.model) };
  } catch (err) {
    if (!(err instanceof GatewayError) || !native(route.provider, route.deployment)) throw err;
    untranslatable = err;
  }
  // The budget and tpm count the whole conversation, history restored from previous_response_id included.
  const sized = translation?.chat ?? roughChat(req, restored);
  call.requested(sized);
  await call.admit(chatSizing(sized));
  // The cap the request was admitted with (the gateway's, for a key with a budget; a model default): a provider that
  // takes the body as it is must be held to it too.
  const admittedCap = req.max_output_tokens == null && sized.max_tokens != null ? sized.max_tokens : null;

  const key = newResponseKey();
  const keep = req.store !== false && rs.store !== null;
  const sealed = req.include?.includes(ENCRYPTED_REASONING) === true;
  const output = (t: ChatTranslation): OutputContext => ({
    key,
    publicModel: req.model,
    createdAt: Math.floor(call.deps.now() / 1000),
    request: req,
    names: t.names,
    summary: (req.reasoning?.summary ?? req.reasoning?.generate_summary) != null,
    seal: sealed ? (s) => sealer.seal(s) : undefined,
    keepState: keep,
  });
  const translated = (ctx: CallContext): ChatTranslation => {
    if (!translation) throw untranslatable;
    for (const n of notes) ctx.warn(n.message, n.param);
    return translation;
  };
  const pinned = restored.pinnedProvider;
  const checkPin = (p: Provider, d: Deployment) => {
    if (pinned === null) return;
    if (p.name !== pinned || !native(p, d)) {
      throw invalidRequest(
        `Response '${req.previous_response_id}' is held by provider '${pinned}': only a deployment there can continue it, and this model answered from '${p.name}'. Continue it with a model served by '${pinned}', or send the conversation's items in 'input'.`,
        "previous_response_id",
      );
    }
  };
  let body: Record<string, unknown> | undefined;
  const nativeRequest = (): NativeRequest => {
    body ??= admittedCap === null ? nativeBody(raw, req, restored) : { ...nativeBody(raw, req, restored), max_output_tokens: admittedCap };
    return { api: "responses", body, headers: {} };
  };
  const save = async (result: OutputResult) => {
    if (!keep) return;
    try {
      await rs.store!.saveResponse(responseRow(keyId, restored.input, result, Date.now()));
    } catch (e) {
      // The answer stands; a follow-up on it will not find it, and says so.
      call.deps.logger.error("saving a response failed", { request_id: call.requestId, error: e instanceof Error ? e.message : String(e) });
    }
  };
  const recordNative = (id: string, provider: string) => {
    if (!rs.store || req.store === false) return Promise.resolve();
    return rs.store.saveResponse(nativeRow(id, keyId, req.model, provider, req.previous_response_id ?? null, Date.now())).catch((e: unknown) => {
      call.deps.logger.error("recording a response's owner failed", { request_id: call.requestId, error: e instanceof Error ? e.message : String(e) });
    });
  };

  if (!stream) {
    type Whole = { native: Record<string, unknown>; provider: string; usage: Usage | null } | { result: OutputResult; usage: Usage | null };
    const routed = await call.whole<Whole>(async (p, d, ctx) => {
      checkPin(p, d);
      if (native(p, d)) {
        const answer = await p.nativeComplete!(nativeRequest(), d, ctx);
        return { native: nativeJson(answer, req.model, ctx), provider: p.name, usage: chatUsage(answer.usage) };
      }
      const t = translated(ctx);
      const completion = await p.complete({ ...t.chat, stream: false }, d, ctx);
      return { result: completionToResponse(completion, output(t)), usage: completion.usage ?? null };
    });
    const r = routed.result;
    if ("native" in r) {
      if (typeof r.native.id === "string") await recordNative(r.native.id, r.provider);
      return call.answer(routed, JSON.stringify(r.native), r.usage);
    }
    await save(r.result);
    return call.answer(routed, JSON.stringify(r.result.response), r.usage);
  }

  const routed = await call.stream(async (p, d, ctx) => {
    checkPin(p, d);
    if (native(p, d)) {
      const bytes = await p.nativeStream!(nativeRequest(), d, ctx);
      return nativeStream(bytes, req.model, ctx, { onId: (id) => void recordNative(id, p.name) });
    }
    const t = translated(ctx);
    const chat = await p.stream({ ...t.chat, stream: true }, d, ctx);
    return responsesStream(chat, createOutputBuilder(output(t)), { beforeFinal: save, maxEventBytes: ctx.maxResponseBytes });
  });
  return call.streamAnswer(routed);
}
