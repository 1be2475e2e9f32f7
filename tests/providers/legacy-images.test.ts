// Legacy functions/function_call mapped to tools for translated providers, and the opt-in image fetch with its SSRF guard.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { startAnthropicUpstream, toolUse, type AnthropicUpstream } from "../support/anthropic-upstream.ts";
import { startGeminiUpstream, type GeminiUpstream } from "../support/gemini-upstream.ts";
import { startOpenAIUpstream, type OpenAIUpstream } from "../support/openai-upstream.ts";
import { startGateway, post, type GatewayHandle } from "../support/gateway.ts";
import { dataPayloads } from "../support/stream-invariants.ts";
import { isPrivateAddress } from "../../src/providers/image-fetch.ts";
import { apiError } from "../support/fixtures.ts";

const KEY = "sk-test-legacy-images";
const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==", "base64");
let an: AnthropicUpstream;
let gm: GeminiUpstream;
let oa: OpenAIUpstream;
let gw: GatewayHandle;
let client: OpenAI;
let images: ReturnType<typeof Bun.serve>;
let imageUrl: string;
const lastAnthropic = () => an.calls.at(-1)!.body as { messages: { role: string; content: Record<string, unknown>[] }[]; tools?: Record<string, unknown>[]; tool_choice?: unknown };
const functions = [{ name: "get_weather", description: "Weather", parameters: { type: "object", properties: { city: { type: "string" } } } }];

beforeAll(async () => {
  [an, gm, oa] = await Promise.all([startAnthropicUpstream(), startGeminiUpstream(), startOpenAIUpstream()]);
  images = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const path = new URL(req.url).pathname;
      if (path === "/cat.png") return new Response(PNG, { headers: { "content-type": "image/png" } });
      if (path === "/big.png") return new Response(new Uint8Array(64 * 1024), { headers: { "content-type": "image/png" } });
      if (path === "/page.html") return new Response("<html></html>", { headers: { "content-type": "text/html" } });
      if (path === "/slow.png") {
        await Bun.sleep(1500);
        return new Response(PNG, { headers: { "content-type": "image/png" } });
      }
      return new Response("no", { status: 404 });
    },
  });
  imageUrl = `http://127.0.0.1:${images.port}`;
  gw = await startGateway({
    providers: {
      claude: { type: "anthropic", base_url: an.url, api_key: an.apiKey },
      "claude-fetch": { type: "anthropic", base_url: an.url, api_key: an.apiKey, image_fetch: { allow_private: true, max_bytes: 4096, timeout_ms: 400 } },
      "claude-guarded": { type: "anthropic", base_url: an.url, api_key: an.apiKey, image_fetch: {} },
      "gemini-fetch": { type: "gemini", base_url: gm.url, api_key: gm.apiKey, image_fetch: { allow_private: true } },
      google: { type: "gemini", base_url: gm.url, api_key: gm.apiKey },
      openai: { type: "openai", base_url: oa.url, api_key: oa.apiKey },
    },
    models: [
      { id: "claude", provider: "claude", upstream_model: "claude-sonnet-4-5", max_attempts: 1 },
      { id: "claude-fetch", provider: "claude-fetch", upstream_model: "claude-sonnet-4-5", max_attempts: 1 },
      { id: "claude-guarded", provider: "claude-guarded", upstream_model: "claude-sonnet-4-5", max_attempts: 1 },
      { id: "gemini-fetch", provider: "gemini-fetch", upstream_model: "gemini-2.5-flash" },
      { id: "gemini", provider: "google", upstream_model: "gemini-2.5-flash" },
      { id: "gpt", provider: "openai", upstream_model: "gpt-4o" },
    ],
    keys: [{ name: "l", key: KEY }],
  });
  client = new OpenAI({ baseURL: gw.baseURL, apiKey: KEY, maxRetries: 0 });
});
afterAll(async () => {
  await gw.stop();
  await Promise.all([an.stop(), gm.stop(), oa.stop()]);
  await images.stop(true);
});

