// The attempt loop: pick a target, call it, retry or fail over on retryable failures, fall back to other models — all before the first byte.
import type { AttemptFailure, RequestLogLine } from "../observability/log.ts";
import { GatewayError, upstreamFailed } from "../openai/errors.ts";
import type { AttemptTracer } from "../observability/telemetry.ts";
import { classifyFailure, directReader } from "../providers/http.ts";
import type { CallContext, Deployment, Provider } from "../providers/types.ts";
import { AttemptRecord } from "./attempt.ts";
import type { ModelPlan, Target } from "./plan.ts";
import { backoffMs, failureFromErrorEvent, type RetryPolicy, type Sleep } from "./retry.ts";
import { pick } from "./strategy.ts";

export interface DispatchDeps {
  plans: Map<string, ModelPlan>;
  retry: RetryPolicy;
  sleep: Sleep;
  random: () => number;
}

/** What routing adds to the request's log line; called after every attempt so a failed request is logged with them too. */
export type RoutingLogFields = Pick<RequestLogLine, "provider" | "upstream_model" | "attempts" | "retries" | "fallback_from" | "fallback_model">;
export type RoutingLog = (fields: RoutingLogFields) => void;

/** A provider's answer and the deployment that gave it. */
export interface Routed<T> {
  result: T;
  deployment: Deployment;
  /** `provider/upstream_model`, for the x-switchboard-deployment header. */
  label: string;
}

/** What a model route asks of one deployment: the provider, the deployment and the attempt's context. */
export type Upstream<T> = (provider: Provider, deployment: Deployment, ctx: CallContext) => Promise<T>;

/** Calls one target within its attempt record; on success the record is committed (and, for a whole answer, ended). */
export type Call<T> = (t: Target, a: AttemptRecord) => Promise<T>;

/** A call whose answer arrives whole (a JSON completion, embeddings, a native JSON answer): the attempt ends with it. */
export const wholeCall =
  <T>(upstream: Upstream<T>): Call<T> =>
  async (t, a) => {
    const result = await upstream(t.provider, t.deployment, a.ctx);
    a.end("answered");
    return result;
  };

/** The part of a stream reader the forwarding loop uses (Bun's and the DOM's reader types differ in extras). */
export interface ChunkReader {
  read(): Promise<{ done: boolean; value?: Uint8Array }>;
  cancel(reason?: unknown): Promise<void>;
}

/**
 * A provider stream whose first chunk has arrived: the attempt is committed. The caller forwards `first`, then reads
 * `reader`, and calls `finish` once when the stream is over — one stream layer fewer than wrapping it here.
 */
export interface OpenedStream {
  first: Uint8Array;
  reader: ChunkReader;
  /** How the stream ended (idempotent): for the deployment's in-flight count and its breaker. */
  finish(failed: boolean): void;
}

/**
 * Opens the stream and waits for its first chunk before committing: until a byte is on its way to the client, a
 * hang (first_byte_timeout_ms), an early end or an error event still fails over. After that the stream is the client's.
 */
export const streamCall =
  (upstream: Upstream<ReadableStream<Uint8Array>>): Call<OpenedStream> =>
  async (t, a) => {
    const body = await upstream(t.provider, t.deployment, a.ctx);
    // A provider's own pull source when it offers one (its stream is then never read as a stream).
    const reader: ChunkReader = directReader(body) ?? body.getReader();
    const first = await reader.read().catch((err: unknown) => {
      reader.cancel().catch(() => {});
      throw classifyFailure(err, a.ctx);
    });
    if (first.done || !first.value || a.ctx.meter.failed) {
      reader.cancel().catch(() => {});
      if (a.ctx.signal.aborted) throw classifyFailure(a.ctx.signal.reason, a.ctx);
      throw first.done || !first.value ? upstreamFailed("The provider's stream ended before its first chunk.") : (a.ctx.meter.failure ?? failureFromErrorEvent(first.value));
    }
    a.commit();
    return {
      first: first.value,
      reader,
      // A break after the first byte is not retried, but it is the deployment's failure all the same.
      finish: (failed) => a.end(failed ? "broke" : "answered"),
    };
  };

const throwIfStopped = (ctx: CallContext) => {
  if (ctx.signal.aborted) throw classifyFailure(ctx.signal.reason, ctx);
};

/** How a dispatch is observed: its routing fields for the log line, and its attempt spans (traces on). */
export interface DispatchObservers {
  log: RoutingLog;
  tracer?: AttemptTracer;
}

/**
 * Tries the model's targets by its strategy, then each fallback model's, within `ctx.timeoutMs` overall. A target that
 * failed in this request is retried only after a backoff (or its Retry-After); a fresh target or fallback is tried at once.
 * Non-retryable failures (a 400) and a client leaving end the loop immediately.
 */
export async function dispatch<T>(deps: DispatchDeps, plan: ModelPlan, ctx: CallContext, call: Call<T>, obs: DispatchObservers): Promise<Routed<T>> {
  // A retryable failure's counter is known only by what follows it: another attempt on the model (retry), on a
  // fallback model (fallback), or none — a failure, counted here once the loop has given up.
  const pending: PendingFailure = { record: undefined, mi: 0 };
  try {
    return await attempts(deps, plan, ctx, call, obs, pending);
  } finally {
    pending.record?.later("failure");
  }
}

/** The last retryable failure, until the next attempt tells whether it was retried or fallen back from. */
interface PendingFailure {
  record: AttemptRecord | undefined;
  /** Its model's place in the fallback chain. */
  mi: number;
}

