// The usage time series: histogram bins and percentiles (pure), and GET /admin/v1/usage/series over real traffic on a real store.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LATENCY_BINS, LATENCY_BOUNDS_MS, latencyBin, percentile } from "../../src/store/series.ts";
import { openStore } from "../../src/store/open.ts";
import type { Store } from "../../src/store/store.ts";
import { post, startGateway, type GatewayHandle } from "../support/gateway.ts";

describe("latency histogram", () => {
  test("a latency falls in the first bin whose upper bound holds it; past the last bound, the open last bin", () => {
    expect(latencyBin(0)).toBe(0);
    expect(latencyBin(10)).toBe(0);
    expect(latencyBin(10.01)).toBe(1);
    expect(latencyBin(100)).toBe(5);
    expect(latencyBin(101)).toBe(6);
    expect(latencyBin(90_000)).toBe(LATENCY_BOUNDS_MS.length - 1);
    expect(latencyBin(600_000)).toBe(LATENCY_BINS - 1);
  });

  test("percentiles interpolate inside the bin that holds them", () => {
    const h = new Array<number>(LATENCY_BINS).fill(0);
    expect(percentile(h, 0.5)).toBeNull();
    // 100 requests between 100 and 150 ms: the median is read as the bin's middle.
    h[latencyBin(120)] = 100;
    expect(percentile(h, 0.5)).toBe(125);
    expect(percentile(h, 0.95)).toBeCloseTo(147.5, 6);
    // 90 fast (≤ 10 ms) and 10 slow (1–1.5 s): p50 is fast, p95 is slow.
    h.fill(0);
    h[0] = 90;
    h[latencyBin(1200)] = 10;
    expect(percentile(h, 0.5)).toBeCloseTo(50 / 9, 6);
    expect(percentile(h, 0.95)).toBe(1250);
    // Everything beyond the last bound: reported as that bound.
    h.fill(0);
    h[LATENCY_BINS - 1] = 3;
    expect(percentile(h, 0.5)).toBe(90_000);
  });
});

describe("GET /admin/v1/usage/series", () => {
  const ADMIN = "admin-secret-series-1";
  const KEY = "sk-series-key-1";
  const dir = mkdtempSync(join(tmpdir(), "sb-series-"));
  let store: Store;
  let gw: GatewayHandle;
  beforeAll(async () => {
    store = await openStore(`sqlite://${join(dir, "s.db")}`);
    gw = await startGateway(
      { server: { admin_key: ADMIN }, providers: { e: { type: "echo" } }, models: [{ id: "echo", provider: "e" }], keys: [{ name: "series", key: KEY }] },
      { store },
    );
  });
  afterAll(async () => {
    await gw?.stop();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const series = async (range?: string) => {
    const r = await fetch(`${gw.url}/admin/v1/usage/series${range ? `?range=${range}` : ""}`, { headers: { authorization: `Bearer ${ADMIN}` } });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> & { t: number[]; requests: number[]; totals: Record<string, number | null> } };
  };

  test("every range has its steps, each present, ending with the step now falls in", async () => {
    for (const [range, steps, step] of [["1h", 60, 60], ["24h", 288, 300], ["7d", 168, 3600], ["30d", 180, 14_400]] as const) {
      const before = Date.now() / 1000;
      const { status, body } = await series(range);
      const after = Date.now() / 1000;
      expect(status).toBe(200);
      expect(body).toMatchObject({ object: "usage.series", range, step_s: step });
      for (const col of ["t", "requests", "errors", "prompt_tokens", "completion_tokens", "cost_usd", "latency_p50_ms", "latency_p95_ms"]) expect((body[col] as unknown[]).length).toBe(steps);
      const t = body.t;
      for (let i = 1; i < t.length; i++) expect(t[i]! - t[i - 1]!).toBe(step);
      expect(t[t.length - 1]! % step).toBe(0);
      // The answer was made at some instant between before and after: its last step holds that instant.
      expect(t[t.length - 1]!).toBeLessThanOrEqual(after);
      expect(t[t.length - 1]! + step).toBeGreaterThan(before);
    }
    expect((await series()).body.range).toBe("24h");
  });

  test("real traffic shows up in the last step: requests, errors, tokens, latency", async () => {
    const before = (await series("1h")).body.totals.requests!;
    for (let i = 0; i < 5; i++) expect((await post(`${gw.baseURL}/chat/completions`, { model: "echo", messages: [{ role: "user", content: "hello series" }] }, KEY)).status).toBe(200);
    // A refusal with a valid key is an event too (an error).
    expect((await post(`${gw.baseURL}/chat/completions`, { model: "nope", messages: [{ role: "user", content: "x" }] }, KEY)).status).toBe(404);
    let body = (await series("1h")).body;
    for (let i = 0; i < 40 && body.totals.requests! < before + 6; i++) {
      await Bun.sleep(100);
      body = (await series("1h")).body;
    }
    expect(body.totals.requests).toBe(before + 6);
    expect(body.totals.errors).toBeGreaterThanOrEqual(1);
    expect(body.totals.prompt_tokens).toBeGreaterThan(0);
    expect(body.totals.latency_p50_ms).not.toBeNull();
    const last = body.requests.length - 1;
    // The events landed in the last minute or the one before it (a minute may have turned meanwhile).
    expect(body.requests[last]! + body.requests[last - 1]!).toBeGreaterThanOrEqual(6);
    const day = (await series("24h")).body;
    expect(day.totals.requests).toBe(body.totals.requests);
    const week = (await series("7d")).body;
    expect(week.totals.requests).toBe(body.totals.requests);
  });

  test("an unknown range is a 400 naming it; no admin key is a 401", async () => {
    const bad = await series("2h");
    expect(bad.status).toBe(400);
    expect((bad.body.error as { param: string }).param).toBe("range");
    expect((await fetch(`${gw.url}/admin/v1/usage/series`)).status).toBe(401);
  });
});
