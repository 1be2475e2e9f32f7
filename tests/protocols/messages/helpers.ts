// Shared by the Messages tests: a readable, deterministic sealer for golden files, and chunk fixtures.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SEAL_PREFIX, type ThinkingSealer, type ThinkingSeal } from "../../../src/protocols/messages/seal.ts";

/** Seals as visible JSON (golden files show what a signature carries); the real sealer is tested on its own. */
export const plainSealer: ThinkingSealer = {
  seal: (p) => `${SEAL_PREFIX}plain:${JSON.stringify(p)}`,
  open: (s) => (s.startsWith(`${SEAL_PREFIX}plain:`) ? (JSON.parse(s.slice(SEAL_PREFIX.length + 6)) as ThinkingSeal) : undefined),
};

export const fixturesDir = join(import.meta.dir, "..", "..", "fixtures");

/** JSON lines of a fixture file. */
export const jsonLines = (path: string): unknown[] =>
  readFileSync(join(fixturesDir, path), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as unknown);
