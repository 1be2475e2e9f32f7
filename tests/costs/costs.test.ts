// Prices (built-in table, config overrides), cost in micro-USD, budget windows, reservations and the budget refusal.
import { describe, expect, test } from "bun:test";
import { calcPrice } from "@pydantic/genai-prices";
import { buildConfig, ConfigError } from "../../src/config/load.ts";
import {
  budgetExceeded,
  formatUsd,
  microsToUsd,
  priceUnknown,
  reservationMicros,
  usdToMicros,
  windowEnd,
  windowStart,
} from "../../src/costs/budget.ts";
import { buildPriceTable, builtinPrice, costMicros } from "../../src/costs/prices.ts";
import { toErrorResponse } from "../../src/openai/errors.ts";

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

describe("built-in prices", () => {
  test("looked up by provider type and upstream model (Gemini is the table's 'google', Azure its own)", () => {
    expect(builtinPrice("openai", "gpt-4o")).toMatchObject({ input: 2.5, output: 10, cachedInput: 1.25 });
    expect(builtinPrice("azure", "gpt-4o-mini")).toMatchObject({ input: 0.15, output: 0.6 });
    expect(builtinPrice("anthropic", "claude-3-5-sonnet-20241022")).toMatchObject({ input: 3, output: 15, cachedInput: 0.3 });
    expect(builtinPrice("gemini", "gemini-2.0-flash")).toMatchObject({ input: 0.1, output: 0.4 });
    expect(builtinPrice("openai", "no-such-model-xyz")).toBeNull();
    expect(builtinPrice("unknown-type", "gpt-4o")).toBeNull();
  });

  test("the offline echo provider is free, not unpriced", () => {
    expect(builtinPrice("echo", "echo")).toEqual({ input: 0, output: 0, cachedInput: 0, tiers: [] });
  });

  test("our micro-USD cost equals the package's own calculation, cached and tiered prices included", () => {
    const cases: [string, string, string, { prompt: number; cached: number; completion: number }][] = [
      ["openai", "openai", "gpt-4o", { prompt: 1000, cached: 0, completion: 100 }],
      ["openai", "openai", "gpt-4o-mini", { prompt: 123_457, cached: 100_000, completion: 4321 }],
      ["anthropic", "anthropic", "claude-3-5-haiku-latest", { prompt: 5000, cached: 1200, completion: 800 }],
      ["gemini", "google", "gemini-2.5-pro", { prompt: 150_000, cached: 20_000, completion: 2000 }],
      // Over the long-context tier: every token at the higher rate.
      ["gemini", "google", "gemini-2.5-pro", { prompt: 250_000, cached: 20_000, completion: 2000 }],
      ["anthropic", "anthropic", "claude-sonnet-4-5", { prompt: 200_001, cached: 0, completion: 10 }],
      ["anthropic", "anthropic", "claude-sonnet-4-5", { prompt: 200_000, cached: 0, completion: 10 }],
    ];
    for (const [type, tableId, model, u] of cases) {
      const price = builtinPrice(type, model)!;
      const ours = costMicros(price, { promptTokens: u.prompt, cachedTokens: u.cached, completionTokens: u.completion });
      // The table's convention: input_tokens includes the cached (cache-read) tokens, as OpenAI's prompt_tokens does.
      const theirs = calcPrice({ input_tokens: u.prompt, cache_read_tokens: u.cached, output_tokens: u.completion }, model, { providerId: tableId })!;
      expect(ours).toBe(Math.round(theirs.total_price * 1e6));
    }
  });
});

describe("cost of a usage", () => {
  const price = { input: 2.5, output: 10, cachedInput: 1.25, tiers: [] };
  test("tokens × USD per million tokens is micro-USD; cached tokens are part of the prompt", () => {
    expect(costMicros(price, { promptTokens: 1000, cachedTokens: 0, completionTokens: 100 })).toBe(3500);
    expect(costMicros(price, { promptTokens: 1000, cachedTokens: 400, completionTokens: 100 })).toBe(600 * 2.5 + 400 * 1.25 + 1000);
  });
  test("cached tokens beyond the prompt are not a discount below zero", () => {
    expect(costMicros(price, { promptTokens: 10, cachedTokens: 50, completionTokens: 0 })).toBe(13);
  });
  test("rounded to whole micro-USD once per request", () => {
    expect(costMicros({ input: 0.15, output: 0.6, cachedInput: 0.075, tiers: [] }, { promptTokens: 3, cachedTokens: 0, completionTokens: 1 })).toBe(1);
  });
});

