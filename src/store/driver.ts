// The small database surface the SQL store is written against; SQLite and PostgreSQL each provide one.
/** The SQL dialects the store speaks; migrations give both the same tables and columns. */
export type Dialect = "sqlite" | "postgres";

export type Row = Record<string, unknown>;

/** Runs statements; placeholders are `$1`, `$2`… in both dialects (the SQLite driver translates them). */
export interface SqlExec {
  all(sql: string, params?: readonly unknown[]): Promise<Row[]>;
  run(sql: string, params?: readonly unknown[]): Promise<void>;
  /** Runs a statement and returns how many rows it changed. */
  count(sql: string, params?: readonly unknown[]): Promise<number>;
}

export interface SqlDriver extends SqlExec {
  readonly dialect: Dialect;
  /** Runs `fn` in one transaction holding the database's write lock (committed when it resolves, rolled back when it throws). */
  transaction<T>(fn: (tx: SqlExec) => Promise<T>): Promise<T>;
  /** SQLite: throws when the database file is no longer the one opened (deleted or replaced underneath). */
  checkFile?(): Promise<void>;
  close(): Promise<void>;
}

/** A unique-constraint violation, as either database reports it. */
export function isUniqueViolation(e: unknown): boolean {
  const err = e as { code?: unknown; errno?: unknown; message?: unknown } | null;
  if (!err) return false;
  // PostgreSQL: SQLSTATE 23505; SQLite: SQLITE_CONSTRAINT_UNIQUE.
  if (err.code === "23505" || err.code === "SQLITE_CONSTRAINT_UNIQUE") return true;
  const m = typeof err.message === "string" ? err.message : "";
  return m.includes("UNIQUE constraint failed") || m.includes("duplicate key value");
}
