// Pure translation of OpenAI embeddings to Vertex `:predict` for text-embedding models (`instances` of content) and back.
import { invalidRequest, upstreamFailed } from "../../openai/errors.ts";
import type { EmbeddingsRequest, EmbeddingsResponse } from "../../openai/schemas.ts";
import type { Warn } from "../types.ts";
import { embeddingInputs, float32Base64 } from "../gemini/embeddings.ts";
import { isObj } from "../shared/json.ts";


/** Texts per `:predict` call: gemini-embedding-001 takes one instance a request, the text-embedding models up to 250. */
export const batchSizeOf = (model: string): number => (model.startsWith("gemini-embedding") ? 1 : 250);

/** The models `:predict` embeds text with; any other is a 400 naming it. */
export function checkEmbeddingModel(model: string): void {
  if (!/(^|-)embedding/.test(model)) {
    throw invalidRequest(`The Vertex model '${model}' has no text embeddings: use a text-embedding model (text-embedding-005, text-multilingual-embedding-002, gemini-embedding-001).`, "model");
  }
}

export function toVertexPredictBodies(req: EmbeddingsRequest, model: string, warn: Warn): Record<string, unknown>[] {
  checkEmbeddingModel(model);
  if (req.user !== undefined) warn("'user' is not supported by Vertex embeddings and was dropped.", "user");
  const texts = embeddingInputs(req);
  const size = batchSizeOf(model);
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < texts.length; i += size) {
    out.push({
      instances: texts.slice(i, i + size).map((content) => ({ content })),
      ...(req.dimensions !== undefined ? { parameters: { outputDimensionality: req.dimensions } } : {}),
    });
  }
  return out;
}

/** `{predictions: [{embeddings: {values, statistics: {token_count}}}]}` per call, in order → one OpenAI response. */
export function fromVertexPredictResponses(answers: unknown[], req: EmbeddingsRequest, publicModel: string): EmbeddingsResponse {
  const texts = embeddingInputs(req);
  const vectors: number[][] = [];
  let tokens = 0;
  for (const a of answers) {
    const preds = isObj(a) && Array.isArray(a.predictions) ? a.predictions : undefined;
    if (!preds) throw upstreamFailed("The provider returned an unexpected embeddings response shape.");
    for (const p of preds) {
      const e = isObj(p) && isObj(p.embeddings) ? p.embeddings : undefined;
      const values = e && Array.isArray(e.values) && e.values.every((x) => typeof x === "number") ? (e.values as number[]) : undefined;
      if (!values) throw upstreamFailed("The provider returned an embedding without values.");
      vectors.push(values);
      const count = isObj(e!.statistics) ? e!.statistics.token_count : undefined;
      tokens += typeof count === "number" ? count : 0;
    }
  }
  if (vectors.length !== texts.length) throw upstreamFailed(`The provider returned ${vectors.length} embeddings for ${texts.length} inputs.`);
  return {
    object: "list",
    data: vectors.map((v, index) => ({ object: "embedding" as const, index, embedding: req.encoding_format === "base64" ? float32Base64(v) : v })),
    model: publicModel,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}
