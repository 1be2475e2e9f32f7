// Hardening 4: deeply nested bodies are refused at parse time without stalling the gateway, and only a provider's own
// failures count against its deployment.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { newMeter } from "../../src/providers/meter.ts";
import { startOpenAIUpstream, type OpenAIUpstream } from "../support/openai-upstream.ts";
import { post, startGateway, type GatewayHandle } from "../support/gateway.ts";
import { probeHealth } from "../support/probe.ts";
import { nestsDeeperThan } from "../../src/http/json-depth.ts";
import { buildConfig } from "../../src/config/load.ts";
import { buildRouter } from "../../src/routing/router.ts";
import type { CallContext, Provider } from "../../src/providers/types.ts";
import type { ChatRequest } from "../../src/openai/schemas.ts";

const KEY = "sk-test-hardening-depth";
const ADMIN = "sk-admin-hardening-depth";
let up: OpenAIUpstream;
let gw: GatewayHandle;

beforeAll(async () => {
  up = await startOpenAIUpstream();
  gw = await startGateway({
    server: { admin_key: ADMIN },
    providers: { up: { type: "openai", base_url: up.url, api_key: up.apiKey } },
    models: [{ id: "gpt-4o", provider: "up" }],
    keys: [{ name: "depth", key: KEY }],
    // One failure would be enough to take the deployment out: any miscounted gateway error shows at once.
    routing: { cooldown_failures: 1 },
  });
});
afterAll(async () => {
  await gw.stop();
  await up.stop();
});

const messages = [{ role: "user", content: "hi" }];

describe("nesting depth", () => {
  test("the scanner counts only structure, skipping strings with brackets and escaped quotes", () => {
    expect(nestsDeeperThan(JSON.stringify({ a: "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[" }), 3)).toBe(false);
    expect(nestsDeeperThan(JSON.stringify({ a: 'x\\"[[[[[[[[[[[[[[\\\\' }), 1)).toBe(false);
    const nest = (n: number) => "[".repeat(n) + "]".repeat(n);
    expect(nestsDeeperThan(`{"a":${nest(63)}}`, 64)).toBe(false);
    expect(nestsDeeperThan(`{"a":${nest(64)}}`, 64)).toBe(true);
    // Siblings do not add up: depth, not count.
    expect(nestsDeeperThan(`{"a":[${Array.from({ length: 200 }, () => "[[]]").join(",")}]}`, 4)).toBe(false);
  });

  test("100,000 nested [ in an unknown field: 400 at once, nothing upstream, no stall, deployment stays healthy", async () => {
    const deep = `{"model":"gpt-4o","messages":${JSON.stringify(messages)},"junk":${"[".repeat(100_000)}${"]".repeat(100_000)}}`;
    expect(deep.length).toBeGreaterThan(200_000);
    const probe = probeHealth(gw.url);
    await Bun.sleep(20);
    for (let i = 0; i < 4; i++) {
      const t0 = performance.now();
      const res = await post(`${gw.baseURL}/chat/completions`, deep, KEY);
      expect(res.status).toBe(400);
      const e = ((await res.json()) as { error: { type: string; message: string } }).error;
      expect(e.type).toBe("invalid_request_error");
      expect(e.message).toContain("64");
      expect(performance.now() - t0).toBeLessThan(200);
    }
    const { worstMs } = await probe.stop();
    console.log(`100,000-deep body ×4: worst /health ${worstMs.toFixed(1)} ms`);
    expect(worstMs).toBeLessThan(100);
    expect(up.calls.length).toBe(0);
  });

  test("the same inside tools[].function.parameters", async () => {
    const params = '{"type":"object","properties":'.repeat(30_000) + "{}" + "}".repeat(30_000);
    const body = `{"model":"gpt-4o","messages":${JSON.stringify(messages)},"tools":[{"type":"function","function":{"name":"f","parameters":${params}}}]}`;
    const res = await post(`${gw.baseURL}/chat/completions`, body, KEY);
    expect(res.status).toBe(400);
    expect(up.calls.length).toBe(0);
  });

  test("a schema 25 properties deep (55 JSON levels) is still served, and the deployment was never put in cool-down", async () => {
    let schema: Record<string, unknown> = { type: "string" };
    for (let i = 0; i < 25; i++) schema = { type: "object", properties: { x: schema } };
    const res = await post(`${gw.baseURL}/chat/completions`, { model: "gpt-4o", messages, tools: [{ type: "function", function: { name: "f", parameters: schema } }] }, KEY);
    expect(res.status).toBe(200);
    const health = (await (await fetch(`${gw.url}/health/providers`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as {
      data: { state: string; errors: { total: number } }[];
    };
    expect(health.data[0]!.state).toBe("healthy");
    expect(health.data[0]!.errors.total).toBe(0);
  });
});

describe("the gateway's own errors never count against a deployment", () => {
  test("a provider adapter that throws (a translation bug) is not retried and leaves the breaker closed", async () => {
    let calls = 0;
    const buggy: Provider = {
      name: "buggy",
      outputCap: () => null,
      maxOutput: () => undefined,
      async complete() {
        calls++;
        throw new TypeError("Cannot read properties of undefined (reading 'parts')");
      },
      async stream() {
        calls++;
        throw new RangeError("Maximum call stack size exceeded.");
      },
    };
    const config = buildConfig(
      {
        providers: { a: { type: "echo" }, b: { type: "echo" } },
        models: [{ id: "m", targets: [{ provider: "a" }, { provider: "b" }], max_attempts: 4 }],
        routing: { cooldown_failures: 1 },
      },
      "test",
    );
    const router = buildRouter(config, new Map([["a", buggy], ["b", buggy]]), { sleep: async () => {} });
    const route = router.resolve("m")!;
    const ctx: CallContext = {
      requestId: "r",
      publicModel: "m",
      signal: new AbortController().signal,
      timeoutMs: 5000,
      now: Date.now,
      meter: newMeter((t) => t.length),
      warn: () => {},
    };
    const req = { model: "m", messages } as ChatRequest;
    expect(router.whole(route, ctx, (p, d, c) => p.complete(req, d, c))).rejects.toBeInstanceOf(TypeError);
    await Bun.sleep(1);
    expect(router.stream(route, ctx, (p, d, c) => p.stream(req, d, c))).rejects.toBeInstanceOf(RangeError);
    await Bun.sleep(1);
    expect(calls).toBe(2);
    for (const h of router.health()) {
      expect(h.state).toBe("healthy");
      expect(h.errors.total).toBe(0);
      expect(h.in_flight).toBe(0);
    }
  });
});
