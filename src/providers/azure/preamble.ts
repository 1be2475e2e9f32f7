// Drops Azure's stream preamble (`choices: []` + `prompt_filter_results`, no usage) from an OpenAI SSE byte stream.
import type { BlockFilter } from "../openai/passthrough.ts";

/**
 * Azure OpenAI opens every stream with an event that reports the prompt's content-filter results: empty
 * `choices`, `object: ""`, `model: ""`, no usage. OpenAI clients expect the role chunk first and treat a
 * `choices: []` chunk as the usage chunk, so the event is removed. Everything else passes as it came.
 */
export function isPromptFilterPreamble(payload: string): boolean {
  // Only the rare event that names prompt_filter_results is parsed; ordinary chunks cost one indexOf.
  if (!payload.includes('"prompt_filter_results"')) return false;
  try {
    const v: unknown = JSON.parse(payload);
    if (typeof v !== "object" || v === null) return false;
    const o = v as { choices?: unknown; usage?: unknown };
    return Array.isArray(o.choices) && o.choices.length === 0 && (o.usage === undefined || o.usage === null);
  } catch {
    return false;
  }
}

/** Whether a whole SSE event (its lines, without the blank line) is the preamble. */
function dropEvent(lines: string[]): boolean {
  const data = lines.filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim());
  return data.length === 1 && isPromptFilterPreamble(data[0]!);
}

/** Complete events as text (or, at the end, whatever is left), without the preamble events. */
function withoutPreamble(text: string, final: boolean): string {
  const parts = text.split("\n");
  if (parts[parts.length - 1] === "") parts.pop();
  let out = "";
  let event: string[] = [];
  for (const raw of parts) {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line !== "") {
      event.push(raw);
      continue;
    }
    if (!dropEvent(event)) out += event.map((l) => l + "\n").join("") + raw + "\n";
    event = [];
  }
  if (final && event.length > 0 && !dropEvent(event)) out += event.map((l) => l + "\n").join("");
  return out;
}

const MARKER = new TextEncoder().encode('"prompt_filter_results"');
const NL = 10;
const CR = 13;
const find = (b: Uint8Array, key: Uint8Array): number => Buffer.prototype.indexOf.call(b as Buffer, key, 0);

/** The index just after the last blank line (the end of the last complete event), or 0 when there is none. */
function afterLastEvent(b: Uint8Array): number {
  for (let i = b.length - 1; i > 0; i--) {
    if (b[i] !== NL) continue;
    if (b[i - 1] === NL || (b[i - 1] === CR && i > 1 && b[i - 2] === NL)) return i + 1;
  }
  return 0;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const concat = (a: Uint8Array, b: Uint8Array) => {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
};

/**
 * A filter for the passthrough's blocks of complete lines. An event is only judged whole, so the lines of an event
 * still arriving are held back until its blank line. Blocks without the marker bytes go out as they came: only the
 * one block that holds the preamble is decoded.
 */
export function promptFilterPreambleDropper(): BlockFilter {
  let held: Uint8Array | null = null;
  const filter = (b: Uint8Array, final: boolean): Uint8Array => {
    if (b.length === 0 || find(b, MARKER) === -1) return b;
    return encoder.encode(withoutPreamble(decoder.decode(b), final));
  };
  return {
    block(block) {
      const b = held ? concat(held, block) : block;
      const end = afterLastEvent(b);
      held = end < b.length ? b.slice(end) : null;
      return filter(end < b.length ? b.subarray(0, end) : b, false);
    },
    end() {
      const rest = held ?? new Uint8Array(0);
      held = null;
      return filter(rest, true);
    },
  };
}
