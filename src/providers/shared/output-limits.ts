// How much output a request may produce: the client's own cap, and the ceilings of known OpenAI and Gemini models.
import type { ChatRequest } from "../../openai/schemas.ts";

/** The cap the client sent, over every choice (`n`); null when it sent none. */
export function clientCap(req: ChatRequest): number | null {
  const cap = req.max_completion_tokens ?? req.max_tokens;
  return cap == null ? null : cap * Math.max(1, req.n ?? 1);
}

/**
 * The most output tokens a model produces in one answer, from the providers' model pages, by the id's last path
 * segment (so `openai/gpt-4o` and `models/gemini-2.5-pro` match). First match wins: specific ids before families.
 */
const CEILINGS: readonly [RegExp, number][] = [
  [/^gpt-4o-2024-05-13/, 4096],
  [/^(chatgpt-4o|gpt-4o)/, 16_384],
  [/^gpt-4\.1/, 32_768],
  [/^gpt-4-turbo|^gpt-4-\d{4}-preview/, 4096],
  [/^gpt-4(-\d{4})?$/, 8192],
  [/^gpt-3\.5-turbo/, 4096],
  [/^gpt-5/, 128_000],
  [/^o1-mini/, 65_536],
  [/^o1-preview/, 32_768],
  [/^o[1-9]/, 100_000],
  [/^gemini-1\.5|^gemini-1\.0|^gemini-pro$/, 8192],
  [/^gemini-2\.0/, 8192],
  [/^gemini-(2\.5|[3-9])/, 65_536],
];

/** Looked up once per model id (ids come from the config, so the map stays small). */
const known = new Map<string, number | undefined>();

export function knownMaxOutput(upstreamModel: string): number | undefined {
  if (known.has(upstreamModel)) return known.get(upstreamModel);
  const id = upstreamModel.slice(upstreamModel.lastIndexOf("/") + 1);
  let found: number | undefined;
  for (const [re, n] of CEILINGS) {
    if (re.test(id)) {
      found = n;
      break;
    }
  }
  known.set(upstreamModel, found);
  return found;
}
