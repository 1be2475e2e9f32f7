// Per-request state shared by the hooks and routes (request id, caller, rate-limit headers, log fields).
import type { Principal } from "../auth/keys.ts";
import type { RequestLogLine } from "../observability/log.ts";
import type { RequestTelemetry } from "../observability/telemetry.ts";

export interface RequestState {
  id: string;
  /** performance.now() at arrival. */
  start: number;
  method: string;
  path: string;
  principal?: Principal;
  /** x-ratelimit-* headers for this response, once known. */
  rateHeaders?: Record<string, string>;
  /** Extra fields for the request's log line (model, provider, tokens…). */
  log: Partial<RequestLogLine>;
  /** Set once the line is written, so no request is logged twice. */
  logged: boolean;
  /** Model routes: the request's metrics and span, ended with its log line. */
  telemetry?: RequestTelemetry;
  /** Model routes: the call that owns the request's end; an error reaching the error handler is finished by it. */
  call?: CallFinisher;
}

/** What the error handler needs of a model call (src/pipeline/model-call.ts): finish it and write the error answer. */
export interface CallFinisher {
  fail(error: unknown): Promise<Response>;
}

const states = new WeakMap<Request, RequestState>();

export const stateOf = (request: Request): RequestState | undefined => states.get(request);
export const setState = (request: Request, s: RequestState): void => void states.set(request, s);

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A client's x-request-id is echoed when it is a plain token; anything else gets a fresh id. */
export const requestIdFrom = (header: string | null): string => (header && SAFE_ID.test(header) ? header : crypto.randomUUID());

/** The path part of a request URL, without building a URL object on the hot path. */
export function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start === -1) return "/";
  const q = url.indexOf("?", start);
  return q === -1 ? url.slice(start) : url.slice(start, q);
}