/** The outcome a failed attempt's error stands for (the request's own signal decides first: deadline or client gone). */
function outcomeOf(err: unknown, a: AttemptRecord, ctx: CallContext): { outcome: "bug" | "timeout" | "client_gone" | "refused" | "retryable"; error: GatewayError | unknown } {
  // Not a provider failure: network and provider errors arrive typed (providers/http.ts), so this is the gateway's own
  // bug (a translation that threw). It must not count against the deployment, nor be retried onto the next one.
  if (!(err instanceof GatewayError) && !a.ctx.signal.aborted) return { outcome: "bug", error: err };
  if (ctx.signal.aborted) {
    const stop = classifyFailure(ctx.signal.reason, ctx);
    // A deployment that used up the whole deadline counts against it; a client leaving does not.
    return { outcome: stop.kind === "upstream_timeout" ? "timeout" : "client_gone", error: stop };
  }
  const g = classifyFailure(err, a.ctx);
  return { outcome: g.retryable ? "retryable" : "refused", error: g };
}

async function attempts<T>(deps: DispatchDeps, plan: ModelPlan, ctx: CallContext, call: Call<T>, obs: DispatchObservers, pending: PendingFailure): Promise<Routed<T>> {
  const deadlineAt = performance.now() + ctx.timeoutMs;
  const retries: AttemptFailure[] = [];
  const fields: RoutingLogFields = { attempts: 0 };
  let lastErr: GatewayError | undefined;
  const chain = [plan, ...plan.fallbacks.map((id) => deps.plans.get(id)).filter((p): p is ModelPlan => p !== undefined)];
  const log = obs.log;
  log(fields);

  for (let mi = 0; mi < chain.length; mi++) {
    const p = chain[mi]!;
    if (mi > 0) {
      fields.fallback_from = chain[mi - 1]!.model.id;
      fields.fallback_model = p.model.id;
      log(fields);
    }
    const failed = new Map<Target, { retryAfterMs: number | undefined }>();
    const skip = new Set<Target>();
    let retryNo = 0;
    for (let used = 0; used < p.maxAttempts; used++) {
      throwIfStopped(ctx);
      const open = p.targets.filter((t) => !skip.has(t) && t.health.available());
      const fresh = open.filter((t) => !failed.has(t));
      const target = pick(p.strategy, fresh.length > 0 ? fresh : open, deps.random);
      if (!target) break;
      const prior = failed.get(target);
      if (prior) {
        const delay = Math.max(backoffMs(++retryNo, deps.retry, deps.random), prior.retryAfterMs ?? 0);
        // No sleeping past the deadline: a wait that cannot end in time hands over to the fallbacks now.
        if (performance.now() + delay >= deadlineAt) break;
        try {
          await deps.sleep(delay, ctx.signal);
        } catch (err) {
          throw classifyFailure(err, ctx);
        }
        throwIfStopped(ctx);
        // Other requests may have opened its breaker meanwhile.
        if (!target.health.available()) continue;
      }

      if (target.slots) {
        try {
          const wait = target.slots.acquire(ctx.signal);
          if (wait) await wait;
        } catch (err) {
          if (!(err instanceof GatewayError) || err.kind !== "provider_busy") throw classifyFailure(err, ctx);
          // The gateway's own limit, not the deployment's failure: no breaker, no backoff; another target may have room.
          skip.add(target);
          lastErr = err;
          continue;
        }
      }
      const remaining = deadlineAt - performance.now();
      // The provider's own timeout only bounds an attempt when it ends before the request's deadline does.
      const attemptMs = target.attemptTimeoutMs !== undefined && target.attemptTimeoutMs < remaining ? target.attemptTimeoutMs : undefined;
      if (pending.record) {
        pending.record.later(pending.mi === mi ? "retry" : "fallback");
        pending.record = undefined;
      }
      const a = new AttemptRecord(target, ctx, obs.tracer, p.firstByteTimeoutMs, attemptMs);
      fields.attempts = (fields.attempts ?? 0) + 1;
      fields.provider = target.deployment.provider;
      fields.upstream_model = target.deployment.upstreamModel;
      log(fields);
      const t0 = performance.now();
      try {
        const result = await call(target, a);
        return { result, deployment: target.deployment, label: target.label };
      } catch (err) {
        const { outcome, error } = outcomeOf(err, a, ctx);
        a.end(outcome, error);
        if (outcome === "bug") throw err;
        const g = error as GatewayError;
        if (outcome === "timeout" || outcome === "client_gone") throw g;
        retries.push({ deployment: target.label, model: p.model.id, error: `${g.kind}: ${g.message}`, ms: Math.round(performance.now() - t0) });
        fields.retries = retries;
        log(fields);
        if (outcome === "refused") throw g;
        lastErr = g;
        const retryAfterMs = g.init.retryAfter === undefined ? undefined : g.init.retryAfter * 1000;
        if (retryAfterMs !== undefined && retryAfterMs > deps.retry.retryAfterCapMs) skip.add(target);
        failed.set(target, { retryAfterMs });
        pending.record = a;
        pending.mi = mi;
      }
    }
  }
  throw lastErr ?? allCoolingDown(chain);
}

/** Every deployment is out of rotation: one fast failure that says when to come back, instead of a timeout. */
function allCoolingDown(chain: ModelPlan[]): GatewayError {
  const waits = chain.flatMap((p) => p.targets.map((t) => t.health.waitMs())).filter((ms) => ms > 0);
  const retryAfter = waits.length > 0 ? Math.max(1, Math.ceil(Math.min(...waits) / 1000)) : 1;
  return upstreamFailed(`Every deployment of the model '${chain[0]!.model.id}' is cooling down after repeated failures; retry in ${retryAfter} s.`, {
    retryAfter,
  });
}
