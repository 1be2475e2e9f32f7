// ModelCall: one per model request — resolve, allow, admit, dispatch, then finish() exactly once (settle, usage event, metrics, span, log line), whatever happened.
import type { Principal } from "../auth/keys.ts";
import type { ModelConfig } from "../config/schema.ts";
import { readJsonBody } from "../http/body.ts";
import { requestDeadline, type Deadline } from "../http/deadline.ts";
import type { Cut } from "../http/inflight.ts";
import { logRequest } from "../http/request-log.ts";
import { stateOf, type CallFinisher, type RequestState } from "../http/request-state.ts";
import type { Admission } from "../limits/limiter.ts";
import { countTextTokens } from "../limits/estimate.ts";
import { rejectionReason, type Operation, type RequestedParams } from "../observability/telemetry.ts";
import { GatewayError, modelNotAllowed, modelNotFound, statusOf } from "../openai/errors.ts";
import type { Usage } from "../openai/schemas.ts";
import { SSE_HEADERS } from "../openai/sse.ts";
import { deliveredTokens, newMeter } from "../providers/meter.ts";
import type { CallContext, Deployment } from "../providers/types.ts";
import { DEPLOYMENT_HEADER, type OpenedStream, type Routed, type Route, type Upstream } from "../routing/router.ts";
import type { ModelDeps } from "./deps.ts";
import type { ErrorDialect } from "./dialect.ts";
import { meteredStream } from "./metered-stream.ts";
import type { Sizing } from "./sizing.ts";
import { outputAllowance, type Allowance } from "./output-allowance.ts";
import { reservationMicros } from "../costs/budget.ts";
import { countsOf, RequestUsage, saneUsage, type Endpoint, type TokenCounts } from "./usage-record.ts";
import { requestWarnings, WARNINGS_HEADER, type RequestWarnings } from "./warnings.ts";

/** Bun's server, for lifting the idle cut-off while a model thinks. */
export interface TimeoutCapable {
  timeout(request: Request, seconds: number): void;
}

/** The span's operation name for each endpoint (GenAI semantic conventions know `chat` and `embeddings`). */
const OPERATION: Record<Endpoint, Operation> = { "chat.completions": "chat", responses: "chat", messages: "chat", count_tokens: "chat", embeddings: "embeddings" };

/** How a request ended, for settling: what the provider reported, or what the gateway estimates was used. */
interface Outcome {
  status: number;
  /** The provider's usage, when it reported one. */
  reported?: Usage | null;
  /** Tokens to charge without a report; null: nothing was used (a refusal, a provider that answered with an error). */
  estimated?: TokenCounts | null;
  /** No report and nothing better to go on: keep the reservations (charged as reserved) rather than guess low. */
  keepReservation?: boolean;
  error?: string;
  ttfbMs?: number | null;
  /** Answered by the gateway itself (count_tokens counted locally): no provider was called, so no usage event. */
  local?: boolean;
}

const calls = new WeakMap<Request, ModelCall>();

/** The model call a route's first hook began for this request (see beginModelCall). */
export function callOf(request: Request, server: TimeoutCapable | null = null): ModelCall {
  const call = calls.get(request);
  if (!call) throw new Error("no model call was begun for this request: the route lacks beginModelCall");
  return call.withServer(server);
}

/**
 * The first `beforeHandle` of every model route, before the key check: the call exists (its telemetry, its dialect)
 * from the start, so even a refused request ends through finish(). `current` gives the running config's deps, read
 * once here and kept to the request's end (a reload swaps them for later requests).
 */
export function beginModelCall(endpoint: Endpoint, current: () => ModelDeps, dialect: ErrorDialect) {
  return ({ request }: { request: Request }): void => {
    new ModelCall(request, stateOf(request)!, current(), endpoint, dialect);
  };
}

export class ModelCall implements CallFinisher {
  private record: RequestUsage | undefined;
  private route: Route | undefined;
  private sizing: Sizing | undefined;
  private admission: Admission | undefined;
  private deadline: Deadline | undefined;
  private leaveInflight: (() => void) | undefined;
  /** What a shutdown does to this call: cancel the upstream call, or (once streaming) end the stream. */
  private cut: Cut | undefined;
  private ctx: CallContext | undefined;
  private warnings: RequestWarnings | undefined;
  private finished = false;
  private server: TimeoutCapable | null = null;

