// Token counts for the TPM reservation: the prompt counted with o200k_base, plus the completion allowance.
import type { Config } from "../config/schema.ts";
import type { ChatContentPart, ChatRequest } from "../openai/schemas.ts";
import { createO200kCounter, type CountTokens } from "./tokenizer/o200k.ts";

let loaded: CountTokens | undefined;

/**
 * Our own o200k_base counter (src/limits/tokenizer: exactly gpt-tokenizer's counts) costs about 5 MiB of resident
 * memory and ~2 ms to load (measured with Bun 1.4, bench/tokenizer-bench.ts), so it is still loaded only by a gateway
 * that has a tpm limit somewhere, at start-up rather than on the first request. Synchronous, so createApp stays so.
 */
export function loadTokenizer(): CountTokens {
  return (loaded ??= createO200kCounter());
}

/** Whether any key, per-model limit or default sets tpm: only then are prompts tokenised. */
export function configMetersTokens(config: Config): boolean {
  const limits = [config.rate_limit.defaults, ...config.keys.flatMap((k) => [k, ...Object.values(k.limits ?? {})])];
  return limits.some((l) => l?.tpm !== undefined);
}

/**
 * Text past this many characters is not tokenised but extrapolated from the counted part's tokens-per-character.
 * countTokens is synchronous, runs on the request path and costs linear time: 32k characters take about 1 ms of
 * ordinary text and at most ~20 ms of the most unlucky (one letter repeated). The reservation is settled to the
 * provider's reported usage afterwards, so the extrapolation only has to be close, not exact.
 */
export const EXACT_CHARS = 32_768;
/** OpenAI's chat framing: a few tokens per message (role, separators) and a few to prime the reply. */
const PER_MESSAGE = 3;
const REPLY_PRIMING = 3;
/** An image's cost depends on its size, which we do not fetch; 765 is a 1024×1024 image at high detail, 85 at low. */
const IMAGE_HIGH = 765;
const IMAGE_LOW = 85;

/**
 * Counts `text` exactly up to EXACT_CHARS and extrapolates the rest at the counted part's rate. The rate is floored
 * at 1 token per 8 characters so a highly compressible head (a run of one character) cannot make a long tail cheap.
 */
export function countTextTokens(text: string): number {
  // Already loaded at start-up when tpm is configured; loading here only covers a limiter built some other way.
  const countTokens = loadTokenizer();
  if (text.length <= EXACT_CHARS) return countTokens(text);
  const head = text.slice(0, EXACT_CHARS);
  const counted = countTokens(head);
  const rate = Math.max(counted / head.length, 0.125);
  return counted + Math.ceil((text.length - head.length) * rate);
}

/**
 * Prompt tokens of a request: message text, names, tool-call arguments and tool definitions, tokenised as one
 * text (one countTokens call, one cap) plus per-message framing and a fixed cost per image.
 */
export function countPromptTokens(req: ChatRequest): number {
  const parts: string[] = [];
  let fixed = REPLY_PRIMING;
  for (const m of req.messages) {
    fixed += PER_MESSAGE;
    parts.push(m.role);
    if (m.name) parts.push(m.name);
    if (typeof m.content === "string") parts.push(m.content);
    else if (Array.isArray(m.content)) {
      for (const p of m.content) {
        if (p.type === "text") parts.push(p.text);
        else if (p.type === "image_url") fixed += p.image_url.detail === "low" ? IMAGE_LOW : IMAGE_HIGH;
      }
    }
    if (m.tool_calls) for (const tc of m.tool_calls) parts.push(tc.function.name, tc.function.arguments);
  }
  if (req.tools?.length) parts.push(JSON.stringify(req.tools));
  return fixed + countTextTokens(parts.join("\n"));
}

/** Whether the tokenizer is in memory (a tpm limit or a budget exists): only then is counting cheap enough to do per request. */
export const tokenizerLoaded = (): boolean => loaded !== undefined;

/**
 * Tokens for accounting a request that ended without the provider's usage (a client that left): exact when the
 * tokenizer is loaded, else about four characters a token — never loading the tables on the request path.
 */
export function estimateTextTokens(text: string): number {
  return loaded ? countTextTokens(text) : Math.ceil(text.length / 4);
}
export function estimatePromptTokens(req: ChatRequest): number {
  return loaded ? countPromptTokens(req) : Math.ceil(JSON.stringify(req.messages).length / 4);
}

/**
 * The most tokens an image is billed as, for a budget's bound: Claude's largest (~1,600 at 1568 px) and OpenAI's
 * high-detail tiles of a long image (up to ~1,450) stay under it; its bytes (a data: URI) are not what is billed.
 */
const IMAGE_BOUND = 1600;
const byteLength = (s: string) => Buffer.byteLength(s);

/**
 * An upper bound of the prompt for a budget reservation, without the tokenizer: every byte that goes upstream (message
 * text, names, tool calls and their ids, reasoning blocks, files; tools, legacy functions, response_format schemas and
 * every other field) at one token per UTF-8 byte — no provider's tokenizer makes more (byte-level BPE and SentencePiece
 * with byte fallback spend at least a byte a token), whatever the text — plus framing and a fixed bound per image.
 * English runs 4–5 bytes a token, so this reserves about four times what an ordinary prompt costs; the reservation is
 * replaced by the provider's real usage afterwards. A fraction of the bytes would be cheaper to reserve, and wrong
 * for text crafted to tokenise badly (digits and punctuation run 1–2 bytes a token).
 */
export function boundPromptTokens(req: ChatRequest): number {
  let bytes = 0;
  let fixed = REPLY_PRIMING;
  for (const m of req.messages) {
    fixed += PER_MESSAGE;
    for (const key in m) {
      const v = (m as Record<string, unknown>)[key];
      if (v === undefined || v === null) continue;
      if (key === "content" && Array.isArray(v)) {
        for (const p of v as ChatContentPart[]) {
          if (p.type === "text") bytes += byteLength(p.text);
          else if (p.type === "image_url") fixed += IMAGE_BOUND;
          else bytes += byteLength(JSON.stringify(p));
        }
      } else bytes += typeof v === "string" ? byteLength(v) : byteLength(JSON.stringify(v));
    }
  }
  for (const key in req) {
    if (key === "messages" || key === "model") continue;
    const v = (req as Record<string, unknown>)[key];
    if (typeof v === "string") bytes += byteLength(v);
    else if (typeof v === "object" && v !== null) bytes += byteLength(JSON.stringify(v));
  }
  return fixed + bytes;
}

/** The completion allowance: what the client capped it at, else the configured default. */
export function completionAllowance(req: ChatRequest, defaultCompletion: number): number {
  const n = req.n ?? 1;
  return (req.max_completion_tokens ?? req.max_tokens ?? defaultCompletion) * Math.max(1, n);
}
