// Per-request accounting for every model route: the budget reservation, the real cost, and the one usage event, off the request path.
import type { Principal } from "../auth/keys.ts";
import { priceUnknown, type Budget } from "../costs/budget.ts";
import { costMicros, type Price, type PriceTable } from "../costs/prices.ts";
import type { BudgetQuery } from "../limits/limiter.ts";
import type { Usage } from "../openai/schemas.ts";
import type { Deployment } from "../providers/types.ts";
import { safeCount, sanitizeEvent, type Endpoint, type UsageEvent } from "../store/usage-event.ts";

export type { Endpoint };

/** Where events go: the usage writer's queue (enqueue is O(1) and never waits for the store). */
export interface UsageSink {
  enqueue(event: UsageEvent): void;
}

export interface Accounting {
  prices: PriceTable;
  /** Null when no store is attached (events are then not kept). */
  sink: UsageSink | null;
}

/** Token counts of a call, as the provider reported them or as estimated from what was sent and delivered. */
export interface TokenCounts {
  prompt: number;
  cached: number;
  completion: number;
  reasoning: number;
  /** The provider's usage lacked a count or held garbage (that count is 0): the event says `estimated`. */
  incomplete?: boolean;
}

/** Usage objects whose prompt or completion count was missing or not a number (before saneUsage replaced it). */
const incompleteUsage = new WeakSet<Usage>();
const isCount = (v: unknown): boolean => typeof v === "number" && Number.isFinite(v) && v >= 0;

/**
 * A provider's usage as the gateway counts it: every count a whole number in [0, 2^53) (a missing one, a string, NaN
 * or 2^63 would otherwise reach the ledger, the budget and the metrics). One with its prompt or completion count
 * missing or unusable is remembered as incomplete: its event says `usage_source: "estimated"`.
 */
export function saneUsage(u: Usage): Usage {
  const raw = u as unknown as Record<string, unknown>;
  const details = (v: unknown): Record<string, unknown> | undefined => (v && typeof v === "object" ? (v as Record<string, unknown>) : undefined);
  const pd = details(raw.prompt_tokens_details);
  const cd = details(raw.completion_tokens_details);
  const prompt = safeCount(raw.prompt_tokens);
  const completion = safeCount(raw.completion_tokens);
  const out: Usage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: isCount(raw.total_tokens) ? safeCount(raw.total_tokens) : Math.min(Number.MAX_SAFE_INTEGER, prompt + completion) };
  if (pd) out.prompt_tokens_details = { cached_tokens: safeCount(pd.cached_tokens), ...(pd.cache_creation_tokens !== undefined ? { cache_creation_tokens: safeCount(pd.cache_creation_tokens) } : {}) };
  if (cd) out.completion_tokens_details = { reasoning_tokens: safeCount(cd.reasoning_tokens) };
  if (!isCount(raw.prompt_tokens) || !isCount(raw.completion_tokens) || incompleteUsage.has(u)) incompleteUsage.add(out);
  return out;
}

export const countsOf = (u: Usage): TokenCounts => {
  const c: TokenCounts = {
    prompt: safeCount(u.prompt_tokens),
    cached: safeCount(u.prompt_tokens_details?.cached_tokens),
    completion: safeCount(u.completion_tokens),
    reasoning: safeCount(u.completion_tokens_details?.reasoning_tokens),
  };
  if (incompleteUsage.has(u) || !isCount(u.prompt_tokens) || !isCount(u.completion_tokens)) c.incomplete = true;
  return c;
};

/**
 * Event ids ordered by time (`<ms base36>-<instance>-<n>`): the unique index grows at its right edge instead of at
 * random places, the cheapest insert a B-tree has. Unique across instances through the random instance part.
 */
const INSTANCE = crypto.randomUUID().slice(0, 8);
let eventSeq = 0;
const nextEventId = (): string => `${Date.now().toString(36)}-${INSTANCE}-${(eventSeq++).toString(36)}`;