const cfg = (extra: object = {}) =>
  buildConfig(
    {
      providers: { oa: { type: "openai", api_key: "x" }, an: { type: "anthropic", api_key: "y" }, e: { type: "echo" } },
      models: [
        { id: "gpt-4o", provider: "oa" },
        { id: "mini", provider: "oa", upstream_model: "gpt-4o-mini", fallbacks: ["sonnet"] },
        { id: "sonnet", provider: "an", upstream_model: "claude-3-5-sonnet-20241022" },
        { id: "mine", provider: "oa", upstream_model: "my-finetune" },
        { id: "mixed", targets: [{ provider: "oa", upstream_model: "gpt-4o-mini" }, { provider: "oa", upstream_model: "gpt-4o" }] },
        { id: "echo", provider: "e" },
      ],
      ...extra,
    },
    "test",
    {},
  );

describe("price table", () => {
  test("lists every configured model with its source; a config override wins", () => {
    const t = buildPriceTable(cfg({ prices: { "gpt-4o": { input_per_mtok: 2, output_per_mtok: 8 } } }));
    const byModel = Object.fromEntries(t.list().map((p) => [p.model, p]));
    expect(byModel["gpt-4o"]).toMatchObject({ source: "config", price: { input: 2, output: 8, cachedInput: 2 } });
    expect(byModel["mini"]).toMatchObject({ source: "builtin", price: { input: 0.15, output: 0.6 } });
    expect(byModel["mine"]).toEqual({ model: "mine", source: "none", price: null });
    expect(byModel["echo"]).toMatchObject({ source: "builtin", price: { input: 0 } });
    expect(t.unpriced()).toEqual(["mine"]);
    expect(t.forDeployment("gpt-4o", "oa", "gpt-4o")).toMatchObject({ input: 2 });
    expect(t.forDeployment("mixed", "oa", "gpt-4o")).toMatchObject({ input: 2.5 });
  });

  test("a reservation covers the dearest deployment that may answer, fallbacks included", () => {
    const t = buildPriceTable(cfg());
    expect(t.reservationPrice("mixed")).toMatchObject({ input: 2.5, output: 10 });
    // mini falls back to sonnet ($3 / $15).
    expect(t.reservationPrice("mini")).toMatchObject({ input: 3, output: 15 });
    expect(t.reservationPrice("mine")).toBeNull();
  });

  test("a fallback without a price leaves the model without a reservation price", () => {
    const t = buildPriceTable(
      buildConfig(
        { providers: { oa: { type: "openai", api_key: "x" } }, models: [{ id: "a", provider: "oa", upstream_model: "gpt-4o", fallbacks: ["b"] }, { id: "b", provider: "oa", upstream_model: "nope" }] },
        "t",
        {},
      ),
    );
    expect(t.reservationPrice("a")).toBeNull();
    expect(t.unpriced()).toEqual(["b"]);
  });

  test("config: prices for an unknown model or a negative price fail at start naming the field", () => {
    expect(() => cfg({ prices: { ghost: { input_per_mtok: 1, output_per_mtok: 1 } } })).toThrow(new ConfigError("prices.ghost: no model with id 'ghost'"));
    expect(() => cfg({ prices: { "gpt-4o": { input_per_mtok: -1, output_per_mtok: 1 } } })).toThrow(/prices\.gpt-4o\.input_per_mtok/);
    expect(() => cfg({ prices: { "gpt-4o": { input_per_mtok: 1 } } })).toThrow(/prices\.gpt-4o.*output_per_mtok|output_per_mtok/);
  });

  test("config: store and usage get their defaults", () => {
    const c = cfg();
    expect(c.store.url).toBe("sqlite://./switchboard.db");
    expect(c.usage.retention_days).toBe(90);
    expect(() => cfg({ store: { url: "mysql://x" } })).toThrow(/store\.url/);
  });
});

describe("budget windows (UTC calendar)", () => {
  const t = Date.UTC(2026, 10, 26, 15, 30); // Thursday 26 November 2026, 15:30 UTC
  test("day, week from Monday, month from the 1st, total", () => {
    expect(iso(windowStart("day", t))).toBe("2026-11-26T00:00:00.000Z");
    expect(iso(windowEnd("day", t))).toBe("2026-11-27T00:00:00.000Z");
    expect(iso(windowStart("week", t))).toBe("2026-11-23T00:00:00.000Z");
    expect(iso(windowEnd("week", t))).toBe("2026-11-30T00:00:00.000Z");
    expect(iso(windowStart("month", t))).toBe("2026-11-01T00:00:00.000Z");
    expect(iso(windowEnd("month", t))).toBe("2026-12-01T00:00:00.000Z");
    expect(windowStart("total", t)).toBe(0);
    expect(windowEnd("total", t)).toBeNull();
  });
  test("edges: Sunday night is still last week, Monday 00:00 is the new one; December rolls into January; leap February", () => {
    expect(iso(windowStart("week", Date.UTC(2026, 10, 29, 23, 59, 59, 999)))).toBe("2026-11-23T00:00:00.000Z");
    expect(iso(windowStart("week", Date.UTC(2026, 10, 30)))).toBe("2026-11-30T00:00:00.000Z");
    expect(iso(windowEnd("month", Date.UTC(2026, 11, 31, 23)))).toBe("2027-01-01T00:00:00.000Z");
    expect(iso(windowEnd("month", Date.UTC(2028, 1, 10)))).toBe("2028-03-01T00:00:00.000Z");
    expect(iso(windowStart("day", Date.UTC(2026, 0, 1)))).toBe("2026-01-01T00:00:00.000Z");
  });
});

