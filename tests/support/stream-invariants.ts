// Checks every OpenAI stream we emit keeps the contract: role first, dense tool indexes, one finish, usage last, [DONE].
import { expect } from "bun:test";
import type { ChatCompletionChunk } from "../../src/openai/schemas.ts";

/** A streamed chat completion through the gateway, answered 200 as server-sent events: its `data:` payloads. */
export async function chatStreamPayloads(baseURL: string, key: string, body: object): Promise<string[]> {
  const res = await fetch(`${baseURL}/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ stream: true, ...body }),
  });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/event-stream");
  return dataPayloads(await res.text());
}

/** Splits raw SSE text into `data:` payloads (the test-side view of what a client receives). */
export function dataPayloads(sse: string): string[] {
  return sse
    .split(/\r?\n\r?\n/)
    .map((block) => block.split(/\r?\n/).filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n"))
    .filter((d) => d.length > 0);
}

/** Asserts a complete successful stream; returns its chunks (without [DONE]). */
export function expectValidStream(payloads: string[], opts: { model?: string } = {}): ChatCompletionChunk[] {
  expect(payloads.length).toBeGreaterThan(2);
  expect(payloads[payloads.length - 1]).toBe("[DONE]");
  const chunks = payloads.slice(0, -1).map((p) => JSON.parse(p) as ChatCompletionChunk);
  for (const c of chunks) {
    expect(c.object).toBe("chat.completion.chunk");
    expect(typeof c.id).toBe("string");
    if (opts.model) expect(c.model).toBe(opts.model);
  }
  expect(chunks[0]!.choices[0]!.delta.role).toBe("assistant");
  const finishes = chunks.filter((c) => c.choices.some((ch) => ch.finish_reason != null));
  expect(finishes.length).toBe(1);
  const last = chunks[chunks.length - 1]!;
  expect(last.choices).toEqual([]);
  expect(last.usage).toBeTruthy();
  expect(last.usage!.total_tokens).toBe(last.usage!.prompt_tokens + last.usage!.completion_tokens);
  // The finish chunk comes right before the usage chunk, and nothing after it carries content.
  expect(chunks.indexOf(finishes[0]!)).toBe(chunks.length - 2);
  // Tool calls: indexes dense from 0, and the first delta of each carries id, type and name.
  const seen = new Map<number, { id?: string; name?: string }>();
  for (const c of chunks) {
    for (const tc of c.choices[0]?.delta.tool_calls ?? []) {
      if (!seen.has(tc.index)) {
        expect(tc.index).toBe(seen.size);
        expect(typeof tc.id).toBe("string");
        expect(tc.type).toBe("function");
        expect(typeof tc.function?.name).toBe("string");
        seen.set(tc.index, { id: tc.id, name: tc.function?.name });
      } else {
        expect(tc.id === undefined || tc.id === seen.get(tc.index)!.id).toBe(true);
      }
    }
  }
  return chunks;
}

/** Joins the streamed text and tool calls back into a message, as a client library would. */
export function assemble(chunks: ChatCompletionChunk[]) {
  let content = "";
  const tools: { id: string; name: string; arguments: string }[] = [];
  let finish: string | null = null;
  for (const c of chunks) {
    const ch = c.choices[0];
    if (!ch) continue;
    if (ch.delta.content) content += ch.delta.content;
    for (const tc of ch.delta.tool_calls ?? []) {
      const t = (tools[tc.index] ??= { id: tc.id ?? "", name: tc.function?.name ?? "", arguments: "" });
      t.arguments += tc.function?.arguments ?? "";
    }
    if (ch.finish_reason) finish = ch.finish_reason;
  }
  return { content, tools, finish };
}
