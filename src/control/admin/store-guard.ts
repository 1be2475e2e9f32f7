// The admin API's view of the store: a store that cannot answer is a 503 naming it, never a 500 "internal error".
import { GatewayError, invalidRequest } from "../../openai/errors.ts";
import { describeStoreError, KeyStateConflict, unavailableReason } from "../../store/errors.ts";
import { StoreConflict, type Store } from "../../store/store.ts";

const NAMES = { sqlite: "SQLite", postgres: "PostgreSQL" } as const;

/** The error an admin route answers with for a store failure: conflicts stay what they are (409s, mapped by the routes). */
export function storeFailure(kind: Store["kind"], e: unknown): unknown {
  if (e instanceof GatewayError || e instanceof StoreConflict || e instanceof KeyStateConflict) return e;
  const f = describeStoreError(e);
  const store = `The store (${NAMES[kind]}, store.url)`;
  if (f.kind === "content") return invalidRequest(`${store} refused a value of this request (${f.code}).`);
  return new GatewayError("store_unavailable", `${store} cannot take this request right now: ${unavailableReason(f)} (${f.code}). Retry shortly.`, { retryAfter: 1, cause: e });
}

/** Every method of the store, with its failures turned into the answers above. */
export function guardStore(store: Store): Store {
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(store)) {
    out[name] =
      typeof v === "function"
        ? async (...args: unknown[]) => {
            try {
              return await (v as (...a: unknown[]) => Promise<unknown>)(...args);
            } catch (e) {
              throw storeFailure(store.kind, e);
            }
          }
        : v;
  }
  return out as unknown as Store;
}
