// The Store interface: keys created at run time, usage events with daily totals, budget spend, audit log, change counter.
// Money is integer micro-USD and times are epoch milliseconds everywhere in here.

import type { BudgetPeriod } from "../costs/budget.ts";
import type { SeriesQuery, SeriesRow } from "./series.ts";
import type { StoredResponse } from "./responses.ts";
import type { UsageEvent } from "./usage-event.ts";

export type { UsageEvent };

export type { BudgetPeriod, SeriesQuery, SeriesRow, StoredResponse };
/** What is stored; `expired` is derived from expires_at when a key is read. */
export type StoredStatus = "active" | "blocked" | "revoked";

export interface StoredKey {
  id: string;
  name: string;
  /** The first characters of the secret (`sk-sb-3f9a`), shown so people can tell keys apart. */
  prefix: string;
  /** Hex SHA-256 of the secret; the secret itself is never stored. */
  hash: string;
  /** After a rotation with a grace period: the previous secret's hash and when it stops working. */
  oldHash: string | null;
  oldHashUntil: number | null;
  status: StoredStatus;
  models: string[] | null;
  rpm: number | null;
  tpm: number | null;
  maxConcurrent: number | null;
  budgetMicros: number | null;
  budgetPeriod: BudgetPeriod | null;
  expiresAt: number | null;
  createdAt: number;
  updatedAt: number;
  metadata: Record<string, unknown>;
  /** The change counter's value when this row last changed (propagation reads rows newer than what it saw). */
  version: number;
}

/** The fields a change may set (everything but identity and bookkeeping). */
export type KeyChange = Partial<Omit<StoredKey, "id" | "createdAt" | "updatedAt" | "version">>;


export type UsageGroup = "key" | "model" | "day";

export interface UsageQuery {
  groupBy: UsageGroup[];
  /** Inclusive UTC days, `YYYY-MM-DD`. */
  from?: string;
  to?: string;
  keyId?: string;
  model?: string;
}

export interface UsageRow {
  day?: string;
  keyId?: string;
  keyName?: string;
  model?: string;
  requests: number;
  errors: number;
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  costMicros: number;
}

/** A position in a newest-first listing: the last row returned. */
export interface Cursor {
  at: number;
  seq: number;
}

export interface Page<T> {
  rows: T[];
  next: Cursor | null;
}

export interface EventQuery {
  limit: number;
  before?: Cursor;
  keyId?: string;
  model?: string;
}

export interface AuditEntry {
  at: number;
  action: string;
  keyId: string | null;
  detail: Record<string, unknown>;
}

/** A write that breaks a uniqueness rule (a second live key with the same name). */
export class StoreConflict extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StoreConflict";
  }
}

export interface Store {
  readonly kind: "sqlite" | "postgres";
  /** The store.url it was opened from (undefined for a store built some other way): another thread may open it too. */
  readonly url?: string;
  /** SQLite: how long a statement waits for a lock another process holds (bun:sqlite waits synchronously). */
  setBusyTimeout?(ms: number): void;
  /** Applied schema version (migrations run when the store is opened). */
  schemaVersion(): Promise<number>;

  /** Inserts a key and its audit entry in one transaction; StoreConflict when its name is taken by a live key. */
  createKey(key: Omit<StoredKey, "version">, audit: AuditEntry): Promise<StoredKey>;
  /**
   * Applies a change (its columns only) and its audit entry in one transaction; null when no such key. A revoked key
   * is never changed (revocation is final), nor one whose secret is no longer `guard.hash`: KeyStateConflict.
   */
  updateKey(id: string, change: KeyChange, audit: AuditEntry, guard?: { hash?: string }): Promise<StoredKey | null>;
  getKey(id: string): Promise<StoredKey | null>;
  listKeys(): Promise<StoredKey[]>;
  /** The change counter: it grows with every key change, on every instance sharing the store. */
  keyVersion(): Promise<number>;
  /** Keys changed after `version`, and the counter now. */
  keysChangedSince(version: number): Promise<{ version: number; keys: StoredKey[] }>;

  /** Appends events (ignoring ids already stored) and adds them to the daily totals and series buckets, atomically. */
  insertEvents(events: readonly UsageEvent[]): Promise<number>;
  queryUsage(q: UsageQuery): Promise<UsageRow[]>;
  listEvents(q: EventQuery): Promise<Page<UsageEvent>>;
  /** Cost of a key's events from a UTC day on (inclusive), from the daily totals (kept when events are pruned). */
  spendSince(keyId: string, fromDay: string): Promise<number>;
  /** Deletes events created before `before`; daily totals stay. Returns how many went. */
  pruneEvents(before: number): Promise<number>;
  /** Gateway-wide usage per step (minute or hour buckets summed), oldest first; steps without traffic are left out. */
  usageSeries(q: SeriesQuery): Promise<SeriesRow[]>;
  /** Deletes minute buckets that started before `before` (hour buckets stay). Returns how many went. */
  pruneSeries(before: number): Promise<number>;

  /** Saves (or replaces) a Responses API response: its conversation items, owned by one key. */
  saveResponse(r: StoredResponse): Promise<void>;
  /** The response when it exists and belongs to `keyId`; another key's is as good as unknown. */
  getResponse(id: string, keyId: string): Promise<StoredResponse | null>;
  /** The response and those it continued (previous_id), oldest first, all `keyId`'s; empty when unknown. */
  responseChain(id: string, keyId: string): Promise<StoredResponse[]>;
  deleteResponse(id: string, keyId: string): Promise<boolean>;
  /** Deletes responses created before `before`. Returns how many went. */
  pruneResponses(before: number): Promise<number>;
  /** A secret every instance shares: made by `make` and kept by the first instance that asks, read by the others. */
  sharedSecret(name: string, make: () => string): Promise<string>;

  appendAudit(entry: AuditEntry): Promise<void>;
  listAudit(limit: number, before?: Cursor): Promise<Page<AuditEntry>>;

  /** Answers when the database does (readiness). */
  ping(): Promise<void>;
  /** Succeeds when a write commits (readiness): not when the disk is full, the file was deleted, or the store is read-only. */
  checkWrite(): Promise<void>;
  close(): Promise<void>;
}

/** `YYYY-MM-DD` of an instant, in UTC. */
export const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
