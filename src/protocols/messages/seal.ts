// Sealing of the state a translated answer's thinking must carry back (AES-256-GCM under a server secret): the signatures the gateway makes.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";

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

export interface Sealer {
  seal(payload: ThinkingSeal): string;
  /** The payload, or undefined when the string is not a seal of this gateway's secret (a Claude signature, a forgery). */
  open(signature: string): ThinkingSeal | undefined;
}

/** Signatures the gateway makes start so; Claude's (standard base64) never contain a dot. */
export const SEAL_PREFIX = "sb1.";
export const isGatewaySignature = (s: unknown): s is string => typeof s === "string" && s.startsWith(SEAL_PREFIX);

const IV = 12;
const TAG = 16;
// Bound to this use: a seal made for another purpose under the same secret does not open here.
const INFO = "switchboard messages thinking-signature v1";
const AAD = Buffer.from(INFO);

/**
 * A sealer under `secret` (at least 16 bytes of it). The key is derived with HKDF, so the same secret on every
 * instance (config or store) opens what any of them sealed; a per-process random key would break every conversation
 * that moves to another instance or outlives a restart.
 */
export function createSealer(secret: string | Uint8Array): Sealer {
  const raw = typeof secret === "string" ? Buffer.from(secret, "utf8") : Buffer.from(secret);
  if (raw.length < 16) throw new Error("The sealing secret must be at least 16 bytes.");
  const key = Buffer.from(hkdfSync("sha256", raw, Buffer.alloc(0), INFO, 32));
  return {
    seal(payload) {
      const iv = randomBytes(IV);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      cipher.setAAD(AAD);
      const body = Buffer.concat([cipher.update(JSON.stringify(compact(payload)), "utf8"), cipher.final()]);
      return SEAL_PREFIX + Buffer.concat([iv, body, cipher.getAuthTag()]).toString("base64url");
    },
    open(signature) {
      if (!isGatewaySignature(signature)) return undefined;
      const bytes = Buffer.from(signature.slice(SEAL_PREFIX.length), "base64url");
      if (bytes.length < IV + TAG + 2) return undefined;
      try {
        const decipher = createDecipheriv("aes-256-gcm", key, bytes.subarray(0, IV));
        decipher.setAAD(AAD);
        decipher.setAuthTag(bytes.subarray(bytes.length - TAG));
        const text = Buffer.concat([decipher.update(bytes.subarray(IV, bytes.length - TAG)), decipher.final()]).toString("utf8");
        return expand(JSON.parse(text));
      } catch {
        // Wrong key, altered bytes, or not JSON: not ours to trust.
        return undefined;
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
