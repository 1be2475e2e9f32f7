// The contract's key object (never the secret or its hash), for config keys and store keys alike.
import type { Principal } from "../../auth/keys.ts";
import { microsToUsd, windowEnd, type BudgetPeriod } from "../../costs/budget.ts";
import type { Limiter } from "../../limits/limiter.ts";
import type { StoredKey } from "../../store/store.ts";

export interface BudgetObject {
  usd: number;
  period: BudgetPeriod;
  spent_usd: number;
  remaining_usd: number;
  resets_at: string | null;
}

export interface KeyObject {
  id: string;
  object: "key";
  name: string;
  source: "config" | "api";
  status: "active" | "blocked" | "revoked" | "expired";
  prefix: string | null;
  models: string[] | null;
  rpm: number | null;
  tpm: number | null;
  max_concurrent: number | null;
  budget: BudgetObject | null;
  expires_at: string | null;
  created_at: string | null;
  metadata: Record<string, unknown>;
}

/** `2026-12-01T00:00:00Z`: the contract's timestamps, to the second. */
export const isoTime = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z"));

async function budgetObject(limiter: Limiter, keyId: string, keyName: string, b: { limitMicros: number; period: BudgetPeriod } | null, now: number): Promise<BudgetObject | null> {
  if (!b) return null;
  let spent = 0;
  try {
    spent = (await limiter.budgetSpend({ keyId, keyName, limitMicros: b.limitMicros, period: b.period })).spentMicros;
  } catch {
    // Shown as 0 spent rather than failing the whole listing while the store is unreachable.
  }
  return {
    usd: microsToUsd(b.limitMicros),
    period: b.period,
    spent_usd: microsToUsd(spent),
    remaining_usd: microsToUsd(Math.max(0, b.limitMicros - spent)),
    resets_at: isoTime(windowEnd(b.period, now)),
  };
}

export function statusOf(k: StoredKey, now: number): KeyObject["status"] {
  if (k.status === "active" && k.expiresAt !== null && k.expiresAt <= now) return "expired";
  return k.status;
}

export async function storeKeyObject(k: StoredKey, limiter: Limiter, now: number): Promise<KeyObject> {
  const budget = k.budgetMicros !== null && k.budgetPeriod !== null ? { limitMicros: k.budgetMicros, period: k.budgetPeriod } : null;
  return {
    id: k.id,
    object: "key",
    name: k.name,
    source: "api",
    status: statusOf(k, now),
    prefix: k.prefix,
    models: k.models,
    rpm: k.rpm,
    tpm: k.tpm,
    max_concurrent: k.maxConcurrent,
    budget: await budgetObject(limiter, k.id, k.name, budget, now),
    expires_at: isoTime(k.expiresAt),
    created_at: isoTime(k.createdAt),
    metadata: k.metadata,
  };
}

/** A config key: always active; no prefix or creation time is shown (the file holds the secret, not us). */
export async function configKeyObject(p: Principal, limiter: Limiter, now: number): Promise<KeyObject> {
  const c = p.config;
  return {
    id: p.id,
    object: "key",
    name: p.name,
    source: "config",
    status: "active",
    prefix: null,
    models: c.models ?? null,
    rpm: c.rpm ?? null,
    tpm: c.tpm ?? null,
    max_concurrent: c.max_concurrent ?? null,
    budget: await budgetObject(limiter, p.id, p.name, p.budget, now),
    expires_at: null,
    created_at: null,
    metadata: {},
  };
}
