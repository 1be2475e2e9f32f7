// Routing parts without HTTP: the circuit breaker on a fake clock, backoff bounds, strategies, error events, config checks.
import { describe, expect, test } from "bun:test";
import { buildConfig } from "../../src/config/load.ts";
import { TargetHealth } from "../../src/routing/breaker.ts";
import { backoffMs, failureFromErrorEvent } from "../../src/routing/retry.ts";
import { pick } from "../../src/routing/strategy.ts";
import type { Target } from "../../src/routing/plan.ts";
import { encodeError } from "../../src/openai/sse.ts";
import { upstreamFailed, upstreamTimeout } from "../../src/openai/errors.ts";

const policy = { failures: 3, windowMs: 10_000, cooldownMs: 30_000 };

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

describe("circuit breaker", () => {
  test("N failures within the window open it; it stays out for the cool-down, then lets exactly one probe through", () => {
    const c = clock();
    const h = new TargetHealth("p/m", "p", "m", policy, c.now);
    for (let i = 0; i < 2; i++) {
      h.begin();
      h.failed("boom");
      h.end(true);
    }
    expect(h.state()).toBe("healthy");
    h.begin();
    h.failed("boom");
    h.end(true);
    expect(h.state()).toBe("cooling_down");
    expect(h.available()).toBe(false);
    expect(h.waitMs()).toBe(30_000);
    expect(h.status().cooling_down_until).toBe(new Date(c.t + 30_000).toISOString());
    c.t += 29_999;
    expect(h.available()).toBe(false);
    c.t += 1;
    expect(h.state()).toBe("probing");
    expect(h.available()).toBe(true);
    h.begin(); // the probe
    expect(h.available()).toBe(false); // nobody else while it is out
    h.succeeded(12);
    h.end(true);
    expect(h.state()).toBe("healthy");
    expect(h.available()).toBe(true);
  });

  test("a failed probe re-opens it for another full period", () => {
    const c = clock();
    const h = new TargetHealth("p/m", "p", "m", { ...policy, failures: 1 }, c.now);
    h.begin();
    h.failed("x");
    h.end(true);
    c.t += 30_000;
    h.begin();
    h.failed("still down");
    h.end(true);
    expect(h.state()).toBe("cooling_down");
    expect(h.waitMs()).toBe(30_000);
  });

  test("an abandoned probe (client left) frees the probe slot", () => {
    const c = clock();
    const h = new TargetHealth("p/m", "p", "m", { ...policy, failures: 1 }, c.now);
    h.begin();
    h.failed("x");
    h.end(true);
    c.t += 30_000;
    h.begin();
    expect(h.available()).toBe(false);
    h.end(false);
    expect(h.available()).toBe(true);
  });

  test("failures spread wider than the window never open it", () => {
    const c = clock();
    const h = new TargetHealth("p/m", "p", "m", policy, c.now);
    for (let i = 0; i < 10; i++) {
      h.failed("slow drip");
      c.t += 5_001;
    }
    expect(h.state()).toBe("healthy");
    expect(h.status().errors.total).toBe(10);
    expect(h.status().errors.recent).toBe(1);
  });

  test("status carries in-flight, latency and the last error", () => {
    const c = clock();
    const h = new TargetHealth("p/m", "p", "m", policy, c.now);
    h.models.add("gpt-4o");
    h.begin();
    h.succeeded(100);
    h.end(true);
    h.begin();
    h.succeeded(200);
    h.begin();
    h.failed("upstream_failed: status 503");
    const s = h.status();
    expect(s).toMatchObject({ id: "p/m", provider: "p", upstream_model: "m", models: ["gpt-4o"], state: "healthy", in_flight: 2, requests: 3 });
    expect(s.latency_ms).toEqual({ ewma: 130, last: 200 });
    expect(s.errors).toMatchObject({ recent: 1, total: 1, last: "upstream_failed: status 503" });
  });
});

describe("backoff", () => {
  const p = { baseMs: 200, maxMs: 1000, retryAfterCapMs: 5000 };
  test("exponential with equal jitter, capped", () => {
    expect(backoffMs(1, p, () => 0)).toBe(100);
    expect(backoffMs(1, p, () => 0.999999)).toBeCloseTo(200, 3);
    expect(backoffMs(2, p, () => 0)).toBe(200);
    expect(backoffMs(3, p, () => 1)).toBe(800);
    expect(backoffMs(10, p, () => 1)).toBe(1000);
    expect(backoffMs(10, p, () => 0)).toBe(500);
  });
});

