// Gateway keys: a Map from sha256 hash to key entry, built at start; bearer lookup with a constant-time compare.
import { timingSafeEqual } from "node:crypto";
import type { Config, KeyConfig } from "../config/schema.ts";
import { unauthorized } from "../openai/errors.ts";

export interface Principal {
  name: string;
  config: KeyConfig;
  /** null: every model; otherwise the allow-list. */
  allowed: ReadonlySet<string> | null;
}

/** One native call per request (no hasher object); the bytes for the constant-time compare. */
export const sha256 = (s: string): Uint8Array => Bun.SHA256.hash(s) as Uint8Array;
const hex = (b: Uint8Array): string => Buffer.prototype.toString.call(b as Buffer, "hex");

export interface KeyRing {
  /** Whether any key is configured (without keys the gateway only serves loopback, unauthenticated). */
  readonly enabled: boolean;
  /** Resolves the Authorization header to a principal, or throws the 401. */
  authenticate(authorization: string | null): Principal;
}

// Module-level: a regex literal inside the function would allocate a RegExp object per request.
const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** The token of an `Authorization: Bearer <token>` header, or null when the header is missing or malformed. */
export function bearerToken(authorization: string | null): string | null {
  return authorization ? (BEARER.exec(authorization)?.[1] ?? null) : null;
}

/** The sha256 of a key configured as plaintext (`key`) or as its hex digest (`key_sha256`); null when neither is set. */
export function configuredDigest(key: string | undefined, keySha256: string | undefined): Uint8Array | null {
  if (key !== undefined) return sha256(key);
  if (keySha256 !== undefined) return Buffer.from(keySha256.toLowerCase(), "hex");
  return null;
}

const ANONYMOUS: Principal = { name: "anonymous", config: { name: "anonymous" }, allowed: null };

export function buildKeyRing(config: Config): KeyRing {
  const byHash = new Map<string, { digest: Uint8Array; principal: Principal }>();
  for (const k of config.keys) {
    // Config load requires one of key and key_sha256 on every key.
    const digest = configuredDigest(k.key, k.key_sha256)!;
    byHash.set(hex(digest), { digest, principal: { name: k.name, config: k, allowed: k.models ? new Set(k.models) : null } });
  }
  const enabled = byHash.size > 0;
  return {
    enabled,
    authenticate(authorization) {
      if (!enabled) return ANONYMOUS;
      if (!authorization) throw unauthorized("Missing API key. Send it as 'Authorization: Bearer <key>'.");
      const token = bearerToken(authorization);
      if (!token) throw unauthorized("Malformed Authorization header. Send it as 'Authorization: Bearer <key>'.");
      const digest = sha256(token);
      const hit = byHash.get(hex(digest));
      // The map is keyed by the hash (which reveals nothing of the key); the compare below keeps the final
      // check constant-time whatever the lookup did.
      if (!hit || !timingSafeEqual(hit.digest, digest)) throw unauthorized("Incorrect API key provided.");
      return hit.principal;
    },
  };
}
