// The offline default model: answers with the last user message, as JSON or a word-by-word stream.
import type { ChatCompletion, ChatCompletionChunk, ChatRequest, Usage } from "../../openai/schemas.ts";
import { DONE, encodeChunk } from "../../openai/sse.ts";
import { meterChunk } from "../http.ts";
import type { CallContext, ProviderFactory } from "../types.ts";
import { clientCap } from "../shared/output-limits.ts";

function lastUserText(req: ChatRequest): string {
  for (let i = req.messages.length - 1; i >= 0; i--) {
    const m = req.messages[i]!;
    if (m.role !== "user") continue;
    if (typeof m.content === "string") return m.content;
    if (Array.isArray(m.content)) return m.content.map((p) => (p.type === "text" ? p.text : "[image]")).join(" ");
  }
  return "";
}

/** Roughly one token per word: the echo model has no tokenizer and needs none. */
const countWords = (s: string) => (s.match(/\S+/g) ?? []).length;

function answer(req: ChatRequest): { text: string; usage: Usage } {
  const text = lastUserText(req) || "(echo: no user message)";
  const limit = req.max_completion_tokens ?? req.max_tokens ?? Infinity;
  const words = text.split(/(?<=\s)/);
  const out = words.slice(0, limit).join("");
  const prompt = req.messages.reduce((n, m) => n + (typeof m.content === "string" ? countWords(m.content) : 1), 0);
  const completion = countWords(out);
  return { text: out, usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion } };
}

export const createEchoProvider: ProviderFactory = (name) => ({
  name,
  // It writes at most max_tokens words (one token each), and at most the user's message.
  outputCap: (req) => clientCap(req),
  maxOutput: (d) => d.model.max_output_tokens,
  async complete(req, _d, ctx): Promise<ChatCompletion> {
    const { text, usage } = answer(req);
    const truncated = text.length < (lastUserText(req) || "").length;
    return {
      id: `chatcmpl-${ctx.requestId}`,
      object: "chat.completion",
      created: Math.floor(ctx.now() / 1000),
      model: ctx.publicModel,
      choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: truncated ? "length" : "stop", logprobs: null }],
      usage,
    };
  },
  async stream(req, _d, ctx: CallContext) {
    const { text, usage } = answer(req);
    const truncated = text.length < (lastUserText(req) || "").length;
    const base = { id: `chatcmpl-${ctx.requestId}`, object: "chat.completion.chunk" as const, created: Math.floor(ctx.now() / 1000), model: ctx.publicModel };
    const pieces = text.split(/(?<=\s)/).filter(Boolean);
    const chunks: ChatCompletionChunk[] = [
      { ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] },
      ...pieces.map((p): ChatCompletionChunk => ({ ...base, choices: [{ index: 0, delta: { content: p }, finish_reason: null }] })),
      { ...base, choices: [{ index: 0, delta: {}, finish_reason: truncated ? "length" : "stop" }] },
      { ...base, choices: [], usage },
    ];
    let i = 0;
    return new ReadableStream<Uint8Array>(
      {
        pull(c) {
          const chunk = chunks[i++];
          if (chunk) {
            meterChunk(ctx.meter, chunk);
            c.enqueue(encodeChunk(chunk));
          } else {
            c.enqueue(DONE);
            c.close();
          }
        },
      },
      { highWaterMark: 0 },
    );
  },
});
