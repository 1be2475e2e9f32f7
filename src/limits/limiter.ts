// The Limiter contract shared by every store, the limits that apply to a request, and the headers and 429s built from a store's answer.
import type { Principal } from "../auth/keys.ts";
import type { KeyConfig, Limits } from "../config/schema.ts";
import type { BudgetPeriod } from "../costs/budget.ts";
import { rateLimited } from "../openai/errors.ts";

/** A key's budget as a request sees it: the reservation is this request's highest possible cost. */
export interface BudgetQuery {
  keyId: string;
  keyName: string;
  limitMicros: number;
  period: BudgetPeriod;
  /** Micro-USD held until the request settles (0 when only looking). */
  reserveMicros: number;
}

/** A key's spend in its current budget window: settled, and held by requests in flight. */
export interface BudgetSpend {
  spentMicros: number;
  heldMicros: number;
}

/** Where a budget window's spend is recovered from when no counter holds it (start-up, a new window, Redis emptied). */
export type SpendSource = (keyId: string, fromDay: string) => Promise<number>;

export interface LimitQuery {
  principal: Principal;
  /** The public model id (per-model limits inside a key apply to it). */
  model: string;
  /**
   * Tokens to reserve before the call (prompt + completion allowance). Called only when a tpm limit applies:
   * tokenising a prompt costs, and keys without tpm should not pay for it.
   */
  estimateTokens: () => number;
  /** The key's budget, when it has one: reserved atomically with the other limits. */
  budget?: BudgetQuery;
}

/** An admitted request. `settle` must be called once when the request ends, however it ends; later calls do nothing. */
export interface Admission {
  /** The x-ratelimit-* headers to send with the response. */
  headers: Record<string, string>;
  /** Whether tokens are metered for this request (a tpm limit applies): only then does `settle` need a count. */
  readonly metersTokens: boolean;
  /**
   * Replaces the token reservation with what was used (null: unknown, keep the reservation), the budget reservation
   * with the real cost in micro-USD (null or absent: unknown, the reservation is charged), and frees the concurrency slot.
   */
  settle(usedTokens: number | null, costMicros?: number | null): void;
}

export interface LimiterStats {
  store: "memory" | "redis";
  /** Store calls that failed or timed out since start. */
  storeErrors: number;
  /** Whether the store is in an outage right now (the last call failed). */
  storeDown: boolean;
}

export interface Limiter {
  /** Checks every limit and records the request atomically; throws a rate_limited GatewayError when over. */
  admit(q: LimitQuery): Promise<Admission>;
  /** The key's current x-ratelimit-* headers without consuming anything (for responses that are not calls). */
  peek(principal: Principal, model?: string): Promise<Record<string, string>>;
  /** A budget's spend in its current window (recovered from the store when no counter holds it yet). */
  budgetSpend(budget: Omit<BudgetQuery, "reserveMicros">): Promise<BudgetSpend>;
  stats(): LimiterStats;
  /** A reload's rate_limit.defaults: scopes are resolved with them from now on, counters (by key name) carry over. */
  setDefaults(defaults: Limits | undefined): void;
  /** Asks the shared store now (readiness), within its timeout; absent for the in-process store. */
  ping?(): Promise<void>;
  close(): Promise<void>;
}

export const WINDOW_MS = 60_000;

/** Options both stores take; `now` and `windowMs` exist for tests (an injected clock, never sleeps). */
export interface StoreOptions {
  /** Limits for keys that set none of rpm/tpm/max_concurrent (rate_limit.defaults). */
  defaults?: Limits;
  now?: () => number;
  windowMs?: number;
  /** Budget recovery (the store's daily totals); without it a window's spend starts at 0. */
  spend?: SpendSource;
}

/**
 * One set of counters: the key's own limits, or one model's limits inside the key. A request passes every scope
 * that applies and is recorded in all of them. 0 means "no limit of this kind".
 */
export interface Scope {
  /** Stable id, also the store's key suffix: `<key>` or `<key>/m/<model>`, both URI-encoded. */
  id: string;
  /** The key's name, URI-encoded: the Redis hash tag, so a request's keys share one cluster slot. */
  tag: string;
  /** For messages: `key 'team-a'` or `key 'team-a' on model 'gpt-4o'`. */
  label: string;
  rpm: number;
  tpm: number;
  concurrent: number;
}

