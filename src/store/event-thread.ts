// Usage-event inserts on a worker thread with its own store connection: the request thread only posts a batch.
import type { Store, UsageEvent } from "./store.ts";

export type EventThreadRequest = { type: "open"; url: string } | { type: "insert"; id: number; events: readonly UsageEvent[] } | { type: "close"; id: number };
export type EventThreadReply = { id: number; ok: true; inserted: number } | { id: number; ok: false; error: string };

export interface EventThread extends Pick<Store, "insertEvents"> {
  /** Closes the thread's connection and ends the thread (after the writer's last batch). */
  close(): Promise<void>;
}

/**
 * The worker's entry. It is a second entry point of `npm run build`, so the compiled executable carries it, under
 * /$bunfs/root/ at its path relative to the main entry's folder (src/); from source it sits beside this file.
 */
function workerEntry(): string {
  return import.meta.url.startsWith("file:///$bunfs/") ? "/$bunfs/root/store/event-worker.ts" : new URL("./event-worker.ts", import.meta.url).href;
}

/**
 * Writing a batch of events (with its daily totals and series buckets) costs the writing thread about 10 µs an event:
 * at 10k requests/s a sixth of the one thread that also serves every request. A worker with its own connection takes
 * that off it; SQLite's WAL lets the request thread's connection read meanwhile, and PostgreSQL has no such limit.
 * An in-memory SQLite database cannot be shared between connections: for it (tests) there is no thread.
 */
export function startEventThread(url: string): EventThread | null {
  if (url === "sqlite://:memory:") return null;
  let worker: Worker;
  try {
    worker = new Worker(workerEntry());
  } catch {
    return null;
  }
  const pending = new Map<number, { resolve: (n: number) => void; reject: (e: Error) => void }>();
  let seq = 0;
  let dead: Error | null = null;
  worker.onmessage = (e: MessageEvent<EventThreadReply>) => {
    const r = e.data;
    const p = pending.get(r.id);
    if (!p) return;
    pending.delete(r.id);
    if (r.ok) p.resolve(r.inserted);
    else p.reject(new Error(r.error));
  };
  worker.onerror = (e) => {
    dead = new Error(`the usage-event thread failed: ${e.message}`);
    for (const p of pending.values()) p.reject(dead);
    pending.clear();
  };
  // The thread holds no request open: it must not keep the process alive on its own.
  worker.unref();
  worker.postMessage({ type: "open", url } satisfies EventThreadRequest);
  const call = (m: { type: "insert"; events: readonly UsageEvent[] } | { type: "close" }) =>
    new Promise<number>((resolve, reject) => {
      if (dead) return reject(dead);
      const id = ++seq;
      pending.set(id, { resolve, reject });
      worker.postMessage({ ...m, id } as EventThreadRequest);
    });
  return {
    insertEvents: (events) => call({ type: "insert", events }),
    async close() {
      await call({ type: "close" }).catch(() => {});
      // Later calls fail at once: a terminated worker would never answer them.
      dead ??= new Error("the usage-event thread is closed");
      worker.terminate();
    },
  };
}
