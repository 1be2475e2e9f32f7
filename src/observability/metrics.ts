// Prometheus metrics: the contract's names and labels, counted in plain numbers on the request path and formatted by prom-client only when scraped.
import { collectDefaultMetrics, Gauge, Registry, type Metric } from "prom-client";

/** LLM latencies: a cached answer in milliseconds to a long reasoning stream in minutes (5 ms … 5 min). */
export const LATENCY_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 180, 300];

export type RejectionReason = "rpm" | "tpm" | "concurrency" | "budget" | "auth" | "validation";
export const REJECTION_REASONS: readonly RejectionReason[] = ["rpm", "tpm", "concurrency", "budget", "auth", "validation"];
export type AttemptOutcome = "success" | "retry" | "failure" | "fallback";
export type TokenType = "prompt" | "completion" | "cached" | "reasoning";

type Labels = Record<string, string>;

/** One counter series, in the very shape prom-client's registry reads (`{labels, value}`): incrementing it is `value += n`. */
export interface CounterSeries {
  readonly labels: Labels;
  value: number;
}

function labelsOf(names: readonly string[], values: readonly string[]): Labels {
  const labels: Labels = {};
  names.forEach((n, i) => (labels[n] = values[i]!));
  return labels;
}

/**
 * Why not prom-client's own Counter: its `labels(...).inc()` hashes the label object on every call, string work per
 * request. Here a series is resolved once (start-up, reload, or its first use) and the request path only adds.
 */
class CounterFamily {
  readonly type = "counter";
  readonly aggregator = "sum";
  private readonly byLabels = new Map<string, CounterSeries>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}

  /** The series for these label values (in labelNames order); the same values always give the same series. */
  series(...values: string[]): CounterSeries {
    const id = values.join("\u0000");
    let s = this.byLabels.get(id);
    if (!s) {
      s = { labels: labelsOf(this.labelNames, values), value: 0 };
      this.byLabels.set(id, s);
    }
    return s;
  }

  get size(): number {
    return this.byLabels.size;
  }

  async get() {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: [...this.byLabels.values()] };
  }

  reset(): void {
    for (const s of this.byLabels.values()) s.value = 0;
  }
}

/** One histogram series: a count per bucket (not cumulative until scraped), their sum and count. */
export class HistogramSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(
    readonly labels: Labels,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(seconds: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && seconds > b[i]!) i++;
    if (i < b.length) this.counts[i]!++;
    this.sum += seconds;
    this.count++;
  }
}

