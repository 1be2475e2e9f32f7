// Query-string parameters of the admin API: parsed strictly, a 400 naming the parameter otherwise; opaque cursors.
import { invalidRequest } from "../../openai/errors.ts";
import type { Cursor } from "../../store/store.ts";

export const queryOf = (request: Request): URLSearchParams => new URL(request.url).searchParams;

/** An integer in [1, max], default `dflt`. */
export function limitParam(q: URLSearchParams, max: number, dflt: number): number {
  const v = q.get("limit");
  if (v === null) return dflt;
  const n = /^\d{1,9}$/.test(v) ? Number(v) : NaN;
  if (!(n >= 1 && n <= max)) throw invalidRequest(`Invalid 'limit': expected an integer from 1 to ${max}, got '${v}'.`, "limit");
  return n;
}

/** A `YYYY-MM-DD` day that exists (UTC). */
export function dayParam(q: URLSearchParams, name: string): string | undefined {
  const v = q.get(name);
  if (v === null) return undefined;
  // A day that does not exist (2026-13-01, 2026-02-30) is an invalid Date: toISOString() would throw (a 500).
  const t = /^\d{4}-\d{2}-\d{2}$/.test(v) ? Date.parse(`${v}T00:00:00Z`) : NaN;
  const ok = Number.isFinite(t) && new Date(t).toISOString().startsWith(v);
  if (!ok) throw invalidRequest(`Invalid '${name}': expected a day as YYYY-MM-DD (UTC), got '${v}'.`, name);
  return v;
}

/** A free-text filter (key id, model id): present and non-empty, or absent. */
export function textParam(q: URLSearchParams, name: string): string | undefined {
  const v = q.get(name);
  if (v === null) return undefined;
  if (v.length === 0 || v.length > 512) throw invalidRequest(`Invalid '${name}': expected a non-empty value.`, name);
  return v;
}

/** Opaque to clients: base64url of `<time>.<seq>`. */
export const encodeCursor = (c: Cursor | null): string | null => (c ? Buffer.from(`${c.at}.${c.seq}`).toString("base64url") : null);

export function cursorParam(q: URLSearchParams): Cursor | undefined {
  const v = q.get("cursor");
  if (v === null) return undefined;
  const m = /^(\d{1,16})\.(\d{1,16})$/.exec(Buffer.from(v, "base64url").toString("utf8"));
  if (!m) throw invalidRequest("Invalid 'cursor': pass the next_cursor of a previous page unchanged.", "cursor");
  return { at: Number(m[1]), seq: Number(m[2]) };
}

/** One of the allowed values. */
export function enumParam<T extends string>(q: URLSearchParams, name: string, allowed: readonly T[]): T | undefined {
  const v = q.get(name);
  if (v === null) return undefined;
  if (!(allowed as readonly string[]).includes(v)) throw invalidRequest(`Invalid '${name}': expected one of ${allowed.join(", ")}, got '${v}'.`, name);
  return v as T;
}
