// Keeps the key ring's store keys current: loaded once at start, then only the keys changed since the counter last seen (every instance within a second).
import type { KeyEntry, KeyRing, Principal } from "../auth/keys.ts";
import type { KeyConfig } from "../config/schema.ts";
import type { Logger } from "../observability/log.ts";
import type { Store, StoredKey } from "./store.ts";

export interface KeySync {
  /** Resolves once the store's keys are first loaded (the gateway listens after it). */
  readonly ready: Promise<void>;
  /** The store keys as last loaded, by id (the admin API and /v1/key/info render from here, not from the database). */
  byId(): ReadonlyMap<string, StoredKey>;
  /** Reloads now if the counter moved (the instance that made a change calls this, so it applies at once). */
  refresh(): Promise<void>;
  close(): void;
}

/** Default poll: a change reaches every instance sharing the store well within the contract's 2 seconds. */
export const KEY_POLL_MS = 500;

function principalOf(k: StoredKey): Principal {
  const config: KeyConfig = { name: k.name };
  if (k.rpm !== null) config.rpm = k.rpm;
  if (k.tpm !== null) config.tpm = k.tpm;
  if (k.maxConcurrent !== null) config.max_concurrent = k.maxConcurrent;
  if (k.models !== null) config.models = k.models;
  return {
    id: k.id,
    name: k.name,
    source: "api",
    config,
    allowed: k.models ? new Set(k.models) : null,
    budget: k.budgetMicros !== null && k.budgetPeriod !== null ? { limitMicros: k.budgetMicros, period: k.budgetPeriod } : null,
  };
}

const digestOf = (hexHash: string): Uint8Array => Buffer.from(hexHash, "hex");

/** The ring entries of the store's keys: revoked ones are gone; an old secret lasts until its grace period ends. */
export function storeKeyEntries(keys: Iterable<StoredKey>, now: number): KeyEntry[] {
  const out: KeyEntry[] = [];
  for (const k of keys) {
    if (k.status === "revoked") continue;
    const principal = principalOf(k);
    const blocked = k.status === "blocked";
    out.push({ digest: digestOf(k.hash), principal, blocked, expiresAt: k.expiresAt });
    if (k.oldHash && k.oldHashUntil !== null && k.oldHashUntil > now) {
      const until = k.expiresAt === null ? k.oldHashUntil : Math.min(k.oldHashUntil, k.expiresAt);
      out.push({ digest: digestOf(k.oldHash), principal, blocked, expiresAt: until });
    }
  }
  return out;
}

export interface KeySyncOptions {
  pollMs?: number;
  logger: Pick<Logger, "info" | "error">;
  /** Called with the keys each load brought: all of them at start, then the ones that changed. */
  onLoad?: (keys: readonly StoredKey[]) => void;
}

/** Loads the store's keys into the ring, then follows the change counter. */
export function startKeySync(store: Store, ring: KeyRing, opts: KeySyncOptions): KeySync {
  let version = -1;
  let keys = new Map<string, StoredKey>();
  let failing = false;

  /** Loads every key: once, at start (before the gateway listens). */
  const loadAll = async () => {
    // The counter before the rows: a change landing in between is loaded again next time, never missed.
    const v = await store.keyVersion();
    const list = await store.listKeys();
    keys = new Map(list.map((k) => [k.id, k]));
    ring.setStoreKeys(storeKeyEntries(list, Date.now()), list.length > 0);
    version = v;
    opts.onLoad?.(list);
  };
  /**
   * Then only what changed: the rows whose version is past the counter last seen (an index range, usually a row or
   * two), applied to the ring key by key. Re-reading and re-parsing the whole table on every change stalled the
   * request thread for as long as the table was big (~0.6 s at 4,400 keys).
   */
  const load = async () => {
    if (version < 0) return loadAll();
    const changed = await store.keysChangedSince(version);
    if (changed.keys.length > 0) {
      for (const k of changed.keys) keys.set(k.id, k);
      ring.updateStoreKeys(new Map(changed.keys.map((k) => [k.id, storeKeyEntries([k], Date.now())])), keys.size > 0);
      opts.onLoad?.(changed.keys);
    }
    version = Math.max(version, changed.version);
  };
  const ready = load();

  let running: Promise<void> | null = null;
  const refresh = (): Promise<void> => {
    running ??= load()
      .then(() => {
        if (failing) opts.logger.info("key store reachable again", {});
        failing = false;
      })
      .catch((e: unknown) => {
        // Keys already loaded keep working; logged once per outage.
        if (!failing) opts.logger.error("key store unreachable: serving the keys last loaded", { error: e instanceof Error ? e.message : String(e) });
        failing = true;
      })
      .finally(() => {
        running = null;
      });
    return running;
  };
  const timer = setInterval(() => void ready.then(refresh, () => {}), opts.pollMs ?? KEY_POLL_MS);
  timer.unref?.();

  return {
    ready,
    byId: () => keys,
    refresh: async () => {
      await ready;
      // One already under way may have read the counter before this caller's change: run another after it.
      if (running) await running;
      await refresh();
    },
    close: () => clearInterval(timer),
  };
}
