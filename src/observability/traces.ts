// OpenTelemetry traces by hand: a SERVER span per request, a CLIENT span per provider attempt, exported as OTLP/HTTP JSON in bounded batches.
import { ROOT_CONTEXT, SpanKind, trace, TraceFlags, type Attributes, type Context, type Span, type Tracer } from "@opentelemetry/api";
import { BasicTracerProvider, type ReadableSpan, type SpanExporter, type SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import type { Config } from "../config/schema.ts";
import type { Logger } from "./log.ts";
import type { CounterSeries } from "./metrics.ts";

export type TelemetryConfig = Config["telemetry"];

/** Where the processor reports spans it did not export (the metrics' dropped counters). */
export interface DropCounters {
  queue_full: CounterSeries;
  export_failed: CounterSeries;
}

/** Resolves when `p` settles or after `ms`, whichever is first (the timer is cleared either way). */
function within(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const settled = p.then(
    () => {},
    () => {},
  );
  const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, ms))));
  return Promise.race([settled, late]).finally(() => clearTimeout(timer));
}

/**
 * The SDK's BatchSpanProcessor exports synchronously inside `span.end()` once a batch is full, so one unlucky request
 * would pay for serialising 512 spans, and it keeps no count a scrape can read. This one only pushes in `onEnd`
 * (or drops and counts when the queue is full); batches leave from a timer, one export in flight at a time, so a
 * slow or dead collector fills the queue and then costs a counter increment per span — never a request's time.
 */
export class BoundedBatchProcessor implements SpanProcessor {
  private queue: ReadableSpan[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private exporting: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly exporter: SpanExporter,
    private readonly opts: { maxQueueSize: number; maxBatchSize: number; delayMs: number; timeoutMs: number },
    private readonly dropped: DropCounters,
  ) {}

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    if (this.closed || (span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    if (this.queue.length >= this.opts.maxQueueSize) {
      this.dropped.queue_full.value++;
      return;
    }
    this.queue.push(span);
    this.schedule(this.queue.length >= this.opts.maxBatchSize ? 0 : this.opts.delayMs);
  }

  private schedule(ms: number): void {
    if (this.exporting) return;
    if (this.timer !== undefined) {
      if (ms > 0) return;
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.exportOne();
    }, ms);
    (this.timer as { unref?: () => void }).unref?.();
  }

  /** Sends one batch; when it is done, what has queued meanwhile is scheduled. */
  private exportOne(): Promise<void> {
    if (this.exporting) return this.exporting;
    if (this.queue.length === 0) return Promise.resolve();
    const batch = this.queue.splice(0, this.opts.maxBatchSize);
    this.exporting = new Promise<void>((resolve) => {
      let done = false;
      const finish = (ok: boolean) => {
        if (done) return;
        done = true;
        clearTimeout(limit);
        if (!ok) this.dropped.export_failed.value += batch.length;
        resolve();
      };
      const limit = setTimeout(() => finish(false), this.opts.timeoutMs);
      try {
        this.exporter.export(batch, (r) => finish(r.code === 0));
      } catch {
        finish(false);
      }
    }).then(() => {
      this.exporting = null;
      if (this.queue.length > 0 && !this.closed) this.schedule(this.queue.length >= this.opts.maxBatchSize ? 0 : this.opts.delayMs);
    });
    return this.exporting;
  }

  /**
   * Sends what is queued, batch after batch, for at most one export timeout in all (a shutdown must not wait on a
   * dead collector batch by batch); what is left then is dropped and counted.
   */
  async forceFlush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const until = performance.now() + this.opts.timeoutMs;
    while ((this.exporting || this.queue.length > 0) && performance.now() < until) {
      const left = until - performance.now();
      await within(this.exporting ?? this.exportOne(), left);
    }
    if (this.queue.length > 0) {
      this.dropped.export_failed.value += this.queue.length;
      this.queue = [];
    }
  }

  async shutdown(): Promise<void> {
    await this.forceFlush();
    this.closed = true;
    // The exporter waits for its requests in flight; a silent collector gets no more than the export timeout.
    await within(this.exporter.shutdown(), this.opts.timeoutMs);
  }
}

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

/** The context a valid incoming `traceparent` continues (ROOT_CONTEXT for none, or for an invalid one: a new trace). */
export function parentFromTraceparent(header: string | null): Context {
  if (!header) return ROOT_CONTEXT;
  const m = TRACEPARENT.exec(header.trim());
  if (!m || m[1] === "ff" || (m[1] === "00" && m[5] !== undefined) || m[2] === ZERO_TRACE || m[3] === ZERO_SPAN) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, { traceId: m[2]!, spanId: m[3]!, traceFlags: parseInt(m[4]!, 16) & TraceFlags.SAMPLED, isRemote: true });
}

/** The `traceparent` that makes a span the parent of the provider's work. */
export function traceparentOf(span: Span): string {
  const sc = span.spanContext();
  return `00-${sc.traceId}-${sc.spanId}-${sc.traceFlags & TraceFlags.SAMPLED ? "01" : "00"}`;
}

export interface Tracing {
  /** The request's span, continuing `traceparent` when one came; `startTime` is a performance.now() value. */
  startRequest(name: string, traceparent: string | null, startTime: number, attributes: Attributes): Span;
  /** A provider attempt's span, child of the request's. */
  startAttempt(parent: Span, name: string, attributes: Attributes): Span;
  /** Exports what is queued (SIGTERM, tests), bounded by the export timeout. */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** The tracer of a config with `telemetry.otlp_endpoint`; null without one (then no span is ever made). */
export function createTracing(cfg: TelemetryConfig, version: string, dropped: DropCounters, logger: Logger): Tracing | null {
  if (!cfg.otlp_endpoint) return null;
  const url = `${cfg.otlp_endpoint.replace(/\/+$/, "")}/v1/traces`;
  const exporter = new OTLPTraceExporter({ url, headers: cfg.headers, timeoutMillis: cfg.export_timeout_ms, concurrencyLimit: 2 });
  const processor = new BoundedBatchProcessor(
    exporter,
    { maxQueueSize: cfg.max_queue_size, maxBatchSize: Math.min(cfg.max_batch_size, cfg.max_queue_size), delayMs: cfg.batch_delay_ms, timeoutMs: cfg.export_timeout_ms },
    dropped,
  );
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": cfg.service_name, "service.version": version }),
    spanProcessors: [processor],
  });
  const tracer: Tracer = provider.getTracer("switchboard", version);
  logger.info("traces: exporting OTLP/HTTP JSON", { url });
  return {
    startRequest: (name, traceparent, startTime, attributes) =>
      tracer.startSpan(name, { kind: SpanKind.SERVER, startTime, attributes }, parentFromTraceparent(traceparent)),
    startAttempt: (parent, name, attributes) => tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes }, trace.setSpan(ROOT_CONTEXT, parent)),
    flush: () => processor.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}
