// Prices of models (built-in table from @pydantic/genai-prices, config overrides) and the cost of a usage in micro-USD.
//
// Arithmetic: a price is USD per million tokens, so tokens × price is exactly micro-USD. Costs are rounded to whole
// micro-USD once per request. Token conventions are OpenAI's (and the price table's): prompt tokens include the
// cached ones, completion tokens include the reasoning ones, so reasoning is never charged twice.
import type { calcPrice as CalcPrice, ModelPrice as TablePrice, TieredPrices } from "@pydantic/genai-prices";
import type { Config } from "../config/schema.ts";

/** Rates in USD per million tokens. */
export interface Rates {
  input: number;
  output: number;
  cachedInput: number;
}

export interface Price extends Rates {
  /**
   * Long-context tiers, ascending: when a request's prompt has more than `above` tokens, the tier's rates apply to the
   * whole request (Gemini 1.5/2.5 Pro, Claude Sonnet 4.5). That is the table's convention.
   */
  tiers: { above: number; rates: Rates }[];
}

export type PriceSource = "builtin" | "config" | "none";

export interface UsageCounts {
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
}

/** The rates that apply to a request with this many prompt tokens. */
export function ratesFor(price: Price, promptTokens: number): Rates {
  let r: Rates = price;
  for (const t of price.tiers) if (promptTokens > t.above) r = t.rates;
  return r;
}

/** Cost in whole micro-USD. */
export function costMicros(price: Price, u: UsageCounts): number {
  const r = ratesFor(price, u.promptTokens);
  const cached = Math.min(Math.max(0, u.cachedTokens), Math.max(0, u.promptTokens));
  const uncached = Math.max(0, u.promptTokens) - cached;
  return Math.round(uncached * r.input + cached * r.cachedInput + Math.max(0, u.completionTokens) * r.output);
}

/** The provider ids of the price table for our provider types (echo is offline and free). */
const TABLE_PROVIDER: Record<string, string | null> = {
  openai: "openai",
  azure: "azure",
  anthropic: "anthropic",
  gemini: "google",
  // The table's `aws` prices Bedrock's ids (cross-region profiles too); `google` holds Vertex's Gemini and Claude ids.
  bedrock: "aws",
  vertex: "google",
  echo: null,
};

const FREE: Price = { input: 0, output: 0, cachedInput: 0, tiers: [] };

const base = (v: number | TieredPrices | undefined): number | undefined => (v === undefined ? undefined : typeof v === "number" ? v : v.base);
const at = (v: number | TieredPrices | undefined, start: number): number | undefined => {
  if (v === undefined || typeof v === "number") return v;
  let p = v.base;
  for (const t of v.tiers) if (start >= t.start) p = t.price;
  return p;
};

/** The table's price object → ours; a model without input and output prices has no usable price. */
function fromTable(p: TablePrice): Price | null {
  const input = base(p.input_mtok);
  const output = base(p.output_mtok);
  if (input === undefined || output === undefined) return null;
  const cachedInput = base(p.cache_read_mtok) ?? input;
  const starts = new Set<number>();
  for (const v of [p.input_mtok, p.output_mtok, p.cache_read_mtok]) if (v && typeof v === "object") for (const t of v.tiers) starts.add(t.start);
  const tiers = [...starts]
    .sort((a, b) => a - b)
    .map((start) => ({
      above: start,
      rates: { input: at(p.input_mtok, start)!, output: at(p.output_mtok, start)!, cachedInput: at(p.cache_read_mtok, start) ?? at(p.input_mtok, start)! },
    }));
  return { input, output, cachedInput, tiers };
}

/**
 * The table is ~800 KB of JavaScript that costs ~15 MiB resident once loaded, for lookups made only at start-up and
 * reload: it is loaded by the first lookup, so a config whose models are all priced in `prices:` (or all offline)
 * never loads it. A synchronous require keeps the table build synchronous and is bundled like an import.
 */
let calc: typeof CalcPrice | undefined;
const calcPrice: typeof CalcPrice = (...args) => (calc ??= (require("@pydantic/genai-prices") as { calcPrice: typeof CalcPrice }).calcPrice)(...args);
/** Whether the built-in table was loaded in this process (tests). */
export const priceTableLoaded = (): boolean => calc !== undefined;

