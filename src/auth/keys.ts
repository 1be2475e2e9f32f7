// Gateway keys: a Map from sha256 hash to key entry (config keys built at start, store keys swapped in on change); bearer lookup with a constant-time compare.
import { timingSafeEqual } from "node:crypto";
import type { Config, KeyConfig } from "../config/schema.ts";
import { unauthorized } from "../openai/errors.ts";

export interface Principal {
  /** Stable id: `key_…` (config keys: derived from the name, so usage history survives restarts). */
  id: string;
  name: string;
  /** `config`: from the YAML file (read-only through the admin API); `api`: created at run time. */
  source: "config" | "api";
  config: KeyConfig;
  /** null: every model; otherwise the allow-list. */
  allowed: ReadonlySet<string> | null;
  /** The key's budget in whole micro-USD, or null. */
  budget: { limitMicros: number; period: "day" | "week" | "month" | "total" } | null;
}

/** One secret the ring accepts. A store key has one, or two during a rotation's grace period. */
export interface KeyEntry {
  digest: Uint8Array;
  principal: Principal;
  /** Refused with its own message while blocked. */
  blocked?: boolean;
  /** Epoch ms after which the key (or this old secret) no longer authenticates; null: never. */
  expiresAt?: number | null;
}

/** The id of a config key: derived from its name, stable across restarts and instances. */
export const configKeyId = (name: string): string => `key_cfg_${Bun.SHA256.hash(`config/${name}`, "hex").slice(0, 20)}`;

/** A config key's budget (USD in the YAML) in micro-USD. */
const budgetOf = (k: KeyConfig): Principal["budget"] => (k.budget ? { limitMicros: Math.round(k.budget.usd * 1_000_000), period: k.budget.period } : null);

/** One native call per request (no hasher object); the bytes for the constant-time compare. */
export const sha256 = (s: string): Uint8Array => Bun.SHA256.hash(s) as Uint8Array;
const hex = (b: Uint8Array): string => Buffer.prototype.toString.call(b as Buffer, "hex");

export interface KeyRing {
  /** Whether any key exists, in the config or the store (without keys the gateway only serves loopback, unauthenticated). */
  readonly enabled: boolean;
  /**
   * Resolves the Authorization header to a principal, or throws the 401. `apiKey` is a key sent in a header of its
   * own (Anthropic's `x-api-key`), used when there is no Authorization header.
   */
  authenticate(authorization: string | null, apiKey?: string | null): Principal;
  /** The config keys' principals, in config order. */
  configured(): readonly Principal[];
  /**
   * Replaces every store key's entries at once (a fresh Map, swapped in: a request never sees half a change).
   * `storeHasKeys`: the store holds keys, revoked ones included. From then on a key is always required, so revoking
   * the last key never opens a gateway that has no config keys.
   */
  setStoreKeys(entries: readonly KeyEntry[], storeHasKeys: boolean): void;
  /**
   * Replaces the entries of the store keys named (by id; an empty list removes the key), leaving every other key's
   * alone: a change costs its own keys, not the whole ring. Applied in one synchronous step, so no request sees half.
   */
  updateStoreKeys(byId: ReadonlyMap<string, readonly KeyEntry[]>, storeHasKeys: boolean): void;
  /** A reload: the new config's keys replace the old ones at once, beside the store's (a key is still required if it was). */
  setConfigKeys(config: Config): void;
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

const ANONYMOUS: Principal = { id: "anonymous", name: "anonymous", source: "config", config: { name: "anonymous" }, allowed: null, budget: null };

function configEntries(config: Config): { fromConfig: Map<string, KeyEntry>; configured: Principal[] } {
  const fromConfig = new Map<string, KeyEntry>();
  const configured: Principal[] = [];
  for (const k of config.keys) {
    // Config load requires one of key and key_sha256 on every key.
    const digest = configuredDigest(k.key, k.key_sha256)!;
    const principal: Principal = { id: configKeyId(k.name), name: k.name, source: "config", config: k, allowed: k.models ? new Set(k.models) : null, budget: budgetOf(k) };
    configured.push(principal);
    fromConfig.set(hex(digest), { digest, principal });
  }
  return { fromConfig, configured };
}

export function buildKeyRing(config: Config): KeyRing {
  let { fromConfig, configured } = configEntries(config);
  /** The store keys' entries by key id (one, or two during a rotation's grace period). */
  let storeById = new Map<string, readonly KeyEntry[]>();
  let byHash = fromConfig;
  let required = fromConfig.size > 0;
  const rebuild = () => {
    const next = new Map(fromConfig);
    // A config key wins over a store key with the same secret (the config is the operator's word).
    for (const list of storeById.values()) for (const e of list) if (!next.has(hex(e.digest))) next.set(hex(e.digest), e);
    byHash = next;
  };
  const byKeyId = (entries: readonly KeyEntry[]) => {
    const m = new Map<string, KeyEntry[]>();
    for (const e of entries) {
      const list = m.get(e.principal.id);
      if (list) list.push(e);
      else m.set(e.principal.id, [e]);
    }
    return m;
  };
  return {
    get enabled() {
      return required;
    },
    configured: () => configured,
    setStoreKeys(entries, storeHasKeys) {
      storeById = byKeyId(entries);
      rebuild();
      required ||= storeHasKeys || byHash.size > 0;
    },
    updateStoreKeys(changes, storeHasKeys) {
      // byHash may still be the config's own map (no store key yet): copy it once before changing it in place.
      if (byHash === fromConfig) byHash = new Map(fromConfig);
      for (const [id, entries] of changes) {
        for (const old of storeById.get(id) ?? []) {
          const h = hex(old.digest);
          if (byHash.get(h) === old) byHash.delete(h);
        }
        if (entries.length > 0) storeById.set(id, entries);
        else storeById.delete(id);
        for (const e of entries) if (!fromConfig.has(hex(e.digest))) byHash.set(hex(e.digest), e);
      }
      required ||= storeHasKeys || byHash.size > 0;
    },
    setConfigKeys(next) {
      ({ fromConfig, configured } = configEntries(next));
      rebuild();
      required ||= byHash.size > 0;
    },
    authenticate(authorization, apiKey) {
      if (!required) return ANONYMOUS;
      const viaHeader = !authorization && apiKey ? apiKey.trim() : null;
      if (!authorization && !viaHeader) throw unauthorized("Missing API key. Send it as 'Authorization: Bearer <key>'.");
      const token = viaHeader || bearerToken(authorization);
      if (!token) throw unauthorized("Malformed Authorization header. Send it as 'Authorization: Bearer <key>'.");
      const digest = sha256(token);
      const hit = byHash.get(hex(digest));
      // The map is keyed by the hash (which reveals nothing of the key); the compare below keeps the final
      // check constant-time whatever the lookup did.
      if (!hit || !timingSafeEqual(hit.digest, digest)) throw unauthorized("Incorrect API key provided.");
      if (hit.expiresAt != null && Date.now() >= hit.expiresAt) throw unauthorized("This API key has expired.");
      if (hit.blocked) throw unauthorized("This API key is blocked.");
      return hit.principal;
    },
  };
}
