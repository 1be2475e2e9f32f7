// Model id → deployments, built at start-up; dispatch with retries and fallbacks only before the first byte, within the deadline.
import type { Config, ModelConfig } from "../config/schema.ts";
import type { CallContext, Deployment, Provider } from "../providers/types.ts";
import type { TargetStatus } from "./breaker.ts";
import { dispatch, streamCall, wholeCall, type DispatchDeps, type DispatchObservers, type OpenedStream, type Routed, type RoutingLog, type Upstream } from "./dispatch.ts";
import { buildPlans, type ModelPlan, type ProbeFactory, type RoutingState } from "./plan.ts";
import { realSleep, type Sleep } from "./retry.ts";

export type { DispatchObservers, OpenedStream, Routed, RoutingLog, RoutingLogFields, Upstream } from "./dispatch.ts";
export type { TargetStatus } from "./breaker.ts";

/** Response header naming the deployment that answered (`provider/upstream_model`). */
export const DEPLOYMENT_HEADER = "x-switchboard-deployment";

export interface Route {
  model: ModelConfig;
  /** The model's first deployment (what answers when nothing fails); the one used is in the dispatch result. */
  deployment: Deployment;
  provider: Provider;
  /** The request's overall upstream deadline (see overallTimeout). */
  timeoutMs: number;
}

/** Injectable for tests: the breaker clock, the backoff sleep and the jitter/weighted-choice randomness. */
export interface RoutingDeps {
  now?: () => number;
  sleep?: Sleep;
  random?: () => number;
  /** Each deployment's attempt counters and span attributes (observability); none without it. */
  probe?: ProbeFactory;
}

export interface Router {
  /** The route for a public model id, or undefined when no such model is configured. */
  resolve(modelId: string): Route | undefined;
  /** Every configured model, in config order. */
  models(): readonly ModelConfig[];
  /**
   * A whole answer (JSON completion, embeddings, a native JSON answer) from the first deployment (of the model, then
   * of its fallbacks) that gives one; `upstream` is asked of each deployment tried.
   */
  whole<T>(route: Route, ctx: CallContext, upstream: Upstream<T>, obs?: DispatchObservers): Promise<Routed<T>>;
  /** A byte stream, committed once its first chunk arrived; after that, failures end the stream with an error event. */
  stream(route: Route, ctx: CallContext, upstream: Upstream<ReadableStream<Uint8Array>>, obs?: DispatchObservers): Promise<Routed<OpenedStream>>;
  /** Every deployment a request for the route may reach: the model's targets, then its fallbacks' (budgets bound them all). */
  reachable(route: Route): readonly { provider: Provider; deployment: Deployment }[];
  /** Every deployment's breaker state, error counts and latency, for GET /health/providers. */
  health(): TargetStatus[];
  /** Breaker state and provider slots, for the router a reload builds. */
  state(): RoutingState;
}

/**
 * A single-provider model without fallbacks keeps the contract's behaviour: its provider's `timeout_ms` is the
 * whole limit. With several targets or fallbacks the server's limit is the deadline and provider limits bound attempts.
 */
function overallTimeout(config: Config, plan: ModelPlan): number {
  const single = plan.targets.length === 1 && plan.fallbacks.length === 0;
  return (single ? plan.targets[0]!.attemptTimeoutMs : undefined) ?? config.server.upstream_timeout_ms;
}

const unobserved: DispatchObservers = { log: () => {} };

export function buildRouter(config: Config, providers: Map<string, Provider>, deps: RoutingDeps = {}, previous?: Router): Router {
  const now = deps.now ?? Date.now;
  const { plans, health, slots } = buildPlans(config, providers, now, deps.probe, previous?.state());
  const routes = new Map<string, Route>();
  for (const [id, plan] of plans) {
    const first = plan.targets[0]!;
    routes.set(id, { model: plan.model, deployment: first.deployment, provider: first.provider, timeoutMs: overallTimeout(config, plan) });
  }
  const r = config.routing;
  const d: DispatchDeps = {
    plans,
    retry: { baseMs: r.backoff_base_ms, maxMs: r.backoff_max_ms, retryAfterCapMs: r.retry_after_cap_ms },
    sleep: deps.sleep ?? realSleep,
    random: deps.random ?? Math.random,
  };
  const planOf = (route: Route) => plans.get(route.model.id)!;
  const reach = new Map([...plans].map(([id, plan]) => [id, [plan, ...plan.fallbacks.map((f) => plans.get(f)).filter((p): p is ModelPlan => p !== undefined)].flatMap((p) => p.targets)]));
  return {
    resolve: (id) => routes.get(id),
    models: () => config.models,
    whole: (route, ctx, upstream, obs = unobserved) => dispatch(d, planOf(route), ctx, wholeCall(upstream), obs),
    stream: (route, ctx, upstream, obs = unobserved) => dispatch(d, planOf(route), ctx, streamCall(upstream), obs),
    reachable: (route) => reach.get(route.model.id) ?? [],
    health: () => [...health.values()].map((h) => h.status()),
    state: () => ({ health, slots }),
  };
}
