// The generated price table against @pydantic/genai-prices (its source, a dev dependency): the same model and the same prices for every id, at every date, and the committed file is current.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { calcPrice } from "@pydantic/genai-prices";
import { findModel, matches, pricesAt, type MatchRule, type PriceData, type TablePrices } from "../../src/costs/builtin-prices.ts";
import { builtinPrice, costMicros, TABLE_PROVIDER } from "../../src/costs/prices.ts";
import { OUT, renderPriceData } from "../../scripts/gen-prices.ts";

const data = JSON.parse(readFileSync(OUT, "utf8")) as PriceData;

/** The package's price object cut to the fields the gateway uses, as the generator cuts it. */
function fields(p: Record<string, unknown>): TablePrices {
  const out: Record<string, unknown> = {};
  for (const f of ["input_mtok", "output_mtok", "cache_read_mtok"]) if (p[f] !== undefined) out[f] = typeof p[f] === "number" ? p[f] : { base: (p[f] as { base: number }).base, tiers: (p[f] as { tiers: unknown[] }).tiers };
  return out as TablePrices;
}

function literals(rule: MatchRule, out: Set<string>): void {
  if ("or" in rule) for (const r of rule.or) literals(r, out);
  else if ("and" in rule) for (const r of rule.and) literals(r, out);
  else if ("regex" in rule) return;
  else out.add(Object.values(rule)[0] as string);
}

/** Ids the other tests (and the docs) price, Bedrock's and Vertex's forms included. */
const USED_IDS = [
  "gpt-4o", "gpt-4o-mini", "gpt-4.1-nano-2025-04-14", "gpt-5-mini-2025-08-07", "gpt-5-nano-2025-08-07", "gpt-5.1-codex-max", "o3", "o3-mini",
  "text-embedding-3-large", "text-embedding-3-small", "claude-3-5-haiku-latest", "claude-3-5-haiku@20241022", "claude-3-5-sonnet", "claude-3-5-sonnet-20241022",
  "claude-3-opus-20240229", "claude-haiku-4-5-20251001", "claude-opus-4-5-20251101", "claude-sonnet-4-5", "claude-sonnet-4-5-20250929",
  "claude-sonnet-4-5-greedy", "claude-sonnet-4-5-greedy@20250929", "claude-sonnet-4@20250514", "claude-3-5-sonnet-v2@20241022",
  "gemini-2.0-flash", "gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.5-pro-greedy", "gemini-3-pro-preview", "gemini-embedding-001", "models/gemini-embedding-001",
  "amazon.titan-embed-text-v2:0", "anthropic.claude-3-5-sonnet-20241022-v2:0", "anthropic.claude-sonnet-4-5-greedy-v1:0", "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
  "eu.anthropic.claude-3-7-sonnet-20250219-v1:0", "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.meta.llama3-1-70b-instruct-v1:0", "us.meta.llama3-1-70b-instruct-v1:0",
  "amazon.nova-pro-v1:0", "us.amazon.nova-lite-v1:0", "deepseek-chat", "deepseek-reasoner", "grok-4", "kimi-k2", "my-finetune", "no-such-model-xyz", "not-in-any-price-table", "echo",
];

/** Every id the package knows for these providers (model ids, the literals of their rules) and variants of each. */
function candidateIds(): string[] {
  const bases = new Set<string>(USED_IDS);
  for (const p of data.providers) for (const m of p.models) {
    bases.add(m.id);
    literals(m.match, bases);
  }
  const ids = new Set<string>();
  for (const b of bases) {
    for (const v of [b, b.toUpperCase(), ` ${b} `, `${b}-20241022`, `${b}-2024-10-22`, `${b}-20240231`, `${b}-20250514-v1:0`, `${b}@20250514`, `us.${b}`, `x${b}`, b.slice(0, -1)]) ids.add(v);
  }
  return [...ids];
}

/** Each dated model's boundaries (a millisecond either side) and times of day around its windows, plus a few plain dates. */
function timestamps(): Date[] {
  const out = new Set<number>([Date.UTC(2020, 0, 1), Date.UTC(2026, 11, 5, 12), Date.UTC(2031, 5, 1, 23, 59)]);
  for (const p of data.providers) for (const m of p.models) {
    if (!Array.isArray(m.prices)) continue;
    for (const c of m.prices) {
      const k = c.constraint;
      if (k?.type === "start_date") for (const d of [-1, 0, 1]) out.add(new Date(k.start_date).getTime() + d);
      else if (k?.type === "time_of_date") {
        for (const t of [k.start_time, k.end_time]) {
          const at = new Date(`2025-06-01T${t}`).getTime();
          for (const d of [-1000, -1, 0, 1]) out.add(at + d);
        }
      }
    }
  }
  return [...out].map((t) => new Date(t));
}