  constructor(
    private readonly request: Request,
    private readonly s: RequestState,
    readonly deps: ModelDeps,
    readonly endpoint: Endpoint,
    readonly dialect: ErrorDialect,
  ) {
    // Before the key check, so a refused request is counted and traced like the others.
    const cfg = deps.telemetry;
    const t = cfg.request(OPERATION[endpoint], s.start, cfg.obs.tracing ? request.headers.get("traceparent") : null);
    s.telemetry = t;
    s.log.endpoint = endpoint;
    if (t.traceId !== undefined) s.log.trace_id = t.traceId;
    s.call = this;
    calls.set(request, this);
  }

  get requestId(): string {
    return this.s.id;
  }

  /** The authenticated caller (the route's key check ran before the handler). */
  get principal(): Principal {
    return this.s.principal!;
  }

  /** The request's usage record, made once the key is known: only requests with a valid key get an event. */
  private get usage(): RequestUsage {
    return (this.record ??= new RequestUsage(this.deps.accounting, this.s.id, this.principal, this.s.start, Date.now(), this.endpoint));
  }

  /** Bun's server, so a request that waits long for its model is not cut by the idle timeout. */
  withServer(server: TimeoutCapable | null): this {
    this.server = server;
    return this;
  }

  /** The body as a JSON object, under the configured size and depth limits. */
  readJson(): Promise<Record<string, unknown>> {
    const server = this.deps.config.server;
    return readJsonBody(this.request, server.body_limit_bytes, server.max_json_depth);
  }

  /** Names the model and stream kind the client asked for (also on the event of a request refused as invalid). */
  asked(model: unknown, stream: boolean): void {
    if (typeof model === "string") this.usage.model = model;
    this.usage.stream = stream;
  }

  /** The model's route, for a key allowed to use it: 404 for an unknown model, 403 for one outside its allow-list. */
  resolve(model: string, stream: boolean): Route {
    this.asked(model, stream);
    const route = this.deps.router.resolve(model);
    if (!route) throw modelNotFound(model);
    const allowed = this.principal.allowed;
    if (allowed && !allowed.has(model)) throw modelNotAllowed(model);
    this.route = route;
    this.usage.deployment = route.deployment;
    // From here translations may note what they drop or alter (a model with `unsupported_params: error` refuses instead).
    const warnings = (this.warnings = requestWarnings(route.model.unsupported_params));
    Object.defineProperty(this.s.log, "warnings", { enumerable: true, get: () => (warnings.all.length ? warnings.all : undefined) });
    const log = this.s.log;
    log.model = model;
    log.provider = route.deployment.provider;
    log.upstream_model = route.deployment.upstreamModel;
    log.stream = stream;
    return route;
  }

  /** Notes a parameter the gateway dropped or altered for this request (after resolve): see CallContext.warn. */
  warn(message: string, param?: string): void {
    this.warnings!.warn(message, param);
  }

  /** The resolved model's entry (its defaults and provider settings). */
  get model(): ModelConfig {
    return this.route!.model;
  }

  /** The request's GenAI parameters on its span (traces on). */
  requested(p: RequestedParams): void {
    this.s.telemetry?.requested(p);
  }

