// Reads a request body under the size limit: 413 before reading when declared too large, never a byte past the limit,
// 400 when malformed or nested too deep, 499 when the client leaves mid-upload.
import { clientClosed, invalidRequest, requestTooLarge } from "../openai/errors.ts";
import { nestsDeeperThan } from "./json-depth.ts";
import { readCapped, utf8 } from "../io/read-capped.ts";

/** Arrays and objects nested deeper than this are refused before parsing (server.max_json_depth). */
export const DEFAULT_MAX_JSON_DEPTH = 64;

/** The declared length, when the client sent one. */
function declaredLength(request: Request): number | null {
  const v = request.headers.get("content-length");
  return v === null ? null : Number(v);
}

/** The 413 for a body whose declared length is over the limit, before anything is read (also from onRequest); else the length. */
export function checkDeclaredLength(request: Request, limit: number): number | null {
  const declared = declaredLength(request);
  if (declared !== null && declared > limit) throw requestTooLarge(limit);
  return declared;
}

/** The body as text, reading no more than `limit` bytes; a client that leaves mid-upload is a 499, not a crash. */
export async function readBodyText(request: Request, limit: number): Promise<string> {
  const declared = checkDeclaredLength(request, limit);
  try {
    if (declared !== null || !request.body) return await request.text();
    // Chunked upload: count while reading, and stop the moment it passes the limit.
    const { bytes, over } = await readCapped(request.body, limit);
    if (over) throw requestTooLarge(limit);
    return utf8(bytes);
  } catch (err) {
    if (request.signal.aborted || (err instanceof Error && err.name === "AbortError")) throw clientClosed();
    throw err;
  }
}

/** Parses a body already read: a JSON object, not nested past `maxDepth`. */
export function parseJsonObject(text: string, maxDepth = DEFAULT_MAX_JSON_DEPTH): Record<string, unknown> {
  if (text.length === 0) throw invalidRequest("The request body is empty; send a JSON object.");
  if (nestsDeeperThan(text, maxDepth)) throw invalidRequest(`The JSON body nests arrays or objects deeper than ${maxDepth} levels.`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    const why = err instanceof Error ? err.message : "invalid JSON";
    throw invalidRequest(`We could not parse the JSON body of your request (${why}). Send a valid JSON object.`);
  }
  if (!body || typeof body !== "object" || Array.isArray(body)) throw invalidRequest("The request body must be a JSON object.");
  return body as Record<string, unknown>;
}

export async function readJsonBody(request: Request, limit: number, maxDepth = DEFAULT_MAX_JSON_DEPTH): Promise<Record<string, unknown>> {
  return parseJsonObject(await readBodyText(request, limit), maxDepth);
}

