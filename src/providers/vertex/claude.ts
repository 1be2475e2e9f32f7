// Claude on Vertex: Anthropic's Messages body as rawPredict takes it (anthropic_version in the body, the model in the URL).
import type { AnthropicRequest } from "../anthropic/wire.ts";
import type { NativeRequest } from "../types.ts";

/** The `anthropic_version` Vertex's Claude endpoints take in the body. */
export const VERTEX_ANTHROPIC_VERSION = "vertex-2023-10-16";

/** A translated request (chat → Anthropic) for rawPredict / streamRawPredict: no `model`, Vertex's version. */
export function toVertexClaudeBody(body: AnthropicRequest): Record<string, unknown> {
  const { model: _model, ...rest } = body;
  return { ...rest, anthropic_version: VERTEX_ANTHROPIC_VERSION };
}

/**
 * The client's Messages body for rawPredict: the model goes (it is in the URL), `stream` says which method is
 * called and stays as Vertex expects it, the client's `anthropic_version` is replaced by Vertex's.
 */
export function toVertexNativeBody(req: NativeRequest, stream: boolean): Record<string, unknown> {
  const { model: _model, stream: _stream, ...rest } = req.body;
  return { ...rest, anthropic_version: VERTEX_ANTHROPIC_VERSION, ...(stream ? { stream: true } : {}) };
}

/** count-tokens:rawPredict names the model in the body (its URL is one for every model). */
export function toVertexCountTokensBody(req: NativeRequest, model: string): Record<string, unknown> {
  const { stream: _stream, ...rest } = req.body;
  return { ...rest, model, anthropic_version: VERTEX_ANTHROPIC_VERSION };
}
