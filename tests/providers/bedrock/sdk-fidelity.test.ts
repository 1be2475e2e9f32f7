// The fake Bedrock is checked against AWS's own client (@aws-sdk/client-bedrock-runtime): it must accept the fake's wire format.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  InvokeModelCommand,
  InvokeModelWithResponseStreamCommand,
  CountTokensCommand,
} from "@aws-sdk/client-bedrock-runtime";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { startBedrockUpstream, type BedrockUpstream } from "../../support/bedrock-upstream.ts";
import { rejection } from "../../support/call-context.ts";

const CLAUDE = "anthropic.claude-3-5-sonnet-20241022-v2:0";
let up: BedrockUpstream;
let client: BedrockRuntimeClient;

beforeAll(async () => {
  up = await startBedrockUpstream({ sessionToken: "fidelity-session-token-0123456789" });
  // The client speaks HTTP/2 by default; the fake is HTTP/1.1. One attempt: each test sees the fake's own answer.
  client = new BedrockRuntimeClient({
    region: up.region,
    endpoint: up.url,
    credentials: { accessKeyId: up.accessKeyId, secretAccessKey: up.secretAccessKey, sessionToken: up.sessionToken },
    requestHandler: new NodeHttpHandler(),
    maxAttempts: 1,
  });
});
afterAll(async () => {
  client?.destroy();
  await up?.stop();
});

describe("AWS's client against the fake", () => {
  test("Converse: the SDK's SigV4 passes the fake's check; the answer parses", async () => {
    const r = await client.send(new ConverseCommand({ modelId: CLAUDE, system: [{ text: "S" }], messages: [{ role: "user", content: [{ text: "hi sdk" }] }] }));
    expect(r.output?.message?.content?.[0]?.text).toBe(`Echo from Bedrock ${CLAUDE}: hi sdk [system: S]`);
    expect(r.stopReason).toBe("end_turn");
    expect(r.usage?.inputTokens).toBeGreaterThan(0);
    const call = up.calls.at(-1)!;
    // The SDK escapes ':' in the path exactly as the gateway does.
    expect(call.path).toBe("/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse");
    expect(call.auth).toBe("sigv4");
  });

  test("ConverseStream: every event type decodes, text and tool input reassemble", async () => {
    const r = await client.send(
      new ConverseStreamCommand({
        modelId: CLAUDE,
        messages: [{ role: "user", content: [{ text: "weather" }] }],
        toolConfig: { tools: [{ toolSpec: { name: "get_weather", inputSchema: { json: { type: "object" } } } }] },
        additionalModelRequestFields: { thinking: { type: "enabled", budget_tokens: 1024 } },
        inferenceConfig: { maxTokens: 2048 },
      }),
    );
    const seen: string[] = [];
    let input = "";
    let reasoning = "";
    let signature = "";
    for await (const ev of r.stream!) {
      seen.push(Object.keys(ev).find((k) => (ev as unknown as Record<string, unknown>)[k] !== undefined)!);
      input += ev.contentBlockDelta?.delta?.toolUse?.input ?? "";
      reasoning += ev.contentBlockDelta?.delta?.reasoningContent?.text ?? "";
      signature += ev.contentBlockDelta?.delta?.reasoningContent?.signature ?? "";
      if (ev.metadata) expect(ev.metadata.usage?.outputTokens).toBeGreaterThan(0);
    }
    expect(seen[0]).toBe("messageStart");
    expect(seen).toContain("contentBlockStart");
    expect(seen.slice(-2)).toEqual(["messageStop", "metadata"]);
    expect(JSON.parse(input)).toEqual({ city: "Paris", unit: "celsius" });
    expect(reasoning).toBe("Thinking about turn 1.");
    expect(signature).toStartWith("sig-");
  });

  test("an exception frame inside the stream surfaces as the SDK's ThrottlingException", async () => {
    const r = await client.send(new ConverseStreamCommand({ modelId: "fault-stream-throttle", messages: [{ role: "user", content: [{ text: "x" }] }] }));
    let err: unknown;
    try {
      for await (const _ of r.stream!) void _;
    } catch (e) {
      err = e;
    }
    expect((err as Error).name).toBe("ThrottlingException");
  });

  test("HTTP errors carry the type the SDK reads (x-amzn-errortype)", async () => {
    const err = await rejection(client.send(new ConverseCommand({ modelId: "fault-throttle", messages: [{ role: "user", content: [{ text: "x" }] }] })));
    expect(err.name).toBe("ThrottlingException");
    expect(err.$metadata.httpStatusCode).toBe(429);
    const v = await rejection(client.send(new ConverseCommand({ modelId: CLAUDE, messages: [{ role: "user", content: [{ text: "  " }] }] })));
    expect(v.name).toBe("ValidationException");
    expect(v.message).toContain("is blank");
  });

  test("InvokeModel and InvokeModelWithResponseStream with Claude's own body; CountTokens", async () => {
    const body = { anthropic_version: "bedrock-2023-05-31", max_tokens: 50, messages: [{ role: "user", content: "native" }] };
    const whole = await client.send(new InvokeModelCommand({ modelId: CLAUDE, body: JSON.stringify(body), contentType: "application/json" }));
    expect(JSON.parse(new TextDecoder().decode(whole.body)).content[0].text).toBe("Echo from Claude on Bedrock: native");
    const streamed = await client.send(new InvokeModelWithResponseStreamCommand({ modelId: CLAUDE, body: JSON.stringify(body), contentType: "application/json" }));
    const types: string[] = [];
    for await (const ev of streamed.body!) if (ev.chunk?.bytes) types.push(JSON.parse(new TextDecoder().decode(ev.chunk.bytes)).type);
    expect(types[0]).toBe("message_start");
    expect(types.at(-1)).toBe("message_stop");
    const counted = await client.send(new CountTokensCommand({ modelId: CLAUDE, input: { invokeModel: { body: new TextEncoder().encode(JSON.stringify(body)) } } }));
    expect(counted.inputTokens).toBeGreaterThan(0);
  });

  test("the fake refuses the SDK when its secret is wrong (the check is real)", async () => {
    const wrong = new BedrockRuntimeClient({ region: up.region, endpoint: up.url, credentials: { accessKeyId: up.accessKeyId, secretAccessKey: "not-it", sessionToken: up.sessionToken }, requestHandler: new NodeHttpHandler(), maxAttempts: 1 });
    const err = await rejection(wrong.send(new ConverseCommand({ modelId: CLAUDE, messages: [{ role: "user", content: [{ text: "x" }] }] })));
    expect(err.name).toBe("InvalidSignatureException");
    wrong.destroy();
  });
});
