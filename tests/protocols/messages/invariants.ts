// Checks every Anthropic stream the gateway writes keeps the Messages contract (the bridge bugs other gateways shipped).
import { expect } from "bun:test";

export type Event = { type: string } & Record<string, unknown>;

/** Splits raw SSE text into events, checking each `event:` name matches its JSON `type`. */
export function parseAnthropicSse(sse: string): Event[] {
  const out: Event[] = [];
  for (const block of sse.split(/\r?\n\r?\n/)) {
    const lines = block.split(/\r?\n/).filter((l) => l && !l.startsWith(":"));
    if (lines.length === 0) continue;
    const name = lines.find((l) => l.startsWith("event:"))?.slice(6).trim();
    const data = lines.filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n");
    const ev = JSON.parse(data) as Event;
    expect(name).toBe(ev.type);
    out.push(ev);
  }
  return out;
}

/**
 * A complete stream: message_start exactly once and first (with input usage); blocks indexed from 0 in order, each
 * content_block_start → deltas of its own kind → content_block_stop, never two open at once; tool input that joins to
 * a JSON object ({} when empty); thinking blocks signed; message_delta (stop reason, usage) then message_stop, last.
 * Returns the message the events build, as Anthropic's SDK would accumulate it.
 */
export function expectValidMessageStream(events: Event[], opts: { model?: string; inputTokens?: number } = {}) {
  const kinds = events.map((e) => e.type).filter((t) => t !== "ping");
  expect(kinds[0]).toBe("message_start");
  expect(kinds.filter((t) => t === "message_start").length).toBe(1);
  expect(kinds.slice(-2)).toEqual(["message_delta", "message_stop"]);
  expect(kinds.filter((t) => t === "message_delta").length).toBe(1);
  const start = events[0]!.message as Record<string, unknown>;
  if (opts.model) expect(start.model).toBe(opts.model);
  const startUsage = start.usage as Record<string, number>;
  expect(typeof startUsage.input_tokens).toBe("number");
  if (opts.inputTokens !== undefined) expect(startUsage.input_tokens).toBe(opts.inputTokens);
  else expect(startUsage.input_tokens).toBeGreaterThan(0);

  const content: Record<string, unknown>[] = [];
  let open: { index: number; type: string; json: string; sig: string; text: string } | null = null;
  for (const e of events.slice(1, -2)) {
    if (e.type === "ping") continue;
    if (e.type === "content_block_start") {
      expect(open).toBeNull();
      expect(e.index).toBe(content.length);
      const block = e.content_block as Record<string, unknown>;
      open = { index: e.index as number, type: String(block.type), json: "", sig: "", text: "" };
      content.push({ ...block });
      continue;
    }
    expect(open).not.toBeNull();
    expect(e.index).toBe(open!.index);
    if (e.type === "content_block_stop") {
      const block = content[open!.index]!;
      if (open!.type === "tool_use") {
        // The SDKs JSON.parse the joined fragments; an empty call must still be an object.
        const input = JSON.parse(open!.json) as unknown;
        expect(input !== null && typeof input === "object" && !Array.isArray(input)).toBe(true);
        block.input = input;
      }
      if (open!.type === "thinking") {
        expect(open!.sig.length).toBeGreaterThan(0);
        block.signature = open!.sig;
        block.thinking = open!.text;
      }
      if (open!.type === "text") block.text = open!.text;
      open = null;
      continue;
    }
    expect(e.type).toBe("content_block_delta");
    const d = e.delta as Record<string, unknown>;
    const allowed: Record<string, string[]> = { text: ["text_delta"], thinking: ["thinking_delta", "signature_delta"], tool_use: ["input_json_delta"] };
    expect(allowed[open!.type]).toContain(String(d.type));
    if (d.type === "input_json_delta") open!.json += String(d.partial_json);
    if (d.type === "text_delta") open!.text += String(d.text);
    if (d.type === "thinking_delta") open!.text += String(d.thinking);
    if (d.type === "signature_delta") open!.sig += String(d.signature);
  }
  expect(open).toBeNull();
  const delta = events[events.length - 2]!;
  const stop = (delta.delta as Record<string, unknown>).stop_reason;
  expect(["end_turn", "max_tokens", "stop_sequence", "tool_use", "refusal", "pause_turn"]).toContain(String(stop));
  const usage = delta.usage as Record<string, number>;
  expect(typeof usage.output_tokens).toBe("number");
  return { ...start, content, stop_reason: stop, usage: { ...startUsage, ...usage } };
}
