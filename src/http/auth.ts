// The key checks route groups run before their handlers: attached to the routes, so they run for whichever route matched.
import { timingSafeEqual } from "node:crypto";
import { bearerToken, configuredDigest, sha256, type KeyRing } from "../auth/keys.ts";
import type { Config } from "../config/schema.ts";
import { crossSite, unauthorized } from "../openai/errors.ts";
import { changesState, isSameOrigin, type Sessions } from "./sessions.ts";
import { stateOf } from "./request-state.ts";

/** A route's `beforeHandle`: the bearer key becomes the request's principal, or the request ends with a 401. */
export type AuthHook = (ctx: { request: Request }) => void;

/**
 * Deciding authentication from our own parse of `request.url` beside Elysia's routing lets the two disagree (Elysia
 * once routed `/zz/v1/models` as `/v1/models` for a short Host); a hook on the route cannot disagree with it.
 */
export function requireKey(keys: KeyRing, opts: { apiKeyHeader?: string } = {}): AuthHook {
  const header = opts.apiKeyHeader;
  // Anthropic's clients send the key as `x-api-key` (Claude Code, the SDKs); a bearer token is taken first either way.
  if (header) return ({ request }) => void (stateOf(request)!.principal = keys.authenticate(request.headers.get("authorization"), request.headers.get(header)));
  return ({ request }) => {
    stateOf(request)!.principal = keys.authenticate(request.headers.get("authorization"));
  };
}

/** The admin key as the running config has it: a reload can change it (and then ends what the old one opened). */
export interface AdminKey {
  /** sha256 of server.admin_key (or server.admin_key_sha256); null when none is configured. */
  digest(): Uint8Array | null;
  /**
   * Whether `secret` is the admin key: the one check behind the bearer header and the dashboard's sign-in. Digests
   * have equal length, so the compare is constant-time whatever was sent; false when no admin key is configured.
   */
  matches(secret: string): boolean;
  /** Takes a reloaded config's key; true when it differs from the one before. */
  set(config: Config): boolean;
}

export function adminKeyOf(config: Config): AdminKey {
  let digest = configuredDigest(config.server.admin_key, config.server.admin_key_sha256);
  return {
    digest: () => digest,
    matches(secret) {
      const d = digest;
      return d !== null && timingSafeEqual(sha256(secret), d);
    },
    set(next) {
      const d = configuredDigest(next.server.admin_key, next.server.admin_key_sha256);
      const changed = d === null || digest === null ? d !== digest : !timingSafeEqual(d, digest);
      digest = d;
      return changed;
    },
  };
}

/**
 * The admin key check (server.admin_key or its sha256); with none configured every admin route is closed. A request
 * without an Authorization header may instead carry the dashboard's session cookie; a change sent that way must come
 * from the dashboard's own origin (403 otherwise), since a browser attaches the cookie whatever page sends it.
 */
export function requireAdmin(source: Config | AdminKey, sessions?: Sessions): AuthHook {
  const key = "digest" in source ? source : adminKeyOf(source);
  return ({ request }) => {
    const digest = key.digest();
    if (!digest) throw unauthorized("No admin key is configured (server.admin_key or server.admin_key_sha256).");
    const authorization = request.headers.get("authorization");
    if (authorization === null && sessions) {
      const session = sessions.tokenFrom(request.headers.get("cookie"));
      if (session !== null && sessions.check(session)) {
        if (changesState(request.method) && !isSameOrigin(request)) throw crossSite();
        return;
      }
    }
    const token = bearerToken(authorization);
    if (!token || !key.matches(token)) throw unauthorized("Missing or incorrect admin key.");
  };
}
