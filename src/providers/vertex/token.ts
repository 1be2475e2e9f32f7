// Access tokens for a service account: an RS256 JWT exchanged at its token_uri, cached until shortly before expiry, one refresh at a time.
import { sign } from "node:crypto";
import { GatewayError, upstreamFailed } from "../../openai/errors.ts";
import { registerSecrets } from "../../config/secrets.ts";
import { classifyFailure, parseJsonSafe } from "../http.ts";
import type { CallContext } from "../types.ts";
import type { ServiceAccount } from "./credentials.ts";

export const CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform";
/** A token is refreshed this long before it expires (google-auth-library's eager refresh is 5 minutes too). */
export const REFRESH_MARGIN_MS = 5 * 60 * 1000;
/** The assertion's lifetime: Google accepts at most one hour. */
const ASSERTION_SECONDS = 3600;
/** The token endpoint gets this long; a refresh serves many requests, so it is not tied to any one of them. */
const TOKEN_TIMEOUT_MS = 30_000;

const b64url = (b: Uint8Array | string) => Buffer.from(b).toString("base64url");

/** The signed JWT Google's token endpoint exchanges for an access token (RFC 7523, as google-auth-library builds it). */
export function signAssertion(sa: ServiceAccount, nowMs: number): string {
  const iat = Math.floor(nowMs / 1000);
  const header = { alg: "RS256", typ: "JWT", ...(sa.keyId ? { kid: sa.keyId } : {}) };
  const claims = { iss: sa.clientEmail, scope: CLOUD_PLATFORM_SCOPE, aud: sa.tokenUri, iat, exp: iat + ASSERTION_SECONDS };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${b64url(sign("sha256", Buffer.from(input), sa.privateKey))}`;
}

export interface TokenSource {
  /** A valid access token: the cached one, or one refresh shared by every request waiting for it. */
  token(ctx: Pick<CallContext, "signal" | "timeoutMs">): Promise<string>;
  /** Forgets `token` (the API refused it): the next call refreshes. */
  invalidate(token: string): void;
}

export function createTokenSource(sa: ServiceAccount, now: () => number = Date.now): TokenSource {
  let cached: { token: string; expiresAt: number } | undefined;
  let refreshing: Promise<string> | undefined;

  const refresh = async (): Promise<string> => {
    const started = now();
    const body = new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion: signAssertion(sa, started) });
    let res: Response;
    try {
      res = await fetch(sa.tokenUri, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: body.toString(),
        redirect: "manual",
        signal: AbortSignal.timeout(TOKEN_TIMEOUT_MS),
      });
    } catch {
      throw upstreamFailed("Could not reach the Google token endpoint to authenticate the Vertex service account.");
    }
    const answer = parseJsonSafe(await res.text().catch(() => ""));
    const o = answer && typeof answer === "object" ? (answer as Record<string, unknown>) : {};
    if (!res.ok || typeof o.access_token !== "string") {
      // Only the OAuth error code (invalid_grant, …): the description may quote the account or the assertion.
      const code = typeof o.error === "string" && /^[a-z_]{1,40}$/.test(o.error) ? `: ${o.error}` : "";
      throw upstreamFailed(`The Google token endpoint refused the Vertex service account (status ${res.status}${code}).`, { retryable: res.status >= 500 || res.status === 429 });
    }
    registerSecrets([o.access_token]);
    const seconds = typeof o.expires_in === "number" && o.expires_in > 0 ? o.expires_in : 3600;
    cached = { token: o.access_token, expiresAt: started + seconds * 1000 };
    return o.access_token;
  };

  return {
    async token(ctx) {
      if (cached && now() < cached.expiresAt - REFRESH_MARGIN_MS) return cached.token;
      refreshing ??= refresh().finally(() => (refreshing = undefined));
      const shared = refreshing;
      // A request whose client leaves stops waiting; the refresh goes on for the others.
      return new Promise<string>((resolve, reject) => {
        const onAbort = () => reject(classifyFailure(new DOMException("aborted", "AbortError"), ctx as CallContext));
        if (ctx.signal.aborted) return onAbort();
        ctx.signal.addEventListener("abort", onAbort, { once: true });
        shared.then(resolve, (e: unknown) => reject(e instanceof GatewayError ? e : upstreamFailed("Could not get a Vertex access token."))).finally(() => ctx.signal.removeEventListener("abort", onAbort));
      });
    },
    invalidate(token) {
      if (cached?.token === token) cached = undefined;
    },
  };
}
