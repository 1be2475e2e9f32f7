// Usage as time series: gateway-wide buckets per minute (kept two days) and per hour (kept like the daily totals), with a latency histogram each, maintained as events land.
import type { SqlExec } from "./driver.ts";
import type { UsageEvent } from "./usage-event.ts";

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
/** Minute buckets older than this are pruned: they serve the last-hour and last-day charts only. */
export const MINUTE_BUCKETS_KEPT_MS = 2 * 86_400_000;

/**
 * Upper bounds (ms) of the latency histogram's bins; the last bin holds everything above the last bound. Roughly
 * ×1.5 apart: a percentile read from it is within one bin (±25%) of the exact one, from buckets that merge by adding.
 */
export const LATENCY_BOUNDS_MS = [10, 20, 35, 50, 75, 100, 150, 200, 300, 400, 500, 750, 1000, 1500, 2000, 3000, 4000, 6000, 8000, 12_000, 20_000, 40_000, 90_000] as const;
export const LATENCY_BINS = LATENCY_BOUNDS_MS.length + 1;
const LATENCY_COLUMNS = Array.from({ length: LATENCY_BINS }, (_, i) => `lat_${String(i).padStart(2, "0")}`);
const SUM_COLUMNS = ["requests", "errors", "prompt_tokens", "completion_tokens", "cost_micros"] as const;
const VALUE_COLUMNS = [...SUM_COLUMNS, ...LATENCY_COLUMNS];

export function latencyBin(ms: number): number {
  let lo = 0;
  let hi: number = LATENCY_BOUNDS_MS.length;
  // The first bound ≥ ms (binary search over 23 bounds).
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (LATENCY_BOUNDS_MS[mid]! >= ms) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The p-quantile (0–1) of a histogram, interpolated inside its bin; null when it is empty. */
export function percentile(hist: readonly number[], p: number): number | null {
  let total = 0;
  for (const n of hist) total += n;
  if (total === 0) return null;
  const target = p * total;
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    const n = hist[i]!;
    if (n > 0 && seen + n >= target) {
      const lo = i === 0 ? 0 : LATENCY_BOUNDS_MS[i - 1]!;
      // Above the last bound nothing says how far: report the bound.
      if (i >= LATENCY_BOUNDS_MS.length) return lo;
      const hi = LATENCY_BOUNDS_MS[i]!;
      return lo + ((hi - lo) * (target - seen)) / n;
    }
    seen += n;
  }
  return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1]!;
}

interface Bucket {
  span: number;
  start: number;
  values: number[];
}

/** Sums a batch per span and start, sorted so concurrent writers lock the same rows in the same order. */
function bucketsOf(events: readonly UsageEvent[]): Bucket[] {
  const out = new Map<string, Bucket>();
  for (const e of events) {
    for (const span of [MINUTE_MS, HOUR_MS]) {
      const start = e.createdAt - (e.createdAt % span);
      const id = `${span}:${start}`;
      let b = out.get(id);
      if (!b) out.set(id, (b = { span, start, values: new Array<number>(VALUE_COLUMNS.length).fill(0) }));
      const v = b.values;
      v[0]! += 1;
      v[1]! += e.status >= 400 ? 1 : 0;
      v[2]! += e.promptTokens;
      v[3]! += e.completionTokens;
      v[4]! += e.costMicros;
      v[SUM_COLUMNS.length + latencyBin(e.latencyMs)]! += 1;
    }
  }
  return [...out.values()].sort((a, b) => a.span - b.span || a.start - b.start);
}

const COLUMNS = ["span_ms", "start_ms", ...VALUE_COLUMNS];
const upsertSql = (rows: number) =>
  `INSERT INTO usage_buckets (${COLUMNS.join(", ")}) VALUES ` +
  Array.from({ length: rows }, (_, r) => `(${COLUMNS.map((_, c) => `$${r * COLUMNS.length + c + 1}`).join(", ")})`).join(", ") +
  ` ON CONFLICT (span_ms, start_ms) DO UPDATE SET ` +
  VALUE_COLUMNS.map((c) => `${c} = usage_buckets.${c} + excluded.${c}`).join(", ");
// Well under both databases' parameter limits (31 columns a row).
const UPSERT_CHUNK = 50;

/** Adds a batch of newly stored events to the buckets, inside the transaction that stored them. */
export async function addToBuckets(tx: SqlExec, events: readonly UsageEvent[]): Promise<void> {
  const buckets = bucketsOf(events);
  for (let i = 0; i < buckets.length; i += UPSERT_CHUNK) {
    const chunk = buckets.slice(i, i + UPSERT_CHUNK);
    await tx.run(upsertSql(chunk.length), chunk.flatMap((b) => [b.span, b.start, ...b.values]));
  }
}

export interface SeriesQuery {
  /** Which buckets: MINUTE_MS or HOUR_MS. */
  spanMs: number;
  /** [from, to) in epoch ms. */
  from: number;
  to: number;
  /** Buckets are summed into steps of this length (a multiple of the span), aligned to the epoch. */
  stepMs: number;
}

export interface SeriesRow {
  start: number;
  requests: number;
  errors: number;
  promptTokens: number;
  completionTokens: number;
  costMicros: number;
  /** Counts per latency bin (LATENCY_BOUNDS_MS). */
  latency: number[];
}

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

/** The steps that have traffic, oldest first (a range with none returns no rows). */
export async function querySeries(db: SqlExec, q: SeriesQuery): Promise<SeriesRow[]> {
  // Integer arithmetic in both databases; the casts give PostgreSQL the parameters' type.
  const step = `(start_ms / CAST($4 AS BIGINT)) * CAST($4 AS BIGINT)`;
  const rows = await db.all(
    `SELECT ${step} AS t, ${VALUE_COLUMNS.map((c) => `SUM(${c}) AS ${c}`).join(", ")} FROM usage_buckets ` +
      `WHERE span_ms = $1 AND start_ms >= $2 AND start_ms < $3 GROUP BY ${step} ORDER BY 1`,
    [q.spanMs, q.from, q.to, q.stepMs],
  );
  return rows.map((r) => ({
    start: num(r.t),
    requests: num(r.requests),
    errors: num(r.errors),
    promptTokens: num(r.prompt_tokens),
    completionTokens: num(r.completion_tokens),
    costMicros: num(r.cost_micros),
    latency: LATENCY_COLUMNS.map((c) => num(r[c])),
  }));
}

/** Deletes minute buckets that started before `before`; hour buckets stay. Returns how many went. */
export async function pruneMinuteBuckets(db: SqlExec, before: number): Promise<number> {
  return db.count(`DELETE FROM usage_buckets WHERE span_ms = $1 AND start_ms < $2`, [MINUTE_MS, before]);
}
