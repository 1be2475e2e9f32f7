// What each Claude model can do, read from its id: output limit, structured outputs, kind of thinking, sampling.

export interface ClaudeVersion {
  /** opus, sonnet, haiku, fable… (the tier word in the id). */
  family: string;
  major: number;
  minor: number;
}

/**
 * Reads both id styles: tier first (`claude-sonnet-4-5-20250929`, `claude-opus-4-7`, `anthropic.claude-fable-5`) and
 * version first (`claude-3-5-sonnet-20241022`, `claude-3-haiku-20240307`). A date suffix is never a minor version.
 */
export function claudeVersion(model: string): ClaudeVersion | undefined {
  const tierFirst = /claude-([a-z]+)-(\d+)(?:-(\d{1,2})(?!\d))?/.exec(model);
  if (tierFirst) return { family: tierFirst[1]!, major: Number(tierFirst[2]), minor: tierFirst[3] === undefined ? 0 : Number(tierFirst[3]) };
  const versionFirst = /claude-(\d+)(?:-(\d{1,2}))?-([a-z]+)/.exec(model);
  if (versionFirst) return { family: versionFirst[3]!, major: Number(versionFirst[1]), minor: versionFirst[2] === undefined ? 0 : Number(versionFirst[2]) };
  return undefined;
}

const atLeast = (v: ClaudeVersion | undefined, major: number, minor: number) => !!v && (v.major > major || (v.major === major && v.minor >= minor));

/** Used for ids this table cannot read: every Claude model can produce this many. */
export const FALLBACK_MAX_TOKENS = 4096;

/**
 * The most output tokens a model produces in one answer (Anthropic's models overview), sent as `max_tokens` when the
 * client sets none and the model entry has no `max_tokens`. Anthropic requires the field; a fixed small value cut
 * long answers short on models that can write far more.
 */
export function defaultMaxTokens(model: string): number {
  const v = claudeVersion(model);
  if (!v) return FALLBACK_MAX_TOKENS;
  if (v.major < 3 || (v.major === 3 && v.minor < 5)) return 4096; // Claude 3 Haiku, Sonnet, Opus
  if (v.major === 3 && v.minor < 7) return 8192; // 3.5 Sonnet and Haiku
  if (v.major === 3) return 64000; // 3.7 Sonnet
  if (v.family === "opus" && v.major === 4 && v.minor < 5) return 32000; // Opus 4, 4.1
  if (v.family === "opus" && atLeast(v, 4, 6)) return 128000; // Opus 4.6 and later
  return 64000; // Sonnet 4+, Haiku 4.5, Opus 4.5, later tiers
}

/** Native structured outputs (`output_config.format`): generally available from the 4.5 generation on. */
export const supportsNativeStructuredOutput = (model: string): boolean => atLeast(claudeVersion(model), 4, 5);

/**
 * How a model thinks: `adaptive` (4.6 on: `thinking.type: adaptive` with `output_config.effort`; Opus 4.7 rejects a
 * manual budget), `budget` (3.7 to 4.5: `thinking.type: enabled` with `budget_tokens`), or `none` (earlier models).
 */
export function thinkingMode(model: string): "adaptive" | "budget" | "none" {
  const v = claudeVersion(model);
  if (atLeast(v, 4, 6)) return "adaptive";
  if (atLeast(v, 3, 7)) return "budget";
  return "none";
}

/** Claude models from 4.7 on reject temperature and top_p under any API version. */
export function rejectsSampling(model: string): boolean {
  const m = /claude-[a-z]+-(\d+)(?:-(\d{1,2})(?!\d))?/.exec(model);
  if (!m) return false;
  const major = Number(m[1]);
  const minor = m[2] === undefined ? 0 : Number(m[2]);
  return major > 4 || (major === 4 && minor >= 7);
}
