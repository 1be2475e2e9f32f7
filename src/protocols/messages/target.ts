// What a Messages request's translation needs to know of the deployment it is sent to (kind, name, model, limits).
import { takesMaxCompletionTokens } from "../../providers/openai/provider.ts";

/** One deployment, as the translation sees it: the per-target call function builds it from the config. */
export interface TargetProfile {
  /** The provider instance's name in the config (`providers.<name>`): sealed reasoning state is only given back to it. */
  provider: string;
  /** The provider's `type`: openai, azure, anthropic, gemini, bedrock, vertex, echo… */
  kind: string;
  upstreamModel: string;
  /** The model entry's `max_tokens`: the most output a translated request asks of this deployment. */
  maxTokens?: number;
}

/**
 * OpenAI-type providers pass the chat body through as it is: every field the translation adds must be one OpenAI
 * knows, or the provider answers 400 (OpenAI refuses unknown message and part fields).
 */
export const speaksPlainChat = (t: TargetProfile): boolean => t.kind === "openai" || t.kind === "azure";

/** Providers whose chat translator keeps `cache_control` breakpoints (Claude's prompt cache). */
export const keepsCacheControl = (t: TargetProfile): boolean => t.kind === "anthropic" || t.kind === "bedrock";

/** Providers whose chat translator replays Claude thinking blocks from `reasoning_details` (Claude via chat, Claude on a cloud). */
export const replaysClaudeThinking = (t: TargetProfile): boolean => t.kind === "anthropic" || t.kind === "bedrock" || t.kind === "vertex";

/** Providers whose chat translator takes `user` (OpenAI's field; Anthropic's metadata.user_id). */
export const takesUser = (t: TargetProfile): boolean => speaksPlainChat(t) || t.kind === "anthropic";

/**
 * Whether `reasoning_effort` may be sent. OpenAI answers 400 to it for models that do not reason (gpt-4o), and Claude
 * Code asks for thinking on every request, so for OpenAI-type providers only the reasoning families get it. The other
 * translators map it to their own settings (or drop it with a warning).
 */
export function takesReasoningEffort(t: TargetProfile): boolean {
  if (!speaksPlainChat(t)) return true;
  return takesMaxCompletionTokens(t.upstreamModel);
}
