// Byte-pair merging of one pre-tokenised piece, counting the tokens it ends as (tiktoken's merge order, exactly).
import type { RankTable } from "./rank-table.ts";

/**
 * Up to this many bytes a piece is merged by rescanning its pairs for the lowest rank after every merge (tiktoken's
 * loop: quadratic, but on a few dozen bytes the fastest there is); longer pieces use a heap, O(n log n).
 */
const SCAN_MAX_BYTES = 128;
const NONE = 0x7fffffff;

// Scratch for the scan, sized for SCAN_MAX_BYTES: a piece is merged synchronously, so one set serves every call.
const starts = new Int32Array(SCAN_MAX_BYTES + 1);
const ranks = new Int32Array(SCAN_MAX_BYTES + 1);

/**
 * The number of tokens buf[start..end) merges into. At each step the adjacent pair of parts with the lowest rank
 * (leftmost on a tie) becomes one part, until no adjacent pair is a token.
 */
export function countPieceTokens(table: RankTable, buf: Uint8Array, start: number, end: number): number {
  const n = end - start;
  if (n <= 1) return n;
  return n <= SCAN_MAX_BYTES ? countByScan(table, buf, start, n) : countByHeap(table, buf, start, n);
}

function countByScan(table: RankTable, buf: Uint8Array, base: number, n: number): number {
  // Part i is buf[base + starts[i] .. base + starts[i + 1]); ranks[i] is the rank of parts i and i + 1 together.
  for (let i = 0; i <= n; i++) starts[i] = i;
  for (let i = 0; i < n - 1; i++) {
    const r = table.pair(buf, base + i, base + i + 2);
    ranks[i] = r < 0 ? NONE : r;
  }
  ranks[n - 1] = NONE;
  let parts = n;
  while (parts > 1) {
    let best = NONE;
    let at = -1;
    for (let i = 0; i < parts - 1; i++) {
      const r = ranks[i]!;
      if (r < best) (best = r), (at = i);
    }
    if (at < 0) break;
    // Parts at and at + 1 become one: drop starts[at + 1] and ranks[at + 1], then re-rank the pairs that changed.
    starts.copyWithin(at + 1, at + 2, parts + 1);
    ranks.copyWithin(at + 1, at + 2, parts);
    parts--;
    ranks[at] = at + 1 < parts ? rankOr(table, buf, base + starts[at]!, base + starts[at + 2]!) : NONE;
    if (at > 0) ranks[at - 1] = rankOr(table, buf, base + starts[at - 1]!, base + starts[at + 1]!);
  }
  return parts;
}

const rankOr = (table: RankTable, buf: Uint8Array, start: number, end: number): number => {
  const r = table.pair(buf, start, end);
  return r < 0 ? NONE : r;
};

/**
 * The same merges for a long piece (a long word, a base64 blob), with the parts in a linked list by byte position
 * and candidate pairs in a binary min-heap of rank × 2^32 + position (so ties go to the leftmost, as in the scan).
 * A heap entry is stale when its part is gone or its pair has been re-ranked since; stale entries are skipped.
 */
function countByHeap(table: RankTable, buf: Uint8Array, base: number, n: number): number {
  const next = new Int32Array(n); // next part's start, n at the end
  const prev = new Int32Array(n); // previous part's start, -1 at the beginning
  const pairRank = new Int32Array(n); // current rank of (part at p, next part), NONE if none; -1 once p is merged away
  // n - 1 pairs at first and at most two more per merge (n - 1 merges) can be waiting.
  const heap = new Float64Array(3 * n);
  let size = 0;
  const push = (key: number): void => {
    let i = size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]! <= key) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = key;
  };
  const pop = (): number => {
    const top = heap[0]!;
    const last = heap[--size]!;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= size) break;
      if (child + 1 < size && heap[child + 1]! < heap[child]!) child++;
      if (heap[child]! >= last) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
    return top;
  };
  const rerank = (p: number): void => {
    const q = next[p]!;
    const r = q < n ? rankOr(table, buf, base + p, base + next[q]!) : NONE;
    pairRank[p] = r;
    if (r !== NONE) push(r * 4294967296 + p);
  };

  for (let p = 0; p < n; p++) {
    next[p] = p + 1;
    prev[p] = p - 1;
  }
  for (let p = 0; p < n; p++) {
    const r = p + 1 < n ? rankOr(table, buf, base + p, base + p + 2) : NONE;
    pairRank[p] = r;
    if (r !== NONE) push(r * 4294967296 + p);
  }
  let parts = n;
  while (size > 0) {
    const key = pop();
    const p = key % 4294967296;
    const r = (key - p) / 4294967296;
    if (pairRank[p] !== r) continue;
    // Merge part p with the part after it.
    const q = next[p]!;
    const after = next[q]!;
    next[p] = after;
    if (after < n) prev[after] = p;
    pairRank[q] = -1;
    parts--;
    rerank(p);
    if (prev[p]! >= 0) rerank(prev[p]!);
  }
  return parts;
}
