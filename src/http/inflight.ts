// The chat requests in flight, each with a way to end it with an answer: what a shutdown does at the end of its window.
import { GatewayError } from "../openai/errors.ts";

/** The gateway is stopping and its drain window is over: 503 before the first byte, an error event after it. */
export const shuttingDown = () =>
  new GatewayError("shutting_down", "The gateway is shutting down; this request was still in flight when its drain window ended. Retry.", { retryAfter: 1 });

export type Cut = (reason: GatewayError) => void;

export class InFlight {
  private readonly open = new Set<Cut>();

  /** Registers a request's cut; call the returned function once it has ended (cheap: one Set add and delete). */
  add(cut: Cut): () => void {
    this.open.add(cut);
    return () => void this.open.delete(cut);
  }

  get size(): number {
    return this.open.size;
  }

  /** Ends every request still in flight with `reason`; returns how many there were. */
  cutAll(reason: GatewayError = shuttingDown()): number {
    const cuts = [...this.open];
    this.open.clear();
    for (const cut of cuts) cut(reason);
    return cuts.length;
  }
}
