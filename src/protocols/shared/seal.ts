// Sealing: authenticated encryption (AES-256-GCM) of provider state handed to clients, so they can neither read nor forge it.
//
// One scheme for every front door (Responses' encrypted_content, Messages' thinking signatures): a sealer is made per
// purpose under the deployment's one secret (seal-keys.ts), and a token sealed for one purpose never opens for another.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";

/** Every token the gateway seals starts with this; anything else is some other party's data (e.g. OpenAI's own). */
export const SEAL_PREFIX = "sb1.";
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A token that carries the gateway's prefix but does not authenticate: altered, truncated, or sealed under another secret. */
export class SealBroken extends Error {
  constructor() {
    super("sealed content failed authentication");
    this.name = "SealBroken";
  }
}

export interface Sealer {
  /** JSON of `value`, encrypted and authenticated: `sb1.<base64url(iv ‖ ciphertext ‖ tag)>`. */
  seal(value: unknown): string;
  /**
   * The value a token was sealed with; undefined when the token is not the gateway's (no prefix). Throws SealBroken
   * when it is the gateway's but was tampered with or sealed under another secret.
   */
  open(token: string): unknown;
}

/**
 * A sealer for one purpose (`responses.reasoning`, `messages.thinking`…). `secret` is the deployment's sealing secret
 * (configured, or kept in the store): every instance derives the same key, and it survives restarts.
 */
export function createSealer(secret: string, purpose: string): Sealer {
  if (secret.length < 16) throw new Error("a sealing secret needs at least 16 characters");
  const key = Buffer.from(hkdfSync("sha256", secret, "switchboard-seal", purpose, 32));
  // The purpose is authenticated too: a token made for one purpose does not open for another, even with one secret.
  const aad = Buffer.from(purpose, "utf8");
  return {
    seal(value) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      cipher.setAAD(aad);
      const body = Buffer.concat([cipher.update(JSON.stringify(value), "utf8"), cipher.final()]);
      return SEAL_PREFIX + Buffer.concat([iv, body, cipher.getAuthTag()]).toString("base64url");
    },
    open(token) {
      if (!token.startsWith(SEAL_PREFIX)) return undefined;
      const raw = Buffer.from(token.slice(SEAL_PREFIX.length), "base64url");
      if (raw.length < IV_BYTES + TAG_BYTES) throw new SealBroken();
      try {
        const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, IV_BYTES));
        decipher.setAAD(aad);
        decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
        const text = Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString("utf8");
        return JSON.parse(text) as unknown;
      } catch {
        throw new SealBroken();
      }
    },
  };
}

/** 32 random bytes as hex: the secret generated once for a deployment that configures none (kept in its store). */
export const newSealSecret = (): string => randomBytes(32).toString("hex");