const hasAny = (l: Limits | undefined): l is Limits => !!l && (l.rpm !== undefined || l.tpm !== undefined || l.max_concurrent !== undefined);

function scopeOf(name: string, model: string | null, l: Limits): Scope {
  const tag = encodeURIComponent(name);
  return {
    id: model === null ? tag : `${tag}/m/${encodeURIComponent(model)}`,
    tag,
    label: model === null ? `key '${name}'` : `key '${name}' on model '${model}'`,
    rpm: l.rpm ?? 0,
    tpm: l.tpm ?? 0,
    concurrent: l.max_concurrent ?? 0,
  };
}

/**
 * Resolves which scopes apply to (key, model): the key's limits (or the defaults when it sets none) and the key's
 * per-model limits for that model. Cached per key config object, so the request path only looks things up.
 */
export function scopeResolver(defaults: Limits | undefined): (principal: Principal, model: string | undefined) => readonly Scope[] {
  const cache = new WeakMap<KeyConfig, Map<string, readonly Scope[]>>();
  return (principal, model) => {
    const k = principal.config;
    let byModel = cache.get(k);
    if (!byModel) cache.set(k, (byModel = new Map()));
    const m = model ?? "";
    let scopes = byModel.get(m);
    if (!scopes) {
      const own = hasAny(k) ? k : defaults;
      const list: Scope[] = [];
      if (hasAny(own)) list.push(scopeOf(principal.name, null, own));
      const perModel = model !== undefined && Object.hasOwn(k.limits ?? {}, model) ? k.limits![model] : undefined;
      if (hasAny(perModel)) list.push(scopeOf(principal.name, model!, perModel));
      scopes = list;
      // Bounded: the chat route resolves the model against the config before it asks the limiter.
      byModel.set(m, scopes);
    }
    return scopes;
  };
}

/** One scope's counters as a store sees them at the moment of the decision (after recording, when admitted). */
export interface ScopeSnapshot {
  requests: number;
  /** Milliseconds until the request log is empty (OpenAI: "until the limit resets to its initial state"). */
  requestsResetMs: number;
  tokens: number;
  tokensResetMs: number;
  inflight: number;
  /** Milliseconds until this scope would admit the request, per limit kind; -1 where that limit is not hit. */
  waitRequestsMs: number;
  waitTokensMs: number;
  waitConcurrencyMs: number;
}

/**
 * The x-ratelimit-* headers: for requests and for tokens, the scope with the least remaining (the one that binds).
 * Concurrency has no OpenAI header; its 429 says so in the message.
 */
export function rateHeaders(scopes: readonly Scope[], snaps: readonly ScopeSnapshot[]): Record<string, string> {
  const h: Record<string, string> = {};
  let reqAt = -1;
  let tokAt = -1;
  const remaining = (limit: number, used: number) => Math.max(0, limit - used);
  scopes.forEach((s, i) => {
    const n = snaps[i]!;
    if (s.rpm > 0 && (reqAt < 0 || remaining(s.rpm, n.requests) < remaining(scopes[reqAt]!.rpm, snaps[reqAt]!.requests))) reqAt = i;
    if (s.tpm > 0 && (tokAt < 0 || remaining(s.tpm, n.tokens) < remaining(scopes[tokAt]!.tpm, snaps[tokAt]!.tokens))) tokAt = i;
  });
  if (reqAt >= 0) {
    const s = scopes[reqAt]!;
    const n = snaps[reqAt]!;
    h["x-ratelimit-limit-requests"] = String(s.rpm);
    h["x-ratelimit-remaining-requests"] = String(remaining(s.rpm, n.requests));
    h["x-ratelimit-reset-requests"] = formatResetDuration(n.requestsResetMs);
  }
  if (tokAt >= 0) {
    const s = scopes[tokAt]!;
    const n = snaps[tokAt]!;
    h["x-ratelimit-limit-tokens"] = String(s.tpm);
    h["x-ratelimit-remaining-tokens"] = String(remaining(s.tpm, n.tokens));
    h["x-ratelimit-reset-tokens"] = formatResetDuration(n.tokensResetMs);
  }
  return h;
}

