// Generates src/limits/tokenizer/o200k_base.bin (the o200k_base ranks in compact binary form) from gpt-tokenizer's data.
//
//   npx bun scripts/gen-o200k.ts          # writes the file
//   npx bun scripts/gen-o200k.ts --check  # exits 1 if the committed file differs from what would be written
//
// The file's layout (offsets, hash slots and bytes, all precomputed) is written and read by src/limits/tokenizer/rank-file.ts.
import bpeRanks from "gpt-tokenizer/bpeRanks/o200k_base";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodeRankFile } from "../src/limits/tokenizer/rank-file.ts";

const root = join(import.meta.dir, "..");
const out = join(root, "src", "limits", "tokenizer", "o200k_base.bin");
const ranks = bpeRanks as readonly (string | readonly number[] | undefined)[];

const encoder = new TextEncoder();
const tokens: Uint8Array[] = [];
for (let rank = 0; rank < ranks.length; rank++) {
  const value = ranks[rank];
  if (value === undefined) tokens.push(new Uint8Array(0));
  else if (typeof value === "string") {
    // The counter's lookups assume these (see rank-table.ts): a string token is well-formed and does not start with
    // a byte-order mark, so its UTF-8 bytes are exactly what gpt-tokenizer finds it by.
    if (!value.isWellFormed()) throw new Error(`rank ${rank}: string token with a lone surrogate`);
    if (value.startsWith("\uFEFF")) throw new Error(`rank ${rank}: string token starting with a byte-order mark`);
    tokens.push(encoder.encode(value));
  } else tokens.push(Uint8Array.from(value));
}

// Cross-check against the tiktoken file gpt-tokenizer ships (OpenAI's original: base64 token, space, rank).
const tiktoken = readFileSync(join(root, "node_modules", "gpt-tokenizer", "data", "o200k_base.tiktoken"), "utf8");
let lines = 0;
for (const line of tiktoken.split("\n")) {
  if (!line) continue;
  const [b64, r] = line.split(" ");
  const rank = Number(r);
  const expected = Buffer.from(b64!, "base64");
  if (!tokens[rank] || !Buffer.from(tokens[rank]!).equals(expected)) throw new Error(`rank ${rank} differs from o200k_base.tiktoken`);
  lines++;
}
if (lines !== tokens.filter((t) => t.length > 0).length) throw new Error("token count differs from o200k_base.tiktoken");

const seen = new Set<string>();
for (const [rank, t] of tokens.entries()) {
  const key = Buffer.from(t).toString("latin1");
  if (t.length > 0 && seen.has(key)) throw new Error(`rank ${rank}: duplicate token`);
  seen.add(key);
}
const file = encodeRankFile(tokens);

if (process.argv.includes("--check")) {
  const committed = readFileSync(out);
  if (!committed.equals(file)) {
    console.error(`${out} is stale: run npx bun scripts/gen-o200k.ts`);
    process.exit(1);
  }
  console.log(`${out} is up to date`);
} else {
  writeFileSync(out, file);
  console.log(`wrote ${out}: ${tokens.length} ranks, ${file.length} bytes`);
}
