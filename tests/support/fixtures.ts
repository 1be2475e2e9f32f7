// Helpers shared by the translator and fixture-server tests: recorded events, and the error a call throws or rejects with.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type OpenAI from "openai";
import { GatewayError } from "../../src/openai/errors.ts";

/** The events of a recorded stream under tests/fixtures/<provider>/ (`*.chunks.txt`: one JSON event per line). */
export function recordedEvents(provider: string, name: string): Record<string, unknown>[] {
  return readFileSync(join(import.meta.dir, "..", "fixtures", provider, name), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The GatewayError `fn` throws; fails the test when it returns, rethrows anything else. */
export function thrown(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (e) {
    if (e instanceof GatewayError) return e;
    throw e;
  }
  throw new Error("expected a GatewayError");
}

/** The OpenAI SDK's error a call rejected with; fails the test when the call succeeded. */
export const apiError = (p: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> =>
  p.then(
    () => {
      throw new Error("expected an error");
    },
    (e: unknown) => e as InstanceType<typeof OpenAI.APIError>,
  );
