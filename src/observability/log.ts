// One structured JSON line per request on stdout, written without blocking the request path.
import { redact } from "../config/secrets.ts";

export interface RequestLogLine {
  request_id: string;
  method: string;
  path: string;
  status: number;
  latency_ms: number;
  key?: string;
  /** Model routes: which one (`chat.completions`, `embeddings`, `responses`, `messages`, `count_tokens`). */
  endpoint?: string;
  model?: string;
  provider?: string;
  upstream_model?: string;
  /** Routing: upstream attempts made, the failed ones, and the model that answered when a fallback did. */
  attempts?: number;
  retries?: AttemptFailure[];
  fallback_from?: string;
  fallback_model?: string;
  stream?: boolean;
  ttfb_ms?: number;
  tokens_in?: number;
  tokens_out?: number;
  error?: string;
  warnings?: string[];
  /** The request's trace (W3C trace id), when traces are exported. */
  trace_id?: string;
}

/** One failed upstream attempt, as the request line records it. */
export interface AttemptFailure {
  deployment: string;
  model: string;
  error: string;
  ms: number;
}

export interface Logger {
  request(line: RequestLogLine): void;
  /** Operational messages (start-up, store outages); never request contents or secrets. */
  info(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** Writes what is buffered and resolves once the sink took it (before the process exits). */
  flush(): Promise<void>;
}

/**
 * Buffers lines and flushes them once per tick, so a burst of requests costs one write. A request line is
 * serialised once, straight from the object it was given (no merged copy), behind a prefix whose timestamp
 * is formatted at most once per millisecond.
 */
export function createStdoutLogger(sink: { write(s: string, done?: () => void): unknown } = process.stdout): Logger {
  let pending = "";
  let scheduled = false;
  let isoMs = -1;
  let iso = "";
  const flush = () => {
    scheduled = false;
    const out = pending;
    pending = "";
    sink.write(out);
  };
  const now = () => {
    const ms = Date.now();
    if (ms !== isoMs) {
      isoMs = ms;
      iso = new Date(ms).toISOString();
    }
    return iso;
  };
  const write = (line: string) => {
    pending += line;
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
  // Operational lines are rare and may quote an error from anywhere: redacted whole. (Request lines carry only
  // GatewayError messages, already redacted.)
  const push = (o: object) => write(redact(JSON.stringify({ time: now(), ...o })) + "\n");
  return {
    // Same line as push({ level, msg, ...line }): RequestLogLine has no time, level or msg field to collide with.
    request: (line) => {
      const fields = JSON.stringify(line);
      write(`{"time":"${now()}","level":"info","msg":"request"${fields.length > 2 ? "," : ""}${fields.slice(1)}\n`);
    },
    info: (msg, fields) => push({ level: "info", msg, ...fields }),
    error: (msg, fields) => push({ level: "error", msg, ...fields }),
    // A pipe takes writes asynchronously: exiting right after a write would lose the last lines.
    flush: () =>
      new Promise<void>((resolve) => {
        const out = pending;
        pending = "";
        sink.write(out, () => resolve());
      }),
  };
}

/** Keeps lines in memory: for tests, and for embedding the gateway where stdout is not wanted. */
export function createMemoryLogger(): Logger & { lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return {
    lines,
    request: (line) => lines.push({ level: "info", msg: "request", ...line }),
    info: (msg, fields) => lines.push({ level: "info", msg, ...fields }),
    error: (msg, fields) => lines.push({ level: "error", msg, ...fields }),
    flush: async () => {},
  };
}
