// What a request may cost before it is sent: prompt tokens (exact, bounded, estimated) and the output it can be billed for.
import { boundPromptTokens, countPromptTokens, countTextTokens, estimatePromptTokens } from "../limits/estimate.ts";
import type { ChatRequest, EmbeddingsRequest } from "../openai/schemas.ts";
import type { Deployment, Provider } from "../providers/types.ts";
import { clientCap } from "../providers/shared/output-limits.ts";

/** A deployment a request may reach (the model's targets and its fallbacks'). */
export interface Reachable {
  provider: Provider;
  deployment: Deployment;
}

/** A request's size for admission (tpm, budget) and for charging a call that ends without the provider's usage. */
export interface Sizing {
  /** Exact prompt tokens (the tokenizer): asked only when a tpm limit applies, then kept. */
  promptTokens(): number;
  /** A cheap upper bound of the prompt, counting every byte that goes upstream: the budget reservation's prompt. */
  promptBound(): number;
  /** Prompt tokens to charge when no usage came back: the exact count when one was made, else an estimate. */
  promptEstimate(): number;
  /** The output cap the client set (every choice), or null when it set none. */
  readonly clientCap: number | null;
  /** The most output the request can be billed for on any of `targets`, as it stands; null when one would go uncapped. */
  outputBound(targets: readonly Reachable[]): number | null;
  /** Puts a cap set by the gateway (a key with a budget) on the request; absent when there is no output to cap. */
  capOutput?(tokens: number): void;
}

/** A chat-shaped request (chat completions, and responses and messages once translated to it). */
export function chatSizing(body: ChatRequest): Sizing {
  let exact = -1;
  return {
    promptTokens: () => (exact >= 0 ? exact : (exact = countPromptTokens(body))),
    promptBound: () => boundPromptTokens(body),
    promptEstimate: () => (exact >= 0 ? exact : estimatePromptTokens(body)),
    clientCap: clientCap(body),
    outputBound(targets) {
      let most = 0;
      for (const t of targets) {
        const cap = t.provider.outputCap(body, t.deployment);
        if (cap === null) return null;
        if (cap > most) most = cap;
      }
      return most;
    },
    capOutput(tokens) {
      // The cap is per choice; the budget's figure is for all of them.
      body.max_tokens = Math.max(1, Math.floor(tokens / Math.max(1, body.n ?? 1)));
      delete body.max_completion_tokens;
    },
  };
}

/** Input tokens of an embeddings request: strings tokenised like chat prompts, token arrays counted as they are. */
function inputTokens(req: EmbeddingsRequest): number {
  const input = req.input;
  if (typeof input === "string") return countTextTokens(input);
  if (input.length > 0 && typeof input[0] === "number") return input.length;
  return (input as (string | number[])[]).reduce<number>((n, x) => n + (typeof x === "string" ? countTextTokens(x) : x.length), 0);
}

/** Upper bound without the tokenizer: a token is at least one UTF-8 byte (see boundPromptTokens), plus one per text. */
function inputBound(req: EmbeddingsRequest): number {
  const input = req.input;
  if (typeof input === "string") return Buffer.byteLength(input) + 1;
  if (input.length > 0 && typeof input[0] === "number") return input.length;
  return (input as (string | number[])[]).reduce<number>((n, x) => n + (typeof x === "string" ? Buffer.byteLength(x) + 1 : x.length), 0);
}

/** Embeddings have no output: only their input is reserved and charged. */
export function embeddingsSizing(req: EmbeddingsRequest): Sizing {
  let exact = -1;
  const promptTokens = () => (exact >= 0 ? exact : (exact = inputTokens(req)));
  return { promptTokens, promptBound: () => inputBound(req), promptEstimate: () => (exact >= 0 ? exact : inputBound(req)), clientCap: 0, outputBound: () => 0 };
}