  /**
   * Checks the key's limits and reserves what the request may cost (tokens for tpm; for a key with a budget, the
   * prompt bound and the completion allowance at the model's price), atomically. `budget: false` (count_tokens)
   * takes rate limits only. From here on the call holds a concurrency slot until finish().
   */
  async admit(sizing: Sizing, opts: { budget?: boolean } = {}): Promise<void> {
    this.sizing = sizing;
    const usage = this.usage;
    const route = this.route!;
    const deps = this.deps;
    const terms = opts.budget === false ? undefined : usage.budgetTerms();
    const reachable = deps.router.reachable(route);
    const defaultCompletion = deps.config.rate_limit.default_completion_tokens;
    const admit = (allowance: Allowance) =>
      deps.limiter.admit({
        principal: this.principal,
        model: route.model.id,
        estimateTokens: () => sizing.promptTokens() + allowance.tpm,
        budget: terms && { ...terms.query, reserveMicros: usage.reserved(reservationMicros(terms.price, sizing.promptBound(), allowance.budget)) },
      });
    let allowance = outputAllowance(sizing, reachable, defaultCompletion, terms, null);
    let admission: Admission;
    try {
      admission = await admit(allowance);
    } catch (err) {
      // The gateway's own cap (the model's ceiling) did not fit what is left: ask the budget, cap to what it affords.
      if (!terms || allowance.setCap === undefined || !(err instanceof GatewayError) || err.kind !== "budget_exceeded") throw err;
      const spend = await deps.limiter.budgetSpend(terms.query);
      const used = spend.spentMicros + spend.heldMicros;
      allowance = outputAllowance(sizing, reachable, defaultCompletion, terms, { leftMicros: terms.budget.limitMicros - used, usedMicros: used, now: Date.now() });
      admission = await admit(allowance);
    }
    if (allowance.setCap !== undefined) {
      this.warnings!.notice(
        allowance.capReason === "budget"
          ? `max_tokens set to ${allowance.setCap}: the most output this key's remaining budget affords (the answer ends with finish_reason length there).`
          : `max_tokens set to ${allowance.setCap}, the model's maximum output: a key with a budget is always held to a cap.`,
      );
    }
    this.admission = admission;
    this.s.rateHeaders = admission.headers;
    // A model may think for minutes before its first byte: no idle cut-off while this request is in flight.
    this.server?.timeout(this.request, 0);
    const deadline = (this.deadline = requestDeadline(this.request.signal, route.timeoutMs));
    // Until the answer starts, a shutdown ends the call through its signal: routing then throws the 503.
    this.cut = (reason) => deadline.cancel(reason);
    this.leaveInflight = this.deps.inflight.add((reason) => this.cut?.(reason));
    const warnings = this.warnings!;
    this.ctx = {
      requestId: this.s.id,
      publicModel: route.model.id,
      signal: deadline.signal,
      timeoutMs: route.timeoutMs,
      now: this.deps.now,
      // The delivered text is only kept (and tokenised, in folds) when tokens are metered for this key.
      meter: newMeter(admission.metersTokens ? countTextTokens : null),
      warn: warnings.warn,
      warnings,
      maxResponseBytes: this.deps.config.server.max_upstream_response_bytes,
      // Sampled requests get a traceparent per attempt from routing; an unsampled continued trace passes its own on.
      traceparent: this.s.telemetry?.forwardTraceparent,
    };
  }

  /** The call's context (after admit): the signal, the meter and the warnings every upstream call takes. */
  get context(): CallContext {
    return this.ctx!;
  }

  private observers() {
    return { log: (f: object) => void Object.assign(this.s.log, f), tracer: this.s.telemetry?.tracer };
  }

  /** A whole answer from the first deployment (of the model, then of its fallbacks) that gives one. */
  async whole<T>(upstream: Upstream<T>): Promise<Routed<T>> {
    const routed = await this.deps.router.whole(this.route!, this.ctx!, upstream, this.observers());
    this.usage.deployment = routed.deployment;
    return routed;
  }

  /** A stream from the first deployment that sends a first chunk; the answer is then the client's (no more fallback). */
  async stream(upstream: Upstream<ReadableStream<Uint8Array>>): Promise<Routed<OpenedStream>> {
    const routed = await this.deps.router.stream(this.route!, this.ctx!, upstream, this.observers());
    this.usage.deployment = routed.deployment;
    return routed;
  }

  /** Response headers of an answer: request id, rate limits, the deployment that answered, warnings. */
  private headers(deployment?: string): Record<string, string> {
    const h: Record<string, string> = { "x-request-id": this.s.id, ...this.s.rateHeaders };
    if (deployment) h[DEPLOYMENT_HEADER] = deployment;
    const named = this.warnings?.header();
    if (named) h[WARNINGS_HEADER] = named;
    return h;
  }

  /**
   * Sends a whole answer and finishes the call: `usage` is what the provider reported (null: none, so the prompt is
   * charged as estimated and any budget keeps its reservation).
   */
  answer(routed: Pick<Routed<unknown>, "label">, body: string, usage: Usage | null, contentType = "application/json"): Response {
    const headers = this.headers(routed.label);
    headers["content-type"] = contentType;
    const ttfb = Math.round((performance.now() - this.s.start) * 1000) / 1000;
    this.s.log.ttfb_ms = ttfb;
    this.finish({ status: 200, reported: usage, keepReservation: usage === null, ttfbMs: ttfb });
    return new Response(body, { headers });
  }

  /** Sends an answer the gateway made itself without calling a provider (count_tokens counted locally). */
  answerLocal(body: string, contentType = "application/json"): Response {
    const headers = this.headers();
    headers["content-type"] = contentType;
    this.finish({ status: 200, estimated: null, local: true });
    return new Response(body, { headers });
  }

