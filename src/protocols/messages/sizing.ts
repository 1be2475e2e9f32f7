// What a Messages request may cost before it is sent: its prompt (counted, bounded, estimated) and its max_tokens.
import type { Sizing } from "../../pipeline/sizing.ts";
import type { CountTokensRequest } from "./schema.ts";
import { inputTokensOf } from "./targets.ts";

/** The prompt as it is sent: system, messages and tools (what the provider reads, whatever its dialect). */
const promptJson = (req: CountTokensRequest) => JSON.stringify([req.system ?? null, req.messages, req.tools ?? null]);

/**
 * A Messages request's size for admission (tpm, budget) and for charging a call that ends without the provider's
 * usage. `completion` is the request's max_tokens (0 for count_tokens, which produces nothing).
 */
export function messagesSizing(req: CountTokensRequest, completion: number): Sizing {
  let exact = -1;
  return {
    promptTokens: () => (exact >= 0 ? exact : (exact = inputTokensOf(req))),
    // Bytes / 3 leans high (English runs 4–5 bytes a token): the reservation is replaced by the real usage afterwards.
    promptBound: () => Math.ceil(Buffer.byteLength(promptJson(req)) / 3) + 3,
    promptEstimate: () => (exact >= 0 ? exact : Math.ceil(promptJson(req).length / 4)),
    completion,
  };
}
