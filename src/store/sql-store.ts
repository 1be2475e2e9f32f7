// The Store written once in SQL both databases speak; a driver supplies the connection and the dialect.
import { isUniqueViolation, type Row, type SqlDriver, type SqlExec } from "./driver.ts";
import { KeyStateConflict } from "./errors.ts";
import { migrate } from "./migrate.ts";
import { addToBuckets, pruneMinuteBuckets, querySeries } from "./series.ts";
import { responseStore } from "./responses.ts";
import {
  StoreConflict,
  utcDay,
  type AuditEntry,
  type Cursor,
  type EventQuery,
  type KeyChange,
  type Store,
  type StoredKey,
  type UsageEvent,
  type UsageQuery,
  type UsageRow,
} from "./store.ts";
import { sanitizeEvent } from "./usage-event.ts";

const KEY_COLUMNS = [
  "id", "name", "prefix", "hash", "old_hash", "old_hash_until", "status", "models", "rpm", "tpm", "max_concurrent",
  "budget_micros", "budget_period", "expires_at", "created_at", "updated_at", "metadata", "version",
] as const;

const EVENT_COLUMNS = [
  "id", "request_id", "created_at", "key_id", "key_name", "model", "provider", "upstream_model", "stream", "status",
  "prompt_tokens", "cached_tokens", "completion_tokens", "reasoning_tokens", "cost_micros", "latency_ms", "ttfb_ms", "usage_source",
  "endpoint",
] as const;

const TOTAL_COLUMNS = ["requests", "errors", "prompt_tokens", "cached_tokens", "completion_tokens", "reasoning_tokens", "cost_micros"] as const;

/** Rows per multi-row INSERT: well under both databases' bound-parameter limits. */
const INSERT_CHUNK = 100;
/** Rows per DELETE while pruning: short transactions, so writers are never held up for long. */
const PRUNE_CHUNK = 5000;

// PostgreSQL returns BIGINT and SUM() as strings, SQLite as numbers: every numeric column goes through these.
const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const placeholders = (rows: number, cols: number) =>
  Array.from({ length: rows }, (_, r) => `(${Array.from({ length: cols }, (_, c) => `$${r * cols + c + 1}`).join(", ")})`).join(", ");

function keyFromRow(r: Row): StoredKey {
  return {
    id: String(r.id),
    name: String(r.name),
    prefix: String(r.prefix),
    hash: String(r.hash),
    oldHash: strOrNull(r.old_hash),
    oldHashUntil: numOrNull(r.old_hash_until),
    status: String(r.status) as StoredKey["status"],
    models: r.models === null || r.models === undefined ? null : (JSON.parse(String(r.models)) as string[]),
    rpm: numOrNull(r.rpm),
    tpm: numOrNull(r.tpm),
    maxConcurrent: numOrNull(r.max_concurrent),
    budgetMicros: numOrNull(r.budget_micros),
    budgetPeriod: strOrNull(r.budget_period) as StoredKey["budgetPeriod"],
    expiresAt: numOrNull(r.expires_at),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
    metadata: JSON.parse(String(r.metadata ?? "{}")) as Record<string, unknown>,
    version: num(r.version),
  };
}

/** The fields a change may set, each with its column and how its value is stored. */
const CHANGE_COLUMNS: readonly [keyof KeyChange, string, (v: unknown) => unknown][] = [
  ["name", "name", (v) => v],
  ["prefix", "prefix", (v) => v],
  ["hash", "hash", (v) => v],
  ["oldHash", "old_hash", (v) => v],
  ["oldHashUntil", "old_hash_until", (v) => v],
  ["status", "status", (v) => v],
  ["models", "models", (v) => (v === null ? null : JSON.stringify(v))],
  ["rpm", "rpm", (v) => v],
  ["tpm", "tpm", (v) => v],
  ["maxConcurrent", "max_concurrent", (v) => v],
  ["budgetMicros", "budget_micros", (v) => v],
  ["budgetPeriod", "budget_period", (v) => v],
  ["expiresAt", "expires_at", (v) => v],
  ["metadata", "metadata", (v) => JSON.stringify(v)],
];

const keyValues = (k: StoredKey): unknown[] => [
  k.id, k.name, k.prefix, k.hash, k.oldHash, k.oldHashUntil, k.status, k.models === null ? null : JSON.stringify(k.models),
  k.rpm, k.tpm, k.maxConcurrent, k.budgetMicros, k.budgetPeriod, k.expiresAt, k.createdAt, k.updatedAt,
  JSON.stringify(k.metadata), k.version,
];

