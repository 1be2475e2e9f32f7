// PostgreSQL driver on Bun's built-in SQL client (a connection pool); JSON is kept as text, so no driver JSON quirks apply.
import { SQL } from "bun";
import type { Row, SqlDriver, SqlExec } from "./driver.ts";

/** A fixed id for pg_advisory_xact_lock, taken by the migration transaction. */
const MIGRATION_LOCK = 7_247_001;

export function openPostgresDriver(url: string, opts: { max?: number } = {}): SqlDriver {
  const sql = new SQL({ url, max: opts.max ?? 10, idleTimeout: 30, connectionTimeout: 10 });
  const wrap = (q: { unsafe(text: string, params?: unknown[]): Promise<unknown> }): SqlExec => ({
    async all(text, params) {
      return (await q.unsafe(text, params ? [...params] : [])) as Row[];
    },
    async run(text, params) {
      await q.unsafe(text, params ? [...params] : []);
    },
    async count(text, params) {
      return Number(((await q.unsafe(text, params ? [...params] : [])) as { count?: number }).count ?? 0);
    },
  });
  const exec = wrap(sql);
  return {
    dialect: "postgres",
    all: exec.all,
    run: exec.run,
    count: exec.count,
    transaction: (fn) =>
      sql.begin(async (tx) => {
        const t = wrap(tx);
        return fn(t);
      }) as ReturnType<typeof fn>,
    close: () => sql.close(),
  };
}

/** Serialises migrations between instances starting at once on one database. */
export const migrationLockSql = `SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`;
