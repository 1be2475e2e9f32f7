// Builds the configured limiter (rate_limit.store) once at start.
import type { Config } from "../config/schema.ts";
import type { Logger } from "../observability/log.ts";
import type { Limiter, SpendSource } from "./limiter.ts";
import { createMemoryLimiter } from "./memory-store.ts";
import { createRedisLimiter } from "./redis-store.ts";
import { configMetersTokens, loadTokenizer } from "./estimate.ts";

/**
 * A concurrency slot in Redis is a lease: released when the request ends, or reclaimed when the lease runs out
 * because the instance holding it died. Every request is bounded by its upstream deadline (the signal aborts
 * streams too), so the longest deadline plus a minute of slack never cuts a live request short.
 */
export function slotLeaseMs(config: Config): number {
  const deadlines = [config.server.upstream_timeout_ms, ...Object.values(config.providers).map((p) => p.timeout_ms ?? 0)];
  return Math.max(...deadlines) + 60_000;
}

/** `spend` recovers a budget window's spend from the store (at start-up, in a new window, after Redis lost it). */
export function createLimiter(config: Config, deps: { logger: Logger; spend?: SpendSource }): Limiter {
  const rl = config.rate_limit;
  if (configMetersTokens(config)) loadTokenizer();
  if (rl.store === "redis") {
    return createRedisLimiter({
      // load.ts refuses store: redis without redis_url.
      url: rl.redis_url!,
      timeoutMs: rl.store_timeout_ms,
      onStoreError: rl.on_store_error,
      leaseMs: slotLeaseMs(config),
      defaults: rl.defaults,
      logger: deps.logger,
      spend: deps.spend,
    });
  }
  return createMemoryLimiter({ defaults: rl.defaults, spend: deps.spend });
}
