// SQLite driver on bun:sqlite: one file in WAL mode, created on first start; statements serialised behind one lock.
import { Database, type SQLQueryBindings } from "bun:sqlite";
import { mkdirSync, statSync } from "node:fs";
import { dirname } from "node:path";
import type { Row, SqlDriver, SqlExec } from "./driver.ts";

/** `sqlite://./switchboard.db` → `./switchboard.db`; `sqlite:///var/lib/sb.db` → `/var/lib/sb.db`; `sqlite://:memory:`. */
export function sqlitePath(url: string): string {
  const path = url.replace(/^sqlite:\/\//, "");
  if (!path) throw new Error("store.url: a sqlite URL needs a file path, e.g. sqlite://./switchboard.db");
  return path;
}

/** How long a connection waits for another process's write lock while the store opens (migrations of instances starting together). */
export const OPEN_BUSY_TIMEOUT_MS = 5000;

export interface SqliteDriver extends SqlDriver {
  /**
   * After opening: how long a statement waits for a lock another process holds. bun:sqlite waits synchronously, so
   * on the request thread this is time the whole event loop stands still: kept short there.
   */
  setBusyTimeout(ms: number): void;
}

/** A deleted or replaced database file keeps taking writes through the open handle, into a file nobody will read. */
class DatabaseFileGone extends Error {
  readonly code = "SQLITE_CANTOPEN";
  constructor(path: string) {
    super(`the database file ${path} was deleted or replaced since the store opened it`);
  }
}

export function openSqliteDriver(url: string): SqliteDriver {
  const path = sqlitePath(url);
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path, { create: true });
  const inode = path === ":memory:" ? null : statSync(path).ino;
  // WAL: readers never wait for the writer; NORMAL sync is durable across a process crash (not a power cut), the
  // usual pairing with WAL. busy_timeout lets a second process on the same file wait instead of failing.
  // busy_timeout first: switching a new file to WAL takes a lock that a second process starting together waits for.
  db.exec(`PRAGMA busy_timeout = ${OPEN_BUSY_TIMEOUT_MS}`);
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = NORMAL");
  db.exec("PRAGMA foreign_keys = ON");

  // `$1` → `?1`: the store writes PostgreSQL-style placeholders; translated once per statement text.
  const texts = new Map<string, string>();
  const translate = (sql: string) => {
    let t = texts.get(sql);
    if (t === undefined) texts.set(sql, (t = sql.replace(/\$(\d+)/g, "?$1")));
    return t;
  };
  const bind = (params: readonly unknown[] = []) =>
    params.map((p) => (p === undefined ? null : typeof p === "boolean" ? (p ? 1 : 0) : p)) as SQLQueryBindings[];
  const exec: SqlExec = {
    async all(sql, params) {
      return db.query(translate(sql)).all(...bind(params)) as Row[];
    },
    async run(sql, params) {
      db.query(translate(sql)).run(...bind(params));
    },
    async count(sql, params) {
      return db.query(translate(sql)).run(...bind(params)).changes;
    },
  };

  // bun:sqlite is synchronous, but a transaction body awaits between its statements: without this lock another
  // caller's statement could run inside someone else's open transaction on the one connection.
  let tail: Promise<unknown> = Promise.resolve();
  const locked = <T>(fn: () => Promise<T>): Promise<T> => {
    const result = tail.then(fn, fn);
    tail = result.catch(() => {});
    return result;
  };

  return {
    dialect: "sqlite",
    all: (sql, params) => locked(() => exec.all(sql, params)),
    run: (sql, params) => locked(() => exec.run(sql, params)),
    count: (sql, params) => locked(() => exec.count(sql, params)),
    transaction: (fn) =>
      locked(async () => {
        // IMMEDIATE takes the write lock at once: two processes on one file never deadlock upgrading a read lock.
        db.exec("BEGIN IMMEDIATE");
        try {
          const out = await fn(exec);
          db.exec("COMMIT");
          return out;
        } catch (e) {
          db.exec("ROLLBACK");
          throw e;
        }
      }),
    async checkFile() {
      if (inode === null) return;
      let now: number | null = null;
      try {
        now = statSync(path).ino;
      } catch {}
      if (now !== inode) throw new DatabaseFileGone(path);
    },
    setBusyTimeout(ms) {
      db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(ms))}`);
    },
    close: () =>
      locked(async () => {
        db.close();
      }),
  };
}
