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

/** Text a database can keep: no NUL (PostgreSQL refuses it in TEXT), no lone surrogate (not UTF-8), bounded. */
export function cleanText(s: unknown, max = 512): string {
  const t = typeof s === "string" ? s : s === null || s === undefined ? "" : String(s);
  // NUL is kept visible as the two characters `\0` rather than dropped: "x\0y" must not become another model's name.
  return t.replaceAll("\u0000", "\\0").toWellFormed().slice(0, max);
}

/** A whole number in [0, 2^53 − 1]: anything else (missing, NaN, negative, a string, 2^63) is clamped or 0. */
export function safeCount(v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) return 0;
  return Math.min(Number.MAX_SAFE_INTEGER, Math.round(v));
}

/** A duration in ms, ≥ 0 and finite (latency, time to first byte). */
const safeMs = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.min(v, 1e12) : 0);

const ENDPOINTS: readonly Endpoint[] = ["chat.completions", "embeddings", "responses", "messages", "count_tokens"];

/**
 * The event as every store can take it, whatever its fields hold: a bad value in one event must never stop the
 * ledger (one refused row used to block every batch behind it). Applied where the event is built and again where
 * it is written.
 */
export function sanitizeEvent(e: UsageEvent): UsageEvent {
  const status = typeof e.status === "number" && Number.isInteger(e.status) && e.status >= 100 && e.status <= 999 ? e.status : 500;
  return {
    id: cleanText(e.id, 128),
    requestId: cleanText(e.requestId, 128),
    createdAt: typeof e.createdAt === "number" && Number.isFinite(e.createdAt) && e.createdAt > 0 ? Math.min(Math.round(e.createdAt), 8.64e15) : Date.now(),
    keyId: cleanText(e.keyId, 128),
    keyName: cleanText(e.keyName, 256),
    model: cleanText(e.model, 200),
    provider: e.provider === null || e.provider === undefined ? null : cleanText(e.provider, 200),
    upstreamModel: e.upstreamModel === null || e.upstreamModel === undefined ? null : cleanText(e.upstreamModel, 256),
    stream: e.stream === true,
    status,
    promptTokens: safeCount(e.promptTokens),
    cachedTokens: safeCount(e.cachedTokens),
    completionTokens: safeCount(e.completionTokens),
    reasoningTokens: safeCount(e.reasoningTokens),
    costMicros: safeCount(e.costMicros),
    latencyMs: safeMs(e.latencyMs),
    ttfbMs: e.ttfbMs === null || e.ttfbMs === undefined ? null : safeMs(e.ttfbMs),
    usageSource: e.usageSource === "provider" ? "provider" : "estimated",
    endpoint: ENDPOINTS.includes(e.endpoint) ? e.endpoint : "chat.completions",
  };
}
