// The completion allowance a request is admitted with: the cap its provider is actually held to — and, for a key with a budget whose request sets none, the cap the gateway sends.
import { budgetExceeded, reservationMicros, type Budget } from "../costs/budget.ts";
import { ratesFor, type Price } from "../costs/prices.ts";
import type { BudgetQuery } from "../limits/limiter.ts";
import type { Reachable, Sizing } from "./sizing.ts";

/** What a budget needs to bound a request: the key's terms. */
export interface BudgetTerms {
  budget: Budget;
  price: Price;
  query: Omit<BudgetQuery, "reserveMicros">;
}

/** What the key's budget has left (settled spend and reservations in flight taken off), when it was asked. */
export interface BudgetLeft {
  leftMicros: number;
  /** Spent and held, for the refusal's message. */
  usedMicros: number;
  now: number;
}

export interface Allowance {
  /** Output tokens the tpm reservation counts: an estimate, settled to the real usage afterwards. */
  tpm: number;
  /** Output tokens the budget reserves: the most the provider can bill, so concurrent requests never overspend. */
  budget: number;
  /** The cap the gateway put on the request, when it set one (named to the client in x-switchboard-warnings). */
  setCap?: number;
  /** Why that cap: the budget or the model's own ceiling. */
  capReason?: "budget" | "model";
}

/** The lowest of the reachable deployments' own output ceilings (a cap above one of them would be refused there). */
function ceilingOf(targets: readonly Reachable[], fallback: number): number {
  let low = Infinity;
  for (const t of targets) {
    const m = t.provider.maxOutput(t.deployment);
    if (m !== undefined && m < low) low = m;
  }
  return low === Infinity ? fallback : low;
}

/**
 * tpm reserves the client's cap or `defaultCompletion` (an estimate, settled afterwards). With a budget and a client
 * cap: what the provider is held to after any raise it makes (a request that cannot afford it is refused at
 * admission). With a budget and no client cap: the gateway sends one — the lowest reachable model ceiling (else
 * `defaultCompletion`), and, once `left` is known, at most what the remaining budget affords after the prompt bound;
 * a request that cannot afford a single output token is refused here. Without `left` the ceiling is tried first:
 * most requests fit it, and asking the budget's spend is then an extra store call for nothing (the admission that
 * reserves it is atomic either way, so a cap that does not fit is refused there and asked again with `left`).
 */
export function outputAllowance(sizing: Sizing, targets: readonly Reachable[], defaultCompletion: number, terms: BudgetTerms | undefined, left: BudgetLeft | null): Allowance {
  const estimate = sizing.clientCap ?? defaultCompletion;
  if (!terms) return { tpm: estimate, budget: 0 };
  if (!sizing.capOutput || sizing.clientCap !== null) return { tpm: estimate, budget: sizing.outputBound(targets) ?? estimate };
  const ceiling = ceilingOf(targets, defaultCompletion);
  if (left === null) {
    sizing.capOutput(ceiling);
    return { tpm: ceiling, budget: sizing.outputBound(targets) ?? ceiling, setCap: ceiling, capReason: "model" };
  }
  const prompt = sizing.promptBound();
  const rates = ratesFor(terms.price, prompt);
  const affordable = rates.output > 0 ? Math.floor((left.leftMicros - Math.ceil(prompt * rates.input)) / rates.output) : ceiling;
  if (affordable < 1) throw budgetExceeded(terms.query.keyName, terms.budget, left.usedMicros, reservationMicros(terms.price, prompt, 1), left.now);
  let cap = Math.min(ceiling, affordable);
  sizing.capOutput(cap);
  let bound = sizing.outputBound(targets) ?? cap;
  // A provider that grows the cap (Claude's max_tokens made to fit a thinking budget) bills past it: shrink the cap by
  // the growth so the total still fits; when nothing is left, the admission's own check refuses the request.
  if (bound > affordable && cap - (bound - affordable) >= 1) {
    cap -= bound - affordable;
    sizing.capOutput(cap);
    bound = sizing.outputBound(targets) ?? cap;
  }
  return { tpm: cap, budget: bound, setCap: cap, capReason: cap < ceiling ? "budget" : "model" };
}
