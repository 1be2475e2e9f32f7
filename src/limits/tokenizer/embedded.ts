// Reads the o200k_base ranks from o200k_base.bin, a file import that `bun build --compile` embeds in the executable.
import { readFileSync } from "node:fs";
import o200kPath from "./o200k_base.bin" with { type: "file" };
import { parseRankFile, type RankData } from "./rank-file.ts";

/** Synchronous on purpose: it runs once at start-up (createApp is synchronous), never on the request path. */
export function loadO200kRankData(): RankData {
  return parseRankFile(readFileSync(o200kPath));
}
