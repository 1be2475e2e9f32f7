// The signal an upstream call runs under: aborted when the client leaves or when the request's deadline passes.
//
// One controller, one timer and one listener per request, all released when the request ends. The obvious
// `AbortSignal.any([request.signal, AbortSignal.timeout(ms)])` keeps a 3-minute timer (and through it the signal
// and its listeners) alive after every finished request: under load that is memory held for minutes.

export interface Deadline {
  signal: AbortSignal;
  /** The request is over: clears the timer and the client listener (idempotent). */
  release(): void;
}

export function requestDeadline(client: AbortSignal, ms: number): Deadline {
  const ctrl = new AbortController();
  if (client.aborted) {
    ctrl.abort(client.reason);
    return { signal: ctrl.signal, release() {} };
  }
  const onClientGone = () => {
    clearTimeout(timer);
    ctrl.abort(client.reason);
  };
  // Same reason as AbortSignal.timeout gives, which classifyFailure reads as the upstream deadline.
  const timer = setTimeout(() => {
    client.removeEventListener("abort", onClientGone);
    ctrl.abort(new DOMException("The operation timed out.", "TimeoutError"));
  }, ms);
  client.addEventListener("abort", onClientGone, { once: true });
  return {
    signal: ctrl.signal,
    release() {
      clearTimeout(timer);
      client.removeEventListener("abort", onClientGone);
    },
  };
}
