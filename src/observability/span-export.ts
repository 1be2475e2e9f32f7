// Finished spans → OTLP/HTTP JSON, sent in bounded batches from a timer: one export in flight, drops counted, never a request's time.
import type { AttributeValue } from "@opentelemetry/api";
import type { CounterSeries } from "./metrics.ts";

/** What the exporter needs of a finished span (observability/traces.ts records them). */
export interface FinishedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly name: string;
  readonly kind: number;
  /** performance.now() values. */
  readonly startTime: number;
  readonly endTime: number;
  /**
   * Attributes shared by many spans (a deployment's), kept by reference: encoded once and reused. The span's own
   * `attributes` win where a key is in both.
   */
  readonly baseAttributes?: Readonly<Record<string, AttributeValue>>;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  readonly statusCode: number;
}

/** Where the queue reports spans it did not export (the metrics' dropped counters). */
export interface DropCounters {
  queue_full: CounterSeries;
  export_failed: CounterSeries;
}

export interface ExportOptions {
  url: string;
  headers: Record<string, string>;
  resource: Record<string, string>;
  scope: { name: string; version: string };
  maxQueueSize: number;
  maxBatchSize: number;
  delayMs: number;
  timeoutMs: number;
}

// Constant for the process: read once rather than per timestamp.
const TIME_ORIGIN = performance.timeOrigin;

/** performance.now() → Unix nanoseconds as the decimal string OTLP/JSON wants for a fixed64 (too big for a double). */
export function unixNanos(perfMs: number): string {
  const ms = TIME_ORIGIN + perfMs;
  let whole = Math.floor(ms);
  let frac = Math.round((ms - whole) * 1e6);
  if (frac >= 1e6) {
    whole += 1;
    frac -= 1e6;
  }
  return `${whole}${String(frac).padStart(6, "0")}`;
}

// The batch is written as JSON text directly, field by field: building OTLP's nested objects and then stringifying
// them cost as much again (every span is encoded on the request thread's core).
function anyValue(v: AttributeValue): string {
  if (typeof v === "string") return `{"stringValue":${JSON.stringify(v)}}`;
  if (typeof v === "boolean") return v ? `{"boolValue":true}` : `{"boolValue":false}`;
  if (typeof v === "number") return Number.isInteger(v) ? `{"intValue":"${v}"}` : `{"doubleValue":${JSON.stringify(v)}}`;
  const values = (v as unknown[]).filter((x) => x !== null && x !== undefined).map((x) => anyValue(x as AttributeValue));
  return `{"arrayValue":{"values":[${values.join(",")}]}}`;
}

/** `{"key":…,"value":…}` entries, comma-separated, of the attributes not in `skip`. */
function keyValues(attrs: Readonly<Record<string, AttributeValue>>, skip?: Readonly<Record<string, AttributeValue>>): string {
  let out = "";
  for (const key in attrs) {
    if (skip && key in skip) continue;
    const v = attrs[key];
    if (v === undefined || v === null) continue;
    out += `${out ? "," : ""}{"key":${JSON.stringify(key)},"value":${anyValue(v)}}`;
  }
  return out;
}

/** Shared attribute objects, encoded once (held weakly: a reload's new deployments replace them). */
const encodedShared = new WeakMap<object, string>();

function attributesOf(s: FinishedSpan): string {
  const base = s.baseAttributes;
  if (!base) return keyValues(s.attributes);
  let shared = "";
  let overridden = false;
  for (const key in s.attributes) {
    if (key in base) {
      overridden = true;
      break;
    }
  }
  if (overridden) shared = keyValues(base, s.attributes);
  else {
    const cached = encodedShared.get(base);
    shared = cached ?? keyValues(base);
    if (cached === undefined) encodedShared.set(base, shared);
  }
  const own = keyValues(s.attributes);
  return shared && own ? `${shared},${own}` : shared || own;
}

/** One OTLP/JSON ExportTraceServiceRequest for a batch of finished spans. */
export function encodeBatch(spans: readonly FinishedSpan[], o: Pick<ExportOptions, "resource" | "scope">): string {
  let out = `{"resourceSpans":[{"resource":{"attributes":[${keyValues(o.resource)}]},"scopeSpans":[{"scope":${JSON.stringify(o.scope)},"spans":[`;
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i]!;
    out +=
      `${i ? "," : ""}{"traceId":"${s.traceId}","spanId":"${s.spanId}",` +
      (s.parentSpanId ? `"parentSpanId":"${s.parentSpanId}",` : "") +
      `"name":${JSON.stringify(s.name)},"kind":${s.kind},"startTimeUnixNano":"${unixNanos(s.startTime)}","endTimeUnixNano":"${unixNanos(s.endTime)}",` +
      `"attributes":[${attributesOf(s)}],"status":{"code":${s.statusCode}}}`;
  }
  return out + "]}]}]}";
}

/**
 * The SDK's batch processor exports inside `span.end()` once a batch is full and keeps no drop count a scrape can
 * read; its span objects and OTLP transformer also cost more per request than the rest of the request path. Here a
 * span's end is one array push (or a counted drop when the queue is full); batches leave from a timer, one export in
 * flight at a time, so a slow or dead collector fills the queue and then costs a counter increment per span.
 */
export class SpanExportQueue {
  private queue: FinishedSpan[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private exporting: Promise<void> | null = null;
  private closed = false;
  private readonly headers: Record<string, string>;

  constructor(
    private readonly o: ExportOptions,
    private readonly dropped: DropCounters,
  ) {
    this.headers = { "content-type": "application/json", ...o.headers };
  }

  push(span: FinishedSpan): void {
    if (this.closed) return;
    if (this.queue.length >= this.o.maxQueueSize) {
      this.dropped.queue_full.value++;
      return;
    }
    this.queue.push(span);
    this.schedule(this.queue.length >= this.o.maxBatchSize ? 0 : this.o.delayMs);
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
    const batch = this.queue.splice(0, this.o.maxBatchSize);
    this.exporting = this.send(batch).then((ok) => {
      if (!ok) this.dropped.export_failed.value += batch.length;
      this.exporting = null;
      if (this.queue.length > 0 && !this.closed) this.schedule(this.queue.length >= this.o.maxBatchSize ? 0 : this.o.delayMs);
    });
    return this.exporting;
  }

  private async send(batch: FinishedSpan[]): Promise<boolean> {
    const ctrl = new AbortController();
    const limit = setTimeout(() => ctrl.abort(), this.o.timeoutMs);
    try {
      const res = await fetch(this.o.url, { method: "POST", headers: this.headers, body: encodeBatch(batch, this.o), signal: ctrl.signal });
      await res.arrayBuffer();
      return res.ok;
    } catch {
      return false;
    } finally {
      clearTimeout(limit);
    }
  }

  /**
   * Sends what is queued, batch after batch, for at most one export timeout in all (a shutdown must not wait on a
   * dead collector batch by batch); what is left then is dropped and counted.
   */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const until = performance.now() + this.o.timeoutMs;
    while ((this.exporting || this.queue.length > 0) && performance.now() < until) {
      await within(this.exporting ?? this.exportOne(), until - performance.now());
    }
    if (this.queue.length > 0) {
      this.dropped.export_failed.value += this.queue.length;
      this.queue = [];
    }
  }

  async shutdown(): Promise<void> {
    await this.flush();
    this.closed = true;
  }
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
