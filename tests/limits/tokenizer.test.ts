// Our o200k_base counter gives gpt-tokenizer's countTokens result for every input: a broad corpus, thousands of cases.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { countTokens } from "gpt-tokenizer/encoding/o200k_base";
import { O200K_TOKEN_SPLIT_REGEX } from "gpt-tokenizer/encodingParams/constants";
import { createO200kCounter } from "../../src/limits/tokenizer/o200k.ts";
import { O200K_SPLIT_PATTERN } from "../../src/limits/tokenizer/split.ts";

const root = join(import.meta.dir, "../..");
const ours = createO200kCounter();

/**
 * gpt-tokenizer's countTokens, with special tokens as ordinary text: the same count as plain countTokens(t) wherever
 * that does not throw (it throws on "<|endoftext|>" and friends, which some texts here, this file included, contain).
 */
const ordinary = { disallowedSpecial: new Set<string>() };
const reference = (t: string): number => countTokens(t, ordinary);

/** Compares every text, and reports the first few that differ (with their index) rather than stopping at one. */
function expectSameCounts(texts: readonly string[]): void {
  const diffs: string[] = [];
  for (const [i, t] of texts.entries()) {
    const a = ours(t);
    const b = reference(t);
    if (a !== b && diffs.length < 5) diffs.push(`#${i} ours ${a}, gpt-tokenizer ${b}: ${JSON.stringify(t.slice(0, 120))}`);
  }
  expect(diffs).toEqual([]);
}

/** A seeded PRNG (mulberry32): the random corpora are the same on every run. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const pick = <T>(rnd: () => number, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
const int = (rnd: () => number, lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));

/** What git ignores under the folders read below: benchmark output (hundreds of MiB of logs after a run) and peers. */
const IGNORED = new Set([join(root, "bench", "results"), join(root, "bench", ".peers")]);

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (IGNORED.has(path)) return [];
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** The repo's own text files (sources, tests, fixtures, bench, docs, lockfile), each decoded strictly as UTF-8. */
const repoTexts: { path: string; text: string }[] = [
  ...["src", "tests", "bench", "scripts"].flatMap((d) => filesUnder(join(root, d))),
  ...["README.md", "package.json", "package-lock.json", "Dockerfile", "tsconfig.json"].map((f) => join(root, f)),
].flatMap((path) => {
  try {
    return [{ path: relative(root, path), text: new TextDecoder("utf-8", { fatal: true }).decode(readFileSync(path)) }];
  } catch {
    return []; // binary (the rank file itself)
  }
});

