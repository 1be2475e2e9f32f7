// Overview: traffic, errors, latency, tokens and spend over a chosen range (charts from /admin/v1/usage/series), and the top keys and models by spend.
import { useMemo, useState } from "preact/hooks";
import { call, query } from "../api.ts";
import { count, ms, percent, rate, short, usd } from "../format.ts";
import { Chart, type Line } from "../parts/chart.tsx";
import { useLoad } from "../parts/load.ts";
import { Failure } from "../parts/status.tsx";
import type { List, Range, Series, UsageRow } from "../types.ts";

const RANGES: { id: Range; label: string; hours: number }[] = [
  { id: "1h", label: "Last hour", hours: 1 },
  { id: "24h", label: "24 hours", hours: 24 },
  { id: "7d", label: "7 days", hours: 24 * 7 },
  { id: "30d", label: "30 days", hours: 24 * 30 },
];

const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

function peak(values: (number | null)[]): number {
  let m = 0;
  for (const v of values) if (v !== null && v > m) m = v;
  return m;
}

function Charts({ s }: { s: Series }) {
  const perMinute = s.step_s / 60;
  const lines = useMemo(() => {
    const rpm = s.requests.map((r) => r / perMinute);
    const errorRate = s.requests.map((r, i) => (r === 0 ? null : s.errors[i]! / r));
    return {
      rpm: [{ label: "Requests per minute", values: rpm, colour: "--chart-1" }] as Line[],
      errors: [{ label: "Error rate", values: errorRate, colour: "--chart-bad" }] as Line[],
      latency: [
        { label: "p50", values: s.latency_p50_ms, colour: "--chart-1" },
        { label: "p95", values: s.latency_p95_ms, colour: "--chart-2", dashed: true },
      ] as Line[],
      tokens: [
        { label: "Prompt", values: s.prompt_tokens, colour: "--chart-1" },
        { label: "Completion", values: s.completion_tokens, colour: "--chart-2" },
      ] as Line[],
      spend: [{ label: "Spend", values: s.cost_usd, colour: "--chart-3" }] as Line[],
    };
  }, [s, perMinute]);
  const step = s.step_s >= 3600 ? `${s.step_s / 3600} h` : `${s.step_s / 60} min`;
  return (
    <div class="charts">
      <Chart title="Requests per minute" t={s.t} lines={lines.rpm} format={rate} summary={`peak ${rate(peak(lines.rpm[0]!.values))}, ${count(s.totals.requests)} requests in all`} />
      <Chart title="Error rate" t={s.t} lines={lines.errors} format={percent} summary={`${percent(s.totals.requests ? s.totals.errors / s.totals.requests : null)} of requests failed over the range`} />
      <Chart title="Latency (p50 and p95)" t={s.t} lines={lines.latency} format={ms} summary={`p50 ${ms(s.totals.latency_p50_ms)}, p95 ${ms(s.totals.latency_p95_ms)} over the range`} />
      <Chart title={`Tokens per ${step}`} t={s.t} lines={lines.tokens} format={short} summary={`${short(s.totals.prompt_tokens)} prompt and ${short(s.totals.completion_tokens)} completion tokens`} />
      <Chart title={`Spend per ${step}`} t={s.t} lines={lines.spend} format={usd} summary={`${usd(s.totals.cost_usd)} in all`} />
    </div>
  );
}

function Totals({ s }: { s: Series }) {
  const t = s.totals;
  const tiles: [string, string][] = [
    ["Requests", count(t.requests)],
    ["Error rate", percent(t.requests ? t.errors / t.requests : null)],
    ["Latency p50 / p95", `${ms(t.latency_p50_ms)} / ${ms(t.latency_p95_ms)}`],
    ["Tokens", short(t.prompt_tokens + t.completion_tokens)],
    ["Spend", usd(t.cost_usd)],
  ];
  return (
    <dl class="tiles">
      {tiles.map(([label, value]) => (
        <div key={label} class="card">
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

function Top({ title, rows, name }: { title: string; rows: UsageRow[] | undefined; name: (r: UsageRow) => string }) {
  const top = (rows ?? []).filter((r) => r.requests > 0).sort((a, b) => b.cost_usd - a.cost_usd || b.requests - a.requests).slice(0, 10);
  return (
    <section class="card">
      <h2>{title}</h2>
      {rows && top.length === 0 ? (
        <p class="muted">No traffic in this range.</p>
      ) : (
        <div class="scroll">
          <table>
            <caption class="visually-hidden">{title}</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col" class="num">Requests</th>
                <th scope="col" class="num">Tokens</th>
                <th scope="col" class="num">Spend</th>
              </tr>
            </thead>
            <tbody>
              {top.map((r) => (
                <tr key={r.key_id ?? r.model ?? name(r)}>
                  <th scope="row">{name(r)}</th>
                  <td class="num">{count(r.requests)}</td>
                  <td class="num">{short(r.prompt_tokens + r.completion_tokens)}</td>
                  <td class="num">{usd(r.cost_usd)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

export function Overview() {
  const [range, setRange] = useState<Range>("24h");
  const hours = RANGES.find((r) => r.id === range)!.hours;
  const series = useLoad((signal) => call<Series>(`/admin/v1/usage/series${query({ range })}`, { signal }), [range], 30_000);
  // The top tables read the daily totals: whole UTC days covering the range.
  const days = useMemo(() => ({ from: utcDay(Date.now() - hours * 3600_000), to: utcDay(Date.now()) }), [hours]);
  const byKey = useLoad((signal) => call<List<UsageRow>>(`/admin/v1/usage${query({ group_by: "key", ...days })}`, { signal }), [days], 30_000);
  const byModel = useLoad((signal) => call<List<UsageRow>>(`/admin/v1/usage${query({ group_by: "model", ...days })}`, { signal }), [days], 30_000);

  return (
    <>
      <div class="toolbar" role="group" aria-label="Range">
        {RANGES.map((r) => (
          <button key={r.id} type="button" class="quiet" aria-pressed={r.id === range} onClick={() => setRange(r.id)}>
            {r.label}
          </button>
        ))}
      </div>
      <Failure error={series.error ?? byKey.error ?? byModel.error} />
      {series.data ? (
        <>
          <Totals s={series.data} />
          <Charts s={series.data} />
        </>
      ) : (
        !series.error && <p role="status">Loading…</p>
      )}
      <div class="pair">
        <Top title="Top keys by spend" rows={byKey.data?.data} name={(r) => r.key_name ?? r.key_id ?? "—"} />
        <Top title="Top models by spend" rows={byModel.data?.data} name={(r) => r.model ?? "—"} />
      </div>
      <p class="muted">
        Top tables cover whole UTC days: {days.from} to {days.to}.
      </p>
    </>
  );
}
