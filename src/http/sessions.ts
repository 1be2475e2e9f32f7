// Dashboard sessions: the admin key exchanged once for a random HttpOnly cookie, kept server-side with idle expiry; the same-origin rule for cookie-borne changes.
import { randomBytes } from "node:crypto";

export const SESSION_COOKIE = "switchboard_session";

export interface SessionOptions {
  /** A session unused for this long ends (default 30 minutes). */
  idleMs?: number;
  /** A session ends this long after sign-in, however busy (default 12 hours): a page left polling is not signed in forever. */
  maxAgeMs?: number;
  /** Sessions kept at most; the oldest goes first (sign-ins need the admin key, so this only bounds memory). */
  maxSessions?: number;
  now?: () => number;
}

export interface Sessions {
  /** A new session; returns the token that goes into the cookie (only its hash is kept). */
  create(): string;
  /** Whether the token names a live session; a hit counts as use (the idle clock restarts). */
  check(token: string): boolean;
  destroy(token: string): void;
  /** Ends every session (the admin key they were opened with changed). Returns how many there were. */
  clear(): number;
  /** The session token of a Cookie header, or null. */
  tokenFrom(cookieHeader: string | null): string | null;
  /** Set-Cookie for a new session: `Secure` when the page was served over https. */
  cookie(token: string, secure: boolean): string;
  /** Set-Cookie that removes the session cookie. */
  clearCookie(secure: boolean): string;
  readonly idleMs: number;
}

interface Entry {
  createdAt: number;
  lastSeen: number;
}

/** The token's hash: a heap dump or a log of the map shows no usable cookie. */
const hashOf = (token: string): string => new Bun.CryptoHasher("sha256").update(token).digest("hex");

// 32 random bytes, base64url: 43 characters from the cookie-safe alphabet.
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

export function createSessions(opts: SessionOptions = {}): Sessions {
  const idleMs = opts.idleMs ?? 30 * 60_000;
  const maxAgeMs = opts.maxAgeMs ?? 12 * 3600_000;
  const maxSessions = opts.maxSessions ?? 1000;
  const now = opts.now ?? Date.now;
  // Insertion order is creation order, so the first entry is the oldest.
  const live = new Map<string, Entry>();

  const expired = (e: Entry, t: number) => t - e.lastSeen > idleMs || t - e.createdAt > maxAgeMs;
  const sweep = (t: number) => {
    for (const [h, e] of live) if (expired(e, t)) live.delete(h);
  };
  const attrs = (secure: boolean) => `Path=/; HttpOnly; SameSite=Strict${secure ? "; Secure" : ""}`;

  return {
    idleMs,
    create() {
      const t = now();
      sweep(t);
      while (live.size >= maxSessions) live.delete(live.keys().next().value!);
      const token = randomBytes(32).toString("base64url");
      live.set(hashOf(token), { createdAt: t, lastSeen: t });
      return token;
    },
    check(token) {
      if (!TOKEN.test(token)) return false;
      const h = hashOf(token);
      const e = live.get(h);
      if (!e) return false;
      const t = now();
      if (expired(e, t)) {
        live.delete(h);
        return false;
      }
      e.lastSeen = t;
      return true;
    },
    destroy(token) {
      if (TOKEN.test(token)) live.delete(hashOf(token));
    },
    clear() {
      const n = live.size;
      live.clear();
      return n;
    },
    tokenFrom(cookieHeader) {
      if (!cookieHeader) return null;
      for (const part of cookieHeader.split(";")) {
        const eq = part.indexOf("=");
        if (eq !== -1 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim();
      }
      return null;
    },
    // No Max-Age: the cookie ends with the browser session, and the server's idle clock ends it sooner.
    cookie: (token, secure) => `${SESSION_COOKIE}=${token}; ${attrs(secure)}`,
    clearCookie: (secure) => `${SESSION_COOKIE}=; Max-Age=0; ${attrs(secure)}`,
  };
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** Whether a request changes state (and so, when authenticated by cookie, must come from the dashboard's own origin). */
export const changesState = (method: string): boolean => !SAFE_METHODS.has(method);

/**
 * A browser names the page that sent a request in `Origin` (and, for fetches, `Sec-Fetch-Site`); a form or script on
 * another site cannot forge either. The host is compared rather than the whole origin so a gateway behind a TLS proxy
 * (https outside, http inside) still recognises its own page; a proxy that rewrites `Host` is expected to pass the
 * original in `X-Forwarded-Host` (a page on another origin cannot send that header: it would need a CORS preflight,
 * which the gateway never grants).
 */
export function isSameOrigin(request: Request): boolean {
  const site = request.headers.get("sec-fetch-site");
  if (site !== null && site !== "same-origin") return false;
  const origin = request.headers.get("origin");
  if (!origin || origin === "null") return false;
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    return false;
  }
  const host = request.headers.get("host")?.toLowerCase();
  const forwarded = request.headers.get("x-forwarded-host")?.split(",")[0]?.trim().toLowerCase();
  return originHost === host || (forwarded !== undefined && originHost === forwarded);
}

/** Whether the page was reached over https (directly, or through a proxy that says so), for the cookie's `Secure`. */
export function servedOverHttps(request: Request): boolean {
  return request.url.startsWith("https:") || request.headers.get("x-forwarded-proto")?.split(",")[0]?.trim() === "https";
}
