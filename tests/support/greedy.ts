// The budget's worst case, for every fake provider: a model that uses every output token it is allowed, reasoning included.
import type { Message } from "./fake-core.ts";

/** What a greedy model writes when the request sets no cap at all: far more than any budget in the tests affords. */
export const GREEDY_UNCAPPED = 1_000_000;

/** Whether a fake should answer greedily: its model name says so. */
export const isGreedy = (model: string): boolean => model.includes("greedy");

/** Output tokens a greedy model bills: its cap on every choice, or GREEDY_UNCAPPED without one. */
export function greedyTokens(cap: unknown, choices: unknown = 1): number {
  const n = typeof choices === "number" && choices > 0 ? choices : 1;
  return (typeof cap === "number" ? cap : GREEDY_UNCAPPED) * n;
}

/** The greedy answer, neutral of any wire: `output` tokens billed (`thinking` of them thought), stopped by the cap. */
export function greedyMessage(output: number, thinking: number, text = "all the words I am allowed"): Message {
  return { content: [{ type: "text", text }], stop_reason: "max_tokens", usage: { input_tokens: 19, output_tokens: output, thinking_tokens: thinking } };
}
