// What a model request adds to metrics and traces: series and span names resolved per config, one small recorder per request.
import { SpanStatusCode, type AttributeValue, type Span } from "@opentelemetry/api";
import type { Config } from "../config/schema.ts";
import { GatewayError } from "../openai/errors.ts";
import type { Usage } from "../openai/schemas.ts";
import type { RequestLogLine } from "./log.ts";
import { SeriesTable, type AttemptCounters, type GatewayMetrics, type RejectionReason } from "./metrics.ts";
import { genAiSystem, parentFromTraceparent, traceparentOf, type Tracing } from "./traces.ts";

export type Operation = "chat" | "embeddings";

/** One deployment's attempt counters and span attributes, resolved when routing plans it. */
export interface DeploymentProbe {
  readonly outcomes: AttemptCounters;
  readonly spanNames: Readonly<Record<Operation, string>>;
  /** Constant for the deployment: spans keep it by reference (encoded once). */
  readonly attributes: Readonly<Record<string, AttributeValue>>;
}

/** The end of one attempt's span: with the failure, or null; only the first call counts. */
export interface AttemptSpan {
  end(error: unknown): void;
}

/** Set on a request's CallContext only when traces are on: routing then opens a span per provider attempt. */
export interface AttemptTracer {
  /** Starts the attempt's span and sets `ctx.traceparent`, which the provider call carries. */
  attempt(probe: DeploymentProbe, ctx: { traceparent?: string }): AttemptSpan;
}

/** A request span's constant attributes, one object per operation (kept by reference by every span). */
const OPERATION_ATTRIBUTES: Readonly<Record<Operation, Readonly<Record<string, AttributeValue>>>> = {
  chat: { "gen_ai.operation.name": "chat" },
  embeddings: { "gen_ai.operation.name": "embeddings" },
};

/** The process's metric families and tracer (null: traces off). */
export interface Observability {
  metrics: GatewayMetrics;
  tracing: Tracing | null;
}

const NO_COUNT = { value: 0 };
/** For routing built without telemetry (unit tests): counts into nothing, names no span. */
export const NOOP_PROBE: DeploymentProbe = {
  outcomes: { success: { ...NO_COUNT, labels: {} }, retry: { ...NO_COUNT, labels: {} }, failure: { ...NO_COUNT, labels: {} }, fallback: { ...NO_COUNT, labels: {} } },
  spanNames: { chat: "chat", embeddings: "embeddings" },
  attributes: {},
};

/** Which refusal a gateway error is, for switchboard_rejections_total (null: not a refusal by the gateway). */
export function rejectionReason(err: GatewayError): RejectionReason | null {
  if (err.init.rejection) return err.init.rejection;
  switch (err.kind) {
    case "budget_exceeded":
      return "budget";
    case "unauthorized":
    case "model_not_allowed":
      return "auth";
    case "invalid_request":
    case "request_too_large":
    case "model_not_found":
      return "validation";
    default:
      return null;
  }
}

const hostOf = (url: string | undefined): string | undefined => {
  if (!url) return undefined;
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
};

/** Everything one config contributes: the series table, span names per model, `gen_ai.system` per provider. */
export class ConfigTelemetry {
  readonly series: SeriesTable;
  private readonly systems = new Map<string, string>();
  private readonly names = new Map<string, Readonly<Record<Operation, string>>>();

  constructor(
    readonly obs: Observability,
    private readonly config: Config,
  ) {
    const deployments = new Map(config.models.map((m) => [m.id, m.targets ? m.targets.map((t) => t.provider) : [m.provider!]]));
    this.series = new SeriesTable(obs.metrics, deployments, new Set(Object.keys(config.providers)));
    for (const [name, p] of Object.entries(config.providers)) this.systems.set(name, genAiSystem(p.type));
    for (const m of config.models) this.names.set(m.id, { chat: `chat ${m.id}`, embeddings: `embeddings ${m.id}` });
  }

  /** A deployment's probe: its provider's attempt counters and its attempt span's name and GenAI attributes. */
  probe(label: string, provider: string, upstreamModel: string): DeploymentProbe {
    const attributes: Record<string, AttributeValue> = {
      "gen_ai.system": this.systems.get(provider) ?? provider,
      "gen_ai.request.model": upstreamModel,
      "switchboard.deployment": label,
      "switchboard.provider": provider,
    };
    const host = hostOf(this.config.providers[provider]?.base_url);
    if (host) attributes["server.address"] = host;
    return { outcomes: this.obs.metrics.attempts(provider), spanNames: { chat: `chat ${upstreamModel}`, embeddings: `embeddings ${upstreamModel}` }, attributes };
  }

  system(provider: string): string | undefined {
    return this.systems.get(provider);
  }

  spanName(model: string, op: Operation): string | undefined {
    return this.names.get(model)?.[op];
  }

  /** The recorder of one model request, from its arrival (`start`: performance.now()). */
  request(op: Operation, start: number, traceparent: string | null): RequestTelemetry {
    return new RequestTelemetry(this, op, start, traceparent);
  }
}

const kindOf = (err: unknown): string => (err instanceof GatewayError ? err.kind : err instanceof Error ? err.name : "error");

/** Token counts as chat and embeddings report them (embeddings have no completion). */
export type TokenUsage = Pick<Usage, "prompt_tokens"> & Partial<Omit<Usage, "prompt_tokens">>;

/** The request's parameters worth a span attribute (never its messages). */
export interface RequestedParams {
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  stream?: boolean | null;
}

/**
 * One model request. Counters are added once, at its end, from its log line (model, provider, key, status, times)
 * and the usage it was given: the request path itself only stores a reference.
 */
