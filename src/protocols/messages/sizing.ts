// What a Messages request may cost before it is sent: its prompt (counted, bounded, estimated) and its max_tokens.
import type { Reachable, Sizing } from "../../pipeline/sizing.ts";
import type { CountTokensRequest } from "./schema.ts";
import { inputTokensOf } from "./targets.ts";

/** The prompt as it is sent: system, messages and tools (what the provider reads, whatever its dialect). */
const promptJson = (req: CountTokensRequest) => JSON.stringify([req.system ?? null, req.messages, req.tools ?? null]);

/**
 * A Messages request's size for admission (tpm, budget) and for charging a call that ends without the provider's
 * usage. `completion` is the request's max_tokens (0 for count_tokens, which produces nothing); `capOn` says what a
 * deployment is held to (a translated request's cap as its provider sends it), for budgets.
 */
export function messagesSizing(req: CountTokensRequest, completion: number, capOn?: (t: Reachable) => number | null): Sizing {
  let exact = -1;
  return {
    // max_tokens is required: the client always sets the cap, so the gateway never sets one.
    clientCap: completion,
    outputBound(targets) {
      let most = completion;
      for (const t of targets) {
        const cap = capOn ? capOn(t) : completion;
        if (cap === null) return null;
        if (cap > most) most = cap;
      }
      return most;
    },
    promptTokens: () => (exact >= 0 ? exact : (exact = inputTokensOf(req))),
    // Every byte that goes upstream (the whole body, not only the prompt fields) at one token a byte, which no
    // tokenizer exceeds (see boundPromptTokens): the reservation is replaced by the real usage afterwards.
    promptBound: () => Buffer.byteLength(JSON.stringify(req)) + 3,
    promptEstimate: () => (exact >= 0 ? exact : Math.ceil(promptJson(req).length / 4)),
  };
}