describe("the generated price table", () => {
  test("is what scripts/gen-prices.ts writes from the installed @pydantic/genai-prices (regenerate it after an update)", () => {
    expect(readFileSync(OUT, "utf8")).toBe(renderPriceData());
  });

  test("holds every provider the gateway maps and each one they fall back to", () => {
    const ids = data.providers.map((p) => p.id);
    for (const id of Object.values(TABLE_PROVIDER)) if (id) expect(ids).toContain(id);
    for (const p of data.providers) for (const f of p.fallbacks ?? []) expect(ids).toContain(f);
    expect(ids).toContain("deepseek"); // Azure's fallback, with time-of-day prices: the history is kept
  });

  test("finds the model calcPrice finds, for every id it knows, by every provider type", () => {
    const ids = candidateIds();
    expect(ids.length).toBeGreaterThan(3000);
    const when = new Date(Date.UTC(2026, 11, 5, 12));
    let found = 0;
    for (const [type, provider] of Object.entries(TABLE_PROVIDER)) {
      if (!provider) continue;
      for (const id of ids) {
        const theirs = calcPrice({ input_tokens: 1, output_tokens: 1 }, id, { providerId: provider, timestamp: when });
        const ours = findModel(data, provider, id);
        if ((ours?.id ?? null) !== (theirs?.model.id ?? null)) throw new Error(`${type} ${JSON.stringify(id)}: ours ${ours?.id}, calcPrice ${theirs?.model.id}`);
        if (theirs) {
          found++;
          expect(pricesAt(ours!, when)).toEqual(fields(theirs.model_price));
        }
      }
    }
    // Most variants are priced (a suffix still starts with a known prefix), many are not.
    expect(found).toBeGreaterThan(5000);
  });

  test("resolves dated and time-of-day prices as calcPrice does, at each boundary", () => {
    const stamps = timestamps();
    let dated = 0;
    for (const p of data.providers) {
      for (const m of p.models) {
        if (!Array.isArray(m.prices)) continue;
        const ids = new Set([m.id]);
        literals(m.match, ids);
        for (const id of ids) {
          for (const when of stamps) {
            const theirs = calcPrice({ input_tokens: 1, output_tokens: 1 }, id, { providerId: p.id, timestamp: when });
            // An id may be taken by an earlier rule (or by none): the table must agree on which.
            const ours = findModel(data, p.id, id);
            expect(ours?.id ?? null).toBe(theirs?.model.id ?? null);
            if (theirs?.model.id === m.id) dated++;
            if (theirs) expect(pricesAt(ours!, when)).toEqual(fields(theirs.model_price));
          }
        }
      }
    }
    expect(dated).toBeGreaterThan(100);
  });

  test("costs what calcPrice charges, below and above each long-context tier, for models priced by tokens alone", () => {
    const when = new Date(Date.UTC(2026, 11, 5, 12));
    const types = Object.entries(TABLE_PROVIDER).filter((e): e is [string, string] => e[1] !== null);
    let compared = 0;
    for (const p of data.providers) {
      const type = types.find(([, id]) => id === p.id)?.[0];
      if (!type) continue;
      for (const m of p.models) {
        const theirs = calcPrice({ input_tokens: 1, output_tokens: 1 }, m.id, { providerId: p.id, timestamp: when });
        if (!theirs || theirs.model.id !== m.id) continue;
        // Other price keys (per request, per image, ...) would be charged by calcPrice and are not ours to compare.
        if (Object.keys(theirs.model_price).some((k) => !["input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok", "cache_write_1h_mtok", "web_searches_kcount"].includes(k))) continue;
        const price = builtinPrice(type, m.id, when);
        if (!price) continue;
        for (const prompt of [1000, ...price.tiers.flatMap((t) => [t.above, t.above + 1])]) {
          const usage = { input_tokens: prompt, cache_read_tokens: Math.floor(prompt / 3), output_tokens: 777 };
          const total = calcPrice(usage, m.id, { providerId: p.id, timestamp: when })!.total_price;
          expect(costMicros(price, { promptTokens: prompt, cachedTokens: usage.cache_read_tokens, completionTokens: 777 })).toBe(Math.round(total * 1e6));
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(100);
  });

  test("match rules ignore case as the package's do; a regex sees the lowercased id", () => {
    expect(matches({ equals: "GPT-4o" }, "gpt-4o")).toBe(true);
    expect(matches({ starts_with: "Claude" }, "CLAUDE-3")).toBe(true);
    expect(matches({ and: [{ contains: "sonnet" }, { ends_with: "V2:0" }] }, "anthropic.claude-3-5-sonnet-20241022-v2:0")).toBe(true);
    expect(matches({ or: [{ equals: "a" }, { regex: "^b\\d$" }] }, "b1")).toBe(true);
    expect(matches({ regex: "^b\\d$" }, "bx")).toBe(false);
    // The date-normalised retry: a compact date becomes a dashed one, an impossible date stays as it is.
    const bedrock = findModel(data, "aws", "anthropic.claude-3-5-sonnet-20241022-v2:0");
    expect(bedrock).toBeDefined();
    expect(findModel(data, "openai", "no-such-model-20240231")).toBeUndefined();
  });

  // Cases the package's data does not exercise today, pinned to the package's code (calcPrice's model search).
  test("fallbacks are searched one level deep; with no entry in force the first of a history applies", () => {
    const rule = (id: string) => ({ id, match: { equals: id }, prices: { input_mtok: 1, output_mtok: 2 } });
    const chain: PriceData = {
      source: "test",
      providers: [
        { id: "a", fallbacks: ["b"], models: [rule("only-a")] },
        { id: "b", fallbacks: ["c"], models: [rule("only-b")] },
        { id: "c", models: [rule("only-c")] },
      ],
    };
    expect(findModel(chain, "a", "only-b")?.id).toBe("only-b");
    expect(findModel(chain, "a", "only-c")).toBeUndefined();
    expect(findModel(chain, "b", "only-c")?.id).toBe("only-c");
    const history = {
      id: "h",
      match: { equals: "h" },
      prices: [
        { constraint: { type: "start_date" as const, start_date: "2025-01-01" }, prices: { input_mtok: 1 } },
        { constraint: { type: "start_date" as const, start_date: "2025-06-01" }, prices: { input_mtok: 2 } },
      ],
    };
    expect(pricesAt(history, new Date("2024-01-01"))).toEqual({ input_mtok: 1 });
    expect(pricesAt(history, new Date("2025-07-01"))).toEqual({ input_mtok: 2 });
  });
});
