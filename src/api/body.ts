// Reads a request body as JSON under the size limit: 413 before reading when declared too large, 400 when malformed.
import { invalidRequest, requestTooLarge } from "../openai/errors.ts";

export async function readJsonBody(request: Request, limit: number): Promise<unknown> {
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
