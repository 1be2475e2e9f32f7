// Byte string → rank lookups over the o200k_base tokens, probing the precomputed hash slots (see rank-hash.ts).
import type { RankData } from "./rank-file.ts";
import { hashBytes, RANK_BITS, RANK_MASK } from "./rank-hash.ts";
import { isValidUtf8, startsWithBom } from "./utf8.ts";

export class RankTable {
  private readonly slots: Uint32Array;
  private readonly mask: number;
  private readonly offsets: Uint32Array;
  private readonly bytes: Uint8Array;
  private readonly maxTokenBytes: number;

  constructor(data: RankData) {
    this.slots = data.slots;
    this.mask = data.slots.length - 1;
    this.offsets = data.offsets;
    this.bytes = data.bytes;
    this.maxTokenBytes = data.maxTokenBytes;
  }

  /** The rank of the token whose bytes are exactly buf[start..end), or -1. */
  exact(buf: Uint8Array, start: number, end: number): number {
    const len = end - start;
    if (len > this.maxTokenBytes) return -1;
    const h = hashBytes(buf, start, end);
    const fingerprint = h >>> RANK_BITS;
    const { slots, mask, offsets, bytes } = this;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const slot = slots[i]!;
      if (slot === 0) return -1;
      if (slot >>> RANK_BITS !== fingerprint) continue;
      const r = (slot & RANK_MASK) - 1;
      const at = offsets[r]!;
      if (offsets[r + 1]! - at !== len) continue;
      let k = 0;
      while (k < len && bytes[at + k] === buf[start + k]) k++;
      if (k === len) return r;
    }
  }

  /**
   * The rank gpt-tokenizer gives a span while merging: the exact lookup, except that a valid UTF-8 span starting with a
   * byte-order mark is looked up without it (TextDecoder drops it). Counts must match gpt-tokenizer's, quirk included.
   */
  pair(buf: Uint8Array, start: number, end: number): number {
    if (buf[start] === 0xef && startsWithBom(buf, start, end) && isValidUtf8(buf, start, end)) {
      return end - start === 3 ? -1 : this.exact(buf, start + 3, end);
    }
    return this.exact(buf, start, end);
  }
}
