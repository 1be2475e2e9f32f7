// OpenTelemetry traces by hand: a SERVER span per request, a CLIENT span per provider attempt, as plain records exported in bounded batches.
import { SpanKind, TraceFlags, type Attributes, type AttributeValue, type Span, type SpanContext, type SpanStatus } from "@opentelemetry/api";
import type { Config } from "../config/schema.ts";
import type { Logger } from "./log.ts";
import { SpanExportQueue, type DropCounters, type FinishedSpan } from "./span-export.ts";

export type { DropCounters } from "./span-export.ts";
export type TelemetryConfig = Config["telemetry"];

/** Span attributes and names that depend on the provider's type: OpenTelemetry's GenAI `gen_ai.system` values. */
const GEN_AI_SYSTEM: Record<string, string> = {
  openai: "openai",
  anthropic: "anthropic",
  gemini: "gcp.gemini",
  azure: "az.ai.openai",
  echo: "switchboard.echo",
};
export const genAiSystem = (providerType: string): string => GEN_AI_SYSTEM[providerType] ?? providerType;

// W3C Trace Context: version-traceid-parentid-flags. Versions other than 00 may append fields (ff is invalid).
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = "00000000000000000000000000000000";
const ZERO_SPAN = "0000000000000000";

/** The remote parent a valid incoming `traceparent` names; null for none or an invalid one (then a new trace starts). */
export interface RemoteParent {
  traceId: string;
  spanId: string;
  sampled: boolean;
}

export function parentFromTraceparent(header: string | null): RemoteParent | null {
  if (!header) return null;
  const m = TRACEPARENT.exec(header.trim());
  if (!m || m[1] === "ff" || (m[1] === "00" && m[5] !== undefined) || m[2] === ZERO_TRACE || m[3] === ZERO_SPAN) return null;
  return { traceId: m[2]!, spanId: m[3]!, sampled: (parseInt(m[4]!, 16) & TraceFlags.SAMPLED) !== 0 };
}

/** The `traceparent` that makes a span the parent of the provider's work. */
export function traceparentOf(span: Span): string {
  const sc = span.spanContext();
  return `00-${sc.traceId}-${sc.spanId}-${sc.traceFlags & TraceFlags.SAMPLED ? "01" : "00"}`;
}

// Ids from a pool of random bytes refilled 4 KiB at a time: one getRandomValues call per ~200 spans, not per id.
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
let pool = new Uint8Array(0);
let at = 0;
function randomHex(bytes: number): string {
  for (;;) {
    if (at + bytes > pool.length) {
      pool = crypto.getRandomValues(new Uint8Array(4096));
      at = 0;
    }
    let s = "";
    let nonZero = 0;
    for (let i = 0; i < bytes; i++) {
      const b = pool[at++]!;
      nonZero |= b;
      s += HEX[b];
    }
    // All zeros is the invalid id.
    if (nonZero !== 0) return s;
  }
}

/**
 * A span as a plain record: what OpenTelemetry's API promises of a span, without the SDK's per-span machinery.
 * Ending it hands it to the export queue (when sampled); nothing else happens on the request path.
 */
class RecordedSpan implements Span, FinishedSpan {
  readonly spanId = randomHex(8);
  readonly attributes: Record<string, AttributeValue> = {};
  statusCode = 0;
  endTime = 0;
  private ended = false;

  constructor(
    private readonly queue: SpanExportQueue,
    public name: string,
    readonly kind: number,
    readonly traceId: string,
    readonly parentSpanId: string | undefined,
    private readonly sampled: boolean,
    readonly startTime: number,
    /** Shared, constant attributes (a deployment's, an operation's): kept by reference, encoded once for many spans. */
    readonly baseAttributes: Readonly<Record<string, AttributeValue>> | undefined,
  ) {}

  spanContext(): SpanContext {
    return { traceId: this.traceId, spanId: this.spanId, traceFlags: this.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE };
  }
  setAttribute(key: string, value: AttributeValue): this {
    if (!this.ended && value !== undefined) this.attributes[key] = value;
    return this;
  }
  setAttributes(attributes: Attributes): this {
    for (const key in attributes) {
      const v = attributes[key];
      if (v !== undefined) this.setAttribute(key, v);
    }
    return this;
  }
  // Events and links are not recorded: the gateway sets none.
  addEvent(): this {
    return this;
  }
  addLink(): this {
    return this;
  }
  addLinks(): this {
    return this;
  }
  setStatus(status: SpanStatus): this {
    if (!this.ended) this.statusCode = status.code;
    return this;
  }
  updateName(name: string): this {
    if (!this.ended) this.name = name;
    return this;
  }
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.endTime = performance.now();
    if (this.sampled) this.queue.push(this);
  }
  isRecording(): boolean {
    return !this.ended;
  }
  recordException(): void {}
}

/** OTLP's SpanKind counts from UNSPECIFIED = 0, the API's from INTERNAL = 0: OTLP = API + 1. */
const SERVER = SpanKind.SERVER + 1;
const CLIENT = SpanKind.CLIENT + 1;

export interface Tracing {
  /**
   * The request's span, continuing `traceparent` when one came; `startTime` is a performance.now() value. Null when
   * the request is not sampled (the caller's flag, else `sample_ratio`): then nothing at all is made for it.
   * `shared` attributes are constant and kept by reference (never changed afterwards).
   */
  startRequest(name: string, parent: RemoteParent | null, startTime: number, shared: Readonly<Record<string, AttributeValue>>): Span | null;
  /** A provider attempt's span, child of the request's, with the deployment's constant attributes by reference. */
  startAttempt(parent: Span, name: string, shared: Readonly<Record<string, AttributeValue>>): Span;
  /** Exports what is queued (SIGTERM, tests), bounded by the export timeout. */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** The tracer of a config with `telemetry.otlp_endpoint`; null without one (then no span is ever made). */
export function createTracing(cfg: TelemetryConfig, version: string, dropped: DropCounters, logger: Logger, random: () => number = Math.random): Tracing | null {
  if (!cfg.otlp_endpoint) return null;
  const ratio = cfg.sample_ratio;
  const url = `${cfg.otlp_endpoint.replace(/\/+$/, "")}/v1/traces`;
  const queue = new SpanExportQueue(
    {
      url,
      headers: cfg.headers ?? {},
      resource: { "service.name": cfg.service_name, "service.version": version },
      scope: { name: "switchboard", version },
      maxQueueSize: cfg.max_queue_size,
      maxBatchSize: Math.min(cfg.max_batch_size, cfg.max_queue_size),
      delayMs: cfg.batch_delay_ms,
      timeoutMs: cfg.export_timeout_ms,
    },
    dropped,
  );
  logger.info("traces: exporting OTLP/HTTP JSON", { url });
  return {
    startRequest(name, parent, startTime, shared) {
      // Parent-based: a continued trace keeps its caller's decision; a new one is sampled at the configured ratio.
      if (parent) return parent.sampled ? new RecordedSpan(queue, name, SERVER, parent.traceId, parent.spanId, true, startTime, shared) : null;
      if (ratio < 1 && !(random() < ratio)) return null;
      return new RecordedSpan(queue, name, SERVER, randomHex(16), undefined, true, startTime, shared);
    },
    startAttempt(parent, name, shared) {
      const p = parent.spanContext();
      return new RecordedSpan(queue, name, CLIENT, p.traceId, p.spanId, (p.traceFlags & TraceFlags.SAMPLED) !== 0, performance.now(), shared);
    },
    flush: () => queue.flush(),
    shutdown: () => queue.shutdown(),
  };
}
