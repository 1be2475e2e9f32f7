// What every model route runs on: the running config's router, limits, accounting and telemetry (a reload swaps it whole).
import type { Config } from "../config/schema.ts";
import type { Limiter } from "../limits/limiter.ts";
import type { Logger } from "../observability/log.ts";
import type { ConfigTelemetry } from "../observability/telemetry.ts";
import type { Router } from "../routing/router.ts";
import type { InFlight } from "../http/inflight.ts";
import type { Accounting } from "./usage-record.ts";

export interface ModelDeps {
  config: Config;
  router: Router;
  limiter: Limiter;
  logger: Logger;
  now: () => number;
  /** Requests in flight, ended with an answer when a shutdown's drain window runs out. */
  inflight: InFlight;
  /** Prices, budgets and usage events (absent: none of them). */
  accounting?: Accounting;
  /** The config's metric series and span names. */
  telemetry: ConfigTelemetry;
}
