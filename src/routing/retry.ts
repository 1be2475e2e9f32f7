// Retry mechanics: jittered exponential backoff, an abortable sleep, and the per-attempt signal (first-byte and attempt timers).
import { GatewayError, upstreamFailed } from "../openai/errors.ts";
import type { CallContext } from "../providers/types.ts";
import { parseJsonSafe } from "../providers/http.ts";

export interface RetryPolicy {
  baseMs: number;
  maxMs: number;
  /** A Retry-After longer than this is not waited out: the target is skipped for the rest of the request. */
  retryAfterCapMs: number;
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts (a client leaving stops a backoff at once). */
export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

export const realSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });

/**
 * Delay before the n-th retry (1-based) of a deployment that already failed in this request. "Equal jitter":
 * half the exponential step is fixed so retries never hammer, half is random so gateways do not retry in lockstep.
 */
export function backoffMs(n: number, policy: RetryPolicy, random: () => number): number {
  const step = Math.min(policy.maxMs, policy.baseMs * 2 ** (n - 1));
  return step / 2 + (random() * step) / 2;
}

/** One attempt's context: the request's signal plus this attempt's own timers, and the cleanup of both. */
export interface Attempt {
  ctx: CallContext;
  /** The first chunk arrived: the attempt's timers (first byte, whole attempt) no longer apply. */
  firstByte(): void;
  /** The attempt is over: clears every timer it set. */
  dispose(): void;
}

/**
 * Each attempt gets its own AbortSignal: aborted by the request's (client gone, overall deadline) and by its own
 * timers, whose reason is a retryable timeout, so a slow deployment fails over instead of ending the request.
 */
export function startAttempt(base: CallContext, firstByteMs: number | undefined, attemptMs: number | undefined, release?: () => void): Attempt {
  // Frees the provider slot the attempt holds (max_concurrent) exactly once, however often dispose is called.
  let held = release;
  const free = () => {
    if (held) {
      const r = held;
      held = undefined;
      r();
    }
  };
  // No timers of its own (the common case): the request's signal is the attempt's, with nothing to set up or clear.
  if (firstByteMs === undefined && attemptMs === undefined) return { ctx: base, firstByte() {}, dispose: release ? free : () => {} };
  const ctrl = new AbortController();
  const arm = (ms: number | undefined, what: string) =>
    ms === undefined ? undefined : setTimeout(() => ctrl.abort(new GatewayError("upstream_timeout", `The provider ${what} within ${ms} ms.`, { retryable: true })), ms);
  let fb = arm(firstByteMs, "sent no first byte");
  let whole = arm(attemptMs, "did not answer");
  return {
    ctx: { ...base, signal: AbortSignal.any([base.signal, ctrl.signal]) },
    firstByte() {
      // An attempt's limits bound waiting for it to start; a stream that flows is bounded by the request's idle limit.
      clearTimeout(fb);
      clearTimeout(whole);
      fb = undefined;
      whole = undefined;
    },
    dispose() {
      clearTimeout(fb);
      clearTimeout(whole);
      free();
    },
  };
}

const RETRYABLE_EVENT_TYPES = new Set(["upstream_error", "timeout_error", "rate_limit_error", "server_error", "overloaded_error", "api_error"]);

/**
 * A stream whose first event is already an error (a provider that answers 200 and then reports overload) has sent
 * the client nothing yet, so it can still fail over. Rebuilds the failure from the encoded OpenAI error event.
 */
export function failureFromErrorEvent(bytes: Uint8Array): GatewayError {
  const text = new TextDecoder().decode(bytes).trim();
  const body = parseJsonSafe(text.startsWith("data:") ? text.slice(5).trim() : text);
  const e = body && typeof body === "object" ? (body as { error?: { message?: unknown; type?: unknown } }).error : undefined;
  const message = typeof e?.message === "string" ? e.message : "The provider's stream failed before its first chunk.";
  const type = typeof e?.type === "string" ? e.type : "upstream_error";
  if (type === "timeout_error") return new GatewayError("upstream_timeout", message, { retryable: true });
  return upstreamFailed(message, { retryable: RETRYABLE_EVENT_TYPES.has(type) });
}
