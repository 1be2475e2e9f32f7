// GET /admin/v1/usage/series?range=1h|24h|7d|30d: gateway-wide requests, errors, tokens, spend and p50/p95 latency per step, from the minute and hour buckets.
import { Elysia } from "elysia";
import { microsToUsd } from "../../costs/budget.ts";
import { HOUR_MS, LATENCY_BINS, MINUTE_MS, percentile } from "../../store/series.ts";
import type { Store } from "../../store/store.ts";
import { enumParam, queryOf } from "./query.ts";
import { json } from "./respond.ts";

export const RANGES = ["1h", "24h", "7d", "30d"] as const;
export type Range = (typeof RANGES)[number];

/** Each range reads the smallest buckets that cover it, summed into steps that give a chart 60–288 points. */
const PLAN: Record<Range, { span: number; step: number; steps: number }> = {
  "1h": { span: MINUTE_MS, step: MINUTE_MS, steps: 60 },
  "24h": { span: MINUTE_MS, step: 5 * MINUTE_MS, steps: 288 },
  "7d": { span: HOUR_MS, step: HOUR_MS, steps: 168 },
  "30d": { span: HOUR_MS, step: 4 * HOUR_MS, steps: 180 },
};

const round2 = (n: number | null) => (n === null ? null : Math.round(n * 100) / 100);

/** The series of one range ending now: every step present (zero when quiet), oldest first, in the columns a chart takes. */
export async function seriesOf(store: Store, range: Range, now: number) {
  const { span, step, steps } = PLAN[range];
  // The last step is the one now falls in (still filling).
  const to = now - (now % step) + step;
  const from = to - steps * step;
  const rows = await store.usageSeries({ spanMs: span, stepMs: step, from, to });
  const at = new Map(rows.map((r) => [r.start, r]));
  const out = {
    object: "usage.series" as const,
    range,
    step_s: step / 1000,
    t: [] as number[],
    requests: [] as number[],
    errors: [] as number[],
    prompt_tokens: [] as number[],
    completion_tokens: [] as number[],
    cost_usd: [] as number[],
    latency_p50_ms: [] as (number | null)[],
    latency_p95_ms: [] as (number | null)[],
  };
  const all = new Array<number>(LATENCY_BINS).fill(0);
  let costMicros = 0;
  for (let t = from; t < to; t += step) {
    const r = at.get(t);
    out.t.push(t / 1000);
    out.requests.push(r?.requests ?? 0);
    out.errors.push(r?.errors ?? 0);
    out.prompt_tokens.push(r?.promptTokens ?? 0);
    out.completion_tokens.push(r?.completionTokens ?? 0);
    out.cost_usd.push(microsToUsd(r?.costMicros ?? 0));
    out.latency_p50_ms.push(r ? round2(percentile(r.latency, 0.5)) : null);
    out.latency_p95_ms.push(r ? round2(percentile(r.latency, 0.95)) : null);
    if (r) {
      r.latency.forEach((n, i) => (all[i]! += n));
      costMicros += r.costMicros;
    }
  }
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  return {
    ...out,
    totals: {
      requests: sum(out.requests),
      errors: sum(out.errors),
      prompt_tokens: sum(out.prompt_tokens),
      completion_tokens: sum(out.completion_tokens),
      cost_usd: microsToUsd(costMicros),
      latency_p50_ms: round2(percentile(all, 0.5)),
      latency_p95_ms: round2(percentile(all, 0.95)),
    },
  };
}

export function seriesRoutes(d: { store: Store; now: () => number }) {
  return new Elysia({ name: "admin.series" }).get("/usage/series", async ({ request }) => {
    const range = enumParam(queryOf(request), "range", RANGES) ?? "24h";
    return json(await seriesOf(d.store, range, d.now()));
  });
}
