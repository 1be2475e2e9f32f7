// Key secrets: `sk-sb-` + 43 characters of CSPRNG output (256 bits); only their SHA-256 is ever stored.
import { randomBytes } from "node:crypto";

export const SECRET_PREFIX = "sk-sb-";

export interface NewSecret {
  /** Shown once, in the answer that created it. */
  secret: string;
  /** Hex SHA-256: what the store keeps. */
  hash: string;
  /** `sk-sb-` and the first 4 characters: enough to tell keys apart, nothing to guess from. */
  prefix: string;
}

export function newSecret(): NewSecret {
  const secret = SECRET_PREFIX + randomBytes(32).toString("base64url");
  return { secret, hash: Bun.SHA256.hash(secret, "hex"), prefix: secret.slice(0, SECRET_PREFIX.length + 4) };
}

/** `key_` + 24 hex characters of CSPRNG output. */
export const newKeyId = (): string => `key_${randomBytes(12).toString("hex")}`;
