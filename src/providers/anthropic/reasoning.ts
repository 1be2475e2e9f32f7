// reasoning_effort → Claude thinking: adaptive with an effort on 4.6+, a token budget (max_tokens raised to fit) on 3.7–4.5.
import type { ChatRequest, ReasoningEffort } from "../../openai/schemas.ts";
import type { Warn } from "../types.ts";
import { defaultMaxTokens, thinkingMode } from "./models.ts";
import type { AnthropicOutputConfig, AnthropicRequest } from "./wire.ts";

/** Thinking budget per effort; Anthropic's minimum is 1024, and returns diminish past ~32k. */
export const THINKING_BUDGET: Record<Exclude<ReasoningEffort, "none">, number> = {
  minimal: 1024,
  low: 2048,
  medium: 8192,
  high: 16384,
  xhigh: 24576,
  max: 32000,
};
const ADAPTIVE_EFFORT: Record<Exclude<ReasoningEffort, "none">, NonNullable<AnthropicOutputConfig["effort"]>> = {
  minimal: "low",
  low: "low",
  medium: "medium",
  high: "high",
  xhigh: "xhigh",
  max: "max",
};
const MIN_BUDGET = 1024;

/**
 * Sets `thinking` (and `output_config.effort`) on `out`, whose max_tokens, sampling and tool_choice are already set.
 * Anthropic's rules: budget_tokens ≥ 1024 and < max_tokens; no temperature but 1, top_p only 0.95–1; no forced tool.
 */
export function applyReasoning(out: AnthropicRequest, req: ChatRequest, warn: Warn): void {
  const effort = req.reasoning_effort;
  if (!effort || effort === "none") return;
  const mode = thinkingMode(out.model);
  if (mode === "none") {
    warn(`reasoning_effort ignored: ${out.model} has no extended thinking.`, "reasoning_effort");
    return;
  }
  if (out.tool_choice?.type === "any" || out.tool_choice?.type === "tool") {
    warn("reasoning_effort ignored: Claude cannot think while a tool call is forced (tool_choice required or named, or a JSON answer given through a tool).", "reasoning_effort");
    return;
  }
  if (mode === "adaptive") {
    out.thinking = { type: "adaptive" };
    out.output_config = { ...out.output_config, effort: ADAPTIVE_EFFORT[effort] };
  } else {
    const ceiling = defaultMaxTokens(out.model);
    let budget = Math.min(THINKING_BUDGET[effort], ceiling - MIN_BUDGET);
    if (out.max_tokens <= budget) {
      // OpenAI's max_tokens bounds the answer; Claude's also covers the thinking, so it grows by the budget.
      const raised = Math.min(budget + out.max_tokens, ceiling);
      warn(`max_tokens raised from ${out.max_tokens} to ${raised} to fit Claude's thinking budget of ${budget} tokens.`, "max_tokens");
      out.max_tokens = raised;
      if (budget >= raised) budget = raised - 1;
    }
    if (budget < MIN_BUDGET) {
      warn(`reasoning_effort ignored: max_tokens ${out.max_tokens} leaves no room for Claude's minimum thinking budget of ${MIN_BUDGET}.`, "reasoning_effort");
      return;
    }
    out.thinking = { type: "enabled", budget_tokens: budget };
  }
  if (out.temperature !== undefined && out.temperature !== 1) {
    warn(`temperature ${out.temperature} ignored: Claude takes no temperature other than 1 while thinking.`, "temperature");
    delete out.temperature;
  }
  if (out.top_p !== undefined && out.top_p < 0.95) {
    warn(`top_p ${out.top_p} raised to 0.95, the lowest Claude takes while thinking.`, "top_p");
    out.top_p = 0.95;
  }
}
