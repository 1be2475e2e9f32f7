// Reads a request body as JSON under the size limit: 413 before reading when declared too large, 400 when malformed or nested too deep.
import { invalidRequest, requestTooLarge } from "../openai/errors.ts";
import { nestsDeeperThan } from "./json-depth.ts";

/** Arrays and objects nested deeper than this are refused before parsing (server.max_json_depth). */
export const DEFAULT_MAX_JSON_DEPTH = 64;

export async function readJsonBody(request: Request, limit: number, maxDepth = DEFAULT_MAX_JSON_DEPTH): Promise<unknown> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) throw requestTooLarge(limit);
  let text: string;
  if (declared !== null || !request.body) {
    text = await request.text();
  } else {
    // Chunked upload: count while reading, and stop the moment it passes the limit.
    const reader = request.body.getReader();
    const parts: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        await reader.cancel().catch(() => {});
        throw requestTooLarge(limit);
      }
      parts.push(value);
    }
    text = Buffer.concat(parts).toString("utf8");
  }
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
  return body;
}
