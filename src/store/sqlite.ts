// SQLite driver on bun:sqlite: one file in WAL mode, created on first start; statements serialised behind one lock.
import { Database, type SQLQueryBindings } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { Row, SqlDriver, SqlExec } from "./driver.ts";

/** `sqlite://./switchboard.db` → `./switchboard.db`; `sqlite:///var/lib/sb.db` → `/var/lib/sb.db`; `sqlite://:memory:`. */
export function sqlitePath(url: string): string {
  const path = url.replace(/^sqlite:\/\//, "");
  if (!path) throw new Error("store.url: a sqlite URL needs a file path, e.g. sqlite://./switchboard.db");
  return path;
}

export function openSqliteDriver(url: string): SqlDriver {
  const path = sqlitePath(url);
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path, { create: true });
  // WAL: readers never wait for the writer; NORMAL sync is durable across a process crash (not a power cut), the
  // usual pairing with WAL. busy_timeout lets a second process on the same file wait instead of failing.
  // busy_timeout first: switching a new file to WAL takes a lock that a second process starting together waits for.
  db.exec("PRAGMA busy_timeout = 5000");
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
    close: () =>
      locked(async () => {
        db.close();
      }),
  };
}
