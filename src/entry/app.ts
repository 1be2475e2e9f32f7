// createApp(config) → the Elysia app: request state and auth first, one error handler, route groups in request order; reload swaps the config's part.
import { Elysia } from "elysia";
import type { Config } from "../config/schema.ts";
import { buildKeyRing, type KeyRing } from "../auth/keys.ts";
import { createLimiter } from "../limits/create.ts";
import type { Limiter } from "../limits/limiter.ts";
import { createStdoutLogger, type Logger } from "../observability/log.ts";
import type { Router, RoutingDeps } from "../routing/router.ts";
import { chatRoutes } from "../protocols/chat/routes.ts";
import { embeddingsRoutes } from "../protocols/embeddings/routes.ts";
import { responsesRoutes } from "../protocols/responses/routes.ts";
import { createResponsesService } from "../protocols/responses/service.ts";
import { ANTHROPIC_ERRORS, messagesRoutes } from "../protocols/messages/routes.ts";
import { createSealKeys, derivedSecret } from "../protocols/shared/seal-keys.ts";
import { modelRoutes } from "../protocols/models/routes.ts";
import { healthRoutes } from "../ops/health.ts";
import { adminRoutes } from "../control/providers-health.ts";
import { docsRoutes } from "../ops/docs.ts";
import { dashboardRoutes } from "../control/dashboard/routes.ts";
import { createSessions, type SessionOptions } from "../http/sessions.ts";
import { pathOf, requestIdFrom, setState, type RequestState } from "../http/request-state.ts";
import { adminKeyOf, requireAdmin, requireKey } from "../http/auth.ts";
import { InFlight } from "../http/inflight.ts";
import { allowedMethods, type AllowedMethods } from "../http/route-table.ts";
import { checkDeclaredLength } from "../http/body.ts";
import { checkHost, hostCheckOf } from "../http/allowed-hosts.ts";

import type { Store } from "../store/store.ts";
import { startControlPlane, type ControlPlane } from "./control-plane.ts";
import { createReloader, nameClash } from "./reload.ts";
import { errorHandler } from "./error-handler.ts";
import type { UsageWriterStats } from "../usage/writer.ts";
import { adminApi } from "../control/admin/routes.ts";
import { keyInfoRoutes } from "../control/key-info.ts";
import { metricsRoutes } from "../ops/metrics.ts";
import { GatewayMetrics } from "../observability/metrics.ts";
import { createTracing } from "../observability/traces.ts";
import { registerSecrets } from "../config/secrets.ts";
import { defaultConfig, loadConfigFile } from "../config/load.ts";
import { buildRuntime, type Runtime, type Shared } from "./runtime.ts";
import type { ReloadResult } from "../control/admin/reload.ts";
import { readyRoutes, type ReadinessCheck } from "../ops/ready.ts";
import pkg from "../../package.json" with { type: "json" };

/** Where Anthropic's Messages API is mounted (below): its failures answer in Anthropic's shape wherever they arise. */
const MESSAGES_PATH = /^(?:\/api)?\/v1\/messages(?:\/|$)/;

export interface AppDeps {
  logger?: Logger;
  limiter?: Limiter;
  now?: () => number;
  /** Routing's clock, backoff sleep and randomness (tests move through cool-downs without waiting). */
  routing?: RoutingDeps;
  /** The control plane's store (keys created at run time, usage, budget spend); without it, none of those. */
  store?: Store;
  /** Dashboard session lifetimes (tests shorten the idle expiry). */
  sessions?: SessionOptions;
  /** How a reload gets the config (default: the file the config came from, with the environment as it is then). */
  loadConfig?: () => Promise<Config>;
}

export interface Gateway {
  app: Elysia;
  /** Starts serving with the gateway's server settings (the CLI and the tests listen the same way). */
  listen(hostname: string, port: number): void;
  keys: KeyRing;
  /** The running config's router (a reload replaces it). */
  readonly router: Router;
  /** The running config. */
  readonly config: Config;
  limiter: Limiter;
  logger: Logger;
  /** Chat requests in flight (a shutdown ends what is left of them when its window is over). */
  inflight: InFlight;
  /** Present when a store is attached. */
  control: ControlPlane | null;
  /** Resolves when the gateway may listen (the store's keys are loaded). */
  ready: Promise<void>;
  metrics: GatewayMetrics;
  /** Exports the spans still queued (before exit); resolves at once without traces. */
  flushTraces(): Promise<void>;
  /**
   * Re-reads the config and swaps it in, or leaves the running one untouched and says why (the start-up's message).
   * Reloads run one at a time.
   */
  reload(): Promise<ReloadResult>;
  close(): Promise<void>;
}

