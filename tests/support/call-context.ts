// A CallContext for calling a provider directly (native Messages methods, translators' wiring) without the gateway around it.
import { newMeter } from "../../src/providers/meter.ts";
import type { CallContext, Deployment } from "../../src/providers/types.ts";

export function callContext(over: Partial<CallContext> = {}): CallContext & { notes: string[] } {
  const notes: string[] = [];
  return { requestId: "req-direct-1", publicModel: "public-model", signal: new AbortController().signal, timeoutMs: 30_000, now: Date.now, meter: newMeter(), warn: (m) => void notes.push(m), notes, ...over };
}

/** What a promise rejects with; fails the test when it resolves. */
export const rejection = <T = Error & Record<string, any>>(p: Promise<unknown>): Promise<T> =>
  p.then(
    () => {
      throw new Error("expected a failure");
    },
    (e: unknown) => e as T,
  );

export const deployment = (provider: string, upstreamModel: string): Deployment => ({ provider, upstreamModel, model: { id: "public-model", provider } });

/** Splits Anthropic SSE text into its events: [event name, parsed data]. */
export function anthropicEvents(text: string): [string, Record<string, any>][] {
  return text
    .split(/\r?\n\r?\n/)
    .filter((b) => b.trim() !== "")
    .map((b) => {
      const event = /^event: (.*)$/m.exec(b)?.[1] ?? "";
      const data = b.split(/\r?\n/).filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
      return [event, JSON.parse(data) as Record<string, any>];
    });
}
