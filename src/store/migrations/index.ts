// Versioned schema migrations, as code so they are inside the compiled executable; one list, two SQL dialects.
//
// Rules: a migration, once released, never changes (add a new one); each runs in one transaction with its version
// recorded in schema_migrations; both dialects get the same tables and columns.

import type { Dialect } from "../driver.ts";

export type { Dialect };

export interface Migration {
  version: number;
  name: string;
  /** Statements, run in order inside the migration's transaction. */
  up(d: Dialect): string[];
}

const serial = (d: Dialect) => (d === "postgres" ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY AUTOINCREMENT");
const real = (d: Dialect) => (d === "postgres" ? "DOUBLE PRECISION" : "REAL");

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "keys, usage events, daily totals, audit log",
    up: (d) => [
      // One row per named counter; key_version grows with every key change (propagation polls it).
      `CREATE TABLE meta (name TEXT PRIMARY KEY, value BIGINT NOT NULL)`,
      `INSERT INTO meta (name, value) VALUES ('key_version', 0)`,
      `CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        prefix TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        old_hash TEXT,
        old_hash_until BIGINT,
        status TEXT NOT NULL,
        models TEXT,
        rpm INTEGER,
        tpm INTEGER,
        max_concurrent INTEGER,
        budget_micros BIGINT,
        budget_period TEXT,
        expires_at BIGINT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        metadata TEXT NOT NULL,
        version BIGINT NOT NULL
      )`,
      // A name is unique among keys that are not revoked.
      `CREATE UNIQUE INDEX api_keys_live_name ON api_keys (name) WHERE status <> 'revoked'`,
      `CREATE INDEX api_keys_version ON api_keys (version)`,
      `CREATE TABLE usage_events (
        seq ${serial(d)},
        id TEXT NOT NULL UNIQUE,
        request_id TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        key_id TEXT NOT NULL,
        key_name TEXT NOT NULL,
        model TEXT NOT NULL,
        provider TEXT,
        upstream_model TEXT,
        stream SMALLINT NOT NULL,
        status INTEGER NOT NULL,
        prompt_tokens BIGINT NOT NULL,
        cached_tokens BIGINT NOT NULL,
        completion_tokens BIGINT NOT NULL,
        reasoning_tokens BIGINT NOT NULL,
        cost_micros BIGINT NOT NULL,
        latency_ms ${real(d)} NOT NULL,
        ttfb_ms ${real(d)},
        usage_source TEXT NOT NULL
      )`,
      // Newest-first pages, overall and per key, and pruning by age. (A model filter walks the time index: one index
      // fewer to maintain on every insert, the write path being the busy one.)
      `CREATE INDEX usage_events_time ON usage_events (created_at, seq)`,
      `CREATE INDEX usage_events_key_time ON usage_events (key_id, created_at, seq)`,
      // Maintained as events land: usage queries and budget recovery read these, never the raw events.
      `CREATE TABLE daily_totals (
        day TEXT NOT NULL,
        key_id TEXT NOT NULL,
        model TEXT NOT NULL,
        key_name TEXT NOT NULL,
        requests BIGINT NOT NULL,
        errors BIGINT NOT NULL,
        prompt_tokens BIGINT NOT NULL,
        cached_tokens BIGINT NOT NULL,
        completion_tokens BIGINT NOT NULL,
        reasoning_tokens BIGINT NOT NULL,
        cost_micros BIGINT NOT NULL,
        PRIMARY KEY (day, key_id, model)
      )`,
      `CREATE INDEX daily_totals_key_day ON daily_totals (key_id, day)`,
      `CREATE TABLE audit_log (
        seq ${serial(d)},
        at BIGINT NOT NULL,
        action TEXT NOT NULL,
        key_id TEXT,
        detail TEXT NOT NULL
      )`,
      `CREATE INDEX audit_log_time ON audit_log (at, seq)`,
    ],
  },
  {
    version: 2,
    name: "usage time series: buckets per minute and per hour with a latency histogram",
    // Literal SQL, as released: a change to the series table is a new migration, never an edit here.
    up: () => [
      `CREATE TABLE usage_buckets (
        span_ms BIGINT NOT NULL,
        start_ms BIGINT NOT NULL,
        requests BIGINT NOT NULL DEFAULT 0,
        errors BIGINT NOT NULL DEFAULT 0,
        prompt_tokens BIGINT NOT NULL DEFAULT 0,
        completion_tokens BIGINT NOT NULL DEFAULT 0,
        cost_micros BIGINT NOT NULL DEFAULT 0,
        lat_00 BIGINT NOT NULL DEFAULT 0,
        lat_01 BIGINT NOT NULL DEFAULT 0,
        lat_02 BIGINT NOT NULL DEFAULT 0,
        lat_03 BIGINT NOT NULL DEFAULT 0,
        lat_04 BIGINT NOT NULL DEFAULT 0,
        lat_05 BIGINT NOT NULL DEFAULT 0,
        lat_06 BIGINT NOT NULL DEFAULT 0,
        lat_07 BIGINT NOT NULL DEFAULT 0,
        lat_08 BIGINT NOT NULL DEFAULT 0,
        lat_09 BIGINT NOT NULL DEFAULT 0,
        lat_10 BIGINT NOT NULL DEFAULT 0,
        lat_11 BIGINT NOT NULL DEFAULT 0,
        lat_12 BIGINT NOT NULL DEFAULT 0,
        lat_13 BIGINT NOT NULL DEFAULT 0,
        lat_14 BIGINT NOT NULL DEFAULT 0,
        lat_15 BIGINT NOT NULL DEFAULT 0,
        lat_16 BIGINT NOT NULL DEFAULT 0,
        lat_17 BIGINT NOT NULL DEFAULT 0,
        lat_18 BIGINT NOT NULL DEFAULT 0,
        lat_19 BIGINT NOT NULL DEFAULT 0,
        lat_20 BIGINT NOT NULL DEFAULT 0,
        lat_21 BIGINT NOT NULL DEFAULT 0,
        lat_22 BIGINT NOT NULL DEFAULT 0,
        lat_23 BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (span_ms, start_ms)
      )`,
    ],
  },
  {
    version: 3,
    name: "usage events name their endpoint",
    // Events written before this were all chat completions or embeddings; chat is what most were.
    up: () => [`ALTER TABLE usage_events ADD COLUMN endpoint TEXT NOT NULL DEFAULT 'chat.completions'`],
  },
  {
    version: 4,
    name: "saved Responses API responses and the deployment's shared secrets",
    up: () => [
      // A response's conversation items (JSON) per key; provider: the provider instance holding a passed-through one.
      `CREATE TABLE responses (
        id TEXT PRIMARY KEY,
        key_id TEXT NOT NULL,
        model TEXT NOT NULL,
        provider TEXT,
        previous_id TEXT,
        created_at BIGINT NOT NULL,
        body TEXT
      )`,
      `CREATE INDEX responses_created ON responses (created_at)`,
      // Secrets every instance must share (the key that seals reasoning handed to clients), made once by the first.
      `CREATE TABLE secrets (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        created_at BIGINT NOT NULL
      )`,
    ],
  },
];

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