class HistogramFamily {
  readonly type = "histogram";
  readonly aggregator = "sum";
  private readonly byLabels = new Map<string, HistogramSeries>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    private readonly bounds: readonly number[],
  ) {}

  series(...values: string[]): HistogramSeries {
    const id = values.join("\u0000");
    let s = this.byLabels.get(id);
    if (!s) {
      s = new HistogramSeries(labelsOf(this.labelNames, values), this.bounds);
      this.byLabels.set(id, s);
    }
    return s;
  }

  async get() {
    const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
    const bucket = `${this.name}_bucket`;
    for (const s of this.byLabels.values()) {
      let acc = 0;
      this.bounds.forEach((le, i) => {
        acc += s.counts[i]!;
        values.push({ metricName: bucket, labels: { ...s.labels, le }, value: acc });
      });
      values.push({ metricName: bucket, labels: { ...s.labels, le: "+Inf" }, value: s.count });
      values.push({ metricName: `${this.name}_sum`, labels: s.labels, value: s.sum });
      values.push({ metricName: `${this.name}_count`, labels: s.labels, value: s.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    for (const s of this.byLabels.values()) {
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }
}

/** What the scrape reads from the running gateway (gauges are computed then, never kept up to date per request). */
export interface MetricSources {
  inflight(): number;
  /** Every deployment with whether its breaker is open now. */
  deployments(): readonly { provider: string; upstream_model: string; state: string }[];
  usageQueueDepth(): number;
  /** Usage events never written: refused by the store for their content (dead-lettered), or dropped with the buffer full. */
  usageLost(): { deadLettered: number; dropped: number };
}

/** A counter whose value lives elsewhere (the usage writer's own count), read when scraped. */
class SourcedCounter {
  readonly type = "counter";
  readonly aggregator = "sum";
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => number,
  ) {}
  readonly labelNames: readonly string[] = [];
  async get() {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: [{ labels: {}, value: this.read() }] };
  }
  reset(): void {}
}

/** Process metrics belong to the process: registered once, whatever number of gateways it runs (tests run many). */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export interface AttemptCounters {
  success: CounterSeries;
  retry: CounterSeries;
  failure: CounterSeries;
  fallback: CounterSeries;
}

/** The gateway's metric families, for the life of the process (a reload re-resolves series, never the families). */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly keyLabels: boolean;
  readonly requests: CounterFamily;
  readonly duration: HistogramFamily;
  readonly ttft: HistogramFamily;
  readonly tokens: CounterFamily;
  readonly cost: CounterFamily;
  readonly rejections: Record<RejectionReason, CounterSeries>;
  private readonly rejectionFamily: CounterFamily;
  private readonly attemptFamily: CounterFamily;
  /** Spans the trace exporter could not send (queue full, or the collector failed or timed out). */
  readonly spansDropped: { queue_full: CounterSeries; export_failed: CounterSeries };
  private sources: MetricSources = { inflight: () => 0, deployments: () => [], usageQueueDepth: () => 0, usageLost: () => ({ deadLettered: 0, dropped: 0 }) };

  constructor(opts: { keyLabels: boolean; version: string }) {
    this.keyLabels = opts.keyLabels;
    const key = opts.keyLabels ? ["key"] : [];
    const reg = (m: { name: string }) => this.registry.registerMetric(m as unknown as Metric);
    this.requests = new CounterFamily("switchboard_requests_total", "Requests to the model routes, by model, provider and HTTP status.", ["model", "provider", "status", ...key]);
    this.duration = new HistogramFamily("switchboard_request_duration_seconds", "Whole request time; for a stream, until its last byte.", ["model", "provider"], LATENCY_BUCKETS);
    this.ttft = new HistogramFamily("switchboard_time_to_first_token_seconds", "Streams: time to the first content byte sent to the client.", ["model", "provider"], LATENCY_BUCKETS);
    this.tokens = new CounterFamily("switchboard_tokens_total", "Tokens by type (prompt, completion, cached, reasoning), as the provider reported them.", ["model", "provider", "type", ...key]);
    this.cost = new CounterFamily("switchboard_cost_usd_total", "Spend in USD at the configured prices.", ["model", "provider", ...key]);
    this.rejectionFamily = new CounterFamily("switchboard_rejections_total", "Requests the gateway refused, by reason.", ["reason"]);
    this.attemptFamily = new CounterFamily("switchboard_upstream_attempts_total", "Provider calls by outcome (retry: another attempt followed; fallback: another model followed).", ["provider", "outcome"]);
    const dropped = new CounterFamily("switchboard_trace_spans_dropped_total", "Spans not exported: the export queue was full, or the collector failed or timed out.", ["reason"]);
    for (const m of [this.requests, this.duration, this.ttft, this.tokens, this.cost, this.rejectionFamily, this.attemptFamily, dropped]) reg(m);
    this.rejections = Object.fromEntries(REJECTION_REASONS.map((r) => [r, this.rejectionFamily.series(r)])) as Record<RejectionReason, CounterSeries>;
    this.spansDropped = { queue_full: dropped.series("queue_full"), export_failed: dropped.series("export_failed") };

    const sources = () => this.sources;
    new Gauge({
      name: "switchboard_deployment_cooling",
      help: "1 while the deployment's circuit breaker is open (out of rotation), else 0.",
      labelNames: ["provider", "upstream_model"],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const d of sources().deployments()) this.set({ provider: d.provider, upstream_model: d.upstream_model }, d.state === "cooling_down" ? 1 : 0);
      },
    });
    new Gauge({
      name: "switchboard_inflight_requests",
      help: "Model requests admitted and not yet finished (streams until their last byte).",
      registers: [this.registry],
      collect() {
        this.set(sources().inflight());
      },
    });
    new Gauge({
      name: "switchboard_usage_queue_depth",
      help: "Usage events waiting to be written to the store.",
      registers: [this.registry],
      collect() {
        this.set(sources().usageQueueDepth());
      },
    });
    reg(new SourcedCounter("switchboard_usage_events_dead_lettered_total", "Usage events the store refused for their content: each is in a dead-letter log line with its request id; the events around it were written.", () => sources().usageLost().deadLettered));
    reg(new SourcedCounter("switchboard_usage_events_dropped_total", "Usage events dropped because the buffer was full while the store could not be written.", () => sources().usageLost().dropped));
    new Gauge({ name: "switchboard_build_info", help: "The running version (always 1).", labelNames: ["version"], registers: [this.registry] }).set({ version: opts.version }, 1);
  }

  /** Where the scrape-time gauges read from (set once the gateway is assembled). */
  setSources(s: Partial<MetricSources>): void {
    this.sources = { ...this.sources, ...s };
  }

  /** A provider's attempt counters, resolved when its deployments are planned. */
  attempts(provider: string): AttemptCounters {
    const f = this.attemptFamily;
    return { success: f.series(provider, "success"), retry: f.series(provider, "retry"), failure: f.series(provider, "failure"), fallback: f.series(provider, "fallback") };
  }

  /** The Prometheus text of the gateway's metrics and the process's. */
  async scrape(): Promise<string> {
    const [own, proc] = await Promise.all([this.registry.metrics(), processMetrics().metrics()]);
    return own + "\n" + proc;
  }

  readonly contentType = Registry.PROMETHEUS_CONTENT_TYPE;
}

