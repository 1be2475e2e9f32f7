// The store's writes on a worker thread with its own connection: the request thread only posts them and awaits the answer.
import { StoreConflict, type Store } from "./store.ts";
import { KeyStateConflict } from "./errors.ts";

/** The store methods that write: these run on the thread; reads stay on the request thread's connection. */
export const THREAD_METHODS = [
  "insertEvents", "createKey", "updateKey", "appendAudit", "pruneEvents", "pruneSeries", "checkWrite",
  "saveResponse", "deleteResponse", "pruneResponses",
] as const;
// sharedSecret also writes, once, at start; its `make` callback cannot cross to the thread, so it stays here.
export type ThreadMethod = (typeof THREAD_METHODS)[number];
type Args<M extends ThreadMethod> = Parameters<Store[M]>;
type Result<M extends ThreadMethod> = Awaited<ReturnType<Store[M]>>;

/** An error as it crosses the thread boundary: what classification and the admin API's mapping read. */
export interface ThreadError {
  name: string;
  message: string;
  code?: string;
  errno?: string | number;
  reason?: "revoked" | "changed";
}

export type EventThreadRequest =
  | { type: "open"; url: string; busyTimeoutMs: number }
  | { type: "call"; id: number; method: ThreadMethod; args: unknown[] }
  | { type: "close"; id: number };
export type EventThreadReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: ThreadError };

export interface StoreThread {
  call<M extends ThreadMethod>(method: M, ...args: Args<M>): Promise<Result<M>>;
  insertEvents(events: Args<"insertEvents">[0]): Promise<number>;
  /** Closes the thread's connection and ends the thread (after the writer's last batch). */
  close(): Promise<void>;
}

/** The thread's connection may wait this long for another process's lock: it stalls no request thread, only the write. */
export const THREAD_BUSY_TIMEOUT_MS = 500;

/** The error thrown on this side for one the thread reported: the same class and codes, so callers cannot tell. */
export function errorFromThread(e: ThreadError): Error {
  if (e.name === "StoreConflict") return new StoreConflict(e.message);
  if (e.name === "KeyStateConflict") return new KeyStateConflict(e.reason ?? "changed", e.message);
  return Object.assign(new Error(e.message), { name: e.name, ...(e.code !== undefined ? { code: e.code } : {}), ...(e.errno !== undefined ? { errno: e.errno } : {}) });
}

/** What of an error the other side needs (an Error's own fields do not survive postMessage as a class). */
export function errorForThread(err: unknown): ThreadError {
  const e = (err ?? {}) as { name?: unknown; message?: unknown; code?: unknown; errno?: unknown; reason?: unknown };
  const out: ThreadError = { name: typeof e.name === "string" ? e.name : "Error", message: err instanceof Error ? err.message : String(err) };
  if (typeof e.code === "string") out.code = e.code;
  if (typeof e.errno === "string" || typeof e.errno === "number") out.errno = e.errno;
  if (e.reason === "revoked" || e.reason === "changed") out.reason = e.reason;
  return out;
}

/**
 * The worker's entry. It is a second entry point of `npm run build`, so the compiled executable carries it, under
 * /$bunfs/root/ at its path relative to the main entry's folder (src/); from source it sits beside this file.
 */
function workerEntry(): string {
  return import.meta.url.startsWith("file:///$bunfs/") ? "/$bunfs/root/store/event-worker.ts" : new URL("./event-worker.ts", import.meta.url).href;
}

/**
 * Why a thread: bun:sqlite is synchronous, so a write waiting for another process's lock (busy_timeout) stops the
 * whole event loop — every request, /health included — and a batch of events costs the writing thread about 10 µs
 * an event. On the thread neither touches the request path; SQLite's WAL lets the request thread's connection read
 * meanwhile, and PostgreSQL has no such limit. An in-memory SQLite database cannot be shared between connections:
 * for it (tests) there is no thread.
 */
export function startStoreThread(url: string): StoreThread | null {
  if (url === "sqlite://:memory:") return null;
  let worker: Worker;
  try {
    worker = new Worker(workerEntry());
  } catch {
    return null;
  }
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let seq = 0;
  let dead: Error | null = null;
  worker.onmessage = (e: MessageEvent<EventThreadReply>) => {
    const r = e.data;
    const p = pending.get(r.id);
    if (!p) return;
    pending.delete(r.id);
    if (r.ok) p.resolve(r.value);
    else p.reject(errorFromThread(r.error));
  };
  worker.onerror = (e) => {
    dead = new Error(`the store thread failed: ${e.message}`);
    for (const p of pending.values()) p.reject(dead);
    pending.clear();
  };
  // The thread holds no request open: it must not keep the process alive on its own.
  worker.unref();
  worker.postMessage({ type: "open", url, busyTimeoutMs: THREAD_BUSY_TIMEOUT_MS } satisfies EventThreadRequest);
  const send = (m: { type: "call"; method: ThreadMethod; args: unknown[] } | { type: "close" }) =>
    new Promise<unknown>((resolve, reject) => {
      if (dead) return reject(dead);
      const id = ++seq;
      pending.set(id, { resolve, reject });
      worker.postMessage({ ...m, id } as EventThreadRequest);
    });
  const call = <M extends ThreadMethod>(method: M, ...args: Args<M>) => send({ type: "call", method, args }) as Promise<Result<M>>;
  return {
    call,
    insertEvents: (events) => call("insertEvents", events),
    async close() {
      await send({ type: "close" }).catch(() => {});
      // Later calls fail at once: a terminated worker would never answer them.
      dead ??= new Error("the store thread is closed");
      worker.terminate();
    },
  };
}

/** The store with its writes on the thread and its reads here. */
export function writesThrough(store: Store, thread: StoreThread): Store {
  const routed: Partial<Store> = {};
  for (const m of THREAD_METHODS) (routed as Record<string, unknown>)[m] = (...args: unknown[]) => (thread.call as (m: string, ...a: unknown[]) => Promise<unknown>)(m, ...args);
  // Plain delegation for the rest: the store object is built of closures, so its methods need no `this`.
  return { ...store, ...routed, kind: store.kind, url: store.url } as Store;
}
