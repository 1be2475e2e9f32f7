// Pure translation of OpenAI embeddings to Bedrock InvokeModel bodies (Titan: one text per call; Cohere: batches) and back.
import { invalidRequest, upstreamFailed } from "../../openai/errors.ts";
import type { EmbeddingsRequest, EmbeddingsResponse } from "../../openai/schemas.ts";
import type { Warn } from "../types.ts";
import { float32Base64 } from "../gemini/embeddings.ts";
import { baseModelId } from "./models.ts";
import { isObj } from "../shared/json.ts";

const isVector = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === "number");

/** Cohere on Bedrock takes at most 96 texts a call. */
export const COHERE_BATCH = 96;

export type EmbeddingFamily = "titan" | "cohere";

/** Which InvokeModel format a model's embeddings use; a model with none is a 400 naming it. */
export function embeddingFamily(model: string): EmbeddingFamily {
  const id = baseModelId(model);
  if (id.startsWith("amazon.titan-embed-text")) return "titan";
  if (id.startsWith("cohere.embed")) return "cohere";
  throw invalidRequest(
    `The Bedrock model '${model}' has no embeddings this gateway can call: use an Amazon Titan text embedding model (amazon.titan-embed-text-…) or a Cohere embed model (cohere.embed-…).`,
    "model",
  );
}

export function embeddingTexts(req: EmbeddingsRequest): string[] {
  if (typeof req.input === "string") return [req.input];
  if (req.input.some((x) => typeof x !== "string")) throw invalidRequest("Bedrock embedding models take text; token-id arrays are not supported.", "input");
  return req.input as string[];
}

/** The InvokeModel bodies for a request, in order: one per text (Titan) or one per batch of texts (Cohere). */
export function toBedrockEmbedBodies(req: EmbeddingsRequest, model: string, warn: Warn): Record<string, unknown>[] {
  const family = embeddingFamily(model);
  const texts = embeddingTexts(req);
  if (req.user !== undefined) warn("'user' is not supported by Bedrock embeddings and was dropped.", "user");
  if (family === "titan") {
    const v2 = baseModelId(model).startsWith("amazon.titan-embed-text-v2");
    if (req.dimensions !== undefined && !v2) warn(`'dimensions' is not supported by ${model} and was dropped.`, "dimensions");
    return texts.map((inputText) => ({ inputText, ...(v2 && req.dimensions !== undefined ? { dimensions: req.dimensions } : {}) }));
  }
  const v4 = baseModelId(model).startsWith("cohere.embed-v4");
  if (req.dimensions !== undefined && !v4) warn(`'dimensions' is not supported by ${model} and was dropped.`, "dimensions");
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < texts.length; i += COHERE_BATCH) {
    // search_document: what OpenAI-style callers embed most (documents to search); Cohere requires a type.
    out.push({ texts: texts.slice(i, i + COHERE_BATCH), input_type: "search_document", ...(v4 ? { embedding_types: ["float"] } : {}), ...(v4 && req.dimensions !== undefined ? { output_dimension: req.dimensions } : {}) });
  }
  return out;
}

/** Gathers the answers of the calls (in the order of their bodies) into one OpenAI embeddings response. */
export function fromBedrockEmbedResponses(answers: unknown[], req: EmbeddingsRequest, model: string, publicModel: string): EmbeddingsResponse {
  const family = embeddingFamily(model);
  const texts = embeddingTexts(req);
  const vectors: number[][] = [];
  let tokens = 0;
  for (const a of answers) {
    if (!isObj(a)) throw upstreamFailed("The provider returned an unexpected embeddings response shape.");
    if (family === "titan") {
      if (!isVector(a.embedding)) throw upstreamFailed("The provider returned an embedding without values.");
      vectors.push(a.embedding);
      if (typeof a.inputTextTokenCount === "number") tokens += a.inputTextTokenCount;
    } else {
      // embed v3 answers a list of vectors; embed v4 (embedding_types) a map of type → list.
      const list = Array.isArray(a.embeddings) ? a.embeddings : isObj(a.embeddings) ? a.embeddings.float : undefined;
      if (!Array.isArray(list) || !list.every(isVector)) throw upstreamFailed("The provider returned an embeddings response without float vectors.");
      vectors.push(...list);
    }
  }
  if (vectors.length !== texts.length) throw upstreamFailed(`The provider returned ${vectors.length} embeddings for ${texts.length} inputs.`);
  // Cohere reports no token counts here: about four characters a token, as an estimate for limits and logs.
  if (family === "cohere") tokens = texts.reduce((n, t) => n + Math.max(1, Math.ceil(t.length / 4)), 0);
  return {
    object: "list",
    data: vectors.map((v, index) => ({ object: "embedding" as const, index, embedding: req.encoding_format === "base64" ? float32Base64(v) : v })),
    model: publicModel,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}
