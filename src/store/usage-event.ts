// One usage event as the store keeps it: a request with a valid key, its tokens, cost and timings.

/** The model route a request came through (the contract's `endpoint`). */
export type Endpoint = "chat.completions" | "embeddings" | "responses" | "messages" | "count_tokens";

export interface UsageEvent {
  /** Unique per event, made by the gateway: a retried batch never counts an event twice. */
  id: string;
  /** The request id (x-request-id), which a client may choose and repeat. */
  requestId: string;
  createdAt: number;
  keyId: string;
  keyName: string;
  model: string;
  provider: string | null;
  upstreamModel: string | null;
  stream: boolean;
  status: number;
  promptTokens: number;
  cachedTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  costMicros: number;
  latencyMs: number;
  ttfbMs: number | null;
  usageSource: "provider" | "estimated";
  endpoint: Endpoint;
}