function target(index: number, weight = 1, inFlight = 0, latency: number | null = null): Target {
  const health = new TargetHealth(`p${index}/m`, `p${index}`, "m", policy, () => 0);
  health.inFlight = inFlight;
  health.latencyEwma = latency;
  return { index, label: health.id, weight, health, attemptTimeoutMs: undefined } as unknown as Target;
}

describe("strategies", () => {
  test("ordered takes the first listed", () => {
    expect(pick("ordered", [target(2), target(1), target(3)], Math.random)!.index).toBe(1);
  });
  test("weighted follows the weights", () => {
    const ts = [target(0, 3), target(1, 1)];
    expect(pick("weighted", ts, () => 0.74)!.index).toBe(0);
    expect(pick("weighted", ts, () => 0.76)!.index).toBe(1);
  });
  test("least-busy takes the idle one; ties are shared", () => {
    expect(pick("least-busy", [target(0, 1, 3), target(1, 1, 0), target(2, 1, 1)], () => 0)!.index).toBe(1);
    expect(pick("least-busy", [target(0, 1, 0), target(1, 1, 0)], () => 0.9)!.index).toBe(1);
  });
  test("latency takes the fastest, but measures an unmeasured one first", () => {
    expect(pick("latency", [target(0, 1, 0, 300), target(1, 1, 0, 40)], () => 0)!.index).toBe(1);
    expect(pick("latency", [target(0, 1, 0, 300), target(1, 1, 0, null)], () => 0)!.index).toBe(1);
  });
  test("nothing to pick from → undefined", () => {
    expect(pick("weighted", [], Math.random)).toBeUndefined();
  });
});

describe("an error event before the first chunk", () => {
  test("keeps its meaning: timeouts and upstream errors retryable, a request error not", () => {
    const t = failureFromErrorEvent(encodeError(upstreamTimeout(100)));
    expect(t.kind).toBe("upstream_timeout");
    expect(t.retryable).toBe(true);
    expect(failureFromErrorEvent(encodeError(upstreamFailed("Overloaded"))).retryable).toBe(true);
    const bad = failureFromErrorEvent(new TextEncoder().encode('data: {"error":{"message":"bad","type":"invalid_request_error"}}\n\n'));
    expect(bad.retryable).toBe(false);
    expect(bad.message).toBe("bad");
  });
});

describe("routing config", () => {
  const providers = { a: { type: "echo" }, b: { type: "echo" } };
  const build = (models: object[]) => () => buildConfig({ providers, models }, "t", {});
  test("targets, strategy and fallbacks load; routing defaults apply", () => {
    const c = buildConfig(
      { providers, models: [{ id: "m", targets: [{ provider: "a", weight: 3 }, { provider: "b" }], strategy: "least-busy", fallbacks: ["n"] }, { id: "n", provider: "b" }] },
      "t",
      {},
    );
    expect(c.models[0]!.targets![1]!.weight).toBe(1);
    expect(c.routing).toMatchObject({ cooldown_failures: 3, cooldown_ms: 30000, retry_after_cap_ms: 5000 });
  });
  test("exactly one of provider or targets", () => {
    expect(build([{ id: "m", provider: "a", targets: [{ provider: "b" }] }])).toThrow("models[0]: set exactly one of provider or targets");
    expect(build([{ id: "m" }])).toThrow("models[0]: set exactly one of provider or targets");
  });
  test("references are checked, naming the field", () => {
    expect(build([{ id: "m", targets: [{ provider: "a" }, { provider: "zzz" }] }])).toThrow("models[0].targets[1].provider: no provider named 'zzz'");
    expect(build([{ id: "m", provider: "a", fallbacks: ["nope"] }])).toThrow("models[0].fallbacks[0]: no model with id 'nope'");
    expect(build([{ id: "m", provider: "a", fallbacks: ["m"] }])).toThrow("models[0].fallbacks[0]: a model cannot fall back to itself");
    expect(build([{ id: "m", provider: "a", strategy: "random" }])).toThrow(/models\[0\]\.strategy/);
    expect(build([{ id: "m", targets: [{ provider: "a", weight: 0 }] }])).toThrow(/models\[0\]\.targets\[0\]\.weight/);
  });
});
