// Budget windows (UTC calendar: day, week from Monday, month from the 1st, total), the reservation arithmetic, and the refusal.
import { GatewayError } from "../openai/errors.ts";
import { ratesFor, type Price } from "./prices.ts";

export type BudgetPeriod = "day" | "week" | "month" | "total";
export const BUDGET_PERIODS: readonly BudgetPeriod[] = ["day", "week", "month", "total"];

/** A key's budget, in whole micro-USD. */
export interface Budget {
  limitMicros: number;
  period: BudgetPeriod;
}

const DAY_MS = 86_400_000;

/** Start of the window holding `now` (epoch ms); `total` starts at 0 and never ends. */
export function windowStart(period: BudgetPeriod, now: number): number {
  const d = new Date(now);
  const midnight = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  switch (period) {
    case "day":
      return midnight;
    case "week":
      // getUTCDay: Sunday 0 … Saturday 6; weeks start on Monday.
      return midnight - ((d.getUTCDay() + 6) % 7) * DAY_MS;
    case "month":
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    case "total":
      return 0;
  }
}

/** When the window holding `now` ends and the budget resets; null for `total`. */
export function windowEnd(period: BudgetPeriod, now: number): number | null {
  const start = windowStart(period, now);
  switch (period) {
    case "day":
      return start + DAY_MS;
    case "week":
      return start + 7 * DAY_MS;
    case "month": {
      const d = new Date(start);
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    }
    case "total":
      return null;
  }
}

/** Whole micro-USD from USD as the API takes it (a JSON number). */
export const usdToMicros = (usd: number): number => Math.round(usd * 1_000_000);
/** USD as the API shows it: a number rounded to 6 decimals. */
export const microsToUsd = (micros: number): number => Math.round(micros) / 1_000_000;

/**
 * The highest cost a request can reach: prompt tokens × input price + completion allowance × output price, at the
 * rates of the tier its prompt falls in; rounded up so a reservation never falls short of a cost rounded to the micro.
 */
export function reservationMicros(price: Price, promptTokens: number, completionAllowance: number): number {
  const r = ratesFor(price, promptTokens);
  return Math.ceil(Math.max(0, promptTokens) * r.input + Math.max(0, completionAllowance) * r.output);
}

/** `YYYY-MM-DD` of the window's first day (the store's daily totals are summed from it). */
export const windowStartDay = (period: BudgetPeriod, now: number): string => new Date(windowStart(period, now)).toISOString().slice(0, 10);

/** The failure when a window's spend cannot be recovered (the store is unreachable): refused, never guessed as 0. */
export const spendUnavailable = (cause: unknown) =>
  new GatewayError("limits_unavailable", "The key's budget spend cannot be read right now (the store is unreachable). Retry shortly.", { retryAfter: 1, cause });

/**
 * A key with a budget while the rate-limit store (Redis) cannot be asked: refused, whatever rate_limit.on_store_error
 * says — rate limits may fail open, a budget never does.
 */
export const budgetUnavailable = (keyName: string, headers: Record<string, string> = {}) =>
  new GatewayError(
    "limits_unavailable",
    `The budget of key '${keyName}' cannot be checked right now: the rate-limit store (Redis) is unreachable, and budgets never fail open. Retry shortly.`,
    { retryAfter: 1, headers },
  );

/** Whether a reservation fits: settled spend plus outstanding reservations plus this one stays within the limit. */
export const fits = (limitMicros: number, spentMicros: number, heldMicros: number, reserveMicros: number): boolean =>
  spentMicros + heldMicros + reserveMicros <= limitMicros;

/** `$10.00`, `$0.0125`: cents always, more digits only when they carry something. */
export function formatUsd(micros: number): string {
  const s = (Math.round(micros) / 1_000_000).toFixed(6).replace(/0+$/, "");
  const [whole, frac = ""] = s.split(".");
  return `$${whole}.${frac.padEnd(2, "0")}`;
}

const PERIOD_WORDS: Record<BudgetPeriod, string> = { day: "today", week: "this week", month: "this month", total: "in total" };

/**
 * The 429 for a request whose reservation does not fit. No Retry-After: the official OpenAI SDKs retry every 429 and
 * sleep for the whole Retry-After, and a budget may reset in weeks; `x-should-retry: false` stops them instead.
 */
export function budgetExceeded(keyName: string, budget: Budget, spentMicros: number, reserveMicros: number, now: number): GatewayError {
  const end = windowEnd(budget.period, now);
  const spent = Math.min(spentMicros, budget.limitMicros);
  const resets = end === null ? "this budget does not reset" : `resets ${new Date(end).toISOString().replace(".000Z", "Z")}`;
  let message = `Budget exhausted for key '${keyName}': ${formatUsd(spent)} of ${formatUsd(budget.limitMicros)} spent ${PERIOD_WORDS[budget.period]}; ${resets}.`;
  if (spent < budget.limitMicros) {
    message += ` This request could cost up to ${formatUsd(reserveMicros)}, more than the ${formatUsd(budget.limitMicros - spent)} left (in-flight requests hold their share).`;
  }
  return new GatewayError("budget_exceeded", message);
}

/** The 400 for a key with a budget asking for a model that has no price: never a silent $0. */
export function priceUnknown(model: string): GatewayError {
  return new GatewayError(
    "price_unknown",
    `The model '${model}' has no price, and this key has a budget: its cost cannot be counted. Configure one under prices.${model} (input_per_mtok, output_per_mtok).`,
    { param: "model" },
  );
}
