// The thinking signatures the gateway makes for translated answers: the provider's reasoning state, sealed under the deployment's secret (protocols/shared/seal.ts).
import { SealBroken, SEAL_PREFIX, type Sealer } from "../shared/seal.ts";

export { SEAL_PREFIX };

/** What these signatures are sealed for: a token sealed for another purpose does not open here. */
export const THINKING_PURPOSE = "messages.thinking";

/**
 * What a thinking block's signature holds when the gateway made it: where the reasoning came from and the provider's
 * opaque reasoning state, so the next turn can hand it back to the same provider byte for byte.
 */
export interface ThinkingSeal {
  /** The provider instance (config name) that produced it: the state is only given back to that provider. */
  provider: string;
  /** The provider's `reasoning_details` (signed Claude thinking, OpenRouter-style blocks), as it sent them. */
  details?: unknown[];
  /** Gemini thought signatures by tool call id (`extra_content.google.thought_signature`). */
  toolSignatures?: Record<string, string>;
}

export interface ThinkingSealer {
  seal(payload: ThinkingSeal): string;
  /** The payload, or undefined when the string is not a seal of this gateway's secret (a Claude signature, a forgery). */
  open(signature: string): ThinkingSeal | undefined;
}

/** Signatures the gateway makes start so; Claude's (standard base64) never contain a dot. */
export const isGatewaySignature = (s: unknown): s is string => typeof s === "string" && s.startsWith(SEAL_PREFIX);

/** Thinking signatures on the deployment's sealer for THINKING_PURPOSE. */
export function thinkingSealer(sealer: Sealer): ThinkingSealer {
  return {
    seal: (payload) => sealer.seal(compact(payload)),
    open(signature) {
      if (!isGatewaySignature(signature)) return undefined;
      try {
        return expand(sealer.open(signature));
      } catch (e) {
        // Wrong key or altered bytes: not ours to trust, so the block is treated as another party's.
        if (e instanceof SealBroken) return undefined;
        throw e;
      }
    },
  };
}

// Short keys keep the signature small: it travels in every later request of the conversation.
function compact(p: ThinkingSeal): Record<string, unknown> {
  const out: Record<string, unknown> = { p: p.provider };
  if (p.details?.length) out.d = p.details;
  if (p.toolSignatures && Object.keys(p.toolSignatures).length > 0) out.t = p.toolSignatures;
  return out;
}

function expand(v: unknown): ThinkingSeal | undefined {
  if (!v || typeof v !== "object") return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o.p !== "string") return undefined;
  const out: ThinkingSeal = { provider: o.p };
  if (Array.isArray(o.d)) out.details = o.d;
  if (o.t && typeof o.t === "object" && !Array.isArray(o.t)) {
    const t: Record<string, string> = {};
    for (const [k, s] of Object.entries(o.t)) if (typeof s === "string") t[k] = s;
    out.toolSignatures = t;
  }
  return out;
}
