// Pure state machine: Gemini `streamGenerateContent?alt=sse` events (raw `data:` JSON) → OpenAI chat completion chunks.
import type { ChatCompletionChunk, ChunkToolCall } from "../../openai/schemas.ts";
import { upstreamFailed } from "../../openai/errors.ts";
import type { StreamTranslator, Warn } from "../types.ts";
import { geminiStreamError, readGoogleError } from "./errors.ts";
import {
  blockedRefusal,
  mapGeminiFinishReason,
  mapGeminiUsage,
  PLAIN_REASONS,
  promptBlockReason,
  readCandidate,
  toOpenAIToolCall,
  type GeminiToolCall,
  type ResponseMeta,
} from "./response.ts";

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

type Delta = ChatCompletionChunk["choices"][number]["delta"];

/**
 * One per stream. Gemini sends whole function calls (never argument fragments), so each becomes one delta with
 * id, type, name and its full arguments. Gemini puts the finish reason and final usage on the last event; the
 * finish and usage chunks are sent at the end of the stream so a usage-only event after it still counts.
 */
export function createGeminiStreamTranslator(meta: ResponseMeta, warn: Warn = () => {}): StreamTranslator<string> {
  const head = { id: meta.id, object: "chat.completion.chunk" as const, created: meta.created, model: meta.model };
  const chunk = (delta: Delta): ChatCompletionChunk => ({ ...head, choices: [{ index: 0, delta, finish_reason: null }] });
  let started = false;
  let toolCount = 0;
  let finishReason: string | undefined;
  let blocked: string | undefined;
  let usage: unknown;

  return {
    push(data) {
      let ev: unknown;
      try {
        ev = JSON.parse(data);
      } catch {
        throw upstreamFailed("The provider sent a stream event that is not valid JSON.");
      }
      if (readGoogleError(ev)) throw geminiStreamError(ev);
      if (!isObj(ev)) return [];
      const out: ChatCompletionChunk[] = [];
      if (!started) {
        started = true;
        out.push(chunk({ role: "assistant", content: "" }));
      }
      if (ev.usageMetadata !== undefined) usage = ev.usageMetadata;
      const cand = readCandidate(ev);
      if (cand) {
        if (cand.text) out.push(chunk({ content: cand.text }));
        for (const call of cand.calls) {
          // Dense from 0 across the whole stream, whatever event or part position the call came in.
          const tc: ChunkToolCall & Pick<GeminiToolCall, "extra_content"> = { index: toolCount, ...toOpenAIToolCall(meta.requestId, toolCount, call) };
          toolCount++;
          out.push(chunk({ tool_calls: [tc] }));
        }
        if (cand.finishReason) finishReason = cand.finishReason;
      } else {
        const reason = promptBlockReason(ev);
        if (reason && !blocked) {
          blocked = reason;
          warn(blockedRefusal(reason));
          out.push(chunk({ refusal: blockedRefusal(reason) }));
        }
      }
      return out;
    },
    end() {
      if (!started || (finishReason === undefined && blocked === undefined)) {
        throw upstreamFailed("The provider's stream ended before it was complete.");
      }
      if (finishReason && !PLAIN_REASONS.has(finishReason)) warn(`Gemini finished with ${finishReason}.`);
      const finish = blocked ? "content_filter" : mapGeminiFinishReason({ reason: finishReason, hasToolCalls: toolCount > 0 });
      return [
        { ...head, choices: [{ index: 0, delta: {}, finish_reason: finish }] },
        { ...head, choices: [], usage: mapGeminiUsage(usage) },
      ];
    },
  };
}
