// Hardening 5: a small tool schema whose $defs reference each other many times is refused quickly, not expanded upstream.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startGeminiUpstream, type GeminiUpstream } from "../support/gemini-upstream.ts";
import { post, startGateway, type GatewayHandle } from "../support/gateway.ts";
import { probeHealth } from "../support/probe.ts";
import { MAX_SCHEMA_NODES, toGeminiSchema } from "../../src/providers/gemini/schema.ts";
import { thrown } from "../support/fixtures.ts";

const KEY = "sk-test-hardening-fanout";

/** 8 definitions, each with 7 properties referencing the next: about 2 KB that inline to 7^8 ≈ 5.7 million nodes. */
function fanOutSchema(levels = 8, width = 7): Record<string, unknown> {
  const $defs: Record<string, unknown> = {};
  for (let i = 0; i < levels; i++) {
    const props: Record<string, unknown> = {};
    for (let p = 0; p < width; p++) props[`p${p}`] = i === levels - 1 ? { type: "string" } : { $ref: `#/$defs/D${i + 1}` };
    $defs[`D${i}`] = { type: "object", properties: props };
  }
  return { $defs, $ref: "#/$defs/D0" };
}

let up: GeminiUpstream;
let gw: GatewayHandle;
beforeAll(async () => {
  up = await startGeminiUpstream();
  gw = await startGateway({
    providers: { g: { type: "gemini", base_url: up.url, api_key: up.apiKey } },
    models: [{ id: "gemini", provider: "g", upstream_model: "gemini-2.0-flash" }],
    keys: [{ name: "fanout", key: KEY }],
  });
});
afterAll(async () => {
  await gw.stop();
  await up.stop();
});

describe("$ref fan-out", () => {
  test("the converter stops at its node bound with a 400 naming the field, in milliseconds", () => {
    const t0 = performance.now();
    const err = thrown(() => toGeminiSchema(fanOutSchema(), "tools[0].function.parameters"));
    expect(performance.now() - t0).toBeLessThan(200);
    expect(err.kind).toBe("invalid_request");
    expect(err.param).toBe("tools[0].function.parameters");
    expect(err.message).toContain(String(MAX_SCHEMA_NODES));
  });

  test("a schema that fits is still inlined whole", () => {
    const { schema } = toGeminiSchema(fanOutSchema(3, 4), "p");
    expect(JSON.stringify(schema).match(/"type":"string"/g)?.length).toBe(4 ** 3);
  });

  test("the bound is shared by the request's schemas: many tools cannot multiply it", async () => {
    const medium = fanOutSchema(4, 7); // 7^4 = 2401 leaves: fits alone, not five times over
    const tools = Array.from({ length: 5 }, (_, i) => ({ type: "function", function: { name: `t${i}`, parameters: medium } }));
    const res = await post(`${gw.baseURL}/chat/completions`, { model: "gemini", messages: [{ role: "user", content: "hi" }], tools }, KEY);
    expect(res.status).toBe(400);
    expect(up.calls.length).toBe(0);
  });

  test("through the gateway: 400, nothing sent upstream, no stall", async () => {
    const body = { model: "gemini", messages: [{ role: "user", content: "hi" }], tools: [{ type: "function", function: { name: "deep", parameters: fanOutSchema() } }] };
    expect(JSON.stringify(body).length).toBeLessThan(3000);
    const probe = probeHealth(gw.url);
    await Bun.sleep(20);
    for (let i = 0; i < 3; i++) {
      const res = await post(`${gw.baseURL}/chat/completions`, body, KEY);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { param: string } }).error.param).toBe("tools[0].function.parameters");
    }
    const { worstMs } = await probe.stop();
    console.log(`$ref fan-out ×3: worst /health ${worstMs.toFixed(1)} ms`);
    expect(worstMs).toBeLessThan(100);
    expect(up.calls.length).toBe(0);
  });
});
