// What a request may cost before it is sent: prompt tokens (exact, bounded, estimated) and the completion allowance.
import { boundPromptTokens, completionAllowance, countPromptTokens, countTextTokens, estimatePromptTokens } from "../limits/estimate.ts";
import type { ChatRequest, EmbeddingsRequest } from "../openai/schemas.ts";

/** A request's size for admission (tpm, budget) and for charging a call that ends without the provider's usage. */
export interface Sizing {
  /** Exact prompt tokens (the tokenizer): asked only when a tpm limit applies, then kept. */
  promptTokens(): number;
  /** A cheap upper bound of the prompt, counting every byte that goes upstream: the budget reservation's prompt. */
  promptBound(): number;
  /** Prompt tokens to charge when no usage came back: the exact count when one was made, else an estimate. */
  promptEstimate(): number;
  /** The completion allowance: the most output the provider is held to (0 when there is no completion). */
  readonly completion: number;
}

/** A chat-shaped request (chat completions, and responses and messages once translated). */
export function chatSizing(body: ChatRequest, defaultCompletion: number): Sizing {
  let exact = -1;
  return {
    promptTokens: () => (exact >= 0 ? exact : (exact = countPromptTokens(body))),
    promptBound: () => boundPromptTokens(body),
    promptEstimate: () => (exact >= 0 ? exact : estimatePromptTokens(body)),
    completion: completionAllowance(body, defaultCompletion),
  };
}

/** Input tokens of an embeddings request: strings tokenised like chat prompts, token arrays counted as they are. */
function inputTokens(req: EmbeddingsRequest): number {
  const input = req.input;
  if (typeof input === "string") return countTextTokens(input);
  if (input.length > 0 && typeof input[0] === "number") return input.length;
  return (input as (string | number[])[]).reduce<number>((n, x) => n + (typeof x === "string" ? countTextTokens(x) : x.length), 0);
}

/** Upper bound without the tokenizer: a token is at least one UTF-8 byte per three (see boundPromptTokens). */
function inputBound(req: EmbeddingsRequest): number {
  const input = req.input;
  if (typeof input === "string") return Math.ceil(Buffer.byteLength(input) / 3) + 1;
  if (input.length > 0 && typeof input[0] === "number") return input.length;
  return (input as (string | number[])[]).reduce<number>((n, x) => n + (typeof x === "string" ? Math.ceil(Buffer.byteLength(x) / 3) + 1 : x.length), 0);
}

export function embeddingsSizing(req: EmbeddingsRequest): Sizing {
  let exact = -1;
  const promptTokens = () => (exact >= 0 ? exact : (exact = inputTokens(req)));
  return { promptTokens, promptBound: () => inputBound(req), promptEstimate: () => (exact >= 0 ? exact : inputBound(req)), completion: 0 };
}
