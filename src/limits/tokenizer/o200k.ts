// countTokens for o200k_base: pre-tokenise with the o200k pattern, then count each piece's byte-pair merges.
import { countPieceTokens } from "./bpe-count.ts";
import { loadO200kRankData } from "./embedded.ts";
import { RankTable } from "./rank-table.ts";
import { O200K_SPLIT_PATTERN } from "./split.ts";

export type CountTokens = (text: string) => number;

/** Above this the UTF-8 scratch buffer is allocated for the one call and not kept (a huge text should not pin memory). */
const KEEP_SCRATCH_BYTES = 1 << 20;

/**
 * A counter with the same result as gpt-tokenizer's o200k_base `countTokens` for every string, except that special
 * tokens (`<|endoftext|>` …) count as the ordinary text they are instead of throwing: a prompt is never allowed to
 * contain a real special token, such text reaches the model as text.
 * Loading reads one 4 MiB file (token bytes, their offsets and a precomputed hash table) in ~1 ms and runs no loop.
 */
export function createO200kCounter(table: RankTable = new RankTable(loadO200kRankData())): CountTokens {
  // Sticky: each piece must start where the last ended. Every code point matches some alternative, so a piece is
  // always found; the non-sticky twin only mirrors String#matchAll (skip to the next match) in case one is not.
  const piece = new RegExp(O200K_SPLIT_PATTERN, "uy");
  const nextPiece = new RegExp(O200K_SPLIT_PATTERN, "gu");
  const encoder = new TextEncoder();
  let scratch = new Uint8Array(4096);

  return function countTokens(text: string): number {
    const length = text.length;
    // A UTF-16 code unit is at most 3 UTF-8 bytes (a surrogate pair: 2 units, 4 bytes; a lone surrogate: U+FFFD, 3).
    let buf = scratch;
    if (length * 3 > buf.length) {
      buf = new Uint8Array(Math.max(length * 3, buf.length * 2));
      if (buf.length <= KEEP_SCRATCH_BYTES) scratch = buf;
    }
    encoder.encodeInto(text, buf);

    let count = 0;
    let at = 0; // code unit
    let byte = 0; // its UTF-8 offset in buf
    while (at < length) {
      piece.lastIndex = at;
      if (!piece.test(text)) {
        nextPiece.lastIndex = at;
        const m = nextPiece.exec(text);
        if (!m) break;
        byte += utf8Length(text, at, m.index);
        at = m.index;
        continue;
      }
      const end = piece.lastIndex;
      const first = text.charCodeAt(at);
      if (end === at + 1 && first < 0x80) {
        // One ASCII character: always one token.
        count++;
        at = end;
        byte++;
        continue;
      }
      // The piece's UTF-8 length, and whether it holds a lone surrogate (TextEncoder wrote U+FFFD for it).
      let pieceBytes = 0;
      let wellFormed = true;
      for (let i = at; i < end; i++) {
        const c = text.charCodeAt(i);
        if (c < 0x80) pieceBytes += 1;
        else if (c < 0x800) pieceBytes += 2;
        else if (c >= 0xd800 && c <= 0xdfff) {
          const d = c <= 0xdbff && i + 1 < length ? text.charCodeAt(i + 1) : 0;
          if (d >= 0xdc00 && d <= 0xdfff) (pieceBytes += 4), i++;
          else (pieceBytes += 3), (wellFormed = false);
        } else pieceBytes += 3;
      }
      // gpt-tokenizer first looks the piece up whole, as a string: one with a lone surrogate is never found that way
      // and goes to merging. (In o200k every token holding U+FFFD is also reached by merging, so this is only faithful.)
      if (wellFormed && table.exact(buf, byte, byte + pieceBytes) >= 0) count++;
      else count += countPieceTokens(table, buf, byte, byte + pieceBytes);
      at = end;
      byte += pieceBytes;
    }
    return count;
  };
}

/** UTF-8 bytes of text[from..to) as TextEncoder writes them (a lone surrogate as the 3-byte U+FFFD). */
function utf8Length(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c <= 0xdbff && c >= 0xd800 && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) (n += 4), i++;
    else n += 3;
  }
  return n;
}