const ZERO: TokenCounts = { prompt: 0, cached: 0, completion: 0, reasoning: 0 };
/** Model ids in events are bounded: a client can send any string as `model`. */
const MAX_MODEL = 200;

/**
 * One per model request with a valid key. `finish` is called once, however the request ends (answer, stream end,
 * refusal, failure): it prices the tokens on the deployment that answered, queues the event and returns the cost
 * that the budget settles to — the same number, so spend always equals the sum of the events.
 */
export class RequestUsage {
  model = "";
  stream = false;
  /** The deployment that answered (or, before one did, the model's first: what an estimate is priced on). */
  deployment: Deployment | null = null;
  private done = false;
  private readonly createdAt: number;
  /** The budget reservation made for this request (micro-USD), when its key has a budget. */
  private reservedMicros = 0;

  constructor(
    private readonly acc: Accounting | undefined,
    private readonly requestId: string,
    private readonly principal: Principal,
    private readonly start: number,
    now: number,
    private readonly endpoint: Endpoint,
  ) {
    this.createdAt = now;
  }

  /**
   * The key's budget and the price its reservations are made at, or undefined when the key has none. A model without
   * a price is refused for a key with a budget (400 price_unknown): never counted as $0.
   */
  budgetTerms(): { budget: Budget; price: Price; query: Omit<BudgetQuery, "reserveMicros"> } | undefined {
    const b: Budget | null = this.principal.budget;
    if (!b || !this.acc) return undefined;
    const price = this.acc.prices.reservationPrice(this.model);
    if (!price) throw priceUnknown(this.model);
    return { budget: b, price, query: { keyId: this.principal.id, keyName: this.principal.name, limitMicros: b.limitMicros, period: b.period } };
  }

  /** Notes the budget reservation made for this request (what it is charged at least when the provider's usage is incomplete). */
  reserved(micros: number): number {
    this.reservedMicros = micros;
    return micros;
  }

  /** Cost in micro-USD on the answering deployment; null when it has no price (a budget then keeps its reservation). */
  private cost(t: TokenCounts): number | null {
    const d = this.deployment;
    if (!this.acc || !d) return null;
    const price = this.acc.prices.forDeployment(d.model.id, d.provider, d.upstreamModel);
    return price ? costMicros(price, { promptTokens: t.prompt, cachedTokens: t.cached, completionTokens: t.completion }) : null;
  }

  /**
   * Records the event (once) and returns its cost. `tokens` null: nothing was used (a refusal, a provider error).
   * Counts the provider left out are 0 and the event says `estimated`; a budget is then charged at least what it
   * reserved (the most the request could have cost), never the undercount.
   */
  finish(status: number, tokens: TokenCounts | null, source: "provider" | "estimated", ttfbMs: number | null): number | null {
    const t = tokens ?? ZERO;
    let cost = tokens ? this.cost(t) : 0;
    if (tokens?.incomplete && cost !== null) cost = Math.max(cost, this.reservedMicros);
    if (cost !== null) cost = Math.min(cost, Number.MAX_SAFE_INTEGER);
    if (this.done) return cost;
    this.done = true;
    const d = this.deployment;
    // Cleaned where it is built, and again by the store before writing: one bad field must never stop the ledger.
    this.acc?.sink?.enqueue(
      sanitizeEvent({
        id: nextEventId(),
        requestId: this.requestId,
        createdAt: this.createdAt,
        keyId: this.principal.id,
        keyName: this.principal.name,
        model: this.model.slice(0, MAX_MODEL),
        provider: d?.provider ?? null,
        upstreamModel: d?.upstreamModel ?? null,
        stream: this.stream,
        status,
        promptTokens: t.prompt,
        cachedTokens: t.cached,
        completionTokens: t.completion,
        reasoningTokens: t.reasoning,
        costMicros: cost ?? 0,
        latencyMs: Math.round((performance.now() - this.start) * 1000) / 1000,
        ttfbMs,
        usageSource: tokens && source === "provider" && !tokens.incomplete ? "provider" : "estimated",
        endpoint: this.endpoint,
      }),
    );
    return cost;
  }
}
