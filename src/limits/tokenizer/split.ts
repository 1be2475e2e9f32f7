// The o200k_base pre-tokenisation pattern: text is cut into pieces by this regex before byte-pair merging.

/** `'s`, `'t`, `'re`, `'ve`, `'m`, `'ll`, `'d` in either case, joined to the word before them. */
const CONTRACTION = String.raw`(?:'(?:[sS]|[dD]|[mM]|[tT]|[lL][lL]|[vV][eE]|[rR][eE]))?`;

/**
 * tiktoken's o200k_base pattern as gpt-tokenizer writes it for JavaScript's regex engine (tests/limits/tokenizer.test.ts
 * checks that it is character for character the same): words with their case run and optional contraction, numbers
 * in threes, punctuation runs with their trailing newlines or slashes, then the whitespace rules. Note that in
 * JavaScript `\s` also matches U+FEFF, which tiktoken's engine does not; we follow gpt-tokenizer.
 */
export const O200K_SPLIT_PATTERN =
  String.raw`[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+${CONTRACTION}` +
  String.raw`|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*${CONTRACTION}` +
  String.raw`|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
