// The Responses API's long-lived parts: the store its conversations live in, the sealer, the retention pruner.
import type { Config } from "../../config/schema.ts";
import type { Logger } from "../../observability/log.ts";
import type { Store } from "../../store/store.ts";
import type { Sealer } from "./seal.ts";
import { loadSealer, startResponsePruner, type Pruner } from "./state.ts";

export interface ResponsesService {
  /** Where responses are saved; null without a store (then nothing is saved and previous_response_id finds nothing). */
  readonly store: Store | null;
  /** The deployment's sealer (made once: the configured secret, or the store's), or null without either. */
  sealer(): Promise<Sealer | null>;
  close(): void;
}

/**
 * Built once per gateway. The seal secret is read at start (a reload does not change it: tokens already handed out
 * must keep opening); pruning follows the running config's `responses.retention_days`.
 */
export function createResponsesService(store: Store | null, config: () => Config, logger: Logger): ResponsesService {
  let sealer: Promise<Sealer | null> | undefined;
  const pruner: Pruner | null = store
    ? startResponsePruner(
        store,
        () => config().responses.retention_days,
        (e) => logger.error("responses pruning failed", { error: e instanceof Error ? e.message : String(e) }),
        (n) => logger.info("saved responses pruned", { removed: n, retention_days: config().responses.retention_days }),
      )
    : null;
  void pruner?.run();
  return {
    store,
    sealer() {
      // A failed load (the store briefly down) is not kept: the next request tries again.
      sealer ??= loadSealer(config().responses.seal_secret, store ?? undefined).catch((e: unknown) => {
        sealer = undefined;
        throw e;
      });
      return sealer;
    },
    close: () => pruner?.stop(),
  };
}
