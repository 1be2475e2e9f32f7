// Anthropic's own Messages API passed through: the client's body with the upstream model id, its beta and version headers.
import { upstreamFailed } from "../../openai/errors.ts";
import { readJson, upstreamFetch, streamBody } from "../http.ts";
import type { CallContext, Deployment, NativeRequest, Provider } from "../types.ts";
import { mapAnthropicError } from "./errors.ts";

/** Several beta lists (the provider's configured one, the client's) as one, each flag once. */
export function mergeBetas(...lists: (string | undefined)[]): string | undefined {
  const flags: string[] = [];
  for (const l of lists) for (const f of (l ?? "").split(",").map((s) => s.trim())) if (f && !flags.includes(f)) flags.push(f);
  return flags.length > 0 ? flags.join(",") : undefined;
}

/**
 * The provider's headers for one native call: its own (key, configured betas) with the client's `anthropic-version`
 * (the body is written for it) and the union of both beta lists.
 */
export function nativeHeaders(base: Record<string, string>, req: NativeRequest): Record<string, string> {
  const headers = { ...base };
  const version = req.headers["anthropic-version"];
  if (version) headers["anthropic-version"] = version;
  const betas = mergeBetas(base["anthropic-beta"], req.headers["anthropic-beta"]);
  if (betas) headers["anthropic-beta"] = betas;
  return headers;
}

/** The body sent: the client's, every unknown field kept, with the deployment's model id. */
export function nativeBody(req: NativeRequest, d: Deployment, stream: boolean): string {
  const body: Record<string, unknown> = { ...req.body, model: d.upstreamModel };
  if (stream) body.stream = true;
  else delete body.stream;
  return JSON.stringify(body);
}

type NativeMethods = Required<Pick<Provider, "speaks" | "nativeComplete" | "nativeStream" | "countTokens">>;

/** The Messages API methods of an Anthropic provider at `baseUrl` (the host, as the SDK takes it). */
export function anthropicNative(baseUrl: string, headers: Record<string, string>): NativeMethods {
  const messagesUrl = `${baseUrl}/v1/messages`;
  const countUrl = `${baseUrl}/v1/messages/count_tokens`;
  const post = (url: string, body: string, req: NativeRequest, ctx: CallContext) =>
    upstreamFetch({ url, headers: nativeHeaders(headers, req), body }, ctx, mapAnthropicError);
  return {
    speaks: (api) => api === "messages",
    async nativeComplete(req, d, ctx) {
      const res = await post(messagesUrl, nativeBody(req, d, false), req, ctx);
      const body = await readJson(res, ctx);
      if (!body || typeof body !== "object" || Array.isArray(body) || (body as { type?: unknown }).type !== "message") {
        throw upstreamFailed("The provider returned an unexpected response shape.");
      }
      return body as Record<string, unknown>;
    },
    async nativeStream(req, d, ctx) {
      const res = await post(messagesUrl, nativeBody(req, d, true), req, ctx);
      return streamBody(res);
    },
    async countTokens(req, d, ctx) {
      const { stream: _s, max_tokens: _m, ...rest } = req.body;
      const res = await post(countUrl, JSON.stringify({ ...rest, model: d.upstreamModel }), req, ctx);
      const body = await readJson(res, ctx);
      const n = (body as { input_tokens?: unknown } | null)?.input_tokens;
      if (typeof n !== "number" || !Number.isFinite(n)) throw upstreamFailed("The provider's token count is not a number.");
      return n;
    },
  };
}
