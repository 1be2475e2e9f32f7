// Wires the store into the gateway beside the request path: key sync into the ring, the usage writer, retention pruning.
import type { KeyRing } from "../auth/keys.ts";
import type { Config } from "../config/schema.ts";
import type { Logger } from "../observability/log.ts";
import { startKeySync, type KeySync } from "../store/key-sync.ts";
import type { Store } from "../store/store.ts";
import { MINUTE_BUCKETS_KEPT_MS } from "../store/series.ts";
import { createUsageWriter, type UsageWriter } from "../usage/writer.ts";
import { startStoreThread, writesThrough } from "../store/event-thread.ts";
import { availableParallelism } from "node:os";

export interface ControlPlane {
  /** The store as the gateway uses it: writes on the store thread when there is one, reads here. */
  store: Store;
  sync: KeySync;
  writer: UsageWriter;
  /** First key load done and old events pruned: the gateway can listen. */
  ready: Promise<void>;
  /** Stops polling and pruning and writes the events still queued (SIGTERM). The store stays open: its opener closes it. */
  close(): Promise<void>;
}

const DAY_MS = 86_400_000;
/** Pruning runs at start and then this often: events are kept by day, so an hour late is nothing. */
const PRUNE_EVERY_MS = 3_600_000;
/** One core, SQLite written on the request thread: the longest a write waits for another process's lock. */
const ONE_CORE_BUSY_TIMEOUT_MS = 50;

export function startControlPlane(config: Config, opened: Store, ring: KeyRing, logger: Logger): ControlPlane {
  // Writes on their own thread when there is a core for it: bun:sqlite waits for another process's lock synchronously,
  // so there a write never holds up a request. On one core a thread cannot run beside the requests and only adds the
  // hand-over (measured: ~17 µs more CPU per request at 64 connections, pinned, about twice an event's insert); there
  // SQLite writes stay on this thread with a short busy timeout instead, so a lock held by another process stalls the
  // event loop for at most that long per attempt (the writer backs off between attempts; admin writes answer 503).
  const wantThread = opened.url !== undefined && availableParallelism() > 1;
  if (!wantThread) opened.setBusyTimeout?.(ONE_CORE_BUSY_TIMEOUT_MS);
  const thread = wantThread ? startStoreThread(opened.url!) : null;
  const store = thread ? writesThrough(opened, thread) : opened;
  const sync = startKeySync(store, ring, { logger });
  const writer = createUsageWriter({ store, logger });
  const prune = async () => {
    try {
      const removed = await store.pruneEvents(Date.now() - config.usage.retention_days * DAY_MS);
      if (removed > 0) logger.info("usage events pruned", { removed, retention_days: config.usage.retention_days });
      await store.pruneSeries(Date.now() - MINUTE_BUCKETS_KEPT_MS);
    } catch (e) {
      logger.error("usage pruning failed", { error: e instanceof Error ? e.message : String(e) });
    }
  };
  const timer = setInterval(() => void prune(), PRUNE_EVERY_MS);
  timer.unref?.();
  return {
    store,
    sync,
    writer,
    ready: sync.ready.then(prune),
    async close() {
      sync.close();
      clearInterval(timer);
      await writer.close();
      await thread?.close();
    },
  };
}
