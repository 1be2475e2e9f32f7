// Several instances on one Redis (separate gateway processes), and Redis failing: on_store_error, log once, recovery.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Principal } from "../../src/auth/keys.ts";
import { countPromptTokens } from "../../src/limits/estimate.ts";
import { createRedisLimiter } from "../../src/limits/redis-store.ts";
import { createMemoryLogger } from "../../src/observability/log.ts";
import type { ChatRequest } from "../../src/openai/schemas.ts";
import { post, startGateway, type GatewayHandle } from "../support/gateway.ts";
import { startOpenAIUpstream, type OpenAIUpstream } from "../support/openai-upstream.ts";
import { startRedis, type RedisServer } from "../support/redis.ts";
import { startTcpProxy } from "../support/tcp-proxy.ts";
import { eventually } from "../support/wait.ts";

let redis: RedisServer;
let up: OpenAIUpstream;
beforeAll(async () => {
  [redis, up] = await Promise.all([startRedis(), startOpenAIUpstream()]);
});
afterAll(async () => {
  await Promise.all([redis.stop(), up.stop()]);
});

const freePort = () => {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const p = s.port;
  s.stop(true);
  return p;
};

describe("two gateway processes sharing one Redis", () => {
  const KEYS = { rpm: "sk-multi-rpm-00001", conc: "sk-multi-conc-0001", tpm: "sk-multi-tpm-00001" };
  const hangBody: ChatRequest = { model: "hang", stream: true, messages: [{ role: "user", content: "hold this slot" }], max_tokens: 100 };
  const perRequest = countPromptTokens(hangBody) + 100;
  const procs: ReturnType<typeof Bun.spawn>[] = [];
  const urls: string[] = [];

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "sb-multi-"));
    const cfg = join(dir, "c.yaml");
    writeFileSync(
      cfg,
      `providers:
  echo: { type: echo }
  up: { type: openai, base_url: "${up.url}", api_key: "${up.apiKey}" }
models:
  - { id: echo, provider: echo }
  - { id: hang, provider: up, upstream_model: fault-hang-stream }
keys:
  - { name: multi-rpm, key: ${KEYS.rpm}, rpm: 25 }
  - { name: multi-conc, key: ${KEYS.conc}, max_concurrent: 3 }
  - { name: multi-tpm, key: ${KEYS.tpm}, tpm: ${perRequest * 5} }
rate_limit: { store: redis, redis_url: "${redis.url}", on_store_error: deny, store_timeout_ms: 3000 }
`,
    );
    for (let i = 0; i < 2; i++) {
      const port = freePort();
      procs.push(Bun.spawn([process.execPath, "run", join(import.meta.dir, "../..", "src", "main.ts"), "--config", cfg, "--port", String(port)], { cwd: dirname(cfg), stdout: "ignore", stderr: "ignore" }));
      urls.push(`http://127.0.0.1:${port}/v1`);
    }
    for (const u of urls) {
      const ok = await eventually(() => fetch(u.replace("/v1", "/health")).then((r) => r.ok, () => false), (v) => v, 10_000);
      if (!ok) throw new Error(`gateway at ${u} did not start`);
    }
  });
  afterAll(async () => {
    for (const p of procs) p.kill("SIGKILL");
    await Promise.all(procs.map((p) => p.exited));
  });

  test("hammered concurrently through both, rpm L admits exactly L in total", async () => {
    const body = { model: "echo", messages: [{ role: "user", content: "hello there" }] };
    const rs = await Promise.all(Array.from({ length: 100 }, (_, i) => post(`${urls[i % 2]}/chat/completions`, body, KEYS.rpm)));
    const statuses = rs.map((r) => r.status);
    await Promise.all(rs.map((r) => r.arrayBuffer()));
    expect(statuses.filter((s) => s === 200).length).toBe(25);
    // Each process got 50 requests: counting per process would have admitted 25 in each, 50 in total.
    expect(statuses.filter((s) => s === 429).length).toBe(75);
  });

  test("max_concurrent and tpm hold across both instances", async () => {
    for (const [key, limit] of [[KEYS.conc, 3], [KEYS.tpm, 5]] as const) {
      const rs = await Promise.all(Array.from({ length: 14 }, (_, i) => post(`${urls[i % 2]}/chat/completions`, hangBody, key)));
      const admitted = rs.filter((r) => r.status === 200);
      expect(admitted.length).toBe(limit);
      const refused = rs.filter((r) => r.status === 429);
      expect(refused.length).toBe(14 - limit);
      expect(((await refused[0]!.json()) as { error: { message: string } }).error.message).toContain(key === KEYS.conc ? "concurrency" : "tokens");
      await Promise.all(admitted.map((r) => r.body!.cancel()));
      await Promise.all(refused.slice(1).map((r) => r.arrayBuffer()));
    }
  });
});