describe("legacy functions / function_call / role function", () => {
  test("Anthropic, JSON: functions → tools, the answer comes back as function_call with finish_reason function_call", async () => {
    an.reply(toolUse([{ name: "get_weather", input: { city: "Lima" }, id: "toolu_lima" }]));
    const r = await client.chat.completions.create({ model: "claude", functions, function_call: "auto", messages: [{ role: "user", content: "Lima?" }] });
    expect(lastAnthropic().tools!.map((t) => t.name)).toEqual(["get_weather"]);
    expect(lastAnthropic().tool_choice).toEqual({ type: "auto", disable_parallel_tool_use: true });
    const msg = r.choices[0]!.message;
    expect(msg.function_call).toEqual({ name: "get_weather", arguments: '{"city":"Lima"}' });
    expect(msg.tool_calls).toBeUndefined();
    expect(r.choices[0]!.finish_reason).toBe("function_call");
  });

  test("Anthropic: the assistant's function_call and the function message become a paired tool_use / tool_result", async () => {
    await client.chat.completions.create({
      model: "claude",
      functions,
      messages: [
        { role: "user", content: "Lima?" },
        { role: "assistant", content: null, function_call: { name: "get_weather", arguments: '{"city":"Lima"}' } },
        { role: "function", name: "get_weather", content: "18°C" },
      ],
    });
    const [, assistant, result] = lastAnthropic().messages;
    expect(assistant!.content).toEqual([{ type: "tool_use", id: "call_legacy_1", name: "get_weather", input: { city: "Lima" } }]);
    expect(result!.content).toEqual([{ type: "tool_result", tool_use_id: "call_legacy_1", content: "18°C" }]);
  });

  test("streaming: delta.function_call (name, then arguments) and finish_reason function_call", async () => {
    an.reply(toolUse([{ name: "get_weather", input: { city: "Quito" } }]));
    const res = await post(`${gw.baseURL}/chat/completions`, { model: "claude", stream: true, functions, function_call: { name: "get_weather" }, messages: [{ role: "user", content: "Quito?" }] }, KEY);
    const chunks = dataPayloads(await res.text()).slice(0, -1).map((p) => JSON.parse(p) as { choices: { delta: Record<string, unknown>; finish_reason: string | null }[] });
    const calls = chunks.flatMap((c) => c.choices.map((ch) => ch.delta.function_call as { name?: string; arguments?: string } | undefined)).filter((x) => x !== undefined);
    expect(calls[0]!.name).toBe("get_weather");
    expect(JSON.parse(calls.map((c) => c.arguments ?? "").join(""))).toEqual({ city: "Quito" });
    expect(chunks.some((c) => c.choices.some((ch) => "tool_calls" in ch.delta))).toBe(false);
    expect(chunks.filter((c) => c.choices.some((ch) => ch.finish_reason === "function_call"))).toHaveLength(1);
    expect(lastAnthropic().tool_choice).toEqual({ type: "tool", name: "get_weather", disable_parallel_tool_use: true });
  });

  test("Gemini: functions → functionDeclarations; the call comes back as function_call", async () => {
    const r = await client.chat.completions.create({ model: "gemini", functions, messages: [{ role: "user", content: "Paris?" }] });
    expect(r.choices[0]!.message.function_call).toEqual({ name: "get_weather", arguments: '{"city":"Paris","unit":"celsius"}' });
    expect(r.choices[0]!.finish_reason).toBe("function_call");
    const decls = (gm.calls.at(-1)!.body.tools as { functionDeclarations: { name: string }[] }[])[0]!.functionDeclarations;
    expect(decls.map((d) => d.name)).toEqual(["get_weather"]);
  });

  test("OpenAI-type providers get the legacy fields untouched", async () => {
    await client.chat.completions.create({ model: "gpt", functions, function_call: "auto", messages: [{ role: "user", content: "x" }] });
    expect(oa.calls.at(-1)!.body).toMatchObject({ functions, function_call: "auto" });
    expect(oa.calls.at(-1)!.body.tools).toBeUndefined();
  });

  test("validation: function_call without functions, a function message without name, tools and functions together", async () => {
    const bad = [
      [{ function_call: "auto", messages: [{ role: "user", content: "x" }] }, "function_call"],
      [{ functions, messages: [{ role: "function", content: "r" }] }, "messages[0].name"],
      [{ functions, tools: [{ type: "function", function: { name: "f" } }], messages: [{ role: "user", content: "x" }] }, "functions"],
    ] as const;
    for (const [body, param] of bad) {
      const res = await post(`${gw.baseURL}/chat/completions`, { model: "claude", ...body }, KEY);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { param: string } }).error.param).toBe(param);
    }
  });
});

describe("image fetch (opt-in)", () => {
  const ask = (model: string, url: string) => client.chat.completions.create({ model, messages: [{ role: "user", content: [{ type: "text", text: "what?" }, { type: "image_url", image_url: { url } }] }] });

  test("off by default: the http:// URL goes to the provider as a URL", async () => {
    await ask("claude", `${imageUrl}/cat.png`);
    expect(lastAnthropic().messages[0]!.content[1]).toEqual({ type: "image", source: { type: "url", url: `${imageUrl}/cat.png` } });
  });

  test("on (private allowed): the gateway fetches the image and sends it inline, to Anthropic and Gemini", async () => {
    await ask("claude-fetch", `${imageUrl}/cat.png`);
    expect(lastAnthropic().messages[0]!.content[1]).toEqual({ type: "image", source: { type: "base64", media_type: "image/png", data: PNG.toString("base64") } });
    await ask("gemini-fetch", `${imageUrl}/cat.png`);
    const parts = (gm.calls.at(-1)!.body.contents as { parts: unknown[] }[])[0]!.parts;
    expect(parts[1]).toEqual({ inlineData: { mimeType: "image/png", data: PNG.toString("base64") } });
  });

  test("SSRF: a private address is refused unless allowed; nothing reaches the provider", async () => {
    const before = an.calls.length;
    const e = await apiError(ask("claude-guarded", `${imageUrl}/cat.png`));
    expect(e.status).toBe(400);
    expect(e.param).toBe("messages[0].content[1].image_url.url");
    expect(e.message).toContain("private or local address");
    expect(an.calls.length).toBe(before);
  });

  test("limits: too large, too slow, not an image, not found — each a 400 naming the part", async () => {
    for (const [path, words] of [["/big.png", "larger than"], ["/slow.png", "longer than 400 ms"], ["/page.html", "not an image"], ["/missing.png", "status 404"]] as const) {
      const e = await apiError(ask("claude-fetch", `${imageUrl}${path}`));
      expect(e.status).toBe(400);
      expect(e.param).toBe("messages[0].content[1].image_url.url");
      expect(e.message).toContain(words);
    }
  });

  test("which addresses count as private", () => {
    for (const ip of ["127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "::1", "fd00::1", "fe80::1", "::ffff:10.0.0.1", "224.0.0.1"]) {
      expect(isPrivateAddress(ip)).toBe(true);
    }
    for (const ip of ["8.8.8.8", "172.32.0.1", "93.184.216.34", "2606:4700::1111", "::ffff:8.8.4.4"]) expect(isPrivateAddress(ip)).toBe(false);
  });
});
