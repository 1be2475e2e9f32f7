// The usage-event writer's thread: its own connection to the store, so batch inserts never take the request thread's time.
import { openStore } from "./open.ts";
import type { Store } from "./store.ts";
import type { EventThreadReply, EventThreadRequest } from "./event-thread.ts";

declare const self: Worker;

let store: Promise<Store> | null = null;

self.onmessage = async (e: MessageEvent<EventThreadRequest>) => {
  const m = e.data;
  if (m.type === "open") {
    store = openStore(m.url);
    // A store that cannot be opened fails each insert (the writer retries and counts), not the thread.
    store.catch(() => {});
    return;
  }
  let reply: EventThreadReply;
  try {
    if (!store) throw new Error("the event thread was not opened");
    const s = await store;
    if (m.type === "insert") reply = { id: m.id, ok: true, inserted: await s.insertEvents(m.events) };
    else {
      await s.close();
      reply = { id: m.id, ok: true, inserted: 0 };
    }
  } catch (err) {
    reply = { id: m.id, ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  postMessage(reply);
};
