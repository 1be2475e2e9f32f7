// Usage: totals by key, model and day for a date range and filters (daily totals), recent events paged by cursor, and a CSV export link.
import { useMemo, useState } from "preact/hooks";
import { call, query } from "../api.ts";
import { count, ms, short, usd, when } from "../format.ts";
import { useLoad } from "../parts/load.ts";
import { Failure } from "../parts/status.tsx";
import type { Key, List, Price, UsageEvent, UsageRow } from "../types.ts";

const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

interface Filters {
  from: string;
  to: string;
  key: string;
  model: string;
}

type Group = "key" | "model" | "day";
const GROUP_TITLE: Record<Group, string> = { key: "By key", model: "By model", day: "By day" };

function Totals({ group, rows, keyNames }: { group: Group; rows: UsageRow[] | undefined; keyNames: Map<string, string> }) {
  const label = (r: UsageRow) => (group === "key" ? (r.key_name ?? keyNames.get(r.key_id ?? "") ?? r.key_id ?? "—") : group === "model" ? (r.model ?? "—") : (r.day ?? "—"));
  const sorted = useMemo(() => (rows ? (group === "day" ? [...rows].reverse() : [...rows].sort((a, b) => b.cost_usd - a.cost_usd || b.requests - a.requests)) : []), [rows, group]);
  return (
    <section class="card">
      <h2>{GROUP_TITLE[group]}</h2>
      {rows && rows.length === 0 ? (
        <p class="muted">No usage for these filters.</p>
      ) : (
        <div class="scroll">
          <table>
            <caption class="visually-hidden">Usage {GROUP_TITLE[group].toLowerCase()}</caption>
            <thead>
              <tr>
                <th scope="col">{group === "key" ? "Key" : group === "model" ? "Model" : "Day (UTC)"}</th>
                <th scope="col" class="num">Requests</th>
                <th scope="col" class="num">Errors</th>
                <th scope="col" class="num">Tokens in / out</th>
                <th scope="col" class="num">Cost</th>
              </tr>
            </thead>
            <tbody>
              {sorted.map((r, i) => (
                <tr key={`${label(r)}-${i}`}>
                  <th scope="row" class="wrap">
                    {label(r)}
                  </th>
                  <td class="num">{count(r.requests)}</td>
                  <td class="num">{count(r.errors)}</td>
                  <td class="num">
                    {short(r.prompt_tokens)} / {short(r.completion_tokens)}
                  </td>
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

const PAGE_SIZE = 25;

function Events({ filters }: { filters: Filters }) {
  // Cursors of the pages before the one shown: "Newer" goes back along them.
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const cursor = cursors[cursors.length - 1] ?? null;
  const scope = { key: filters.key || undefined, model: filters.model || undefined };
  const page = useLoad((signal) => call<List<UsageEvent>>(`/admin/v1/usage/events${query({ limit: PAGE_SIZE, cursor, ...scope })}`, { signal }), [cursor, filters.key, filters.model]);
  const csv = `/admin/v1/usage/events${query({ format: "csv", limit: 1000, ...scope })}`;
  const events = page.data?.data;
  const next = page.data?.next_cursor ?? null;
  return (
    <section class="card">
      <div class="toolbar">
        <h2>Recent requests</h2>
        <a href={csv} download="usage-events.csv">
          Export CSV
        </a>
      </div>
      <Failure error={page.error} />
      {events && events.length === 0 && <p class="muted">No requests recorded yet.</p>}
      {events && events.length > 0 && (
        <div class="scroll">
          <table>
            <caption class="visually-hidden">Recent requests, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Request id</th>
                <th scope="col">Key</th>
                <th scope="col">Model</th>
                <th scope="col" class="num">Status</th>
                <th scope="col" class="num">Tokens (in / out)</th>
                <th scope="col" class="num">Cost</th>
                <th scope="col" class="num">Latency</th>
              </tr>
            </thead>
            <tbody>
              {events.map((e, i) => (
                <tr key={`${e.request_id}-${i}`}>
                  <td title={e.created_at}>{when(e.created_at)}</td>
                  <td class="mono">{e.request_id}</td>
                  <td class="wrap">{e.key_name}</td>
                  <td>{e.model}</td>
                  <td class={`num${e.status >= 400 ? " bad" : ""}`}>{e.status}</td>
                  <td class="num">
                    {count(e.prompt_tokens)} / {count(e.completion_tokens)}
                  </td>
                  <td class="num">{usd(e.cost_usd)}</td>
                  <td class="num">{ms(e.latency_ms)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav class="pager" aria-label="Recent requests pages">
        <button type="button" class="quiet" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          Newer
        </button>
        <span class="muted">Page {cursors.length}</span>
        <button type="button" class="quiet" disabled={!next} onClick={() => next && setCursors([...cursors, next])}>
          Older
        </button>
      </nav>
    </section>
  );
}

export function Usage() {
  const today = utcDay(Date.now());
  const [filters, setFilters] = useState<Filters>({ from: utcDay(Date.now() - 29 * 86_400_000), to: today, key: "", model: "" });
  const keys = useLoad((signal) => call<List<Key>>("/admin/v1/keys", { signal }), []);
  const prices = useLoad((signal) => call<List<Price>>("/admin/v1/prices", { signal }), []);
  const keyNames = useMemo(() => new Map((keys.data?.data ?? []).map((k) => [k.id, k.name])), [keys.data]);
  const scope = { from: filters.from || undefined, to: filters.to || undefined, key: filters.key || undefined, model: filters.model || undefined };
  const totals = (group: Group) => (signal: AbortSignal) => call<List<UsageRow>>(`/admin/v1/usage${query({ group_by: group, ...scope })}`, { signal });
  const inputs = [filters.from, filters.to, filters.key, filters.model];
  const byKey = useLoad(totals("key"), inputs, 30_000);
  const byModel = useLoad(totals("model"), inputs, 30_000);
  const byDay = useLoad(totals("day"), inputs, 30_000);
  const set = (k: keyof Filters) => (e: Event) => setFilters({ ...filters, [k]: (e.currentTarget as HTMLInputElement).value });

  return (
    <>
      <form class="filters card" onSubmit={(e) => e.preventDefault()} aria-label="Filters">
        <div>
          <label for="usage-from">From (UTC)</label>
          <input id="usage-from" type="date" value={filters.from} max={filters.to || undefined} onChange={set("from")} />
        </div>
        <div>
          <label for="usage-to">To (UTC)</label>
          <input id="usage-to" type="date" value={filters.to} min={filters.from || undefined} onChange={set("to")} />
        </div>
        <div>
          <label for="usage-key">Key</label>
          <select id="usage-key" value={filters.key} onChange={set("key")}>
            <option value="">All keys</option>
            {(keys.data?.data ?? []).map((k) => (
              <option key={k.id} value={k.id}>
                {k.name}
                {k.status === "revoked" ? " (revoked)" : ""}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="usage-model">Model</label>
          <select id="usage-model" value={filters.model} onChange={set("model")}>
            <option value="">All models</option>
            {(prices.data?.data ?? []).map((p) => (
              <option key={p.model} value={p.model}>
                {p.model}
              </option>
            ))}
          </select>
        </div>
      </form>
      <Failure error={byKey.error ?? byModel.error ?? byDay.error} />
      <div class="pair">
        <Totals group="key" rows={byKey.data?.data} keyNames={keyNames} />
        <Totals group="model" rows={byModel.data?.data} keyNames={keyNames} />
      </div>
      <Totals group="day" rows={byDay.data?.data} keyNames={keyNames} />
      {/* Keyed by the filters: a new filter starts again from the newest page. */}
      <Events key={`${filters.key}\u0000${filters.model}`} filters={filters} />
    </>
  );
}
