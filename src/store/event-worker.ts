// The store thread: its own connection, on which the store's writes run, so they never take the request thread's time.
import { openStore } from "./open.ts";
import type { Store } from "./store.ts";
import { errorForThread, THREAD_METHODS, type EventThreadReply, type EventThreadRequest } from "./event-thread.ts";

declare const self: Worker;

let store: Promise<Store> | null = null;
const allowed = new Set<string>(THREAD_METHODS);

self.onmessage = async (e: MessageEvent<EventThreadRequest>) => {
  const m = e.data;
  if (m.type === "open") {
    store = openStore(m.url, { busyTimeoutMs: m.busyTimeoutMs });
    // A store that cannot be opened fails each call (the writer retries and counts), not the thread.
    store.catch(() => {});
    return;
  }
  let reply: EventThreadReply;
  try {
    if (!store) throw new Error("the store thread was not opened");
    const s = await store;
    if (m.type === "call") {
      if (!allowed.has(m.method)) throw new Error(`not a store write: ${m.method}`);
      const fn = s[m.method] as (...args: unknown[]) => Promise<unknown>;
      reply = { id: m.id, ok: true, value: await fn(...m.args) };
    } else {
      await s.close();
      reply = { id: m.id, ok: true, value: 0 };
    }
  } catch (err) {
    reply = { id: m.id, ok: false, error: errorForThread(err) };
  }
  postMessage(reply);
};
