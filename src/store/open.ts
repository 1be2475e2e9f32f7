// Opens the store named by store.url: an embedded SQLite file (the default) or a shared PostgreSQL database.
import { openPostgresDriver } from "./postgres.ts";
import { openSqliteDriver } from "./sqlite.ts";
import { openSqlStore } from "./sql-store.ts";
import type { Store } from "./store.ts";

export const DEFAULT_STORE_URL = "sqlite://./switchboard.db";

export function storeKind(url: string): "sqlite" | "postgres" {
  if (url.startsWith("sqlite://")) return "sqlite";
  if (/^postgres(ql)?:\/\//.test(url)) return "postgres";
  throw new Error(`store.url: '${url.replace(/\/\/[^@/]*@/, "//…@")}' is neither sqlite://… nor postgres://…`);
}

/**
 * SQLite, once open: how long the request thread's connection waits for a lock another process holds. It only reads
 * once the store thread takes the writes, and WAL readers do not wait for writers: this only bounds the odd case.
 */
export const REQUEST_THREAD_BUSY_TIMEOUT_MS = 250;

export interface OpenOptions {
  /** SQLite: the busy timeout after opening (default REQUEST_THREAD_BUSY_TIMEOUT_MS). */
  busyTimeoutMs?: number;
}

/** Connects, runs the migrations the database lacks, and returns the store. Fails at start-up, never later. */
export async function openStore(url: string, opts: OpenOptions = {}): Promise<Store> {
  const sqlite = storeKind(url) === "sqlite" ? openSqliteDriver(url) : null;
  const driver = sqlite ?? openPostgresDriver(url);
  try {
    const store: Store = Object.assign(await openSqlStore(driver), { url }, sqlite ? { setBusyTimeout: (ms: number) => sqlite.setBusyTimeout(ms) } : {});
    sqlite?.setBusyTimeout(opts.busyTimeoutMs ?? REQUEST_THREAD_BUSY_TIMEOUT_MS);
    return store;
  } catch (e) {
    await driver.close().catch(() => {});
    throw e;
  }
}