  /**
   * Sends an opened stream (already in the client's event format) and finishes the call when it ends, breaks or the
   * client leaves. `transform` edits the bytes on their way out (a client that asked for no usage chunk).
   */
  streamAnswer(routed: Routed<OpenedStream>, transform?: (out: ReadableStream<Uint8Array>) => ReadableStream<Uint8Array>): Response {
    const headers = this.headers(routed.label);
    // From the first byte on, the upstream limit bounds silence between chunks, not the stream's length.
    this.deadline!.streaming(this.deps.config.server.max_stream_duration_ms);
    const out = meteredStream(this.request, routed.result, {
      meter: this.ctx!.meter,
      deadline: this.deadline!,
      streamError: this.dialect.streamError,
      onCut: (cut) => (this.cut = cut),
      end: (status, _failed, error) => this.endStream(status, error),
    });
    return new Response(transform ? transform(out) : out, { headers: { ...SSE_HEADERS, ...headers } });
  }

  private endStream(status: number, error: string | undefined): void {
    const meter = this.ctx!.meter;
    const ttfb = meter.firstByteAt === null ? null : Math.round((meter.firstByteAt - this.s.start) * 1000) / 1000;
    if (ttfb !== null) this.s.log.ttfb_ms = ttfb;
    if (meter.usage) return this.finish({ status, reported: meter.usage, ttfbMs: ttfb, error });
    // No usage: the client left (the provider call was aborted) or the provider never sent it. Charge what was read
    // and what was delivered — not zero, and not the whole completion allowance that never came.
    this.finish({ status, estimated: this.estimate(deliveredTokens(meter)), ttfbMs: ttfb, error });
  }

  /** Ends the call with an error before any answer was sent (from the error handler): its answer in the route's dialect. */
  async fail(error: unknown): Promise<Response> {
    const g = error instanceof GatewayError ? error : null;
    const headers: Record<string, string> = { "x-request-id": this.s.id };
    // The limiter's own refusals carry their headers: asking the store again would double its load in a 429 storm.
    const fromLimiter = g?.kind === "rate_limited" || g?.kind === "limits_unavailable";
    if (this.s.principal && !fromLimiter) {
      try {
        Object.assign(headers, this.s.rateHeaders ?? (await this.deps.limiter.peek(this.s.principal)));
      } catch {
        // Headers are informative; a store failure must not turn an error answer into another error.
      }
    }
    const status = statusOf(error);
    // A provider that refused or broke before answering bills nothing; one the client walked away from, or that ran
    // out of time, has read the prompt.
    const readPrompt = g !== null && (g.kind === "client_closed" || g.kind === "upstream_timeout");
    const estimated = readPrompt ? this.estimate(0) : null;
    this.finish({ status, estimated, error: g ? `${g.kind}: ${g.message}` : "internal error" });
    const reason = g ? rejectionReason(g) : null;
    if (reason) this.deps.telemetry.obs.metrics.rejections[reason].value++;
    return this.dialect.response(error, headers);
  }

  /**
   * The one end of every model request, run once whatever happened: the usage event priced on the deployment that
   * answered, the budget and token reservations settled to it, metrics and the span, the log line.
   */
  private finish(o: Outcome): void {
    if (this.finished) return;
    this.finished = true;
    this.deadline?.release();
    this.leaveInflight?.();
    // The provider's counts as numbers the ledger, the budget and the metrics can take (missing → 0, estimated).
    const reported = o.reported ? saneUsage(o.reported) : null;
    const counts = reported ? countsOf(reported) : (o.estimated ?? null);
    // No event without a valid key (the auth refusal itself is counted in metrics and the log).
    const cost = this.s.principal && !o.local ? this.usage.finish(o.status, counts ?? (o.keepReservation ? this.estimate(0) : null), reported ? "provider" : "estimated", o.ttfbMs ?? null) : null;
    const admission = this.admission;
    if (admission) {
      if (o.keepReservation) admission.settle(null, null);
      else if (reported) admission.settle(reported.total_tokens, cost);
      else admission.settle(admission.metersTokens ? (counts ? Math.max(1, counts.prompt + counts.completion) : 0) : null, cost);
    }
    const t = this.s.telemetry;
    if (reported) {
      t?.usage(reported);
      this.s.log.tokens_in = reported.prompt_tokens;
      this.s.log.tokens_out = reported.completion_tokens;
    }
    t?.cost(cost);
    logRequest(this.deps.logger, this.s, o.status, o.error === undefined ? undefined : { error: o.error });
  }

  /**
   * What a call used by the gateway's own count, when the provider reported nothing: the prompt it sent and `completion`
   * tokens delivered (an answer without usage, a client that left, a timeout). Null before the request was sized.
   */
  private estimate(completion: number): TokenCounts | null {
    return this.sizing ? { prompt: this.sizing.promptEstimate(), cached: 0, completion, reasoning: 0 } : null;
  }

  /** The deployment that answered (or the model's first, before one did). */
  get deployment(): Deployment | null {
    return this.record?.deployment ?? null;
  }
}
