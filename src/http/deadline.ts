// The signal an upstream call runs under: aborted when the client leaves or when the request's deadline passes.
//
// One controller, one timer and one listener per request, all released when the request ends. The obvious
// `AbortSignal.any([request.signal, AbortSignal.timeout(ms)])` keeps a 3-minute timer (and through it the signal
// and its listeners) alive after every finished request: under load that is memory held for minutes.
import { GatewayError } from "../openai/errors.ts";

export interface Deadline {
  signal: AbortSignal;
  /**
   * The stream's first byte went out: from now the limit bounds silence between chunks (not the total), and
   * `maxMs`, when set, bounds the whole stream from now.
   */
  streaming(maxMs?: number): void;
  /** A chunk arrived (cheap: one assignment; the timer reads it when it fires). */
  touch(): void;
  /** Whether the deadline itself fired (the provider was too slow or silent), as opposed to the client leaving. */
  readonly expired: boolean;
  /** Ends the call now with `reason` (a shutdown), unless it already ended. */
  cancel(reason: unknown): void;
  /** The request is over: clears the timer and the client listener (idempotent). */
  release(): void;
}

export function requestDeadline(client: AbortSignal, ms: number): Deadline {
  const ctrl = new AbortController();
  if (client.aborted) {
    ctrl.abort(client.reason);
    return { signal: ctrl.signal, streaming() {}, touch() {}, expired: false, cancel() {}, release() {} };
  }
  let last = 0;
  let flowing = false;
  let endAt = Infinity;
  let expired = false;
  const onClientGone = () => {
    clearTimeout(timer);
    ctrl.abort(client.reason);
  };
  const expire = (reason: unknown) => {
    expired = true;
    client.removeEventListener("abort", onClientGone);
    ctrl.abort(reason);
  };
  const fire = () => {
    if (!flowing) {
      // Same reason as AbortSignal.timeout gives, which classifyFailure reads as the upstream deadline.
      return expire(new DOMException("The operation timed out.", "TimeoutError"));
    }
    const now = performance.now();
    if (now >= endAt) {
      return expire(new GatewayError("upstream_timeout", `The stream reached its maximum duration (server.max_stream_duration_ms).`));
    }
    const silentFor = now - last;
    if (silentFor >= ms) return expire(new GatewayError("upstream_timeout", `The provider's stream sent nothing for ${ms} ms.`));
    // Still flowing: look again when the current silence would reach the limit (or the stream its end).
    timer = setTimeout(fire, Math.min(ms - silentFor, endAt - now));
  };
  let timer = setTimeout(fire, ms);
  client.addEventListener("abort", onClientGone, { once: true });
  return {
    signal: ctrl.signal,
    streaming(maxMs) {
      if (flowing || ctrl.signal.aborted) return;
      flowing = true;
      last = performance.now();
      if (maxMs !== undefined) endAt = last + maxMs;
      clearTimeout(timer);
      timer = setTimeout(fire, Math.min(ms, maxMs ?? ms));
    },
    touch() {
      last = performance.now();
    },
    get expired() {
      return expired;
    },
    cancel(reason) {
      clearTimeout(timer);
      client.removeEventListener("abort", onClientGone);
      if (!ctrl.signal.aborted) ctrl.abort(reason);
    },
    release() {
      clearTimeout(timer);
      client.removeEventListener("abort", onClientGone);
    },
  };
}
