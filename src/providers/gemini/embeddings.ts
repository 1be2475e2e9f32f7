// Pure translation of OpenAI embeddings to Gemini `batchEmbedContents` and back (base64 = Float32 little-endian, as OpenAI's).
import { invalidRequest, upstreamFailed } from "../../openai/errors.ts";
import type { EmbeddingsRequest, EmbeddingsResponse } from "../../openai/schemas.ts";
import type { Warn } from "../types.ts";
import { isObj } from "../shared/json.ts";

export interface GeminiBatchEmbedRequest {
  requests: { model: string; content: { parts: { text: string }[] }; outputDimensionality?: number }[];
}


/** The texts of the request; token-id arrays are OpenAI tokenizer ids, which mean nothing to Gemini. */
export function embeddingInputs(req: EmbeddingsRequest): string[] {
  if (typeof req.input === "string") return [req.input];
  if (req.input.some((x) => typeof x !== "string")) {
    throw invalidRequest("Gemini embedding models take text; token-id arrays are not supported.", "input");
  }
  return req.input as string[];
}

export function toGeminiEmbedRequest(req: EmbeddingsRequest, upstreamModel: string, warn: Warn): GeminiBatchEmbedRequest {
  const model = upstreamModel.includes("/") ? upstreamModel : `models/${upstreamModel}`;
  if (req.user !== undefined) warn("'user' is not supported by Gemini embeddings and was dropped.", "user");
  return {
    requests: embeddingInputs(req).map((text) => ({
      model,
      content: { parts: [{ text }] },
      ...(req.dimensions !== undefined ? { outputDimensionality: req.dimensions } : {}),
    })),
  };
}

/** OpenAI's base64 embedding: the float32 values, little-endian, base64-encoded. */
export function float32Base64(values: number[]): string {
  const view = new DataView(new ArrayBuffer(values.length * 4));
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return Buffer.from(view.buffer).toString("base64");
}

/** Gemini reports no token counts for embeddings: about four characters a token, as an estimate for limits and logs. */
const estimateTokens = (texts: string[]) => texts.reduce((n, t) => n + Math.max(1, Math.ceil(t.length / 4)), 0);

export function fromGeminiEmbedResponse(body: unknown, req: EmbeddingsRequest, publicModel: string): EmbeddingsResponse {
  const list = isObj(body) && Array.isArray(body.embeddings) ? body.embeddings : undefined;
  const texts = embeddingInputs(req);
  if (!list || list.length !== texts.length) throw upstreamFailed("The provider returned an unexpected embeddings response shape.");
  const data = list.map((e, index) => {
    const values = isObj(e) && Array.isArray(e.values) && e.values.every((x) => typeof x === "number") ? (e.values as number[]) : undefined;
    if (!values) throw upstreamFailed("The provider returned an embedding without values.");
    return { object: "embedding" as const, index, embedding: req.encoding_format === "base64" ? float32Base64(values) : values };
  });
  const tokens = estimateTokens(texts);
  return { object: "list", data, model: publicModel, usage: { prompt_tokens: tokens, total_tokens: tokens } };
}
