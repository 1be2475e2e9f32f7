// Claude's Messages API passed through to Vertex (rawPredict / streamRawPredict / count-tokens), called directly on the provider.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import Anthropic from "@anthropic-ai/sdk";
import { createVertexProvider } from "../../../src/providers/vertex/provider.ts";
import type { Provider } from "../../../src/providers/types.ts";
import { startVertexUpstream, type VertexUpstream } from "../../support/vertex-upstream.ts";
import { anthropicEvents, callContext, deployment, rejection } from "../../support/call-context.ts";

const CLAUDE = "claude-sonnet-4-5@20250929";
let up: VertexUpstream;
let provider: Provider;
const d = deployment("vertex", CLAUDE);

beforeAll(async () => {
  up = await startVertexUpstream();
  provider = createVertexProvider("vertex", { type: "vertex", project: up.project, location: "europe-west1", base_url: up.url, credentials_file: up.account.path }, { timeoutMs: 30_000 });
});
afterAll(async () => {
  await up?.stop();
});

const body = (extra: object = {}) => ({ model: "claude-public", max_tokens: 100, anthropic_version: "2023-06-01", messages: [{ role: "user", content: [{ type: "text", text: "Hi native", cache_control: { type: "ephemeral" } }] }], ...extra });

describe("Messages passthrough on Vertex", () => {
  test("speaks messages for claude-… ids only", () => {
    expect(provider.speaks!("messages", d)).toBe(true);
    expect(provider.speaks!("messages", deployment("vertex", "gemini-2.0-flash"))).toBe(false);
  });

  test("nativeComplete: rawPredict, Vertex's anthropic_version, no model, unknown fields and anthropic-beta kept", async () => {
    const r = await provider.nativeComplete!({ api: "messages", body: body({ context_management: { edits: [] } }), headers: { "anthropic-beta": "context-management-2025-06-27" } }, d, callContext());
    expect(r).toMatchObject({ type: "message", content: [{ type: "text", text: "Echo from Claude on Vertex: Hi native" }] });
    const call = up.calls.at(-1)!;
    expect(call.path).toBe(`/v1/projects/${up.project}/locations/europe-west1/publishers/anthropic/models/claude-sonnet-4-5%4020250929:rawPredict`);
    expect(call.body).toEqual({ max_tokens: 100, anthropic_version: "vertex-2023-10-16", messages: body().messages, context_management: { edits: [] } });
    expect(call.headers["anthropic-beta"]).toBe("context-management-2025-06-27");
  });

  test("nativeStream: streamRawPredict's SSE forwarded; Anthropic's SDK reads it", async () => {
    const s = await provider.nativeStream!({ api: "messages", body: body({ stream: true }), headers: {} }, d, callContext());
    const events = anthropicEvents(await new Response(s).text());
    expect(events[0]![0]).toBe("message_start");
    expect(events.at(-1)![0]).toBe("message_stop");
    expect(up.calls.at(-1)!.body.stream).toBe(true);
    const server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      async fetch(req) {
        const stream = await provider.nativeStream!({ api: "messages", body: (await req.json()) as Record<string, unknown>, headers: {} }, d, callContext());
        return new Response(stream, { headers: { "content-type": "text/event-stream" } });
      },
    });
    try {
      const client = new Anthropic({ baseURL: `http://127.0.0.1:${server.port}`, apiKey: "x", maxRetries: 0 });
      const final = await client.messages.stream({ model: "claude-public", max_tokens: 50, messages: [{ role: "user", content: "sdk" }] }).finalMessage();
      expect(final.content[0]).toMatchObject({ type: "text", text: "Echo from Claude on Vertex: sdk" });
    } finally {
      await server.stop(true);
    }
  });

  test("an HTTP error before the stream is a typed failure", async () => {
    const err = await rejection(provider.nativeStream!({ api: "messages", body: body(), headers: {} }, deployment("vertex", "claude-fault-overloaded"), callContext()));
    expect(err.kind).toBe("upstream_failed");
    expect(err.message).toContain("overloaded");
  });

  test("countTokens: count-tokens:rawPredict with the model in the body", async () => {
    const n = await provider.countTokens!({ api: "messages", body: { model: "claude-public", messages: [{ role: "user", content: "count" }] }, headers: {} }, d, callContext());
    const call = up.calls.at(-1)!;
    expect(call.path).toEndWith("/publishers/anthropic/models/count-tokens:rawPredict");
    expect(call.body).toEqual({ model: CLAUDE, messages: [{ role: "user", content: "count" }], anthropic_version: "vertex-2023-10-16" });
    expect(n).toBe(JSON.stringify([{ role: "user", content: "count" }]).length >> 3);
  });
});
