// What a stream has delivered to the client, for accounting: usage when the provider reports it, else an estimate from the text.
import type { GatewayError } from "../openai/errors.ts";
import type { Usage } from "../openai/schemas.ts";

/** Delivered text is counted and dropped once this much has gathered, so a long stream never holds its whole answer. */
const FOLD_CHARS = 32 * 1024;

export interface StreamMeter {
  /** The provider's reported usage, once seen (the usage chunk). */
  usage: Usage | null;
  /** Delivered text (content and tool-call arguments) not yet folded into `textTokens`; kept only with `countText`. */
  text: string;
  /** Tokens of delivered text already counted and dropped. */
  textTokens: number;
  /** Characters of content and tool-call arguments delivered, always counted (cheap; the estimate without a tokenizer). */
  textChars: number;
  /** Counts the tokens of delivered text; null when nobody needs the exact count (the text is then never kept). */
  countText: ((text: string) => number) | null;
  /** performance.now() when the first byte went to the client. */
  firstByteAt: number | null;
  /** Set when the stream ended with an error event instead of [DONE]. */
  failed: boolean;
  /** The failure that error event stood for, when the stream's writer knew it (an early one can still fail over). */
  failure: GatewayError | null;
}

export function newMeter(countText: ((text: string) => number) | null = null): StreamMeter {
  return { usage: null, text: "", textTokens: 0, textChars: 0, countText, firstByteAt: null, failed: false, failure: null };
}

/** Whether a provider should hand over the delivered text itself (not just its length). */
export const wantsText = (m: StreamMeter): boolean => m.countText !== null;

/** Records delivered text: its length always; the text itself only when it will be counted, folded as it grows. */
export function addDelivered(m: StreamMeter, text: string): void {
  m.textChars += text.length;
  if (!m.countText) return;
  m.text += text;
  if (m.text.length >= FOLD_CHARS) {
    m.textTokens += m.countText(m.text);
    m.text = "";
  }
}

/** Tokens of the text delivered so far: counted when a counter was given, else estimated at 4 characters a token. */
export function deliveredTokens(m: StreamMeter): number {
  return m.countText ? m.textTokens + m.countText(m.text) : Math.ceil(m.textChars / 4);
}

/** A failed attempt may have metered a few bytes or flagged failure: the next attempt starts from a clean meter. */
export function resetMeter(m: StreamMeter): void {
  m.usage = null;
  m.text = "";
  m.textTokens = 0;
  m.textChars = 0;
  m.firstByteAt = null;
  m.failed = false;
  m.failure = null;
}
