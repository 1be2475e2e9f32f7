// /admin/v1/usage (daily totals, grouped), /admin/v1/usage/events (newest first, cursor, CSV), /admin/v1/prices, /admin/v1/audit.
import { Elysia } from "elysia";
import { microsToUsd } from "../../costs/budget.ts";
import type { PriceTable } from "../../costs/prices.ts";
import { invalidRequest } from "../../openai/errors.ts";
import type { KeySync } from "../../store/key-sync.ts";
import type { Store, UsageEvent, UsageGroup, UsageRow } from "../../store/store.ts";
import type { KeyRing } from "../../auth/keys.ts";
import { isoTime } from "./key-object.ts";
import { cursorParam, dayParam, encodeCursor, enumParam, limitParam, queryOf, textParam } from "./query.ts";
import { json } from "./respond.ts";

export interface UsageDeps {
  store: Store;
  sync: KeySync;
  ring: KeyRing;
  prices: PriceTable;
}

const GROUPS: readonly UsageGroup[] = ["key", "model", "day"];

function groupByParam(q: URLSearchParams): UsageGroup[] {
  const v = q.get("group_by");
  if (v === null || v === "") return [];
  const parts = v.split(",").map((p) => p.trim());
  for (const p of parts) {
    if (!(GROUPS as readonly string[]).includes(p)) throw invalidRequest(`Invalid 'group_by': '${p}' is not one of key, model, day (a comma-separated list).`, "group_by");
  }
  return [...new Set(parts as UsageGroup[])];
}

/** An event as the contract shows it. */
export function eventObject(e: UsageEvent) {
  return {
    request_id: e.requestId,
    created_at: new Date(e.createdAt).toISOString(),
    key_id: e.keyId,
    key_name: e.keyName,
    model: e.model,
    provider: e.provider,
    upstream_model: e.upstreamModel,
    stream: e.stream,
    status: e.status,
    prompt_tokens: e.promptTokens,
    cached_tokens: e.cachedTokens,
    completion_tokens: e.completionTokens,
    reasoning_tokens: e.reasoningTokens,
    cost_usd: microsToUsd(e.costMicros),
    latency_ms: e.latencyMs,
    ttfb_ms: e.ttfbMs,
    usage_source: e.usageSource,
    endpoint: e.endpoint,
  };
}

const CSV_COLUMNS = [
  "request_id", "created_at", "key_id", "key_name", "model", "provider", "upstream_model", "stream", "status", "prompt_tokens",
  "cached_tokens", "completion_tokens", "reasoning_tokens", "cost_usd", "latency_ms", "ttfb_ms", "usage_source", "endpoint",
] as const satisfies readonly (keyof ReturnType<typeof eventObject>)[];
/**
 * The contract's CSV rule: a cell beginning with = + - @ tab or CR gets a leading `'` (no spreadsheet runs it as a
 * formula), and a cell holding , ; " or a line break is quoted — `;` too, because a spreadsheet set to split on `;`
 * would otherwise start a new cell there, and `x;=cmd|' /C calc'!A0` would put a formula at the start of one.
 */
export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return "";
  let s = String(v);
  if (typeof v === "string" && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",;\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function usageRoutes(d: UsageDeps) {
  /** Current names win over the name stored with old totals (a key may have been renamed since). */
  const nameOf = (id: string, stored: string | undefined) => d.sync.byId().get(id)?.name ?? d.ring.configured().find((p) => p.id === id)?.name ?? stored ?? null;
  const rowObject = (r: UsageRow) => ({
    ...(r.day !== undefined ? { day: r.day } : {}),
    ...(r.keyId !== undefined ? { key_id: r.keyId, key_name: nameOf(r.keyId, r.keyName) } : {}),
    ...(r.model !== undefined ? { model: r.model } : {}),
    requests: r.requests,
    errors: r.errors,
    prompt_tokens: r.promptTokens,
    completion_tokens: r.completionTokens,
    cached_tokens: r.cachedTokens,
    reasoning_tokens: r.reasoningTokens,
    cost_usd: microsToUsd(r.costMicros),
  });

  return new Elysia({ name: "admin.usage" })
    .get("/usage", async ({ request }) => {
      const q = queryOf(request);
      const groupBy = groupByParam(q);
      const from = dayParam(q, "from");
      const to = dayParam(q, "to");
      if (from && to && from > to) throw invalidRequest(`Invalid 'from': ${from} is after 'to' (${to}).`, "from");
      const rows = await d.store.queryUsage({ groupBy, from, to, keyId: textParam(q, "key"), model: textParam(q, "model") });
      return json({ object: "list", data: rows.map(rowObject) });
    })
    .get("/usage/events", async ({ request }) => {
      const q = queryOf(request);
      const limit = limitParam(q, 1000, 100);
      const format = enumParam(q, "format", ["json", "csv"] as const) ?? "json";
      const page = await d.store.listEvents({ limit, before: cursorParam(q), keyId: textParam(q, "key"), model: textParam(q, "model") });
      const data = page.rows.map(eventObject);
      const next = encodeCursor(page.next);
      if (format === "csv") {
        const lines = [CSV_COLUMNS.join(","), ...data.map((e) => CSV_COLUMNS.map((c) => csvCell(e[c])).join(","))];
        const headers: Record<string, string> = { "content-type": "text/csv; charset=utf-8", "cache-control": "no-store", "content-disposition": 'attachment; filename="usage-events.csv"' };
        // The next page of a CSV export: the same cursor as the JSON answer's next_cursor.
        if (next) headers["x-next-cursor"] = next;
        return new Response(lines.join("\r\n") + "\r\n", { headers });
      }
      return json({ object: "list", data, next_cursor: next });
    })
    .get("/prices", () =>
      json({
        object: "list",
        data: d.prices.list().map((p) => ({
          model: p.model,
          input_per_mtok: p.price?.input ?? null,
          output_per_mtok: p.price?.output ?? null,
          cached_input_per_mtok: p.price?.cachedInput ?? null,
          source: p.source,
        })),
      }),
    )
    .get("/audit", async ({ request }) => {
      const q = queryOf(request);
      const page = await d.store.listAudit(limitParam(q, 1000, 100), cursorParam(q));
      return json({ object: "list", data: page.rows.map((a) => ({ at: isoTime(a.at), action: a.action, key_id: a.keyId, detail: a.detail })), next_cursor: encodeCursor(page.next) });
    });
}
