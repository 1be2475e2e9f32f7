// What a store failure was: a row refused for its content, a key state that forbids the change, or the store itself unavailable.

/**
 * `content`: the database refused these rows for what they hold (a constraint, a value out of range, a byte it cannot
 * store): writing them again will fail again, writing others may work. `unavailable`: the store itself cannot take the
 * write now (unreachable, busy, locked, full, read-only): the same write may work later.
 */
export type StoreFailureKind = "content" | "unavailable";

export interface StoreFailure {
  kind: StoreFailureKind;
  /** The database's own code (`23502`, `SQLITE_BUSY`, `ERR_POSTGRES_CONNECTION_REFUSED`), or the error's name. */
  code: string;
  message: string;
}

const text = (v: unknown): string | undefined => (typeof v === "string" && v.length > 0 ? v : undefined);

/**
 * Classifies any error a store call threw. PostgreSQL names the failure by SQLSTATE (Bun's client puts it in `errno`):
 * class 22 (data exception) and 23 (integrity constraint) are about the row. SQLite's result codes: constraint,
 * datatype mismatch, too big, bind range. Anything else (connection, disk full, busy, I/O, read-only) is the store.
 */
export function describeStoreError(e: unknown): StoreFailure {
  const err = (e ?? {}) as { code?: unknown; errno?: unknown; name?: unknown; message?: unknown };
  const message = e instanceof Error ? e.message : typeof err.message === "string" ? err.message : String(e);
  const sqlstate = typeof err.errno === "string" && /^[0-9A-Z]{5}$/.test(err.errno) ? err.errno : undefined;
  const code = sqlstate ?? text(err.code) ?? text(err.name) ?? "unknown";
  if (sqlstate) return { kind: sqlstate.startsWith("22") || sqlstate.startsWith("23") ? "content" : "unavailable", code, message };
  if (code.startsWith("SQLITE_")) {
    const content = code.startsWith("SQLITE_CONSTRAINT") || code === "SQLITE_MISMATCH" || code === "SQLITE_TOOBIG" || code === "SQLITE_RANGE";
    return { kind: content ? "content" : "unavailable", code, message };
  }
  // Our own code refusing a value (a binding of the wrong type, a number out of range) is about the row too.
  if (code === "TypeError" || code === "RangeError") return { kind: "content", code, message };
  return { kind: "unavailable", code, message };
}

/** The store's state forbids the change: the key is revoked, or it changed since it was read (a rotation raced another). */
export class KeyStateConflict extends Error {
  constructor(
    readonly reason: "revoked" | "changed",
    message: string,
  ) {
    super(message);
    this.name = "KeyStateConflict";
  }
}

/** A short account of why the store is unavailable, for a 503's message (never a host, a path or a password). */
export function unavailableReason(f: StoreFailure): string {
  const c = f.code;
  if (c === "SQLITE_BUSY" || c === "SQLITE_LOCKED" || c.startsWith("SQLITE_BUSY")) return "its database is locked by another process";
  if (c === "SQLITE_FULL" || c === "53100") return "its disk is full";
  if (c.startsWith("SQLITE_READONLY") || c === "25006") return "it is read-only";
  if (c.startsWith("SQLITE_IOERR") || c === "SQLITE_CANTOPEN" || c === "SQLITE_NOTADB" || c === "SQLITE_CORRUPT") return "its database file cannot be written";
  if (c.startsWith("ERR_POSTGRES_CONNECTION") || c === "ERR_POSTGRES_CONNECTION_CLOSED" || c.startsWith("08") || c.startsWith("57P")) return "it cannot be reached";
  if (c === "ERR_POSTGRES_IDLE_TIMEOUT" || c === "ERR_POSTGRES_CONNECTION_TIMEOUT" || c === "57014" || c === "55P03") return "it did not answer in time";
  return "it failed to answer";
}