export class RequestTelemetry implements AttemptTracer {
  private readonly span: Span | undefined;
  /** For routing: undefined when traces are off or the request is not sampled, so attempts skip them with one check. */
  readonly tracer: AttemptTracer | undefined;
  /**
   * An unsampled request that continued a caller's trace: its `traceparent`, passed on to the provider unchanged so
   * the trace stays whole downstream (no span of ours is in it).
   */
  readonly forwardTraceparent: string | undefined;
  /** The trace this request belongs to (for the log line), when there is one. */
  readonly traceId: string | undefined;
  private reported: TokenUsage | null = null;
  private costMicros = 0;

  constructor(
    private readonly cfg: ConfigTelemetry,
    private readonly op: Operation,
    start: number,
    traceparent: string | null,
  ) {
    const tracing = cfg.obs.tracing;
    if (tracing) {
      const parent = parentFromTraceparent(traceparent);
      const span = tracing.startRequest(op, parent, start, OPERATION_ATTRIBUTES[op]);
      if (span) {
        this.span = span;
        this.tracer = this;
        this.traceId = span.spanContext().traceId;
      } else if (parent) {
        this.forwardTraceparent = traceparent!;
        this.traceId = parent.traceId;
      }
    }
  }

  /** The GenAI request attributes (only when traced). */
  requested(p: RequestedParams): void {
    const span = this.span;
    if (!span) return;
    const max = p.max_completion_tokens ?? p.max_tokens;
    if (typeof max === "number") span.setAttribute("gen_ai.request.max_tokens", max);
    if (typeof p.temperature === "number") span.setAttribute("gen_ai.request.temperature", p.temperature);
    if (typeof p.top_p === "number") span.setAttribute("gen_ai.request.top_p", p.top_p);
    if (p.stream === true) span.setAttribute("switchboard.stream", true);
  }

  /** The provider's usage for this request (counted at its end). */
  usage(u: TokenUsage | null | undefined): void {
    if (u) this.reported = u;
  }

  /** The request's cost in micro-USD, as its usage event records it (counted at its end; null: no price). */
  cost(micros: number | null): void {
    if (micros !== null) this.costMicros = micros;
  }

  attempt(probe: DeploymentProbe, ctx: { traceparent?: string }): AttemptSpan {
    const span = this.cfg.obs.tracing!.startAttempt(this.span!, probe.spanNames[this.op], probe.attributes);
    span.setAttribute("gen_ai.operation.name", this.op);
    ctx.traceparent = traceparentOf(span);
    let ended = false;
    return {
      end(error) {
        if (ended) return;
        ended = true;
        if (error !== null && error !== undefined) {
          span.setAttribute("error.type", kindOf(error));
          span.setStatus({ code: SpanStatusCode.ERROR });
        }
        span.end();
      },
    };
  }

  /** Called once, with the request's log line, when the request is over (an answer, an error, a stream's end). */
  end(status: number, latencyMs: number, line: RequestLogLine): void {
    const t = this.cfg.series;
    const pair = line.model === undefined ? t.unrouted : t.pair(line.model, line.provider ?? "");
    const k = pair.keyed(line.key ?? "");
    k.requests(status).value++;
    pair.duration.observe(latencyMs / 1000);
    if (line.stream && line.ttfb_ms !== undefined) pair.ttft().observe(line.ttfb_ms / 1000);
    const u = this.reported;
    if (u) {
      const tokens = k.tokens();
      tokens.prompt.value += u.prompt_tokens;
      tokens.completion.value += u.completion_tokens ?? 0;
      tokens.cached.value += u.prompt_tokens_details?.cached_tokens ?? 0;
      tokens.reasoning.value += u.completion_tokens_details?.reasoning_tokens ?? 0;
    }
    if (this.costMicros > 0) k.cost().value += this.costMicros / 1_000_000;
    if (this.span) this.endSpan(status, line);
  }

  private endSpan(status: number, line: RequestLogLine): void {
    const span = this.span!;
    // Set on the span directly: it is the span's own record of them (no object built to be copied in).
    span.setAttribute("switchboard.request_id", line.request_id).setAttribute("http.response.status_code", status);
    if (line.model !== undefined) {
      span.setAttribute("gen_ai.request.model", line.model);
      const name = this.cfg.spanName(line.model, this.op);
      if (name) span.updateName(name);
    }
    if (line.key !== undefined) span.setAttribute("switchboard.key", line.key);
    if (line.provider !== undefined) {
      span.setAttribute("gen_ai.system", this.cfg.system(line.provider) ?? line.provider);
      if (line.upstream_model !== undefined) {
        span.setAttribute("gen_ai.response.model", line.upstream_model);
        span.setAttribute("switchboard.deployment", `${line.provider}/${line.upstream_model}`);
      }
    }
    if (line.attempts !== undefined) {
      span.setAttribute("switchboard.attempts", line.attempts);
      span.setAttribute("switchboard.retries", Math.max(0, line.attempts - 1));
    }
    if (line.fallback_model !== undefined) {
      span.setAttribute("switchboard.fallback_from", line.fallback_from ?? "");
      span.setAttribute("switchboard.fallback_model", line.fallback_model);
    }
    const u = this.reported;
    if (u) {
      span.setAttribute("gen_ai.usage.input_tokens", u.prompt_tokens);
      if (u.completion_tokens !== undefined) span.setAttribute("gen_ai.usage.output_tokens", u.completion_tokens);
    }
    if (line.error !== undefined) {
      // The error's kind (`rate_limited: …` → rate_limited), never its message, which may quote the provider.
      const colon = line.error.indexOf(":");
      span.setAttribute("error.type", colon === -1 ? line.error : line.error.slice(0, colon));
    }
    if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  }
}
