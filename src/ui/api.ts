// The dashboard's only way to the gateway: same-origin JSON calls carried by the session cookie; a 401 signs the page out.

/** An answer the gateway refused, with the message of its OpenAI-shaped error body. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

type Listener = () => void;
const onSignedOut = new Set<Listener>();

/** Called when any call finds the session gone (idle expiry, sign-out elsewhere, a restarted gateway). */
export function whenSignedOut(fn: Listener): () => void {
  onSignedOut.add(fn);
  return () => onSignedOut.delete(fn);
}

interface ErrorShape {
  error?: { message?: unknown; param?: unknown };
}

async function errorOf(res: Response): Promise<ApiError> {
  let message = `${res.status} ${res.statusText}`;
  let param: string | null = null;
  try {
    const body = (await res.json()) as ErrorShape;
    if (typeof body.error?.message === "string") message = body.error.message;
    if (typeof body.error?.param === "string") param = body.error.param;
  } catch {
    // Not JSON: the status line says enough.
  }
  return new ApiError(res.status, message, param);
}

export interface CallOptions {
  method?: "GET" | "POST" | "PATCH" | "DELETE";
  body?: unknown;
  signal?: AbortSignal;
}

/** A JSON call; the session cookie goes with it (same origin), the admin key never does. */
export async function call<T>(path: string, opts: CallOptions = {}): Promise<T> {
  const init: RequestInit = { method: opts.method ?? "GET", credentials: "same-origin", signal: opts.signal, headers: { accept: "application/json" } };
  if (opts.body !== undefined) {
    init.headers = { accept: "application/json", "content-type": "application/json" };
    init.body = JSON.stringify(opts.body);
  }
  const res = await fetch(path, init);
  if (res.status === 401 && path !== "/ui/session") for (const fn of onSignedOut) fn();
  if (!res.ok) throw await errorOf(res);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

export interface SessionInfo {
  signed_in: boolean;
  idle_timeout_s: number;
}

export const session = {
  check: () => call<SessionInfo>("/ui/session"),
  /** The key is sent once, here; the page keeps only the cookie the answer sets (HttpOnly: not even readable). */
  signIn: (adminKey: string) => call<SessionInfo>("/ui/session", { method: "POST", body: { admin_key: adminKey } }),
  signOut: () => call<void>("/ui/session", { method: "DELETE" }),
};

/** A query string from the set values only. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}
