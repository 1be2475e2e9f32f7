// The Responses API's long-lived parts: the store its conversations live in, the sealer, the retention pruner.
import type { Config } from "../../config/schema.ts";
import type { Logger } from "../../observability/log.ts";
import type { Store } from "../../store/store.ts";
import type { Sealer } from "../shared/seal.ts";
import type { SealKeys } from "../shared/seal-keys.ts";
import { SEAL_PURPOSE, startResponsePruner, type Pruner } from "./state.ts";

export interface ResponsesService {
  /** Where responses are saved; null without a store (then nothing is saved and previous_response_id finds nothing). */
  readonly store: Store | null;
  /** The deployment's sealer for reasoning (made once: the configured secret, or the store's). */
  sealer(): Promise<Sealer>;
  close(): void;
}

/**
 * Built once per gateway, on the deployment's seal keys (protocols/shared/seal-keys.ts); pruning follows the running
 * config's `responses.retention_days`.
 */
export function createResponsesService(store: Store | null, config: () => Config, logger: Logger, seals: SealKeys): ResponsesService {
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
    sealer: () => seals.sealer(SEAL_PURPOSE),
    close: () => pruner?.stop(),
  };
}