/** Readiness of the usage ledger: events are being written (not refused by the store, not waiting without progress). */
function ledgerFlowing(s: UsageWriterStats): void {
  if (s.flowing) return;
  throw new Error(s.lastError ? `usage events are not being written (${s.lastError.code}: ${s.lastError.message}); ${s.queued} waiting` : `usage events are not being written; ${s.queued} waiting`);
}

export function createApp(config: Config, deps: AppDeps = {}): Gateway {
  const logger = deps.logger ?? createStdoutLogger();
  const keys = buildKeyRing(config);
  const secrets = (c: Config) => registerSecrets([c.metrics.key, c.server.seal_secret, ...Object.values(c.telemetry.headers ?? {})]);
  secrets(config);
  const metrics = new GatewayMetrics({ keyLabels: config.metrics.key_labels, version: pkg.version });
  const tracing = createTracing(config.telemetry, pkg.version, metrics.spansDropped, logger);
  const store = deps.store;
  const limiter = deps.limiter ?? createLimiter(config, { logger, spend: store ? (id, day) => store.spendSince(id, day) : undefined });
  const now = deps.now ?? Date.now;
  const auth = requireKey(keys);
  const inflight = new InFlight();
  // Built in one pass, in dependency order: the control plane (store thread, key sync, usage writer) first, then the
  // config's part of the gateway on top of it — nothing is patched in afterwards.
  const control = store ? startControlPlane(config, store, keys, logger) : null;
  const shared: Shared = { obs: { metrics, tracing }, limiter, logger, now, inflight, routing: deps.routing, sink: control?.writer ?? null };
  // The config's part of the gateway, behind one reference: a request reads it once, a reload replaces it whole.
  const live: { current: Runtime } = { current: buildRuntime(config, shared) };
  if (control) {
    const unpriced = live.current.prices.unpriced();
    if (unpriced.length > 0) logger.info("models without a price: their usage is recorded at $0 and keys with a budget cannot use them; set prices.<model>", { models: unpriced });
    // At start the clash cannot refuse anything (the file is what the operator asked for): it is said, loudly.
    void control.ready.then(() => {
      const clash = nameClash(live.current.config, control.sync.byId());
      if (clash) logger.error("config key clashes with a key created at run time", { error: clash });
    }, () => {});
  }
  const sessions = createSessions({ now, ...deps.sessions });
  // The admin key as the running config has it: a reload that changes it ends the old key and its sessions.
  const adminKey = adminKeyOf(config);
  const admin = requireAdmin(adminKey, sessions);
  // The dashboard reads its settings once, at start.
  const bodyLimit = config.server.body_limit_bytes;
  const hasAdminKey = config.server.admin_key !== undefined || config.server.admin_key_sha256 !== undefined;
  const modelDeps = () => live.current.chat;
  // One sealing secret for every front door, read once (a reload never changes it: sealed tokens must keep opening).
  const seals = createSealKeys({ configured: config.server.seal_secret, store: store ?? null, fallback: () => derivedSecret(config) });
  // Saved Responses API conversations live in the store; their writes go through the control plane's store (on the
  // store thread when there is one), never stalling requests.
  const responses = createResponsesService(control?.store ?? store ?? null, () => live.current.config, logger, seals);
  // Gauges are read when scraped, never updated per request.
  metrics.setSources({ inflight: () => inflight.size, deployments: () => live.current.router.health(), usageQueueDepth: () => control?.writer.stats().queued ?? 0, usageLost: () => control?.writer.stats() ?? { deadLettered: 0, dropped: 0 } });
  const readiness: ReadinessCheck[] = [];
  if (control) {
    // A read and a write: a full disk, a deleted SQLite file or a read-only database answers SELECT 1 happily.
    readiness.push({ name: "store", ping: async () => (await control.store.ping(), await control.store.checkWrite()) });
  }
  const limiterPing = limiter.ping?.bind(limiter);
  if (limiterPing) readiness.push({ name: "redis", ping: limiterPing });
  if (control) readiness.push({ name: "ledger", ping: async () => ledgerFlowing(control.writer.stats()) });

  const reload = createReloader({
    live,
    shared,
    loadConfig: deps.loadConfig ?? (() => (config.source === "built-in default" ? Promise.resolve(defaultConfig()) : loadConfigFile(config.source))),
    keys,
    limiter,
    logger,
    adminKey,
    sessions,
    adminMounted: hasAdminKey,
    storedKeys: control ? () => control.sync.byId() : null,
    secrets,
  });
  // The route list is complete only once the app is assembled: built at the first 404/405, then kept.
  let allowed: AllowedMethods | undefined;
  const allowedOf = (): AllowedMethods => (allowed ??= allowedMethods(app.routes));

  // standardHostname: false — Elysia otherwise finds the path after the 11th character of the URL, which for a Host of
  // 1–3 characters lands inside the path (`http://zz/zz/v1/models` was routed as `/v1/models`).
  const app = new Elysia({ name: "switchboard", handler: { standardHostname: false } })
    .use(docsRoutes({ title: "Switchboard", version: pkg.version, description: "OpenAI-compatible LLM gateway. Every /v1 and /api/v1 route takes `Authorization: Bearer <key>`." }))
    .onRequest(({ request }) => {
      // Only for the log line: authentication is attached to the routes (api/auth.ts), never decided from this path.
      const path = pathOf(request.url);
      const s: RequestState = { id: requestIdFrom(request.headers.get("x-request-id")), start: performance.now(), method: request.method, path, principal: undefined, log: {}, logged: false };
      setState(request, s);
      // Before anything else reads the request: a page on another site reaching this gateway through DNS rebinding
      // sends its own name as Host.
      checkHost(request, hostCheckOf(live.current.config));
      // Any route: a body declared larger than the limit is refused before a byte of it is read (Bun's own limit,
      // far above this one, would answer with a bare 413 and no JSON).
      checkDeclaredLength(request, live.current.config.server.body_limit_bytes);
    })

    .onError(errorHandler({ logger, metrics, limiter, allowed: allowedOf, dialectOf: (path) => (MESSAGES_PATH.test(path) ? ANTHROPIC_ERRORS : undefined) }))
    .use(healthRoutes())
    .use(dashboardRoutes({ config, sessions, bodyLimit, adminKey }))
    .use(readyRoutes(() => readiness, logger))
    .use(metricsRoutes(metrics, () => live.current.config.metrics.key))
    .use(adminRoutes(() => live.current.router, admin))
    // Without an admin key the whole /admin/v1 prefix does not exist (404), rather than answering 401 to everyone.
    .use(control && hasAdminKey ? adminApi(adminDeps(control, { ring: keys, limiter, now, admin, reload }, live)) : new Elysia({ name: "admin.v1.off" }))
    .use(modelRoutes("/v1", () => live.current.config, limiter, auth))
    .use(modelRoutes("/api/v1", () => live.current.config, limiter, auth))
    .use(keyInfoRoutes("/v1", { auth, sync: control?.sync ?? null, limiter, now }))
    .use(keyInfoRoutes("/api/v1", { auth, sync: control?.sync ?? null, limiter, now }))
    .use(chatRoutes("/v1", modelDeps, auth))
    .use(chatRoutes("/api/v1", modelDeps, auth))
    .use(embeddingsRoutes("/v1", modelDeps, auth))
    .use(embeddingsRoutes("/api/v1", modelDeps, auth))
    .use(responsesRoutes("/v1", modelDeps, auth, responses))
    .use(responsesRoutes("/api/v1", modelDeps, auth, responses))
    .use(messagesRoutes("/v1", modelDeps, keys, seals))
    .use(messagesRoutes("/api/v1", modelDeps, keys, seals));

  const listen = (hostname: string, port: number) =>
    void app.listen({
      hostname,
      port,
      // .listen() would otherwise share the port silently with another instance.
      reusePort: false,
      idleTimeout: config.server.idle_timeout_s,
      // Bun answers a body over this with a bare 413 (no JSON, no request id, no log line). The gateway enforces its
      // own limit on every route before reading (api/body.ts), so Bun's must never be the one that applies.
      maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    });
  const close = async () => {
    // Queued usage events are written before the limiter goes (their spend is already counted there).
    responses.close();
    await control?.close();
    await limiter.close();
    await tracing?.shutdown();
  };
  const flushTraces = async () => void (await tracing?.flush());
  return {
    app: app as unknown as Elysia,
    listen,
    inflight,
    keys,
    get router() {
      return live.current.router;
    },
    get config() {
      return live.current.config;
    },
    limiter,
    logger,
    control,
    ready: control?.ready ?? Promise.resolve(),
    metrics,
    flushTraces,
    reload,
    close,
  };
}

/** The admin API's deps: the running config and prices are read per request, so a reload reaches them too. */
function adminDeps(control: ControlPlane, fixed: { ring: KeyRing; limiter: Limiter; now: () => number; admin: ReturnType<typeof requireAdmin>; reload: () => Promise<ReloadResult> }, live: { current: Runtime }) {
  return {
    ...fixed,
    store: control.store,
    sync: control.sync,
    get config() {
      return live.current.config;
    },
    get prices() {
      return live.current.prices;
    },
  };
}
