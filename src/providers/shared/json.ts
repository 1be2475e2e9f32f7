// Guards and parsers for untrusted JSON that every adapter and front door needs: one copy of each.
import { invalidRequest } from "../../openai/errors.ts";

/** A plain JSON object (not null, not an array). */
export const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Tool-call arguments as OpenAI sends them (a JSON string) → the object providers want. "" (sent by some clients for
 * a tool without arguments) is {}; anything but a JSON object is the request's fault, named by `param`.
 */
export function parseToolArguments(args: string, param: string): Record<string, unknown> {
  if (args.trim() === "") return {};
  let v: unknown;
  try {
    v = JSON.parse(args);
  } catch {
    throw invalidRequest("Tool call arguments must be a JSON object; this string is not valid JSON.", param);
  }
  if (!isObj(v)) throw invalidRequest("Tool call arguments must be a JSON object.", param);
  return v;
}
