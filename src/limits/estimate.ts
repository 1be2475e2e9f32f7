// Token estimate reserved before a call: prompt size plus the completion allowance.
import type { ChatRequest } from "../openai/schemas.ts";

/** ~4 characters per token over the message text: cheap, and settled to real usage afterwards. */
export function estimatePromptTokens(req: ChatRequest): number {
  let chars = 0;
  for (const m of req.messages) {
    if (typeof m.content === "string") chars += m.content.length;
    else if (Array.isArray(m.content)) for (const p of m.content) chars += p.type === "text" ? p.text.length : 340 * 4;
    chars += 16;
  }
  return Math.ceil(chars / 4);
}

export function estimateTokens(req: ChatRequest, defaultCompletion: number): number {
  return estimatePromptTokens(req) + (req.max_completion_tokens ?? req.max_tokens ?? defaultCompletion);
}
