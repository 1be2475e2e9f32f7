// Builds, once at start-up, each model's routing plan: its targets (deployment, provider, shared health), strategy, limits and fallbacks.
import type { Config, ModelConfig } from "../config/schema.ts";
import type { Deployment, Provider } from "../providers/types.ts";
import { TargetHealth, type BreakerPolicy } from "./breaker.ts";
import { ProviderSlots } from "./capacity.ts";
import { NOOP_PROBE, type DeploymentProbe } from "../observability/telemetry.ts";

/** A deployment's attempt counters and span attributes, resolved once here (observability/telemetry.ts). */
export type ProbeFactory = (label: string, provider: string, upstreamModel: string) => DeploymentProbe;

export type Strategy = NonNullable<ModelConfig["strategy"]>;

/** One deployment of one model, ready to call. */
export interface Target {
  /** Position in the model's list: `ordered` follows it, and ties elsewhere fall back to it. */
  index: number;
  /** `provider/upstream_model`: the x-switchboard-deployment header, log lines and the health page. */
  label: string;
  deployment: Deployment;
  provider: Provider;
  weight: number;
  /** The provider's own `timeout_ms`, when set: bounds each attempt on it. */
  attemptTimeoutMs: number | undefined;
  health: TargetHealth;
  /** The provider's max_concurrent, shared by every target on that provider; undefined when unlimited. */
  slots: ProviderSlots | undefined;
  probe: DeploymentProbe;
}

/** What a reload carries into the new plans: breaker state and provider slots, by deployment label and provider name. */
export interface RoutingState {
  health: ReadonlyMap<string, TargetHealth>;
  slots: ReadonlyMap<string, ProviderSlots>;
}

export interface ModelPlan {
  model: ModelConfig;
  targets: Target[];
  strategy: Strategy;
  maxAttempts: number;
  firstByteTimeoutMs: number | undefined;
  /** The fallback models' plans, in order (their own fallbacks are not followed: one level, predictable). */
  fallbacks: string[];
}

export function breakerPolicy(config: Config): BreakerPolicy {
  const r = config.routing;
  return { failures: r.cooldown_failures, windowMs: r.failure_window_ms, cooldownMs: r.cooldown_ms };
}

/**
 * Every model's plan, keyed by id. Targets that name the same provider and upstream model share one TargetHealth,
 * so a deployment's breaker, in-flight count and latency are the same whichever model reaches it.
 */
export function buildPlans(
  config: Config,
  providers: Map<string, Provider>,
  now: () => number,
  probe: ProbeFactory = () => NOOP_PROBE,
  previous?: RoutingState,
): { plans: Map<string, ModelPlan>; health: Map<string, TargetHealth>; slots: Map<string, ProviderSlots> } {
  const health = new Map<string, TargetHealth>();
  const policy = breakerPolicy(config);
  const plans = new Map<string, ModelPlan>();
  const slots = new Map<string, ProviderSlots>();
  for (const [name, pc] of Object.entries(config.providers)) {
    if (pc.max_concurrent === undefined) continue;
    const queueMs = pc.queue_timeout_ms ?? 5000;
    // Unchanged settings keep the slots, and so the count of calls in flight that hold them.
    const kept = previous?.slots.get(name);
    slots.set(name, kept?.sameAs(pc.max_concurrent, queueMs) ? kept : new ProviderSlots(name, pc.max_concurrent, queueMs));
  }
  for (const m of config.models) {
    // The single-provider form is a one-target list, so both forms take the same path.
    const specs = m.targets ?? [{ provider: m.provider!, upstream_model: m.upstream_model, deployment: m.deployment, max_tokens: m.max_tokens, max_output_tokens: m.max_output_tokens, weight: 1 }];
    const targets = specs.map((t, index): Target => {
      const provider = providers.get(t.provider);
      if (!provider) throw new Error(`models: provider '${t.provider}' was not built`);
      const upstreamModel = t.upstream_model ?? m.upstream_model ?? m.id;
      // Providers read per-deployment settings from `d.model`: give them the target's, over the model's.
      const model: ModelConfig = { ...m, provider: t.provider, upstream_model: upstreamModel, max_tokens: t.max_tokens ?? m.max_tokens, max_output_tokens: t.max_output_tokens ?? m.max_output_tokens, deployment: t.deployment ?? m.deployment };
      delete model.targets;
      const label = `${t.provider}/${upstreamModel}`;
      let h = health.get(label);
      if (!h) {
        // A deployment that survives a reload keeps its breaker, errors and latency.
        h = previous?.health.get(label);
        if (h) {
          h.setPolicy(policy);
          h.models.clear();
        } else h = new TargetHealth(label, t.provider, upstreamModel, policy, now);
        health.set(label, h);
      }
      h.models.add(m.id);
      return {
        index,
        label,
        deployment: { provider: t.provider, upstreamModel, model },
        provider,
        weight: t.weight ?? 1,
        attemptTimeoutMs: config.providers[t.provider]?.timeout_ms,
        health: h,
        slots: slots.get(t.provider),
        probe: probe(label, t.provider, upstreamModel),
      };
    });
    plans.set(m.id, {
      model: m,
      targets,
      strategy: m.strategy ?? "weighted",
      maxAttempts: m.max_attempts ?? targets.length + 1,
      firstByteTimeoutMs: m.first_byte_timeout_ms,
      fallbacks: m.fallbacks ?? [],
    });
  }
  return { plans, health, slots };
}
