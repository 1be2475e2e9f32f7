// The hash table's layout: one Uint32Array of slots, built by scripts/gen-o200k.ts and probed by rank-table.ts.
import { isValidUtf8, startsWithBom } from "./utf8.ts";

/** Every token's bytes in rank order, token r = bytes[offsets[r] .. offsets[r + 1]) (empty: no token), and the hash slots. */
export interface RankData {
  readonly count: number;
  readonly offsets: Uint32Array;
  readonly slots: Uint32Array;
  readonly bytes: Uint8Array;
  /** The longest token, in bytes: a longer span is never a token. */
  readonly maxTokenBytes: number;
}

/** 2^19 slots for ~200k tokens: a load of 0.38 keeps linear probes short; 2 MiB. */
export const SLOT_BITS = 19;
/** A slot holds rank + 1 in its low 18 bits (0: empty) and 14 bits of the key's hash above them, to skip most byte compares. */
export const RANK_BITS = 18;
export const RANK_MASK = (1 << RANK_BITS) - 1;

/** FNV-1a over the bytes, then a final mix so both the low (slot) and high (fingerprint) bits depend on every byte. */
export function hashBytes(buf: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

/**
 * Inserts every token that gpt-tokenizer can find by its bytes, in rank order, with linear probing. gpt-tokenizer
 * looks bytes up by decoding them with TextDecoder, which drops a leading byte-order mark: the tokens that start with
 * one (and are valid UTF-8) can never be found, so they are left out (rank-table.ts strips the mark from spans).
 */
export function buildSlots(data: Pick<RankData, "count" | "offsets" | "bytes">): Uint32Array {
  if (data.count >= RANK_MASK) throw new Error("rank table: too many tokens for an 18-bit rank");
  const slots = new Uint32Array(1 << SLOT_BITS);
  const mask = slots.length - 1;
  for (let r = 0; r < data.count; r++) {
    const start = data.offsets[r]!;
    const end = data.offsets[r + 1]!;
    if (end === start) continue;
    if (startsWithBom(data.bytes, start, end) && isValidUtf8(data.bytes, start, end)) continue;
    const h = hashBytes(data.bytes, start, end);
    let i = h & mask;
    while (slots[i] !== 0) i = (i + 1) & mask;
    slots[i] = (((h >>> RANK_BITS) << RANK_BITS) | (r + 1)) >>> 0;
  }
  return slots;
}
