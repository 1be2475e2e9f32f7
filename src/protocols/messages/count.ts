// count_tokens for providers without it: the prompt (system, messages, tools) counted with the gateway's own tokenizer.
import { countPromptTokens } from "../../limits/estimate.ts";
import type { ChatRequest } from "../../openai/schemas.ts";
import type { CountTokensRequest } from "./schema.ts";
import type { ThinkingSealer } from "./seal.ts";
import { baseRequest } from "./to-chat.ts";

/** A document's cost is not knowable without its pages; Anthropic counts roughly 1,500–3,000 tokens a page. */
const PDF_TOKENS_PER_100KB = 1500;

/** Nothing is opened: the reasoning of earlier turns is not sent again, so it is not counted. */
const noSeals: ThinkingSealer = { seal: () => "", open: () => undefined };

/**
 * The prompt tokens of a count_tokens request, as the model it names would be sent it (the same translation as a
 * create, warnings unheard): o200k_base over the text, tool calls and tool definitions, per-message framing, a fixed
 * cost per image and an estimate per PDF. An estimate for every provider but Anthropic's, which counts itself.
 */
export function countTokensLocally(req: CountTokensRequest): number {
  const chat = baseRequest(req, { target: { provider: "", kind: "count", upstreamModel: req.model }, warn: () => {}, sealer: noSeals });
  return countPromptTokens(chat) + documentTokens(chat);
}

function documentTokens(chat: ChatRequest): number {
  let n = 0;
  for (const m of chat.messages) {
    if (!Array.isArray(m.content)) continue;
    for (const p of m.content) {
      if (p.type !== "file" || !p.file.file_data) continue;
      const bytes = Math.floor((p.file.file_data.length - p.file.file_data.indexOf(",") - 1) * 0.75);
      n += Math.max(PDF_TOKENS_PER_100KB, Math.ceil((bytes / 100_000) * PDF_TOKENS_PER_100KB));
    }
  }
  return n;
}
