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
const sha256 = (s: string): Uint8Array => Bun.SHA256.hash(s) as Uint8Array;
const hex = (b: Uint8Array): string => Buffer.prototype.toString.call(b as Buffer, "hex");

export interface KeyRing {
  /** Whether any key is configured (without keys the gateway only serves loopback, unauthenticated). */
  readonly enabled: boolean;
  /** Resolves the Authorization header to a principal, or throws the 401. */
  authenticate(authorization: string | null): Principal;
}

// Module-level: a regex literal inside the function would allocate a RegExp object per request.
const BEARER = /^Bearer\s+(\S+)\s*$/i;

const ANONYMOUS: Principal = { name: "anonymous", config: { name: "anonymous" }, allowed: null };

export function buildKeyRing(config: Config): KeyRing {
  const byHash = new Map<string, { digest: Uint8Array; principal: Principal }>();
  for (const k of config.keys) {
    const digest = k.key !== undefined ? sha256(k.key) : Buffer.from(k.key_sha256!.toLowerCase(), "hex");
    byHash.set(hex(digest), { digest, principal: { name: k.name, config: k, allowed: k.models ? new Set(k.models) : null } });
  }
  const enabled = byHash.size > 0;
  return {
    enabled,
    authenticate(authorization) {
      if (!enabled) return ANONYMOUS;
      if (!authorization) throw unauthorized("Missing API key. Send it as 'Authorization: Bearer <key>'.");
      const m = BEARER.exec(authorization);
      if (!m) throw unauthorized("Malformed Authorization header. Send it as 'Authorization: Bearer <key>'.");
      const digest = sha256(m[1]!);
      const hit = byHash.get(hex(digest));
      // The map is keyed by the hash (which reveals nothing of the key); the compare below keeps the final
      // check constant-time whatever the lookup did.
      if (!hit || !timingSafeEqual(hit.digest, digest)) throw unauthorized("Incorrect API key provided.");
      return hit.principal;
    },
  };
}