describe("reservation and refusal", () => {
  test("highest possible cost = prompt × input + allowance × output, rounded up", () => {
    expect(reservationMicros({ input: 2.5, output: 10, cachedInput: 1.25, tiers: [] }, 1000, 500)).toBe(7500);
    expect(reservationMicros({ input: 0.15, output: 0.6, cachedInput: 0, tiers: [] }, 1, 1)).toBe(1);
    const tiered = { input: 1, output: 2, cachedInput: 1, tiers: [{ above: 100, rates: { input: 10, output: 20, cachedInput: 10 } }] };
    expect(reservationMicros(tiered, 100, 1)).toBe(102);
    expect(reservationMicros(tiered, 101, 1)).toBe(1030);
  });

  test("USD ↔ micro-USD and the money format", () => {
    expect(usdToMicros(10)).toBe(10_000_000);
    expect(usdToMicros(0.1 + 0.2)).toBe(300_000);
    expect(microsToUsd(1_250_000)).toBe(1.25);
    expect(formatUsd(10_000_000)).toBe("$10.00");
    expect(formatUsd(12_500)).toBe("$0.0125");
    expect(formatUsd(0)).toBe("$0.00");
  });

  test("the refusal is the contract's: 429 insufficient_quota / budget_exceeded, x-should-retry: false, no Retry-After", async () => {
    const err = budgetExceeded("team-a", { limitMicros: 10_000_000, period: "month" }, 10_000_000, 5000, Date.UTC(2026, 10, 26, 10));
    const res = toErrorResponse(err);
    expect(res.status).toBe(429);
    expect(res.headers.get("x-should-retry")).toBe("false");
    expect(res.headers.get("retry-after")).toBeNull();
    expect(await res.json()).toEqual({
      error: {
        message: "Budget exhausted for key 'team-a': $10.00 of $10.00 spent this month; resets 2026-12-01T00:00:00Z.",
        type: "insufficient_quota",
        param: null,
        code: "budget_exceeded",
      },
    });
  });

  test("a refusal before the budget is spent says what the request needs; a total budget never resets", () => {
    const e1 = budgetExceeded("k", { limitMicros: 1_000_000, period: "day" }, 990_000, 50_000, Date.UTC(2026, 10, 26, 10));
    expect(e1.message).toBe(
      "Budget exhausted for key 'k': $0.99 of $1.00 spent today; resets 2026-11-27T00:00:00Z. This request could cost up to $0.05, more than the $0.01 left (in-flight requests hold their share).",
    );
    const e2 = budgetExceeded("k", { limitMicros: 1_000_000, period: "total" }, 1_000_000, 1, 0);
    expect(e2.message).toBe("Budget exhausted for key 'k': $1.00 of $1.00 spent in total; this budget does not reset.");
  });

  test("price_unknown is a 400 naming the model", async () => {
    const res = toErrorResponse(priceUnknown("mine"));
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; param: string; type: string; message: string } };
    expect(body.error).toMatchObject({ code: "price_unknown", param: "model", type: "invalid_request_error" });
    expect(body.error.message).toContain("prices.mine");
  });
});

describe("the built-in table's memory", () => {
  // In a fresh process: this file itself loads the table (calcPrice above) for its other tests.
  const probe = (config: object) => `
    const { buildConfig } = await import("./src/config/load.ts");
    const { buildPriceTable, priceTableLoaded } = await import("./src/costs/prices.ts");
    buildPriceTable(buildConfig(${JSON.stringify(config)}, "probe", {}));
    console.log(priceTableLoaded());`;
  const run = (config: object) =>
    Bun.spawnSync([process.execPath, "-e", probe(config)], { cwd: `${import.meta.dir}/../..`, stdout: "pipe", stderr: "inherit" }).stdout.toString().trim();
  test("is loaded only when some model's price has to come from it", () => {
    const providers = { oa: { type: "openai", api_key: "k" }, e: { type: "echo" } };
    expect(run({ providers, models: [{ id: "m", provider: "oa" }] })).toBe("true");
    expect(run({ providers, models: [{ id: "m", provider: "oa" }, { id: "echo", provider: "e" }], prices: { m: { input_per_mtok: 1, output_per_mtok: 2 } } })).toBe("false");
  });
});
