// The usage-event queue: O(1) enqueue on the request path; batched inserts off it, retried while the store is down, a refused row set aside, flushed on close.
import type { Logger } from "../observability/log.ts";
import { describeStoreError, type StoreFailure } from "../store/errors.ts";
import type { Store, UsageEvent } from "../store/store.ts";

export interface UsageWriterOptions {
  store: Pick<Store, "insertEvents">;
  logger: Pick<Logger, "info" | "error">;
  /**
   * A batch goes out at least this often while events wait (default 200 ms): what a process killed outright (kill -9)
   * can lose from the ledger is what finished in the last interval.
   */
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
  /** Events the store refused for their content, set aside in a dead-letter log line each (the rest were written). */
  deadLettered: number;
  storeDown: boolean;
  /** Whether events are being written: false while the store refuses them or no batch has gone out for a while. */
  flowing: boolean;
  /** The last failure, as the store named it (`SQLITE_BUSY`, `ERR_POSTGRES_CONNECTION_REFUSED`…); null before any. */
  lastError: { kind: StoreFailure["kind"]; code: string; message: string } | null;
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

/** Events waiting longer than this with no batch written: the ledger is stuck, whatever the cause (readiness says so). */
export const STALLED_AFTER_MS = 10_000;

export function createUsageWriter(opts: UsageWriterOptions): UsageWriter {
  const every = opts.flushEveryMs ?? 200;
  const batchSize = opts.batchSize ?? 500;
  const maxBuffered = opts.maxBuffered ?? 100_000;
  const maxBackoff = opts.maxBackoffMs ?? 5000;

  // A plain array read from a head index: push is O(1), and a written batch only moves the index.
  let queue: UsageEvent[] = [];
  let head = 0;
  const waiting = () => queue.length - head;
  const stats = { written: 0, dropped: 0, failures: 0, deadLettered: 0 };
  let down = false;
  let downSince = 0;
  let droppedInOutage = 0;
  let backoff = every;
  let nextTryAt = 0;
  let running: Promise<void> | null = null;
  let closed = false;
  let lastError: UsageWriterStats["lastError"] = null;
  /** performance.now() of the last progress (a batch stored or a row set aside), or of the first event to wait since. */
  let progressAt = performance.now();

  const advance = (n: number) => {
    head += n;
    progressAt = performance.now();
    if (head > 4096 && head * 2 > queue.length) {
      queue = queue.slice(head);
      head = 0;
    }
  };

  const unavailable = (f: StoreFailure) => {
    stats.failures++;
    lastError = { kind: f.kind, code: f.code, message: f.message };
    if (!down) {
      down = true;
      downSince = Date.now();
      droppedInOutage = 0;
      // Once per outage, not once per batch; the store's own code says which failure it is (busy, full, unreachable).
      opts.logger.error("usage store unreachable: events are kept in memory and retried", { error: f.message, error_code: f.code, queued: waiting(), max_buffered: maxBuffered });
    }
    backoff = Math.min(maxBackoff, backoff * 2);
    nextTryAt = performance.now() + backoff;
  };

  /** A row the store will never take: out of the queue, into the log whole (so it can be replayed), and counted. */
  const deadLetter = (e: UsageEvent, f: StoreFailure) => {
    stats.deadLettered++;
    lastError = { kind: f.kind, code: f.code, message: f.message };
    opts.logger.error("usage event dead-lettered: the store refused it, the events around it were written", {
      request_id: e.requestId,
      event_id: e.id,
      error: f.message,
      error_code: f.code,
      event: JSON.stringify(e),
    });
  };

  /**
   * Writes the first `n` queued events. A batch the store refuses for its content is split in halves until the row it
   * refuses is alone (log2(batch) extra round trips), which is set aside; the rest is written. A store that cannot
   * take writes at all stops the drain, keeping everything not yet written, in order, for the retry.
   */
  async function writeHead(n: number): Promise<boolean> {
    const batch = queue.slice(head, head + n);
    try {
      await opts.store.insertEvents(batch);
    } catch (e) {
      const f = describeStoreError(e);
      if (f.kind === "unavailable") {
        unavailable(f);
        return false;
      }
      if (n === 1) {
        deadLetter(batch[0]!, f);
        advance(1);
        return true;
      }
      const half = Math.ceil(n / 2);
      return (await writeHead(half)) && writeHead(n - half);
    }
    advance(n);
    stats.written += n;
    if (down) {
      down = false;
      opts.logger.info("usage store reachable again", { outage_ms: Date.now() - downSince, dropped: droppedInOutage, queued: waiting() });
    }
    backoff = every;
    nextTryAt = 0;
    return true;
  }

  /** One batch from the head; it leaves the queue only once stored (or set aside), so a failure keeps it for the retry, in order. */
  const writeBatch = () => writeHead(Math.min(batchSize, waiting()));

  /** Drains in batches until empty or a write fails. One drain at a time: every write goes through here, so no batch is taken twice. */
  function drain(): Promise<void> {
    if (running) return running;
    if (waiting() === 0) return Promise.resolve();
    running = (async () => {
      // Yield first: a loop that ended synchronously would clear `running` before it was set, leaving a finished
      // promise there for good, and no drain would ever start again (a flush() with nothing queued did exactly that).
      await null;
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
      // The stall clock starts with the first event to wait, not at the last write however long ago.
      if (waiting() === 0) progressAt = performance.now();
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
    stats: () => ({
      queued: waiting(),
      written: stats.written,
      dropped: stats.dropped,
      failures: stats.failures,
      deadLettered: stats.deadLettered,
      storeDown: down,
      flowing: !down && !(waiting() > 0 && performance.now() - progressAt > STALLED_AFTER_MS),
      lastError,
    }),
  };
}
