// Wires the store into the gateway beside the request path: key sync into the ring, the usage writer, retention pruning.
import type { KeyRing } from "../auth/keys.ts";
import type { Config } from "../config/schema.ts";
import type { PriceTable } from "../costs/prices.ts";
import type { Logger } from "../observability/log.ts";
import { startKeySync, type KeySync } from "../store/key-sync.ts";
import type { Store } from "../store/store.ts";
import { MINUTE_BUCKETS_KEPT_MS } from "../store/series.ts";
import type { Accounting } from "../pipeline/usage-record.ts";
import { createUsageWriter, type UsageWriter } from "../usage/writer.ts";
import { startEventThread } from "../store/event-thread.ts";
import { availableParallelism } from "node:os";

export interface ControlPlane {
  store: Store;
  sync: KeySync;
  writer: UsageWriter;
  accounting: Accounting;
  /** First key load done and old events pruned: the gateway can listen. */
  ready: Promise<void>;
  /** Stops polling and pruning and writes the events still queued (SIGTERM). The store stays open: its opener closes it. */
  close(): Promise<void>;
}

const DAY_MS = 86_400_000;
/** Pruning runs at start and then this often: events are kept by day, so an hour late is nothing. */
const PRUNE_EVERY_MS = 3_600_000;

export function startControlPlane(config: Config, store: Store, ring: KeyRing, prices: PriceTable, logger: Logger): ControlPlane {
  const sync = startKeySync(store, ring, { logger });
  // Inserts on their own thread when there is a core for it and the store can be opened twice; else on this one
  // (on one core a thread only adds the hand-over: about twice the CPU per event, measured).
  const thread = store.url && availableParallelism() > 1 ? startEventThread(store.url) : null;
  const writer = createUsageWriter({ store: thread ?? store, logger });
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
  const unpriced = prices.unpriced();
  if (unpriced.length > 0) {
    logger.info("models without a price: their usage is recorded at $0 and keys with a budget cannot use them; set prices.<model>", { models: unpriced });
  }
  return {
    store,
    sync,
    writer,
    accounting: { prices, sink: writer },
    ready: sync.ready.then(prune),
    async close() {
      sync.close();
      clearInterval(timer);
      await writer.close();
      await thread?.close();
    },
  };
}