describe("Redis killed mid-test", () => {
  const KEY = "sk-outage-key-0001";
  let allow: GatewayHandle;
  let deny: GatewayHandle;
  const config = (mode: "allow" | "deny") => ({
    providers: { echo: { type: "echo" } },
    models: [{ id: "echo", provider: "echo" }],
    keys: [{ name: `outage-${mode}`, key: KEY, rpm: 3 }],
    rate_limit: { store: "redis", redis_url: redis.url, on_store_error: mode, store_timeout_ms: 300 },
  });
  const ask = (g: GatewayHandle) => post(`${g.baseURL}/chat/completions`, { model: "echo", messages: [{ role: "user", content: "hi" }] }, KEY);
  const outageLines = (g: GatewayHandle, msg: string) => g.logs.filter((l) => l.msg === msg);

  beforeAll(async () => {
    allow = await startGateway(config("allow"));
    deny = await startGateway(config("deny"));
  });
  afterAll(async () => {
    await Promise.all([allow.stop(), deny.stop()]);
  });

  test("allow keeps answering, deny answers 503, each logs the outage once; both recover when Redis returns", async () => {
    expect((await ask(allow)).headers.get("x-ratelimit-remaining-requests")).toBe("2");
    expect((await ask(deny)).status).toBe(200);
    await redis.kill();

    // More requests than the limit: during the outage allow lets them through uncounted.
    for (let i = 0; i < 5; i++) {
      const r = await ask(allow);
      expect(r.status).toBe(200);
      expect(r.headers.get("x-ratelimit-limit-requests")).toBe("3");
      await r.arrayBuffer();
    }
    for (let i = 0; i < 3; i++) {
      const r = await ask(deny);
      expect(r.status).toBe(503);
      expect(Number(r.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(await r.json()).toEqual({ error: { message: expect.stringContaining("rate-limit store is unreachable"), type: "server_error", param: null, code: "rate_limit_store_unavailable" } });
    }
    for (const g of [allow, deny]) {
      expect(outageLines(g, "rate-limit store unreachable").length).toBe(1);
      expect(g.gateway.limiter.stats()).toMatchObject({ store: "redis", storeDown: true });
      expect(g.gateway.limiter.stats().storeErrors).toBeGreaterThanOrEqual(3);
    }

    await redis.restart();
    // Back, and counting again from an empty Redis: remaining 2, then 1, 0, then the limit holds.
    const first = await eventually(
      async () => {
        const r = await ask(allow);
        await r.arrayBuffer();
        return r.headers.get("x-ratelimit-remaining-requests");
      },
      (v) => v === "2",
    );
    expect(first).toBe("2");
    expect((await ask(allow)).headers.get("x-ratelimit-remaining-requests")).toBe("1");
    expect((await ask(allow)).status).toBe(200);
    expect((await ask(allow)).status).toBe(429);
    expect(await eventually(async () => (await ask(deny)).status, (s) => s === 200)).toBe(200);
    for (const g of [allow, deny]) {
      expect(outageLines(g, "rate-limit store unreachable").length).toBe(1);
      const back = outageLines(g, "rate-limit store reachable again");
      expect(back.length).toBe(1);
      expect(back[0]!.failed_calls as number).toBeGreaterThanOrEqual(1);
      expect(g.gateway.limiter.stats().storeDown).toBe(false);
    }
  });

  test("a Redis that accepts and never answers: every request is still answered, after store_timeout_ms", async () => {
    redis.pause();
    try {
      const [a, d] = await Promise.all([ask(allow), ask(deny)]);
      expect(a.status).toBe(200);
      expect(d.status).toBe(503);
    } finally {
      redis.resume();
    }
  });
});

describe("settles that fail during an outage are retried when the store returns", () => {
  test("a slot released while the network to Redis was cut is freed once it heals (not after the lease)", async () => {
    const proxy = startTcpProxy(redis.port);
    const logger = createMemoryLogger();
    const l = createRedisLimiter({ url: `redis://127.0.0.1:${proxy.port}`, timeoutMs: 300, onStoreError: "deny", logger, leaseMs: 600_000, prefix: "retry:" });
    const p: Principal = { id: "key_retry", name: "retry", source: "config", config: { name: "retry", max_concurrent: 1 }, allowed: null, budget: null };
    const admit = () => l.admit({ principal: p, model: "m", estimateTokens: () => 0 });
    try {
      const a = await admit();
      proxy.cut();
      a.settle(null);
      // The settle could not reach Redis; the slot is still taken there.
      expect(await admit().then(() => "admitted", (e: Error) => e.message)).toContain("unreachable");
      proxy.heal();
      const outcome = await eventually(() => admit().then(() => "admitted", (e: Error) => e.message), (v) => v === "admitted");
      expect(outcome).toBe("admitted");
      expect(logger.lines.filter((x) => x.msg === "rate-limit store reachable again").length).toBe(1);
    } finally {
      await l.close();
      proxy.stop();
    }
  });
});