const prose = [
  "The quick brown fox jumps over the lazy dog. It's 5 o'clock somewhere, isn't it? They'll say we've done what we'd planned.",
  "WE'LL SEE; YOU'RE RIGHT, I'M SURE. Don't, won't, can't — shouldn't’ve. rock'n'roll 'quoted' \"double\" `back`",
  "In 1492, Columbus sailed the ocean blue; in 2024-03-15T12:30:00Z the server logged 3.14159 and 1,000,000 requests.",
  "Mr. O'Neil's e-mail: o.neil+tag@example.co.uk — see https://example.com/a/b?c=d&e=f#g, or ftp://x.y/z.",
  "CamelCaseIdentifiers, snake_case_names, SCREAMING_CASE, kebab-case-words, mixedUPPERlower, iPhone, McDonald's.",
];
const code = [
  "def fib(n: int) -> int:\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n\nprint([fib(i) for i in range(10)])\n",
  'fn main() {\n    let v: Vec<u32> = (0..10).map(|x| x * x).collect();\n    println!("{:?}", v);\n}\n',
  'package main\n\nimport "fmt"\n\nfunc main() {\n\tch := make(chan int, 3)\n\tgo func() { ch <- 42 }()\n\tfmt.Println(<-ch)\n}\n',
  "#include <stdio.h>\nint main(void) {\n  for (int i = 0; i < 10; ++i) printf(\"%d\\n\", i << 2);\n  return 0;\n}\n",
  "SELECT u.id, COUNT(*) AS n FROM users u LEFT JOIN orders o ON o.user_id = u.id WHERE u.created_at > NOW() - INTERVAL '7 days' GROUP BY 1 HAVING n > 3;",
  '#!/usr/bin/env bash\nset -euo pipefail\nfor f in "$@"; do [[ -f $f ]] && wc -l "$f" | awk \'{print $1}\'; done 2>/dev/null\n',
  '<!doctype html>\n<html lang="en"><head><style>.a > b { color: #ff0000; margin: 0 auto; }</style></head>\n<body><p id="x">Hi&nbsp;there</p></body></html>\n',
  "public class Hello { public static void main(String[] args) { System.out.println(\"Hello\"); } } // ok\r\n/* block */",
  "const f = async <T,>(xs: T[]): Promise<T | undefined> => xs.at(-1) ?? undefined;\n\t\texport default f;\n",
];
const json = [
  JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }], temperature: 0.7, tools: [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }] }),
  JSON.stringify({ a: [1, 2.5, -3e10, null, true, false], "key with spaces": { "ünïcödé": "値", emoji: "🎉" } }, null, 2),
  '{"escaped":"line\\nbreak \\"quote\\" \\u00e9 \\ud83d\\ude00","nested":[[[[]]]],"n":12345678901234567890}',
];
const scripts = [
  "中华人民共和国成立于1949年。我们今天去北京天安门广场，天气很好！",
  "日本語のテキストです。カタカナとひらがな、漢字が混ざっています。ｶﾀｶﾅ（半角）も。",
  "한국어 텍스트입니다. 안녕하세요, 세상! 오늘 기분이 어때요?",
  "مرحبا بالعالم! هذه جملة باللغة العربية مع أرقام ١٢٣٤٥ وعلامات تشكيل: كَتَبَ الطَّالِبُ.",
  "שלום עולם, זהו טקסט בעברית.",
  "नमस्ते दुनिया! यह हिंदी में एक वाक्य है। ১২৩ বাংলা",
  "สวัสดีชาวโลก ภาษาไทยไม่มีช่องว่างระหว่างคำ",
  "Привет, мир! Как дела? Съешь же ещё этих мягких французских булок.",
  "Γειά σου Κόσμε! Ελληνικά κείμενα με τόνους: άέήίόύώ ΐΰ.",
  "Tiếng Việt có nhiều dấu: Trường Đại học Bách khoa Hà Nội. ﬁ ﬂ ǅ ǈ ǋ ǲ (titlecase digraphs)",
  "Zalgo: Z̴̡̢̛͓͔͕͖͙͚̀́̂̃̄̅̆̇̈̉̊̋̌̍̎̏̐̑̒̓̔̽̾̿̀́͂̓̈́͆͊͋͌͐͑͒͗͛ͣͤͥͦͧͨͩͪͫͬͭͮͯ͘͜͟͢͝͞͠͡a̶l̷g̸o͏",
  "e\u0301 vs é, A\u030a vs Å, n\u0303, \u0301 alone, x\u20dd, 1\ufe0f\u20e3, #\ufe0f\u20e3",
];
const emoji = [
  "👨‍👩‍👧‍👦 family, 👩🏽‍💻 coder, 🏳️‍🌈 flag, 🇺🇸🇬🇧🇯🇵 flags, 🤦🏼‍♂️ facepalm, ❤️‍🔥, 🧑‍🤝‍🧑",
  "😀😃😄😁😆😅😂🤣🥲☺️😊😇🙂🙃😉😌😍🥰😘😗😙😚😋😛😝😜🤪🤨🧐🤓😎🥸🤩🥳",
  "keycaps 0️⃣1️⃣2️⃣ *️⃣ text ☎︎ vs emoji ☎️, skin 👋🏻👋🏼👋🏽👋🏾👋🏿, 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕞𝕒𝕥𝕙 𝟙𝟚𝟛",
];
const whitespace = [
  " ", "  ", "\t", "\n", "\r\n", "\n\n\n", " \n ", "a  \n\n  b", "x\t\t\ty", "   leading", "trailing   ", "\r\r\n\n",
  "nbsp\u00a0\u00a0here", "ideographic\u3000space", "line\u2028sep\u2029para", "bom\ufeffinside", "\ufeff\ufeff", "\ufeffusing System;",
  "zero\u200bwidth\u200c\u200djoiners", "\u000b\u000cvertical", " ".repeat(100), "\n".repeat(50), " \t".repeat(40), "a\n \n \nb",
];
const digits = [
  ...[1, 2, 3, 4, 5, 6, 7, 10, 31, 100, 257].map((n) => "1234567890".repeat(26).slice(0, n)),
  "3.14159265358979323846264338327950288419716939937510", "1,234,567.89", "0x7fffffff 0b1010 1e-9 -42 +7",
  "٠١٢٣٤٥٦٧٨٩ ０１２３ ½ ¼ Ⅻ ⅷ ①②③ ²³", "v1.2.3-rc.4+build.567", "2026-11-26 01:52:29.811808516 +0000",
];