/** Headers when the store cannot be asked (an outage under on_store_error: allow): the limits, nothing counted. */
export function unknownStateHeaders(scopes: readonly Scope[]): Record<string, string> {
  const empty: ScopeSnapshot = { requests: 0, requestsResetMs: 0, tokens: 0, tokensResetMs: 0, inflight: 0, waitRequestsMs: -1, waitTokensMs: -1, waitConcurrencyMs: -1 };
  return rateHeaders(scopes, scopes.map(() => empty));
}

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));
const perMinute = (windowMs: number) => (windowMs === WINDOW_MS ? "per minute" : `per ${formatResetDuration(windowMs)}`);

/**
 * The 429 for a refused request: every limit that was hit, named (requests, tokens, concurrency), and Retry-After
 * the longest of their waits (retrying before the last one frees would only be refused again).
 */
export function rejection(scopes: readonly Scope[], snaps: readonly ScopeSnapshot[], estimate: number, windowMs: number) {
  const hits: string[] = [];
  let wait = 0;
  // Counted once per refusal, under the first limit hit (requests, then tokens, then concurrency).
  let reason: "rpm" | "tpm" | "concurrency" | undefined;
  scopes.forEach((s, i) => {
    const n = snaps[i]!;
    if (n.waitRequestsMs >= 0) {
      hits.push(`requests: ${s.rpm} ${perMinute(windowMs)} for ${s.label}`);
      wait = Math.max(wait, n.waitRequestsMs);
      reason ??= "rpm";
    }
    if (n.waitTokensMs >= 0) {
      hits.push(`tokens: ${s.tpm} ${perMinute(windowMs)} for ${s.label} (${n.tokens} used, this request reserves ${estimate})`);
      wait = Math.max(wait, n.waitTokensMs);
      reason ??= "tpm";
    }
    if (n.waitConcurrencyMs >= 0) {
      hits.push(`concurrency: ${s.concurrent} requests in flight for ${s.label}`);
      wait = Math.max(wait, n.waitConcurrencyMs);
      reason ??= "concurrency";
    }
  });
  return rateLimited(`Rate limit reached on ${hits.join("; ")}. Retry after ${seconds(wait)}s.`, seconds(wait), rateHeaders(scopes, snaps), reason);
}

/** Tokens a request reserves: 0 when no scope has a tpm limit (its prompt is then never tokenised), else at least 1. */
export function reservation(scopes: readonly Scope[], q: LimitQuery): number {
  return scopes.some((s) => s.tpm > 0) ? Math.max(1, Math.ceil(q.estimateTokens())) : 0;
}

/** A request whose reservation alone is over a scope's tpm can never pass: refused before any store call. */
export function exceedsTpm(scopes: readonly Scope[], estimate: number): boolean {
  return scopes.some((x) => x.tpm > 0 && estimate > x.tpm);
}

/** The 429 for such a request; `headers` are the key's current ones (nothing was consumed). */
export function tooLargeForTpm(scopes: readonly Scope[], estimate: number, windowMs: number, headers: Record<string, string>) {
  const s = scopes.find((x) => x.tpm > 0 && estimate > x.tpm)!;
  return rateLimited(
    `Rate limit reached on tokens: this request needs about ${estimate} tokens (prompt plus max_tokens or the default completion allowance), ` +
      `more than the ${s.tpm} tokens ${perMinute(windowMs)} allowed for ${s.label}. Lower max_tokens or shorten the prompt; retrying will not help.`,
    windowMs / 1000,
    headers,
    "tpm",
  );
}

/** Wait for a freed slot: unknown (it frees when some request ends), so the smallest Retry-After. */
export const CONCURRENCY_WAIT_MS = 1000;

/** Formats a duration the way OpenAI's x-ratelimit-reset-* headers do (Go's Duration.String at ms precision). */
export function formatResetDuration(ms: number): string {
  const d = Math.max(0, Math.ceil(ms));
  if (d === 0) return "0s";
  if (d < 1000) return `${d}ms`;
  const h = Math.floor(d / 3_600_000);
  const m = Math.floor((d % 3_600_000) / 60_000);
  const totalMs = d % 60_000;
  const sec = Math.floor(totalMs / 1000);
  const frac = totalMs % 1000;
  const s = frac ? `${sec}.${String(frac).padStart(3, "0").replace(/0+$/, "")}s` : `${sec}s`;
  if (h > 0) return `${h}h${m}m${s}`;
  if (m > 0) return `${m}m${s}`;
  return s;
}
