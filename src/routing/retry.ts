// Retry mechanics: jittered exponential backoff, an abortable sleep, and the failure an early error event stands for.
import { GatewayError, upstreamFailed } from "../openai/errors.ts";
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