describe("o200k_base counting matches gpt-tokenizer", () => {
  test("the split pattern is gpt-tokenizer's, character for character", () => {
    expect(O200K_SPLIT_PATTERN).toBe(O200K_TOKEN_SPLIT_REGEX.source);
    expect(O200K_TOKEN_SPLIT_REGEX.flags).toBe("gu");
  });

  test("hand-picked prose, code, JSON, scripts, emoji, combining marks, whitespace and digits", () => {
    const all = [...prose, ...code, ...json, ...scripts, ...emoji, ...whitespace, ...digits, ""];
    // Each alone, all joined, and every pair joined with a space (pieces meeting across the seam).
    const cases = [...all, all.join("\n"), ...all.flatMap((a, i) => all.slice(i + 1, i + 4).map((b) => `${a} ${b}`))];
    expect(cases.length).toBeGreaterThan(250);
    expectSameCounts(cases);
    // None of these holds a special token, so plain countTokens (what the README promises) agrees too.
    expect(cases.filter((t) => ours(t) !== countTokens(t))).toEqual([]);
  });

  test("gpt-tokenizer's own o200k_base samples (TestPlans.txt), and tiktoken's expected token counts for them", () => {
    const plans = readFileSync(join(root, "node_modules", "gpt-tokenizer", "data", "TestPlans.txt"), "utf8");
    const samples = [...plans.matchAll(/EncodingName: o200k_base\nSample: (.*)\nEncoded: \[(.*)\]/g)];
    expect(samples.length).toBeGreaterThan(50);
    expectSameCounts(samples.map((m) => m[1]!));
    for (const m of samples) expect(ours(m[1]!)).toBe(m[2] ? m[2].split(",").length : 0);
  });

  test("every source, test, fixture and doc file of this repo: whole, line by line, and in random slices", () => {
    expect(repoTexts.length).toBeGreaterThan(100);
    const rnd = prng(7);
    const slices = repoTexts.flatMap(({ text }) =>
      Array.from({ length: 4 }, () => {
        const start = int(rnd, 0, text.length);
        return text.slice(start, start + int(rnd, 1, 600)); // may cut a surrogate pair: a lone surrogate at an edge
      }),
    );
    const lines = [...new Set(repoTexts.flatMap(({ text }) => text.split("\n")))];
    expect(lines.length).toBeGreaterThan(5000);
    expectSameCounts(repoTexts.map((f) => f.text));
    expectSameCounts(lines);
    expectSameCounts(slices);
  });

  test("random Unicode (seeded): mixed scripts, astral characters, marks, joiners, whitespace and lone surrogates", () => {
    const rnd = prng(16);
    const ranges: [number, number][] = [
      [0x20, 0x7e], [0x20, 0x7e], [0x20, 0x7e], [0x00, 0x1f], [0xa0, 0x24f], [0x300, 0x36f], [0x370, 0x3ff],
      [0x400, 0x4ff], [0x590, 0x6ff], [0x900, 0x97f], [0xe00, 0xe7f], [0x1100, 0x11ff], [0x2000, 0x206f],
      [0x20a0, 0x22ff], [0x3000, 0x30ff], [0x4e00, 0x9fff], [0xac00, 0xd7a3], [0xd800, 0xdfff], [0xfe00, 0xfe0f],
      [0xfeff, 0xfeff], [0xff00, 0xffef], [0x1d400, 0x1d7ff], [0x1f300, 0x1faff], [0x1f1e6, 0x1f1ff], [0x20000, 0x2a6df],
      [0x10fff0, 0x10ffff],
    ];
    const specials = [" ", "\n", "\r\n", "\t", "'s", "'LL", "\u200d", "\ufe0f", "\u00a0", "123", "'", "/", "\ufeff", "\ufeff名"];
    const cases = Array.from({ length: 3000 }, () => {
      let s = "";
      const n = int(rnd, 1, 120);
      for (let i = 0; i < n; i++) {
        if (rnd() < 0.15) s += pick(rnd, specials);
        else {
          const [lo, hi] = pick(rnd, ranges);
          const cp = int(rnd, lo, hi);
          // Surrogates go in as single (lone) code units; everything else as a code point.
          s += cp >= 0xd800 && cp <= 0xdfff ? String.fromCharCode(cp) : String.fromCodePoint(cp);
        }
      }
      return s;
    });
    expect(cases.filter((s) => !s.isWellFormed()).length).toBeGreaterThan(500);
    expectSameCounts(cases);
  });

  test("word salad (seeded): fragments from every corpus above glued with separators", () => {
    const rnd = prng(42);
    const fragments = [...prose, ...code, ...scripts, ...emoji, ...digits].flatMap((t) => t.split(/(\s+)/)).filter(Boolean);
    const glue = ["", " ", "  ", "\n", "\t", "-", "_", "/", ".", ",", "'", "’", "\"", "(", ")", "://", "\r\n", "\u3000"];
    const cases = Array.from({ length: 2000 }, () =>
      Array.from({ length: int(rnd, 1, 40) }, () => pick(rnd, fragments) + pick(rnd, glue)).join(""),
    );
    expectSameCounts(cases);
  });

  test("long single words: repeated and random letters, CJK, accented and base64 runs across the merge strategies", () => {
    const rnd = prng(128);
    const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const b64 = `${letters}0123456789+/`;
    const word = (alphabet: string, n: number) => Array.from({ length: n }, () => alphabet[int(rnd, 0, alphabet.length - 1)]).join("");
    const cases: string[] = [];
    // Around the 128-byte switch from the scan to the heap, and well past it.
    for (const n of [2, 3, 64, 120, 126, 127, 128, 129, 130, 140, 256, 1000, 4000]) {
      cases.push("a".repeat(n), "ab".repeat(n >> 1), word(letters, n), word(letters.slice(0, 26), n), `${word("ab", n)}'s`);
      cases.push("é".repeat(n >> 1), "漢字".repeat(n >> 3), word("абвгдежзийклмнопрстуфхцчшщъыьэюя", n >> 1), word(b64, n));
      cases.push(`${"x".repeat(n)}\ud800`, `\udc00${word(letters, n)}`, `${"\ufeff"}${word(letters, n)}`, " ".repeat(n), `!${"-".repeat(n)}`);
    }
    for (let i = 0; i < 200; i++) cases.push(word(letters, int(rnd, 100, 600)));
    expectSameCounts(cases);
  });

  test("U+FEFF (byte-order mark) counts as gpt-tokenizer counts it, not as tiktoken does", () => {
    // gpt-tokenizer finds a byte span's rank by decoding it with TextDecoder, which drops a leading BOM: a lone BOM is
    // 2 tokens (tiktoken: 1), and BOM + 名 merges through the tokens EF BB and BF E5 90 8D into the rank of 名 alone.
    const cases = ["\ufeff", "\ufeff名", " \ufeff名", "x\ufeff\u1784", "\ufeff\u1784\u1784", "\ufeff\ufeff名", "名\ufeff名", "\ufeffusing System;"];
    expectSameCounts(cases);
    expect([ours("\ufeff"), ours("\ufeff名"), ours("x\ufeff\u1784")]).toEqual([2, 1, 2]);
  });

  test("special tokens are ordinary text: the same count gpt-tokenizer gives with no special tokens allowed", () => {
    const texts = ["<|endoftext|>", "a <|endoftext|> b", "<|im_start|>user\nhi<|im_end|>", "<|fim_prefix|><|fim_middle|><|fim_suffix|>", "<|endofprompt|>x", "<|im_sep|>", "<|not_special|>"];
    // gpt-tokenizer's plain countTokens throws on them (which made the gateway answer 500 to such a prompt).
    expect(() => countTokens(texts[0]!)).toThrow("Disallowed special token");
    expectSameCounts(texts);
    expect(ours("<|endoftext|>")).toBeGreaterThan(1);
  });

  test("the counter is re-entrant across calls of any size (its scratch buffer grows and is reused)", () => {
    // 400k characters: past the 1 MiB of scratch the counter keeps, so this call gets a buffer of its own.
    const big = repoTexts.map((f) => f.text).join("\n").slice(0, 400_000);
    expect(big.length).toBe(400_000);
    const small = "hello world";
    expect(ours(small)).toBe(2);
    expect(ours(big)).toBe(reference(big));
    expect(ours(small)).toBe(2);
    expect(ours(big.slice(0, 5000))).toBe(reference(big.slice(0, 5000)));
  });
});

test("the committed rank file is exactly what scripts/gen-o200k.ts makes from gpt-tokenizer's data", () => {
  const run = Bun.spawnSync([process.execPath, join(root, "scripts", "gen-o200k.ts"), "--check"], { cwd: root, stdout: "pipe", stderr: "pipe" });
  expect(run.stderr.toString()).toBe("");
  expect(run.exitCode).toBe(0);
});