/** The series one (model, provider[, key]) adds to: resolved at first use, then looked up by status. */
export class KeyedSeries {
  private readonly statuses = new Map<number, CounterSeries>();
  private tokenSeries: Record<TokenType, CounterSeries> | undefined;
  private costSeries: CounterSeries | undefined;
  constructor(
    private readonly m: GatewayMetrics,
    private readonly model: string,
    private readonly provider: string,
    private readonly key: string[],
  ) {}

  /** Token counters, made when the first usage arrives (a pair that never answers shows none). */
  tokens(): Record<TokenType, CounterSeries> {
    if (!this.tokenSeries) {
      const t = (type: TokenType) => this.m.tokens.series(this.model, this.provider, type, ...this.key);
      this.tokenSeries = { prompt: t("prompt"), completion: t("completion"), cached: t("cached"), reasoning: t("reasoning") };
    }
    return this.tokenSeries;
  }

  cost(): CounterSeries {
    return (this.costSeries ??= this.m.cost.series(this.model, this.provider, ...this.key));
  }

  /** HTTP statuses are a small set: each is formatted once, at its first use for this series. */
  requests(status: number): CounterSeries {
    let s = this.statuses.get(status);
    if (!s) {
      s = this.m.requests.series(this.model, this.provider, String(status), ...this.key);
      this.statuses.set(status, s);
    }
    return s;
  }
}

/** One (model, provider) pair: its histograms and, per key when key labels are on, its counters. */
export class PairSeries {
  readonly duration: HistogramSeries;
  private ttftSeries: HistogramSeries | undefined;
  private readonly unkeyed: KeyedSeries | null;
  private readonly byKey = new Map<string, KeyedSeries>();
  constructor(
    private readonly m: GatewayMetrics,
    private readonly model: string,
    private readonly provider: string,
  ) {
    this.duration = m.duration.series(model, provider);
    this.unkeyed = m.keyLabels ? null : new KeyedSeries(m, model, provider, []);
  }

  /** Made at the pair's first stream. */
  ttft(): HistogramSeries {
    return (this.ttftSeries ??= this.m.ttft.series(this.model, this.provider));
  }

  /** The counters for a key (its name: bounded by the configured and created keys); the one set without key labels. */
  keyed(keyName: string): KeyedSeries {
    if (this.unkeyed) return this.unkeyed;
    let k = this.byKey.get(keyName);
    if (!k) {
      k = new KeyedSeries(this.m, this.model, this.provider, [keyName]);
      this.byKey.set(keyName, k);
    }
    return k;
  }
}

/** Label value for a model that is not configured (and for requests refused before their model was known). */
export const OTHER_MODEL = "other";

/**
 * The series of one config: every configured model id (anything else is `other`) by provider name. Built at start-up
 * and at each reload, with each model's own (model, provider) pairs resolved then (they show from the first scrape,
 * at 0); a pair first met later (a fallback's provider) is resolved at its first request. A request only looks up.
 */
export class SeriesTable {
  private readonly models = new Map<string, Map<string, PairSeries>>();
  private readonly other = new Map<string, PairSeries>();
  /** For a request not (yet) routed: model `other`, no provider. */
  readonly unrouted: PairSeries;

  constructor(
    private readonly m: GatewayMetrics,
    deployments: ReadonlyMap<string, readonly string[]>,
    private readonly providers: ReadonlySet<string>,
  ) {
    for (const id of deployments.keys()) this.models.set(id, new Map());
    this.unrouted = this.pair(OTHER_MODEL, "");
    for (const [id, names] of deployments) {
      for (const provider of names) {
        const p = this.pair(id, provider);
        if (!m.keyLabels) p.keyed("").requests(200);
      }
    }
  }

  /** The series of a model (a configured id, else `other`) answered by a provider (a configured name, else none). */
  pair(modelId: string, provider: string): PairSeries {
    const byProvider = this.models.get(modelId);
    const label = byProvider ? modelId : OTHER_MODEL;
    const map = byProvider ?? this.other;
    let p = map.get(provider);
    if (!p) {
      p = new PairSeries(this.m, label, this.providers.has(provider) ? provider : "");
      map.set(provider, p);
    }
    return p;
  }
}