function eventFromRow(r: Row): UsageEvent & { seq: number } {
  return {
    seq: num(r.seq),
    id: String(r.id),
    requestId: String(r.request_id),
    createdAt: num(r.created_at),
    keyId: String(r.key_id),
    keyName: String(r.key_name),
    model: String(r.model),
    provider: strOrNull(r.provider),
    upstreamModel: strOrNull(r.upstream_model),
    stream: num(r.stream) === 1,
    status: num(r.status),
    promptTokens: num(r.prompt_tokens),
    cachedTokens: num(r.cached_tokens),
    completionTokens: num(r.completion_tokens),
    reasoningTokens: num(r.reasoning_tokens),
    costMicros: num(r.cost_micros),
    latencyMs: num(r.latency_ms),
    ttfbMs: numOrNull(r.ttfb_ms),
    usageSource: String(r.usage_source) as UsageEvent["usageSource"],
    endpoint: String(r.endpoint) as UsageEvent["endpoint"],
  };
}

const eventValues = (e: UsageEvent): unknown[] => [
  e.id, e.requestId, e.createdAt, e.keyId, e.keyName, e.model, e.provider, e.upstreamModel, e.stream ? 1 : 0, e.status,
  e.promptTokens, e.cachedTokens, e.completionTokens, e.reasoningTokens, e.costMicros, e.latencyMs, e.ttfbMs, e.usageSource,
  e.endpoint,
];

interface Totals {
  day: string;
  keyId: string;
  model: string;
  keyName: string;
  values: number[];
}

/** Sums a batch per (day, key, model), sorted so concurrent writers lock the same rows in the same order. */
function totalsOf(events: readonly UsageEvent[]): Totals[] {
  const byGroup = new Map<string, Totals>();
  for (const e of events) {
    const day = utcDay(e.createdAt);
    const id = `${day}\u0000${e.keyId}\u0000${e.model}`;
    let t = byGroup.get(id);
    if (!t) byGroup.set(id, (t = { day, keyId: e.keyId, model: e.model, keyName: e.keyName, values: [0, 0, 0, 0, 0, 0, 0] }));
    const v = t.values;
    v[0]! += 1;
    v[1]! += e.status >= 400 ? 1 : 0;
    v[2]! += e.promptTokens;
    v[3]! += e.cachedTokens;
    v[4]! += e.completionTokens;
    v[5]! += e.reasoningTokens;
    v[6]! += e.costMicros;
    t.keyName = e.keyName;
  }
  return [...byGroup.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, t]) => t);
}

async function bumpVersion(tx: SqlExec): Promise<number> {
  const rows = await tx.all(`UPDATE meta SET value = value + 1 WHERE name = 'key_version' RETURNING value`);
  return num(rows[0]?.value);
}

async function insertAudit(tx: SqlExec, a: AuditEntry): Promise<void> {
  await tx.run(`INSERT INTO audit_log (at, action, key_id, detail) VALUES ($1, $2, $3, $4)`, [a.at, a.action, a.keyId, JSON.stringify(a.detail)]);
}

/** Thrown inside an update's transaction to roll it back when the key does not exist. */
const NO_SUCH_KEY = new Error("no such key");

