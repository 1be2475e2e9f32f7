// Generates src/costs/builtin-prices.json (the gateway's built-in price table, compact) from @pydantic/genai-prices' data.
//
//   npx bun scripts/gen-prices.ts          # writes the file
//   npx bun scripts/gen-prices.ts --check  # exits 1 if the committed file differs from what would be written
//
// Kept: the providers the gateway's provider types map to (TABLE_PROVIDER in src/costs/prices.ts) and every provider
// they fall back to; every model of theirs in the package's order with its match rule (the first match wins, so a
// model without a usable price still takes its ids); only the price fields the gateway uses, with their tiers and
// their dated history. src/costs/builtin-prices.ts looks a model up the way the package does;
// tests/costs/builtin-prices.test.ts checks that against the package's calcPrice and that this file is current.
import { findProvider, type ModelInfo, type ModelPrice, type Provider } from "@pydantic/genai-prices";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { PriceConstraint, PriceData, TableModel, TablePrices, TableProvider, TieredPrice } from "../src/costs/builtin-prices.ts";
import { TABLE_PROVIDER } from "../src/costs/prices.ts";

const root = join(import.meta.dir, "..");
export const OUT = join(root, "src", "costs", "builtin-prices.json");
// The package's exports do not include its package.json.
const pkg = JSON.parse(readFileSync(join(root, "node_modules", "@pydantic", "genai-prices", "package.json"), "utf8")) as { name: string; version: string };

/** The fields src/costs/prices.ts reads (input, output, cache-read per million tokens). */
const FIELDS = ["input_mtok", "output_mtok", "cache_read_mtok"] as const;

function priceValue(v: unknown, where: string): number | TieredPrice {
  if (typeof v === "number") return v;
  const t = v as { base?: unknown; tiers?: unknown };
  if (typeof t?.base !== "number" || !Array.isArray(t.tiers)) throw new Error(`${where}: neither a number nor tiered prices`);
  return { base: t.base, tiers: t.tiers.map((x: { start: number; price: number }) => ({ start: x.start, price: x.price })) };
}

function compactPrices(p: ModelPrice, where: string): TablePrices {
  const out: TablePrices = {};
  for (const f of FIELDS) if (p[f] !== undefined) out[f] = priceValue(p[f], `${where}.${f}`);
  return out;
}

function constraintOf(c: unknown, where: string): PriceConstraint {
  const x = c as Record<string, unknown>;
  // The package's calcPrice reads its own data with exactly these two shapes (anything else throws there).
  if (x.type === "start_date" && typeof x.start_date === "string") return { type: "start_date", start_date: x.start_date };
  if (x.type === "time_of_date" && typeof x.start_time === "string" && typeof x.end_time === "string") return { type: "time_of_date", start_time: x.start_time, end_time: x.end_time };
  throw new Error(`${where}: unknown price constraint ${JSON.stringify(c)}`);
}

function compactModel(m: ModelInfo, provider: string): TableModel {
  const where = `${provider}/${m.id}`;
  const prices = Array.isArray(m.prices)
    ? m.prices.map((c, i) => ({ ...(c.constraint ? { constraint: constraintOf(c.constraint, `${where}[${i}]`) } : {}), prices: compactPrices(c.prices, `${where}[${i}]`) }))
    : compactPrices(m.prices, where);
  return { id: m.id, match: m.match, prices };
}

/** The providers to keep: each mapped one, then the ones they fall back to, each once. */
function providerIds(): string[] {
  const ids: string[] = [];
  const add = (id: string) => void (ids.includes(id) || ids.push(id));
  for (const id of Object.values(TABLE_PROVIDER)) if (id) add(id);
  for (const id of [...ids]) for (const f of provider(id).fallback_model_providers ?? []) add(f);
  return ids;
}

function provider(id: string): Provider {
  const p = findProvider({ providerId: id });
  // findProvider also matches by provider_match; the table's ids must be the package's own.
  if (!p || p.id !== id) throw new Error(`@pydantic/genai-prices has no provider '${id}'`);
  return p;
}

export function priceData(): PriceData {
  const providers = providerIds().map((id): TableProvider => {
    const p = provider(id);
    return { id, ...(p.fallback_model_providers?.length ? { fallbacks: [...p.fallback_model_providers] } : {}), models: p.models.map((m) => compactModel(m, id)) };
  });
  return { source: `${pkg.name} ${pkg.version}`, providers };
}

/** The file's text: one model per line, so an update of the package shows as a readable diff. */
export function renderPriceData(data: PriceData = priceData()): string {
  const providers = data.providers.map((p) => {
    const head = `    {"id": ${JSON.stringify(p.id)},${p.fallbacks ? ` "fallbacks": ${JSON.stringify(p.fallbacks)},` : ""} "models": [\n`;
    return head + p.models.map((m) => `      ${JSON.stringify(m)}`).join(",\n") + "\n    ]}";
  });
  return `{\n  "source": ${JSON.stringify(data.source)},\n  "providers": [\n${providers.join(",\n")}\n  ]\n}\n`;
}

if (import.meta.main) {
  const text = renderPriceData();
  if (process.argv.includes("--check")) {
    if (readFileSync(OUT, "utf8") !== text) {
      console.error(`${OUT} is stale: run npx bun scripts/gen-prices.ts`);
      process.exit(1);
    }
    console.log(`${OUT} is up to date`);
  } else {
    writeFileSync(OUT, text);
    const data = JSON.parse(text) as PriceData;
    console.log(`wrote ${OUT}: ${data.providers.length} providers, ${data.providers.reduce((n, p) => n + p.models.length, 0)} models, ${text.length} bytes`);
  }
}
