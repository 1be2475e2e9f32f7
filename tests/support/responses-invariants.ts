// What every Responses API event stream must satisfy, as OpenAI emits them; returns the terminal event's response.
import { expect } from "bun:test";

type Ev = { type: string; sequence_number: number } & Record<string, unknown>;
const TERMINAL = new Set(["response.completed", "response.incomplete", "response.failed"]);

/** Parses `event: …` / `data: …` SSE text into events, checking that each event's `event:` line names its type. */
export function parseResponsesSse(text: string): Ev[] {
  const out: Ev[] = [];
  for (const block of text.split(/\n\n/)) {
    if (!block.trim()) continue;
    const lines = block.split("\n");
    const name = lines.find((l) => l.startsWith("event: "))?.slice(7);
    const data = lines.filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
    const e = JSON.parse(data) as Ev;
    if (name !== undefined) expect(name).toBe(e.type);
    out.push(e);
  }
  return out;
}

/**
 * Sequence numbers from 0 without gaps; created and in_progress first; one item open at a time, output_index dense
 * in order; every .added has its .done (items, content parts, summary parts); deltas address the open item and part;
 * .done values equal the deltas joined; one terminal event, last, whose response.output equals the items done.
 */
export function checkResponseEvents(events: Ev[]): Record<string, unknown> {
  expect(events.length).toBeGreaterThanOrEqual(3);
  events.forEach((e, i) => expect(e.sequence_number).toBe(i));
  expect(events[0]!.type).toBe("response.created");
  expect(events[1]!.type).toBe("response.in_progress");
  const done: Record<string, unknown>[] = [];
  let open: { index: number; item: Record<string, unknown>; args: string; parts: number; part: { type: string; text: string } | null; summary: { text: string } | null; summaries: number } | null = null;
  let terminal: Ev | null = null;
  for (const e of events.slice(2)) {
    expect(terminal).toBeNull();
    if (TERMINAL.has(e.type)) {
      terminal = e;
      continue;
    }
    const idx = e.output_index as number | undefined;
    if (e.type === "response.output_item.added") {
      expect(open).toBeNull();
      expect(idx).toBe(done.length);
      open = { index: idx!, item: e.item as Record<string, unknown>, args: "", parts: 0, part: null, summary: null, summaries: 0 };
      continue;
    }
    expect(open).not.toBeNull();
    const o = open!;
    expect(idx).toBe(o.index);
    if ("item_id" in e) expect(e.item_id).toBe(o.item.id);
    switch (e.type) {
      case "response.content_part.added":
        expect(o.item.type).toBe("message");
        expect(o.part).toBeNull();
        expect(e.content_index).toBe(o.parts);
        o.part = { type: (e.part as { type: string }).type, text: "" };
        break;
      case "response.output_text.delta":
      case "response.refusal.delta":
        expect(o.part?.type).toBe(e.type === "response.output_text.delta" ? "output_text" : "refusal");
        expect(e.content_index).toBe(o.parts);
        o.part!.text += e.delta as string;
        break;
      case "response.output_text.done":
        expect(e.text).toBe(o.part!.text);
        break;
      case "response.refusal.done":
        expect(e.refusal).toBe(o.part!.text);
        break;
      case "response.content_part.done": {
        const p = e.part as { type: string; text?: string; refusal?: string };
        expect(p.type).toBe(o.part!.type);
        expect(p.text ?? p.refusal).toBe(o.part!.text);
        o.part = null;
        o.parts++;
        break;
      }
      case "response.function_call_arguments.delta":
        expect(o.item.type).toBe("function_call");
        o.args += e.delta as string;
        break;
      case "response.function_call_arguments.done":
        expect(e.arguments).toBe(o.args);
        break;
      case "response.reasoning_summary_part.added":
        expect(o.item.type).toBe("reasoning");
        expect(o.summary).toBeNull();
        expect(e.summary_index).toBe(o.summaries);
        o.summary = { text: "" };
        break;
      case "response.reasoning_summary_text.delta":
        o.summary!.text += e.delta as string;
        break;
      case "response.reasoning_summary_text.done":
        expect(e.text).toBe(o.summary!.text);
        break;
      case "response.reasoning_summary_part.done":
        expect((e.part as { text: string }).text).toBe(o.summary!.text);
        o.summary = null;
        o.summaries++;
        break;
      case "response.output_item.done": {
        expect(o.part).toBeNull();
        expect(o.summary).toBeNull();
        const item = e.item as Record<string, unknown>;
        expect(item.id).toBe(o.item.id);
        expect(item.type).toBe(o.item.type);
        if (item.type === "function_call") expect(item.arguments).toBe(o.args);
        if (item.type === "message") expect((item.content as unknown[]).length).toBe(o.parts);
        if (item.type === "reasoning") expect((item.summary as unknown[]).length).toBe(o.summaries);
        done.push(item);
        open = null;
        break;
      }
      default:
        throw new Error(`unexpected event ${e.type}`);
    }
  }
  expect(open).toBeNull();
  expect(terminal).not.toBeNull();
  const response = terminal!.response as Record<string, unknown>;
  // OpenAI seals reasoning afresh for the terminal event: its encrypted_content differs from the item's .done one.
  const comparable = (items: unknown) => (items as Record<string, unknown>[]).map((i) => ("encrypted_content" in i ? { ...i, encrypted_content: typeof i.encrypted_content } : i));
  expect(comparable(response.output)).toEqual(comparable(done));
  return response;
}
