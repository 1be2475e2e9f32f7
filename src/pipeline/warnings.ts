// What a provider dropped or altered for one request: kept for the log line and named to the client in a header.
import { invalidRequest } from "../openai/errors.ts";

/** Response header listing, `; `-separated, each parameter the provider could not honour as sent. */
export const WARNINGS_HEADER = "x-switchboard-warnings";

/** A model's `unsupported_params`: `drop` (default) warns and goes on; `error` refuses the request with a 400. */
export type UnsupportedParams = "drop" | "error";

export interface RequestWarnings {
  /** Every note, for the log line. */
  readonly all: string[];
  /** Records a note; with `param` it is a dropped or altered parameter (a 400 under `unsupported_params: error`). */
  warn(message: string, param?: string): void;
  /** Something the gateway itself set on the request (a budget's cap): named in the header, never refused. */
  notice(message: string): void;
  /** The header value, or undefined when no parameter was dropped or altered. */
  header(): string | undefined;
  /** A point to come back to, and the way back (routing forgets a failed attempt's notes). */
  mark(): number;
  rewind(mark: number): void;
}

/** Header values must be visible ASCII on one line; `;` separates entries, so it cannot appear inside one. */
const headerSafe = (s: string) => s.replace(/[^\x20-\x7e]+/g, " ").replace(/;/g, ",").trim();

export function requestWarnings(mode: UnsupportedParams = "drop"): RequestWarnings {
  const all: string[] = [];
  const named: string[] = [];
  return {
    all,
    warn(message, param) {
      if (param !== undefined && mode === "error") {
        throw invalidRequest(`${message} This model is configured to refuse parameters it cannot honour (unsupported_params: error).`, param);
      }
      all.push(message);
      if (param !== undefined && !named.includes(message)) named.push(message);
    },
    notice(message) {
      all.push(message);
      if (!named.includes(message)) named.push(message);
    },
    header: () => (named.length > 0 ? named.map(headerSafe).join("; ") : undefined),
    mark: () => all.length,
    rewind(mark) {
      const dropped = all.splice(mark);
      for (const m of dropped) {
        // Named once even when noted twice: keep a name an earlier, kept note still stands for.
        const i = named.indexOf(m);
        if (i !== -1 && !all.includes(m)) named.splice(i, 1);
      }
    },
  };
}
