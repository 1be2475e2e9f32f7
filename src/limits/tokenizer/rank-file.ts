// The rank file's layout (o200k_base.bin, written by scripts/gen-o200k.ts): its writer and its reader.
import { buildSlots, SLOT_BITS, type RankData } from "./rank-hash.ts";

export type { RankData };


/**
 * Layout, little-endian, every section 4-byte aligned so it is viewed in place, never copied or rebuilt: the header
 * (magic "O2KB", version, count, slot bits, byte length, longest token), offsets (u32 × count + 1), slots
 * (u32 × 2^slot bits), bytes. Everything is precomputed so loading runs no loop: a loop over 200k tokens at start-up
 * is JIT-compiled, and the compiler's memory stays resident (measured: ~8 MiB more RSS than the tables themselves).
 */
const MAGIC = 0x424b324f; // "O2KB" read as a little-endian u32
const VERSION = 1;
const HEADER_WORDS = 6;

/** Writes the file for tokens in rank order (an empty array: no token at that rank). */
export function encodeRankFile(tokens: readonly Uint8Array[]): Uint8Array {
  const count = tokens.length;
  const offsets = new Uint32Array(count + 1);
  let total = 0;
  let longest = 0;
  for (let r = 0; r < count; r++) {
    offsets[r] = total;
    total += tokens[r]!.length;
    longest = Math.max(longest, tokens[r]!.length);
  }
  offsets[count] = total;
  const bytes = new Uint8Array(total);
  for (let r = 0; r < count; r++) bytes.set(tokens[r]!, offsets[r]!);
  const slots = buildSlots({ count, offsets, bytes });
  const header = new Uint32Array([MAGIC, VERSION, count, SLOT_BITS, total, longest]);
  const file = new Uint8Array(4 * (HEADER_WORDS + offsets.length + slots.length) + total);
  let at = 0;
  for (const part of [header, offsets, slots]) {
    file.set(new Uint8Array(part.buffer, part.byteOffset, part.byteLength), at);
    at += part.byteLength;
  }
  file.set(bytes, at);
  return file;
}

/** Views the file's sections in place (copying once only if the buffer is not 4-byte aligned). */
export function parseRankFile(input: Uint8Array): RankData {
  if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) throw new Error("o200k_base.bin: needs a little-endian machine");
  const file = input.byteOffset % 4 === 0 ? input : input.slice();
  const words = (at: number, n: number) => new Uint32Array(file.buffer, file.byteOffset + at, n);
  const [magic, version, count, slotBits, total, longest] = words(0, HEADER_WORDS);
  if (magic !== MAGIC || version !== VERSION || slotBits !== SLOT_BITS) throw new Error("o200k_base.bin: not a version 1 rank file");
  let at = 4 * HEADER_WORDS;
  const offsets = words(at, count! + 1);
  at += offsets.byteLength;
  const slots = words(at, 2 ** slotBits);
  at += slots.byteLength;
  const bytes = file.subarray(at);
  if (bytes.length !== total || offsets[count!] !== total) throw new Error("o200k_base.bin: truncated");
  return { count: count!, offsets, slots, bytes, maxTokenBytes: longest! };
}
