// Claude's Messages API passed through to Bedrock (InvokeModel): the body Bedrock gets, Anthropic JSON and SSE back, count_tokens.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Anthropic from "@anthropic-ai/sdk";
import { createBedrockProvider } from "../../../src/providers/bedrock/provider.ts";
import type { Provider } from "../../../src/providers/types.ts";
import { startBedrockUpstream, type BedrockUpstream } from "../../support/bedrock-upstream.ts";
import { anthropicEvents, callContext, deployment, rejection } from "../../support/call-context.ts";

const CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
let up: BedrockUpstream;
let provider: Provider;

beforeAll(async () => {
  up = await startBedrockUpstream();
  provider = createBedrockProvider("bedrock", { type: "bedrock", region: up.region, base_url: up.url, access_key_id: up.accessKeyId, secret_access_key: up.secretAccessKey }, { timeoutMs: 30_000 });
});
afterAll(async () => {
  await up?.stop();
});

const body = (extra: object = {}) => ({ model: "claude-public", max_tokens: 200, system: "Be terse.", messages: [{ role: "user", content: "Hi native" }], metadata: { user_id: "u-1" }, ...extra });
const d = deployment("bedrock", CLAUDE);

describe("Messages passthrough on Bedrock", () => {
  test("speaks messages for Claude deployments only", () => {
    expect(provider.speaks!("messages", d)).toBe(true);
    expect(provider.speaks!("messages", deployment("bedrock", "meta.llama3-1-70b-instruct-v1:0"))).toBe(false);
    expect(provider.speaks!("responses", d)).toBe(false);
  });

  test("nativeComplete: InvokeModel with anthropic_version bedrock-2023-05-31, no model or stream, betas in the body; Anthropic JSON back", async () => {
    const r = await provider.nativeComplete!({ api: "messages", body: body({ stream: false }), headers: { "anthropic-beta": "context-1m-2025-08-07, interleaved-thinking-2025-05-14" } }, d, callContext());
    expect(r).toMatchObject({ type: "message", role: "assistant", content: [{ type: "text", text: "Echo from Claude on Bedrock: Hi native [system: Be terse.]" }], stop_reason: "end_turn" });
    const call = up.calls.at(-1)!;
    expect(call.path).toBe("/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke");
    expect(call.body).toEqual({ max_tokens: 200, system: "Be terse.", messages: [{ role: "user", content: "Hi native" }], metadata: { user_id: "u-1" }, anthropic_version: "bedrock-2023-05-31", anthropic_beta: ["context-1m-2025-08-07", "interleaved-thinking-2025-05-14"] });
  });

  test("nativeStream: the event stream's base64 chunks become Anthropic SSE, in order", async () => {
    const stream = await provider.nativeStream!({ api: "messages", body: body({ stream: true }), headers: {} }, d, callContext());
    const events = anthropicEvents(await new Response(stream).text());
    const names = events.map(([e]) => e);
    expect(names.slice(0, 2)).toEqual(["message_start", "content_block_start"]);
    expect(new Set(names.slice(2, -3))).toEqual(new Set(["content_block_delta"]));
    expect(names.slice(-3)).toEqual(["content_block_stop", "message_delta", "message_stop"]);
    expect(events.every(([e, data]) => e === data.type)).toBe(true);
    const text = events.filter(([e]) => e === "content_block_delta").map(([, data]) => data.delta.text).join("");
    expect(text).toBe("Echo from Claude on Bedrock: Hi native [system: Be terse.]");
    expect(up.calls.at(-1)!.operation).toBe("invoke-with-response-stream");
    expect(up.calls.at(-1)!.headers["x-amzn-bedrock-accept"]).toBe("application/json");
  });

  test("Anthropic's own SDK reads the stream as it reads Anthropic's", async () => {
    const server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      async fetch(req) {
        const b = (await req.json()) as Record<string, unknown>;
        const s = await provider.nativeStream!({ api: "messages", body: b, headers: {} }, d, callContext());
        return new Response(s, { headers: { "content-type": "text/event-stream" } });
      },
    });
    try {
      const client = new Anthropic({ baseURL: `http://127.0.0.1:${server.port}`, apiKey: "x", maxRetries: 0 });
      const final = await client.messages.stream({ model: "claude-public", max_tokens: 100, messages: [{ role: "user", content: "via sdk" }], tools: [{ name: "lookup", input_schema: { type: "object" } }] }).finalMessage();
      expect(final.stop_reason).toBe("tool_use");
      expect(final.content[0]).toMatchObject({ type: "tool_use", name: "lookup", input: { city: "Paris" } });
    } finally {
      await server.stop(true);
    }
  });

  test("an exception frame ends the stream with Anthropic's error event (rate_limit_error)", async () => {
    const s = await provider.nativeStream!({ api: "messages", body: body(), headers: {} }, deployment("bedrock", "anthropic.claude-stream-throttle-v1:0"), callContext());
    const events = anthropicEvents(await new Response(s).text());
    expect(events[0]![0]).toBe("message_start");
    expect(events.at(-1)).toEqual(["error", { type: "error", error: { type: "rate_limit_error", message: expect.stringContaining("throttling") } }]);
  });

  test("an HTTP error before the stream is a typed failure (retry and fallback stay possible)", async () => {
    const err = await rejection(provider.nativeStream!({ api: "messages", body: body(), headers: {} }, deployment("bedrock", "fault-throttle"), callContext()));
    expect(err.kind).toBe("upstream_client_error");
    expect(err.init.status).toBe(429);
  });

  test("countTokens: CountTokens with the InvokeModel body base64-encoded, on the foundation model", async () => {
    const n = await provider.countTokens!({ api: "messages", body: { model: "claude-public", messages: [{ role: "user", content: "count me" }] }, headers: {} }, d, callContext());
    const call = up.calls.at(-1)!;
    expect(call.path).toBe("/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/count-tokens");
    const inner = JSON.parse(Buffer.from((call.body as any).input.invokeModel.body, "base64").toString("utf8"));
    expect(inner).toEqual({ messages: [{ role: "user", content: "count me" }], anthropic_version: "bedrock-2023-05-31", max_tokens: 1 });
    expect(n).toBe(JSON.stringify(inner.messages).length >> 3);
  });
});
