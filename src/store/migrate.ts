// Applies the migrations a database lacks, in order, each in its own transaction; safe when instances start together.
import type { SqlDriver } from "./driver.ts";
import { MIGRATIONS, type Migration } from "./migrations/index.ts";
import { migrationLockSql } from "./postgres.ts";

/** Returns the schema version after migrating. A database newer than this build is refused (it would be misread). */
export async function migrate(db: SqlDriver, migrations: readonly Migration[] = MIGRATIONS): Promise<number> {
  const latest = migrations.length ? migrations[migrations.length - 1]!.version : 0;
  let version = 0;
  for (;;) {
    const applied = await db.transaction(async (tx) => {
      // PostgreSQL: instances starting together wait here for each other; SQLite's BEGIN IMMEDIATE already serialises.
      if (db.dialect === "postgres") await tx.run(migrationLockSql);
      await tx.run(`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`);
      const rows = await tx.all(`SELECT MAX(version) AS v FROM schema_migrations`);
      const current = Number(rows[0]?.v ?? 0);
      if (current > latest) {
        throw new Error(`the store's schema is version ${current}, newer than this build knows (${latest}): run a newer Switchboard`);
      }
      const next = migrations.find((m) => m.version > current);
      if (!next) return { current, done: true };
      for (const statement of next.up(db.dialect)) await tx.run(statement);
      await tx.run(`INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`, [next.version, next.name, Date.now()]);
      return { current: next.version, done: false };
    });
    version = applied.current;
    if (applied.done) return version;
  }
}
