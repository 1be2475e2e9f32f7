// Pure state machine: Gemini `streamGenerateContent?alt=sse` events (raw `data:` JSON) → OpenAI chat completion chunks.
import type { ChatCompletionChunk, ChunkToolCall, Logprobs } from "../../openai/schemas.ts";
import { upstreamFailed } from "../../openai/errors.ts";
import type { StreamTranslator, Warn } from "../types.ts";
import { geminiStreamError, readGoogleError } from "./errors.ts";
import {
  blockedRefusal,
  mapGeminiFinishReason,
  mapGeminiUsage,
  PLAIN_REASONS,
  promptBlockReason,
  readCandidates,
  toOpenAIToolCall,
  type GeminiToolCall,
  type ResponseMeta,
} from "./response.ts";
import { isObj } from "../shared/json.ts";


type Delta = ChatCompletionChunk["choices"][number]["delta"];

/** What one choice (Gemini candidate) has streamed so far. */
interface ChoiceState {
  toolCount: number;
  finishReason?: string;
}

/**
 * One per stream. Gemini sends whole function calls (never argument fragments), so each becomes one delta with
 * id, type, name and its full arguments. Gemini puts the finish reason and final usage on the last event; the
 * finish and usage chunks are sent at the end of the stream so a usage-only event after it still counts. With
 * `candidateCount` each candidate is its own choice (role chunk, deltas, finish), keyed by its `index`.
 */
export function createGeminiStreamTranslator(meta: ResponseMeta, warn: Warn = () => {}): StreamTranslator<string> {
  const head = { id: meta.id, object: "chat.completion.chunk" as const, created: meta.created, model: meta.model };
  const chunk = (delta: Delta, index = 0, logprobs?: Logprobs): ChatCompletionChunk => ({
    ...head,
    choices: [{ index, delta, finish_reason: null, ...(logprobs ? { logprobs } : {}) }],
  });
  const choices = new Map<number, ChoiceState>();
  let started = false;
  let blocked: string | undefined;
  let usage: unknown;
  const choice = (index: number, out: ChatCompletionChunk[]): ChoiceState => {
    let c = choices.get(index);
    if (!c) {
      c = { toolCount: 0 };
      choices.set(index, c);
      // Choice 0's role chunk went out with the first event; others announce themselves when they first appear.
      if (index !== 0) out.push(chunk({ role: "assistant", content: "" }, index));
    }
    return c;
  };

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
      const cands = readCandidates(ev);
      for (const cand of cands) {
        const st = choice(cand.index, out);
        if (cand.reasoning) out.push(chunk({ reasoning_content: cand.reasoning }, cand.index));
        if (cand.text || cand.logprobs) out.push(chunk({ content: cand.text }, cand.index, cand.logprobs));
        for (const call of cand.calls) {
          // Dense from 0 across the whole stream, whatever event or part position the call came in.
          const tc: ChunkToolCall & Pick<GeminiToolCall, "extra_content"> = { index: st.toolCount, ...toOpenAIToolCall(meta.requestId, st.toolCount, call, cand.index) };
          st.toolCount++;
          out.push(chunk({ tool_calls: [tc] }, cand.index));
        }
        if (cand.finishReason) st.finishReason = cand.finishReason;
      }
      if (cands.length === 0) {
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
      const finished = [...choices.values()].some((c) => c.finishReason !== undefined);
      if (!started || (!finished && blocked === undefined)) {
        throw upstreamFailed("The provider's stream ended before it was complete.");
      }
      if (blocked) {
        return [
          { ...head, choices: [{ index: 0, delta: {}, finish_reason: "content_filter" }] },
          { ...head, choices: [], usage: mapGeminiUsage(usage) },
        ];
      }
      const out: ChatCompletionChunk[] = [];
      for (const [index, c] of [...choices.entries()].sort((a, b) => a[0] - b[0])) {
        if (c.finishReason && !PLAIN_REASONS.has(c.finishReason)) warn(`Gemini finished with ${c.finishReason}.`);
        out.push({ ...head, choices: [{ index, delta: {}, finish_reason: mapGeminiFinishReason({ reason: c.finishReason, hasToolCalls: c.toolCount > 0 }) }] });
      }
      out.push({ ...head, choices: [], usage: mapGeminiUsage(usage) });
      return out;
    },
  };
}
