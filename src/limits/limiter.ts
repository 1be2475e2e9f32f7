// The Limiter contract shared by every store, and the window arithmetic and header formatting they share.
import type { Principal } from "../auth/keys.ts";

export interface LimitQuery {
  principal: Principal;
  /** The public model id (per-model limits inside a key apply to it). */
  model: string;
  /** Tokens to reserve before the call (prompt estimate + completion allowance). */
  estimatedTokens: number;
}

/** An admitted request. `settle` must be called exactly once when the request ends, however it ends. */
export interface Admission {
  /** The x-ratelimit-* headers to send with the response. */
  headers: Record<string, string>;
  /** Replaces the token reservation with what was really used (null: unknown, keep the estimate) and frees the slot. */
  settle(usedTokens: number | null): void;
}

export interface Limiter {
  /** Checks every limit and records the request atomically; throws a rate_limited GatewayError when over. */
  admit(q: LimitQuery): Promise<Admission>;
  /** The key's current x-ratelimit-* headers without consuming anything (for responses that are not calls). */
  peek(principal: Principal, model?: string): Promise<Record<string, string>>;
  close(): Promise<void>;
}

export const WINDOW_MS = 60_000;

/** Formats a duration the way OpenAI's x-ratelimit-reset-* headers do (Go's Duration.String at ms precision). */
export function formatResetDuration(ms: number): string {
  const d = Math.max(0, Math.ceil(ms));
  if (d === 0) return "0s";
  if (d < 1000) return `${d}ms`;
  const h = Math.floor(d / 3_600_000);
  const m = Math.floor((d % 3_600_000) / 60_000);
  const totalMs = d % 60_000;
  const sec = Math.floor(totalMs / 1000);
  const frac = totalMs % 1000;
  const s = frac ? `${sec}.${String(frac).padStart(3, "0").replace(/0+$/, "")}s` : `${sec}s`;
  if (h > 0) return `${h}h${m}m${s}`;
  if (m > 0) return `${m}m${s}`;
  return s;
}