/** The built-in price of a provider type's model at a date (the table keeps dated price history); null when unknown. */
export function builtinPrice(providerType: string, upstreamModel: string, when = new Date()): Price | null {
  const provider = TABLE_PROVIDER[providerType];
  if (provider === null) return FREE;
  if (provider === undefined) return null;
  const found = calcPrice({ input_tokens: 1, output_tokens: 1 }, upstreamModel, { providerId: provider, timestamp: when });
  return found ? fromTable(found.model_price) : null;
}

export interface ModelPriceInfo {
  model: string;
  price: Price | null;
  source: PriceSource;
}

export interface PriceTable {
  /** Every configured model's price as GET /admin/v1/prices shows it (the model's first deployment unless overridden). */
  list(): ModelPriceInfo[];
  /** The price of a call answered by this deployment of a public model id; null when unknown. */
  forDeployment(publicModel: string, provider: string, upstreamModel: string): Price | null;
  /**
   * The highest rates any deployment that may answer a request for this model charges (its targets, then its
   * fallbacks' targets): what a budget reserves against. Null when any of them has no price.
   */
  reservationPrice(publicModel: string): Price | null;
  /** Public model ids with at least one deployment that has no price (named once at start-up). */
  unpriced(): string[];
}

function configPrice(p: { input_per_mtok: number; output_per_mtok: number; cached_input_per_mtok?: number }): Price {
  return { input: p.input_per_mtok, output: p.output_per_mtok, cachedInput: p.cached_input_per_mtok ?? p.input_per_mtok, tiers: [] };
}

/** The higher of two prices, rate by rate and tier by tier (for a reservation that covers either). */
function maxPrice(a: Price, b: Price): Price {
  const above = [...new Set([...a.tiers.map((t) => t.above), ...b.tiers.map((t) => t.above)])].sort((x, y) => x - y);
  const hi = (x: Rates, y: Rates): Rates => ({ input: Math.max(x.input, y.input), output: Math.max(x.output, y.output), cachedInput: Math.max(x.cachedInput, y.cachedInput) });
  return { ...hi(a, b), tiers: above.map((n) => ({ above: n, rates: hi(ratesFor(a, n + 1), ratesFor(b, n + 1)) })) };
}

/** Built once at start-up: every deployment's price is looked up here, never per request. */
export function buildPriceTable(config: Config, when = new Date()): PriceTable {
  const overrides = config.prices;
  const byDeployment = new Map<string, Price | null>();
  const deploymentsOf = new Map<string, { provider: string; upstream: string }[]>();
  for (const m of config.models) {
    const targets = m.targets ?? [{ provider: m.provider!, upstream_model: m.upstream_model }];
    const list = targets.map((t) => ({ provider: t.provider, upstream: t.upstream_model ?? m.upstream_model ?? m.id }));
    deploymentsOf.set(m.id, list);
    for (const d of list) {
      const id = `${m.id}\u0000${d.provider}\u0000${d.upstream}`;
      const override = overrides[m.id];
      byDeployment.set(id, override ? configPrice(override) : builtinPrice(config.providers[d.provider]?.type ?? "", d.upstream, when));
    }
  }
  const forDeployment = (model: string, provider: string, upstream: string) => byDeployment.get(`${model}\u0000${provider}\u0000${upstream}`) ?? null;
  const ownPrice = (model: string): Price | null => {
    let out: Price | null = null;
    for (const d of deploymentsOf.get(model) ?? []) {
      const p = forDeployment(model, d.provider, d.upstream);
      if (!p) return null;
      out = out ? maxPrice(out, p) : p;
    }
    return out;
  };
  const reservation = new Map<string, Price | null>();
  for (const m of config.models) {
    let p = ownPrice(m.id);
    for (const f of m.fallbacks ?? []) {
      const fp = ownPrice(f);
      p = p && fp ? maxPrice(p, fp) : null;
    }
    reservation.set(m.id, p);
  }
  const list: ModelPriceInfo[] = config.models.map((m) => {
    if (overrides[m.id]) return { model: m.id, price: configPrice(overrides[m.id]!), source: "config" };
    const first = deploymentsOf.get(m.id)![0]!;
    const price = forDeployment(m.id, first.provider, first.upstream);
    return { model: m.id, price, source: price ? "builtin" : "none" };
  });
  return {
    list: () => list,
    forDeployment,
    reservationPrice: (model) => reservation.get(model) ?? null,
    unpriced: () => config.models.filter((m) => !ownPrice(m.id)).map((m) => m.id),
  };
}
