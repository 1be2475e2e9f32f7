// OpenAI's embeddings wire format for the fixture servers (OpenAI and Azure speak it alike), and a deterministic vector.

/** A deterministic unit-free vector for a text: the same text always embeds the same, different texts differ. */
export function vectorFor(text: string, dims: number): number[] {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
  return Array.from({ length: dims }, (_, i) => Math.fround(Math.sin(h + i * 7.1) / 2));
}

/** Float32 little-endian, base64: what OpenAI sends for `encoding_format: "base64"`. */
export function base64Of(values: number[]): string {
  return Buffer.from(new Float32Array(values).buffer).toString("base64");
}

/**
 * The answer to POST …/embeddings as OpenAI gives it: one item per input in order, `usage` without completion tokens,
 * base64 when asked. Returns an error body (status 400) for what OpenAI refuses: a missing or empty input.
 */
export function openAIEmbeddings(body: Record<string, unknown>, model: string): { status: number; body: unknown } {
  const input = body.input;
  const inputs = typeof input === "string" ? [input] : Array.isArray(input) ? input : [];
  if (inputs.length === 0 || inputs.some((x) => x === "")) {
    return { status: 400, body: { error: { message: "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.", type: "invalid_request_error", param: null, code: null } } };
  }
  const dims = typeof body.dimensions === "number" ? body.dimensions : 8;
  const base64 = body.encoding_format === "base64";
  const data = inputs.map((x, index) => {
    const v = vectorFor(typeof x === "string" ? x : JSON.stringify(x), dims);
    return { object: "embedding", index, embedding: base64 ? base64Of(v) : v };
  });
  const tokens = inputs.reduce<number>((n, x) => n + (typeof x === "string" ? x.split(/\s+/).filter(Boolean).length : (x as unknown[]).length), 0);
  return { status: 200, body: { object: "list", data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } } };
}
