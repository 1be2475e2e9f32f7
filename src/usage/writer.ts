// The usage-event queue: O(1) enqueue on the request path; batched inserts off it, retried while the store is down, flushed on close.
import type { Logger } from "../observability/log.ts";
import type { Store, UsageEvent } from "../store/store.ts";

export interface UsageWriterOptions {
  store: Pick<Store, "insertEvents">;
  logger: Pick<Logger, "info" | "error">;
  /** A batch goes out at least this often while events wait (default 200 ms). */
  flushEveryMs?: number;
  /** …or as soon as this many wait (default 500). */
  batchSize?: number;
  /** Events held while the store cannot be reached; beyond this new events are dropped and counted (default 100,000). */
  maxBuffered?: number;
  /** Longest wait between retries while the store is down (default 5 s). */
  maxBackoffMs?: number;
}

export interface UsageWriterStats {
  /** Events waiting to be written. */
  queued: number;
  written: number;
  /** Events dropped because the buffer was full while the store was unreachable. */
  dropped: number;
  /** Failed batch writes since start. */
  failures: number;
  storeDown: boolean;
}

export interface UsageWriter {
  /** Never blocks and never throws: the event waits in memory for the next batch. */
  enqueue(event: UsageEvent): void;
  /** Writes what waits now (one attempt per batch); resolves when done or failed. */
  flush(): Promise<void>;
  /** Stops the timer and writes everything still waiting, retrying until `timeoutMs` (SIGTERM drain). */
  close(timeoutMs?: number): Promise<void>;
  stats(): UsageWriterStats;
}

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

export function createUsageWriter(opts: UsageWriterOptions): UsageWriter {
  const every = opts.flushEveryMs ?? 200;
  const batchSize = opts.batchSize ?? 500;
  const maxBuffered = opts.maxBuffered ?? 100_000;
  const maxBackoff = opts.maxBackoffMs ?? 5000;

  // A plain array read from a head index: push is O(1), and a written batch only moves the index.
  let queue: UsageEvent[] = [];
  let head = 0;
  const waiting = () => queue.length - head;
  const stats = { written: 0, dropped: 0, failures: 0 };
  let down = false;
  let downSince = 0;
  let droppedInOutage = 0;
  let backoff = every;
  let nextTryAt = 0;
  let running: Promise<void> | null = null;
  let closed = false;

  /** One batch from the head; it leaves the queue only once stored, so a failure keeps it for the retry, in order. */
  async function writeBatch(): Promise<boolean> {
    const batch = queue.slice(head, head + batchSize);
    try {
      await opts.store.insertEvents(batch);
    } catch (e) {
      stats.failures++;
      if (!down) {
        down = true;
        downSince = Date.now();
        droppedInOutage = 0;
        // Once per outage, not once per batch.
        opts.logger.error("usage store unreachable: events are kept in memory and retried", { error: errorText(e), queued: waiting(), max_buffered: maxBuffered });
      }
      backoff = Math.min(maxBackoff, backoff * 2);
      nextTryAt = performance.now() + backoff;
      return false;
    }
    head += batch.length;
    stats.written += batch.length;
    if (head > 4096 && head * 2 > queue.length) {
      queue = queue.slice(head);
      head = 0;
    }
    if (down) {
      down = false;
      opts.logger.info("usage store reachable again", { outage_ms: Date.now() - downSince, dropped: droppedInOutage, queued: waiting() });
    }
    backoff = every;
    nextTryAt = 0;
    return true;
  }

  /** Drains in batches until empty or a write fails. One drain at a time: every write goes through here, so no batch is taken twice. */
  function drain(): Promise<void> {
    running ??= (async () => {
      try {
        while (waiting() > 0 && (await writeBatch()));
      } finally {
        running = null;
      }
    })();
    return running;
  }

  const timer = setInterval(() => {
    if (waiting() > 0 && performance.now() >= nextTryAt) void drain();
  }, every);
  // The timer alone never keeps a process alive: close() is what drains at exit.
  timer.unref?.();

  return {
    enqueue(event) {
      if (waiting() >= maxBuffered) {
        stats.dropped++;
        droppedInOutage++;
        return;
      }
      queue.push(event);
      // A full batch goes out now rather than at the next tick, unless the store is known to be down.
      if (!closed && waiting() >= batchSize && !down && !running) queueMicrotask(() => void drain());
    },
    async flush() {
      // A drain already under way may have started before the newest events: run one more after it.
      if (running) await running;
      await drain();
    },
    async close(timeoutMs = 5000) {
      closed = true;
      clearInterval(timer);
      const until = performance.now() + timeoutMs;
      while (waiting() > 0 && performance.now() < until) {
        if (running) await running;
        await drain();
        if (waiting() > 0) await Bun.sleep(Math.min(250, Math.max(0, until - performance.now())));
      }
      if (waiting() > 0) {
        opts.logger.error("usage events not written at shutdown: the store did not answer", { lost: waiting() });
      }
    },
    stats: () => ({ queued: waiting(), written: stats.written, dropped: stats.dropped, failures: stats.failures, storeDown: down }),
  };
}
