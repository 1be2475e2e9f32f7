// The per-config part of the gateway (router, prices, metric series, the model routes' deps) built as one value, so a reload swaps it whole.
import type { ModelDeps } from "../pipeline/deps.ts";
import type { InFlight } from "../http/inflight.ts";
import { checkModelParams } from "../pipeline/model-params.ts";
import type { Config } from "../config/schema.ts";
import { buildPriceTable, type PriceTable } from "../costs/prices.ts";
import type { Limiter } from "../limits/limiter.ts";
import type { Logger } from "../observability/log.ts";
import { ConfigTelemetry, type Observability } from "../observability/telemetry.ts";
import { buildProviders } from "../providers/registry.ts";
import { buildRouter, type Router, type RoutingDeps } from "../routing/router.ts";
import type { UsageSink } from "../pipeline/usage-record.ts";

/** What every config shares: the process's limiter, logger, metrics and tracer, requests in flight, the usage queue. */
export interface Shared {
  obs: Observability;
  limiter: Limiter;
  logger: Logger;
  now: () => number;
  inflight: InFlight;
  routing?: RoutingDeps;
  sink: UsageSink | null;
}

export interface Runtime {
  readonly config: Config;
  readonly router: Router;
  readonly prices: PriceTable;
  readonly telemetry: ConfigTelemetry;
  /** What the model routes run on: a request reads it once and keeps it to its end. */
  readonly chat: ModelDeps;
}

/**
 * Builds everything one config needs, or throws (a ConfigError names the field) before anything is swapped. From the
 * previous runtime it keeps each deployment's breaker and each provider's slots that still exist.
 */
export function buildRuntime(config: Config, shared: Shared, previous?: Runtime): Runtime {
  // A model's default params that no request could carry fail here, at start-up and at reload alike.
  checkModelParams(config);
  const telemetry = new ConfigTelemetry(shared.obs, config);
  const probe = (label: string, provider: string, upstream: string) => telemetry.probe(label, provider, upstream);
  const router = buildRouter(config, buildProviders(config), { ...shared.routing, probe }, previous?.router);
  const prices = buildPriceTable(config);
  const chat: ModelDeps = {
    config,
    router,
    limiter: shared.limiter,
    logger: shared.logger,
    now: shared.now,
    inflight: shared.inflight,
    accounting: { prices, sink: shared.sink },
    telemetry,
  };
  return { config, router, prices, telemetry, chat };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** `+added -removed ~changed` between two id → entry maps; empty when equal. */
function delta<T>(before: Map<string, T>, after: Map<string, T>): string {
  const out: string[] = [];
  for (const id of after.keys()) if (!before.has(id)) out.push(`+${id}`);
  for (const id of before.keys()) if (!after.has(id)) out.push(`-${id}`);
  for (const [id, v] of after) if (before.has(id) && !same(before.get(id), v)) out.push(`~${id}`);
  return out.join(" ");
}

/** Settings read once when the process starts: a reload that changes them says so instead of pretending. */
// server.admin_key is not among them: a reload applies a new admin key at once and ends the old one and its sessions.
const AT_START = ["server.host", "server.port", "server.idle_timeout_s", "server.seal_secret", "rate_limit.store", "rate_limit.redis_url", "rate_limit.on_store_error", "rate_limit.store_timeout_ms", "store", "usage", "metrics.key_labels", "telemetry"];

const at = (c: Config, path: string): unknown => path.split(".").reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], c);

/** A one-line account of what a reload changed (never a secret: keys by name, sections by name). */
export function describeChanges(before: Config, after: Config): { summary: string; restartNeeded: string[] } {
  const parts: string[] = [];
  const add = (name: string, d: string) => d && parts.push(`${name} ${d}`);
  add("models", delta(new Map(before.models.map((m) => [m.id, m])), new Map(after.models.map((m) => [m.id, m]))));
  add("providers", delta(new Map(Object.entries(before.providers)), new Map(Object.entries(after.providers))));
  add("keys", delta(new Map(before.keys.map((k) => [k.name, k])), new Map(after.keys.map((k) => [k.name, k]))));
  add("prices", delta(new Map(Object.entries(before.prices)), new Map(Object.entries(after.prices))));
  for (const section of ["routing", "rate_limit.defaults", "rate_limit.default_completion_tokens", "metrics.key"]) {
    if (!same(at(before, section), at(after, section))) parts.push(section);
  }
  const server = Object.keys({ ...before.server, ...after.server }).filter((k) => !AT_START.includes(`server.${k}`) && !same(at(before, `server.${k}`), at(after, `server.${k}`)));
  if (server.length) parts.push(`server.{${server.join(",")}}`);
  const restartNeeded = AT_START.filter((p) => !same(at(before, p), at(after, p)));
  return { summary: parts.length ? parts.join("; ") : "no changes", restartNeeded };
}
