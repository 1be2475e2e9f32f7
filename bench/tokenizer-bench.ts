// Our o200k_base counter beside gpt-tokenizer's: resident memory after loading, load time, countTokens ops/s.
// Run: node_modules/.bin/bun bench/tokenizer-bench.ts [seconds per cell, default 2]
// Memory and load time are read in fresh processes (this file re-runs itself with `--probe <which>`), after a full GC.
import { readFileSync } from "node:fs";
import { join } from "node:path";

type Which = "bare" | "ours" | "gpt-tokenizer";
const root = join(import.meta.dir, "..");

function rssKiB(): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
  return Number(m![1]);
}

async function load(which: Which): Promise<(text: string) => number> {
  if (which === "ours") return (await import("../src/limits/tokenizer/o200k.ts")).createO200kCounter();
  if (which === "gpt-tokenizer") return (await import("gpt-tokenizer/encoding/o200k_base")).countTokens;
  return (text) => text.length;
}

/** In a fresh process: load, count one short text (so lazy work is done), GC, print the load time and RSS before and after. */
async function probe(which: Which): Promise<void> {
  Bun.gc(true);
  const before = rssKiB();
  const t = performance.now();
  const count = await load(which);
  count("warm up: hello world");
  const loadMs = performance.now() - t;
  // Then wait for the allocator to hand freed pages back (it does so within a second or two), as an idle gateway would.
  Bun.gc(true);
  await Bun.sleep(3000);
  Bun.gc(true);
  console.log(JSON.stringify({ loadMs, before, after: rssKiB() }));
}

/** A ~1 KB chat prompt as countPromptTokens joins it: roles, a system prompt, a question with some code. */
const chatPrompt = [
  "system",
  "You are a careful assistant for a logistics company. Answer briefly, cite the order number, and never invent data.",
  "user",
  "Order #48213 left Rotterdam on 3 March but the tracking page still says 'awaiting pickup'. The customer wrote:",
  "\"I've been waiting 12 days — where is my parcel?\" Can you draft a reply, and check this snippet that reads the status?",
  "```ts\nconst status = await db.query(`SELECT state, updated_at FROM shipments WHERE order_id = $1`, [orderId]);\nif (status.rows[0]?.state === 'awaiting_pickup') notify(customer, templates.delay);\n```",
  "assistant",
  "The snippet only handles one state; shipments that were scanned at the depot are stored as 'in_transit' with a null carrier.",
  "user",
  "Thanks. Also summarise the delay policy in two sentences for the FAQ page (English and German, please).",
].join("\n");

/** ~32 KB of mixed text: the README (prose, tables, YAML, code), its special-token examples defused (gpt-tokenizer throws). */
const longText = readFileSync(join(root, "README.md"), "utf8").replaceAll("<|", "< |").slice(0, 32_768);

function opsPerSecond(count: (text: string) => number, text: string, seconds: number): number {
  const end = performance.now() + 300;
  while (performance.now() < end) count(text); // warm-up (JIT)
  let ops = 0;
  const t = performance.now();
  const until = t + seconds * 1000;
  while (performance.now() < until) for (let i = 0; i < 16; i++, ops++) count(text);
  return ops / ((performance.now() - t) / 1000);
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 2);
  console.log(`bun ${Bun.version}, ${new Date().toISOString().slice(0, 10)}`);
  console.log("\nmemory (fresh process, after GC) and load time, median of 3 processes:");
  const rows: Record<string, { loadMs: number; rssMiB: number; addedMiB: number }> = {};
  for (const which of ["bare", "ours", "gpt-tokenizer"] as const) {
    const runs = [];
    for (let i = 0; i < 3; i++) {
      const p = Bun.spawnSync([process.execPath, import.meta.path, "--probe", which], { cwd: root, stderr: "inherit" });
      runs.push(JSON.parse(p.stdout.toString()) as { loadMs: number; before: number; after: number });
    }
    runs.sort((a, b) => a.after - b.after);
    const mid = runs[1]!;
    rows[which] = { loadMs: Number(mid.loadMs.toFixed(1)), rssMiB: Number((mid.after / 1024).toFixed(1)), addedMiB: Number(((mid.after - mid.before) / 1024).toFixed(1)) };
  }
  console.table(rows);

  const ours = await load("ours");
  const theirs = await load("gpt-tokenizer");
  for (const [name, text] of [["1 KB chat prompt", chatPrompt], ["32 KB README text", longText]] as const) {
    const a = ours(text);
    const b = theirs(text);
    if (a !== b) throw new Error(`${name}: counts differ (ours ${a}, gpt-tokenizer ${b})`);
    const mine = opsPerSecond(ours, text, seconds);
    const other = opsPerSecond(theirs, text, seconds);
    console.log(`\n${name} (${Buffer.byteLength(text)} bytes, ${a} tokens): ours ${mine.toFixed(0)} ops/s, gpt-tokenizer ${other.toFixed(0)} ops/s (${(mine / other).toFixed(2)}×)`);
  }
}

const at = process.argv.indexOf("--probe");
if (at >= 0) await probe(process.argv[at + 1] as Which);
else await main();
