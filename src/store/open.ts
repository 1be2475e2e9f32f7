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

/** Connects, runs the migrations the database lacks, and returns the store. Fails at start-up, never later. */
export async function openStore(url: string): Promise<Store> {
  const driver = storeKind(url) === "sqlite" ? openSqliteDriver(url) : openPostgresDriver(url);
  try {
    return Object.assign(await openSqlStore(driver), { url });
  } catch (e) {
    await driver.close().catch(() => {});
    throw e;
  }
}
