// Numbers, money, durations and times as the dashboard shows them (one place, so every page agrees).

const int = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const compact = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });

export const count = (n: number | null | undefined): string => (n === null || n === undefined ? "—" : int.format(n));
export const short = (n: number | null | undefined): string => (n === null || n === undefined ? "—" : n < 10_000 ? int.format(n) : compact.format(n));

const small = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });
/** A rate such as requests per minute: fractions kept while it is small. */
export const rate = (n: number | null | undefined): string => (n === null || n === undefined ? "—" : n < 100 ? small.format(n) : short(n));

/** USD with cents, or with more digits when the amount is below a cent (token prices are small). */
export function usd(n: number | null | undefined): string {
  if (n === null || n === undefined) return "—";
  const abs = Math.abs(n);
  // Cents, unless the amount is under a cent (one cheap request): then enough digits to see it.
  const digits = abs === 0 || abs >= 0.01 ? 2 : 6;
  return `$${n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: digits })}`;
}

export const ms = (n: number | null | undefined): string => (n === null || n === undefined ? "—" : n < 1000 ? `${Math.round(n)} ms` : `${(n / 1000).toFixed(n < 10_000 ? 2 : 1)} s`);

export const percent = (n: number | null | undefined): string => (n === null || n === undefined ? "—" : `${(n * 100).toFixed(n < 0.1 ? 1 : 0)}%`);

/** An ISO time as local date and time to the minute (the title attribute keeps the exact UTC value). */
export function when(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

/** An ISO time as a local date (the title attribute keeps the exact UTC value). */
export function day(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
}

/** "in 4 min", "12 s ago": for cool-downs and resets close to now. */
export function relative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "—";
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return iso;
  const s = Math.round((t - now) / 1000);
  const a = Math.abs(s);
  const v = a < 90 ? `${a} s` : a < 5400 ? `${Math.round(a / 60)} min` : a < 172_800 ? `${Math.round(a / 3600)} h` : `${Math.round(a / 86_400)} d`;
  return s >= 0 ? `in ${v}` : `${v} ago`;
}
