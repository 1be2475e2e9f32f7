// Hardening 14: a provider that echoes the gateway's own provider key never gets it to a client or a log line.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { startOpenAIUpstream, type OpenAIUpstream } from "../support/openai-upstream.ts";
import { post, startGateway, type GatewayHandle } from "../support/gateway.ts";
import { redact, redactBytes, registerSecrets } from "../../src/config/secrets.ts";

const KEY = "sk-test-hardening-redact";
const ANTHROPIC_KEY = "sk-ant-api03-secret-for-redaction-test";
const STREAM_KEY = "sk-stream-provider-secret-77";
const HEADER_SECRET = "Bearer hdr-token-0123456789";
let up: OpenAIUpstream;
let echoing: ReturnType<typeof Bun.serve>;
let gw: GatewayHandle;

beforeAll(async () => {
  up = await startOpenAIUpstream();
  // An Anthropic-shaped API that quotes the key it was sent in a 400, and an OpenAI-type one that does so mid-stream.
  echoing = Bun.serve({
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      if (url.pathname === "/v1/messages") {
        return Response.json({ type: "error", error: { type: "invalid_request_error", message: `x-api-key ${req.headers.get("x-api-key")} is malformed` } }, { status: 400 });
      }
      const chunk = { id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { role: "assistant", content: "hi" }, finish_reason: null }] };
      const auth = req.headers.get("authorization");
      const body = `data: ${JSON.stringify(chunk)}\n\ndata: ${JSON.stringify({ error: { message: `key ${auth} and ${req.headers.get("x-team")} revoked`, type: "invalid_request_error" } })}\n\n`;
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    },
  });
  const echoUrl = `http://127.0.0.1:${echoing.port}`;
  gw = await startGateway({
    providers: {
      up: { type: "openai", base_url: up.url, api_key: up.apiKey },
      claude: { type: "anthropic", base_url: echoUrl, api_key: ANTHROPIC_KEY },
      streamer: { type: "openai", base_url: `${echoUrl}/v1`, api_key: STREAM_KEY, headers: { "x-team": HEADER_SECRET } },
    },
    models: [
      { id: "echo-key", provider: "up", upstream_model: "fault-echo-key" },
      { id: "claude", provider: "claude", upstream_model: "claude-x" },
      { id: "streamer", provider: "streamer" },
    ],
    keys: [{ name: "redact", key: KEY }],
  });
});
afterAll(async () => {
  await gw.stop();
  await up.stop();
  echoing.stop(true);
});

const secrets = () => [up.apiKey, ANTHROPIC_KEY, STREAM_KEY, HEADER_SECRET, HEADER_SECRET.slice(7)];
function expectClean(text: string) {
  for (const s of secrets()) expect(text).not.toContain(s);
}

describe("provider secrets never leave the gateway", () => {
  test("an OpenAI-type 400 that quotes the key: redacted in the body, the headers and the log", async () => {
    const res = await post(`${gw.baseURL}/chat/completions`, { model: "echo-key", messages: [{ role: "user", content: "x" }] }, KEY);
    expect(res.status).toBe(400);
    const text = await res.text();
    expectClean(text);
    expectClean(JSON.stringify([...res.headers.entries()]));
    expect(text).toContain("[redacted]");
    expectClean(JSON.stringify(gw.logs));
  });

  test("the same through the official client, streaming", async () => {
    const client = new OpenAI({ baseURL: gw.baseURL, apiKey: KEY, maxRetries: 0 });
    const err = await client.chat.completions.create({ model: "echo-key", stream: true, messages: [{ role: "user", content: "x" }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expectClean(String((err as Error).message));
  });

  test("an Anthropic 400 quoting x-api-key", async () => {
    const res = await post(`${gw.baseURL}/chat/completions`, { model: "claude", messages: [{ role: "user", content: "x" }] }, KEY);
    expect(res.status).toBe(400);
    const text = await res.text();
    expectClean(text);
    expect(text).toContain("x-api-key [redacted] is malformed");
  });

  test("a passed-through stream whose error event quotes the key and a configured header", async () => {
    const res = await post(`${gw.baseURL}/chat/completions`, { model: "streamer", stream: true, messages: [{ role: "user", content: "x" }] }, KEY);
    const text = await res.text();
    expectClean(text);
    expect(text).toContain("key Bearer [redacted] and [redacted] revoked");
    expectClean(JSON.stringify(gw.logs));
  });
});

describe("the redactor", () => {
  test("replaces whole secrets, longest first, in text and bytes; leaves clean bytes untouched", () => {
    registerSecrets(["sk-abcdefgh", "sk-abcdefgh-longer-one", "short"]);
    expect(redact("a sk-abcdefgh-longer-one b sk-abcdefgh c short")).toBe("a [redacted] b [redacted] c short");
    const clean = new TextEncoder().encode("data: nothing here\n");
    expect(redactBytes(clean)).toBe(clean);
    expect(new TextDecoder().decode(redactBytes(new TextEncoder().encode("x sk-abcdefgh y")))).toBe("x [redacted] y");
  });
});