/** Opens the store on a driver and brings its schema up to date. */
export async function openSqlStore(db: SqlDriver): Promise<Store> {
  await migrate(db);
  const keyInsert = `INSERT INTO api_keys (${KEY_COLUMNS.join(", ")}) VALUES ${placeholders(1, KEY_COLUMNS.length)}`;
  const eventInsert = (rows: number) =>
    `INSERT INTO usage_events (${EVENT_COLUMNS.join(", ")}) VALUES ${placeholders(rows, EVENT_COLUMNS.length)} ON CONFLICT (id) DO NOTHING RETURNING id`;
  const eventInsertOne = `INSERT INTO usage_events (${EVENT_COLUMNS.join(", ")}) VALUES ${placeholders(1, EVENT_COLUMNS.length)} ON CONFLICT (id) DO NOTHING`;
  const totalsUpsert = (rows: number) =>
    `INSERT INTO daily_totals (day, key_id, model, key_name, ${TOTAL_COLUMNS.join(", ")}) VALUES ${placeholders(rows, 4 + TOTAL_COLUMNS.length)} ` +
    `ON CONFLICT (day, key_id, model) DO UPDATE SET key_name = excluded.key_name, ` +
    TOTAL_COLUMNS.map((c) => `${c} = daily_totals.${c} + excluded.${c}`).join(", ");

  const keyVersion = async () => num((await db.all(`SELECT value FROM meta WHERE name = 'key_version'`))[0]?.value);
  const conflict = (name: string) => new StoreConflict(`A key named '${name}' already exists (names are unique among keys that are not revoked).`);

  return {
    kind: db.dialect,
    ...responseStore(db),

    async schemaVersion() {
      const rows = await db.all(`SELECT MAX(version) AS v FROM schema_migrations`);
      return num(rows[0]?.v);
    },

    async createKey(key, audit) {
      try {
        return await db.transaction(async (tx) => {
          const stored: StoredKey = { ...key, version: await bumpVersion(tx) };
          await tx.run(keyInsert, keyValues(stored));
          await insertAudit(tx, audit);
          return stored;
        });
      } catch (e) {
        if (isUniqueViolation(e)) throw conflict(key.name);
        throw e;
      }
    },

    async updateKey(id, change: KeyChange, audit, guard = {}) {
      // One UPDATE of the changed columns only, guarded by the row's current state: a revocation committed meanwhile
      // (by any instance) makes it change nothing, where a read-then-write-everything would bring the key back.
      const params: unknown[] = [id];
      const sets: string[] = [];
      for (const [field, column, encode] of CHANGE_COLUMNS) {
        if (change[field] === undefined) continue;
        params.push(encode(change[field]));
        sets.push(`${column} = $${params.length}`);
      }
      let where = `id = $1 AND status <> 'revoked'`;
      if (guard.hash !== undefined) {
        params.push(guard.hash);
        where += ` AND hash = $${params.length}`;
      }
      try {
        return await db.transaction(async (tx) => {
          const version = await bumpVersion(tx);
          params.push(audit.at, version);
          sets.push(`updated_at = $${params.length - 1}`, `version = $${params.length}`);
          const rows = await tx.all(`UPDATE api_keys SET ${sets.join(", ")} WHERE ${where} RETURNING *`, params);
          if (!rows[0]) {
            // Nothing changed: say why, and roll back the counter bump (throwing ends the transaction).
            const cur = (await tx.all(`SELECT status FROM api_keys WHERE id = $1`, [id]))[0];
            if (!cur) throw NO_SUCH_KEY;
            if (String(cur.status) === "revoked") throw new KeyStateConflict("revoked", `Key '${id}' is revoked; a revoked key cannot be changed.`);
            throw new KeyStateConflict("changed", `Key '${id}' changed while this request was being handled (another rotation?); read it again and retry.`);
          }
          await insertAudit(tx, audit);
          return keyFromRow(rows[0]);
        });
      } catch (e) {
        if (e === NO_SUCH_KEY) return null;
        if (isUniqueViolation(e)) throw conflict(change.name ?? id);
        throw e;
      }
    },

    async getKey(id) {
      const rows = await db.all(`SELECT * FROM api_keys WHERE id = $1`, [id]);
      return rows[0] ? keyFromRow(rows[0]) : null;
    },

    async listKeys() {
      return (await db.all(`SELECT * FROM api_keys ORDER BY created_at, id`)).map(keyFromRow);
    },

    keyVersion,

    async keysChangedSince(since) {
      // The counter first: a change committed between the two reads is seen again next time, never missed.
      const version = await keyVersion();
      const rows = await db.all(`SELECT * FROM api_keys WHERE version > $1 ORDER BY version`, [since]);
      return { version, keys: rows.map(keyFromRow) };
    },

    async insertEvents(given) {
      if (given.length === 0) return 0;
      // Whatever built them, the rows are ones both databases can take (no NUL, counts within BIGINT).
      const events = given.map(sanitizeEvent);
      return db.transaction(async (tx) => {
        let fresh: readonly UsageEvent[];
        if (db.dialect === "sqlite") {
          // In process, one prepared single-row statement per event is SQLite's fastest path (no network round trips to save).
          const kept: UsageEvent[] = [];
          for (const e of events) if ((await tx.count(eventInsertOne, eventValues(e))) > 0) kept.push(e);
          fresh = kept;
        } else {
          const inserted = new Set<string>();
          for (let i = 0; i < events.length; i += INSERT_CHUNK) {
            const chunk = events.slice(i, i + INSERT_CHUNK);
            const rows = await tx.all(eventInsert(chunk.length), chunk.flatMap(eventValues));
            for (const r of rows) inserted.add(String(r.id));
          }
          fresh = inserted.size === events.length ? events : events.filter((e) => inserted.has(e.id));
        }
        // Only events stored now count towards the totals: a batch retried after a lost commit adds nothing twice.
        const totals = totalsOf(fresh);
        for (let i = 0; i < totals.length; i += INSERT_CHUNK) {
          const chunk = totals.slice(i, i + INSERT_CHUNK);
          await tx.run(totalsUpsert(chunk.length), chunk.flatMap((t) => [t.day, t.keyId, t.model, t.keyName, ...t.values]));
        }
        await addToBuckets(tx, fresh);
        return fresh.length;
      });
    },

    async queryUsage(q: UsageQuery) {
      const where: string[] = [];
      const params: unknown[] = [];
      const add = (clause: string, v: unknown) => {
        params.push(v);
        where.push(clause.replace("?", `$${params.length}`));
      };
      if (q.from) add("day >= ?", q.from);
      if (q.to) add("day <= ?", q.to);
      if (q.keyId) add("key_id = ?", q.keyId);
      if (q.model) add("model = ?", q.model);
      const group: string[] = [];
      const select: string[] = [];
      // A fixed order (day, key, model) whatever order the caller listed them in.
      if (q.groupBy.includes("day")) (group.push("day"), select.push("day"));
      if (q.groupBy.includes("key")) (group.push("key_id"), select.push("key_id", "MAX(key_name) AS key_name"));
      if (q.groupBy.includes("model")) (group.push("model"), select.push("model"));
      select.push(...TOTAL_COLUMNS.map((c) => `SUM(${c}) AS ${c}`));
      const sql =
        `SELECT ${select.join(", ")} FROM daily_totals` +
        (where.length ? ` WHERE ${where.join(" AND ")}` : "") +
        (group.length ? ` GROUP BY ${group.join(", ")} ORDER BY ${group.join(", ")}` : "");
      const rows = await db.all(sql, params);
      return rows
        .filter((r) => group.length > 0 || r.requests !== null)
        .map((r): UsageRow => {
          const out: UsageRow = {
            requests: num(r.requests),
            errors: num(r.errors),
            promptTokens: num(r.prompt_tokens),
            cachedTokens: num(r.cached_tokens),
            completionTokens: num(r.completion_tokens),
            reasoningTokens: num(r.reasoning_tokens),
            costMicros: num(r.cost_micros),
          };
          if (r.day !== undefined) out.day = String(r.day);
          if (r.key_id !== undefined) (out.keyId = String(r.key_id), (out.keyName = String(r.key_name)));
          if (r.model !== undefined) out.model = String(r.model);
          return out;
        });
    },

    async listEvents(q: EventQuery) {
      const where: string[] = [];
      const params: unknown[] = [];
      if (q.keyId) (params.push(q.keyId), where.push(`key_id = $${params.length}`));
      if (q.model) (params.push(q.model), where.push(`model = $${params.length}`));
      if (q.before) (params.push(q.before.at, q.before.seq), where.push(`(created_at, seq) < ($${params.length - 1}, $${params.length})`));
      params.push(q.limit + 1);
      const rows = await db.all(
        `SELECT * FROM usage_events${where.length ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY created_at DESC, seq DESC LIMIT $${params.length}`,
        params,
      );
      const events = rows.slice(0, q.limit).map(eventFromRow);
      const last = events[events.length - 1];
      const next: Cursor | null = rows.length > q.limit && last ? { at: last.createdAt, seq: last.seq } : null;
      return { rows: events.map(({ seq: _, ...e }) => e), next };
    },

    async spendSince(keyId, fromDay) {
      const rows = await db.all(`SELECT SUM(cost_micros) AS s FROM daily_totals WHERE key_id = $1 AND day >= $2`, [keyId, fromDay]);
      return num(rows[0]?.s);
    },

    async pruneEvents(before) {
      let total = 0;
      for (;;) {
        const rows = await db.all(
          `DELETE FROM usage_events WHERE seq IN (SELECT seq FROM usage_events WHERE created_at < $1 LIMIT ${PRUNE_CHUNK}) RETURNING seq`,
          [before],
        );
        total += rows.length;
        if (rows.length < PRUNE_CHUNK) return total;
      }
    },

    usageSeries: (q) => querySeries(db, q),
    pruneSeries: (before) => pruneMinuteBuckets(db, before),

    async appendAudit(entry) {
      await insertAudit(db, entry);
    },

    async listAudit(limit, before) {
      const params: unknown[] = [];
      let where = "";
      if (before) (params.push(before.at, before.seq), (where = ` WHERE (at, seq) < ($1, $2)`));
      params.push(limit + 1);
      const rows = await db.all(`SELECT * FROM audit_log${where} ORDER BY at DESC, seq DESC LIMIT $${params.length}`, params);
      const entries = rows.slice(0, limit);
      const last = entries[entries.length - 1];
      return {
        rows: entries.map((r) => ({ at: num(r.at), action: String(r.action), keyId: strOrNull(r.key_id), detail: JSON.parse(String(r.detail)) as Record<string, unknown> })),
        next: rows.length > limit && last ? { at: num(last.at), seq: num(last.seq) } : null,
      };
    },

    async ping() {
      await db.all(`SELECT 1 AS ok`);
    },

    async checkWrite() {
      // The file first: a deleted or replaced SQLite file still takes writes through the open handle, into nothing.
      await db.checkFile?.();
      await db.transaction(async (tx) => {
        await tx.run(`INSERT INTO meta (name, value) VALUES ('ready_probe', 1) ON CONFLICT (name) DO UPDATE SET value = meta.value + 1`);
      });
    },

    close: () => db.close(),
  };
}
