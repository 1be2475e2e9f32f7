// Imports under src/ flow one way: no cycle between folders, and no cycle between files (type-only imports count).
import { expect, test } from "bun:test";
import { Glob } from "bun";
import { dirname, join, relative, resolve } from "node:path";

const SRC = resolve(import.meta.dir, "../../src");
const files = [...new Glob("**/*.{ts,tsx}").scanSync(SRC)].filter((f) => !f.startsWith("ui/"));
const edges = new Map<string, Set<string>>(files.map((f) => [f, new Set()]));
for (const f of files) {
  const text = await Bun.file(join(SRC, f)).text();
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^;'"]*?from\s*["'](\.{1,2}\/[^"']+)["']|import\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g)) {
    const to = relative(SRC, resolve(SRC, dirname(f), (m[1] ?? m[2])!));
    if (edges.has(to)) edges.get(to === f ? "" : f)?.add(to);
  }
}
/** Folder of a file: its first path segment under src/ (files at the root are the folder "."). */
const folder = (f: string) => (f.includes("/") ? f.slice(0, f.indexOf("/")) : ".");

/** Strongly connected components with more than one member (Tarjan): each is a cycle. */
function cycles(graph: Map<string, Set<string>>): string[][] {
  let next = 0;
  const index = new Map<string, number>(), low = new Map<string, number>(), stack: string[] = [], on = new Set<string>(), out: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next), low.set(v, next++), stack.push(v), on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) visit(w), low.set(v, Math.min(low.get(v)!, low.get(w)!));
      else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    for (let w = ""; w !== v; ) (w = stack.pop()!), on.delete(w), scc.push(w);
    if (scc.length > 1) out.push(scc.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

test("no import cycle between files", () => expect(cycles(edges)).toEqual([]));

test("no import cycle between folders", () => {
  const folders = new Map<string, Set<string>>();
  for (const [f, tos] of edges) for (const t of tos) if (folder(f) !== folder(t)) (folders.get(folder(f)) ?? folders.set(folder(f), new Set()).get(folder(f))!).add(folder(t));
  expect(cycles(folders)).toEqual([]);
});
