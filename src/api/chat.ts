// POST /chat/completions: validate → check model and key → limits.admit → provider → JSON or SSE.
import { Elysia } from "elysia";
import type { Config } from "../config/schema.ts";
import type { Limiter, Admission } from "../limits/limiter.ts";
import { boundPromptTokens, completionAllowance, countPromptTokens, countTextTokens, estimatePromptTokens } from "../limits/estimate.ts";
import type { Logger } from "../observability/log.ts";
import { logRequest } from "../observability/request-log.ts";
import { GatewayError, modelNotAllowed, modelNotFound, statusOf } from "../openai/errors.ts";
import { ChatCompletionSchema, ChatRequestSchema, ErrorBodySchema, type ChatRequest } from "../openai/schemas.ts";
import { encodeError, SSE_HEADERS } from "../openai/sse.ts";
import { upstreamFailed } from "../openai/errors.ts";
import type { CallContext } from "../providers/types.ts";
import { deliveredTokens, newMeter } from "../providers/meter.ts";
import { DEPLOYMENT_HEADER, type OpenedStream, type Route, type Router, type RoutingLog } from "../routing/router.ts";
import { readJsonBody } from "./body.ts";
import { requestDeadline, type Deadline } from "./deadline.ts";
import type { AuthHook } from "./auth.ts";
import type { InFlight } from "./inflight.ts";
import { stateOf, type RequestState } from "./context.ts";
import { parseChatRequest } from "./validate.ts";
import { withModelParams } from "./model-params.ts";
import { WARNINGS_HEADER } from "./warnings.ts";
import { callContext } from "./call-context.ts";
import { withoutUsageChunk } from "./usage-chunk.ts";
import { countsOf, RequestUsage, type Accounting, type TokenCounts } from "../usage/accounting.ts";
import { observeRequest } from "./observe.ts";
import type { ConfigTelemetry } from "../observability/telemetry.ts";

export interface ChatDeps {
  config: Config;
  router: Router;
  limiter: Limiter;
  logger: Logger;
  now: () => number;
  /** Requests in flight, ended with an answer when a shutdown's drain window runs out. */
  inflight: InFlight;
  /** Prices, budgets and usage events (absent: none of them). */
  accounting?: Accounting;
  /** The config's metric series and span names. */
  telemetry: ConfigTelemetry;
}

interface TimeoutCapable {
  timeout(request: Request, seconds: number): void;
}

// The OpenAPI request body, from the same TypeBox schema the handler validates with (TypeBox schemas are JSON Schema).
const chatBodyDoc = { required: true, content: { "application/json": { schema: JSON.parse(JSON.stringify(ChatRequestSchema)) as object } } };

/**
 * `current` gives the running config's deps (a reload swaps them): read once, as the request starts, and kept to its
 * end, so a request or stream in flight finishes on the config it began with. The hooks and the handler start in
 * the same tick, so they see the same one.
 */
export function chatRoutes(prefix: string, current: () => ChatDeps, auth: AuthHook) {
  return new Elysia({ name: `api.chat${prefix}`, prefix }).post(
    "/chat/completions",
    // The body is read and validated by the handler (strict, size-capped); Elysia only documents it.
    ({ request, server }) => {
      const deps = current();
      return handleChat(request, server, deps.config.server.body_limit_bytes, deps.config.server.max_json_depth, deps);
    },
    {
      beforeHandle: [observeRequest("chat", current), auth],
      response: { 200: ChatCompletionSchema, 400: ErrorBodySchema, 401: ErrorBodySchema, 404: ErrorBodySchema, 429: ErrorBodySchema, 502: ErrorBodySchema, 503: ErrorBodySchema, 504: ErrorBodySchema },
      detail: {
        requestBody: chatBodyDoc,
        summary: "Create a chat completion",
        description: "OpenAI-compatible. With `stream: true` the answer is Server-Sent Events of chat.completion.chunk objects ending with `data: [DONE]`.",
      },
    },
  );
}

async function handleChat(request: Request, server: TimeoutCapable | null, limit: number, maxDepth: number, deps: ChatDeps): Promise<Response> {
  const s = stateOf(request)!;
  const principal = s.principal!;
  // Every request with a valid key gets one usage event, refusals included; `finish` writes it exactly once.
  const usage = new RequestUsage(deps.accounting, s.id, principal, s.start, Date.now());
  try {
    return await admitAndDispatch(request, server, limit, maxDepth, deps, usage);
  } catch (err) {
    usage.finish(statusOf(err), null, "estimated", null);
    throw err;
  }
}

async function admitAndDispatch(request: Request, server: TimeoutCapable | null, limit: number, maxDepth: number, deps: ChatDeps, usage: RequestUsage): Promise<Response> {
  const s = stateOf(request)!;
  const principal = s.principal!;
  const raw = await readJsonBody(request, limit, maxDepth);
  // The event of a request refused by validation still names the model it asked for, when it named one.
  const asked = (raw as { model?: unknown }).model;
  if (typeof asked === "string") usage.model = asked;
  const parsed = parseChatRequest(raw);
  usage.stream = parsed.stream === true;
  const route = deps.router.resolve(parsed.model);
  if (!route) throw modelNotFound(parsed.model);
  if (principal.allowed && !principal.allowed.has(parsed.model)) throw modelNotAllowed(parsed.model);
  const body = withModelParams(parsed, route.model);
  usage.deployment = route.deployment;
  s.telemetry?.requested(body);
  s.log.model = body.model;
  s.log.provider = route.deployment.provider;
  s.log.upstream_model = route.deployment.upstreamModel;
  s.log.stream = body.stream === true;

  // Tokenised only when a tpm limit applies (then once); kept for settling a stream cut short.
  let promptTokens = -1;
  const prompt = () => (promptTokens >= 0 ? promptTokens : (promptTokens = countPromptTokens(body)));
  // For accounting a request that ends without the provider's usage: the count made for the limits, else an estimate.
  const read = () => (promptTokens >= 0 ? promptTokens : estimatePromptTokens(body));
  const allowance = completionAllowance(body, deps.config.rate_limit.default_completion_tokens);
  const admission = await deps.limiter.admit({
    principal,
    model: body.model,
    estimateTokens: () => prompt() + allowance,
    // The exact count when tpm made one, else a cheap upper-leaning bound (no tokenizer on the budget path).
    budget: usage.budget(() => (promptTokens >= 0 ? promptTokens : boundPromptTokens(body)), allowance),
  });
  // From here on every way out settles the admission exactly once (it frees the concurrency slot).
  try {
    s.rateHeaders = admission.headers;
    // A model may think for minutes before its first byte: no idle cut-off while this request is in flight.
    server?.timeout(request, 0);
    return await dispatchChat(request, body, route, admission, read, deps, usage);
  } catch (err) {
    const used = tokensOfFailure(err, read());
    const cost = usage.finish(statusOf(err), used ? { prompt: used, cached: 0, completion: 0, reasoning: 0 } : null, "estimated", null);
    s.telemetry?.cost(cost);
    admission.settle(admission.metersTokens ? used : null, cost);
    throw err;
  }
}

/**
 * Tokens to charge for a call that failed before the client got an answer: a provider that refused or broke
 * before answering bills nothing; one the client walked away from, or that ran out of time, has read the prompt.
 */
export function tokensOfFailure(err: unknown, promptTokens: number): number {
  const kind = err instanceof GatewayError ? err.kind : "internal";
  return kind === "client_closed" || kind === "upstream_timeout" ? promptTokens : 0;
}

async function dispatchChat(
  request: Request,
  body: ChatRequest,
  route: Route,
  admission: Admission,
  promptTokens: () => number,
  deps: ChatDeps,
  usage: RequestUsage,
): Promise<Response> {
  const s = stateOf(request)!;
  const stream = body.stream === true;
  const deadline = requestDeadline(request.signal, route.timeoutMs);
  // The delivered text is only kept (and tokenised, in folds) when tokens are metered for this key.
  const { ctx, warnings } = callContext(s, body.model, route, deps, deadline, newMeter(admission.metersTokens ? countTextTokens : null));
  const headers: Record<string, string> = { "x-request-id": s.id, ...admission.headers };
  // Attempts, retries and fallbacks go on the request's log line, also when the request fails.
  const logRouting: RoutingLog = (f) => Object.assign(s.log, f);
  // Until the answer starts, a shutdown ends the call through its signal: routing then throws the 503.
  const leave = deps.inflight.add((reason) => deadline.cancel(reason));
  if (!stream) {
    let routed;
    try {
      routed = await deps.router.complete(route, body, ctx, logRouting);
    } finally {
      leave();
      deadline.release();
    }
    const completion = routed.result;
    headers[DEPLOYMENT_HEADER] = routed.label;
    const named = warnings.header();
    if (named) headers[WARNINGS_HEADER] = named;
    usage.deployment = routed.deployment;
    s.log.ttfb_ms = Math.round((performance.now() - s.start) * 1000) / 1000;
    const reported = completion.usage ? countsOf(completion.usage) : null;
    // No usage in the answer: the prompt we counted is the best there is (a budget then keeps its reservation).
    const cost = usage.finish(200, reported ?? { prompt: promptTokens(), cached: 0, completion: 0, reasoning: 0 }, reported ? "provider" : "estimated", s.log.ttfb_ms);
    admission.settle(completion.usage?.total_tokens ?? null, reported ? cost : null);
    s.telemetry?.usage(completion.usage);
    s.telemetry?.cost(cost);
    s.log.tokens_in = completion.usage?.prompt_tokens;
    s.log.tokens_out = completion.usage?.completion_tokens;
    logRequest(deps.logger, s, 200);
    headers["content-type"] = "application/json";
    return new Response(JSON.stringify(completion), { headers });
  }
  let routed;
  try {
    routed = await deps.router.stream(route, body, ctx, logRouting);
  } catch (err) {
    deadline.release();
    throw err;
  } finally {
    leave();
  }
  headers[DEPLOYMENT_HEADER] = routed.label;
  const named = warnings.header();
  if (named) headers[WARNINGS_HEADER] = named;
  // From the first byte on, the upstream limit bounds silence between chunks, not the stream's length.
  deadline.streaming(deps.config.server.max_stream_duration_ms);
  usage.deployment = routed.deployment;
  const settle = (status: number) => {
    deadline.release();
    const ttfb = ctx.meter.firstByteAt === null ? null : Math.round((ctx.meter.firstByteAt - s.start) * 1000) / 1000;
    const reported = ctx.meter.usage;
    if (reported) {
      const cost = usage.finish(status, countsOf(reported), "provider", ttfb);
      s.telemetry?.cost(cost);
      return admission.settle(reported.total_tokens, cost);
    }
    // No usage: the client left (the provider call was aborted) or the provider never sent it. Charge what was
    // read and what was delivered — not zero, and not the whole completion allowance that never came.
    const delivered = deliveredTokens(ctx.meter);
    const spent: TokenCounts = { prompt: promptTokens(), cached: 0, completion: delivered, reasoning: 0 };
    const cost = usage.finish(status, spent, "estimated", ttfb);
    s.telemetry?.cost(cost);
    admission.settle(admission.metersTokens ? Math.max(1, spent.prompt + delivered) : null, cost);
  };
  const sse = meteredStream(request, routed.result, ctx, deadline, settle, s, deps);
  // Usage is always asked of the provider (limits settle on it); a client that opted out just does not get the chunk.
  const out = body.stream_options?.include_usage === false ? withoutUsageChunk(sse) : sse;
  return new Response(out, { headers: { ...SSE_HEADERS, ...headers } });
}

/**
 * Forwards the provider's SSE bytes as they come (the first chunk, already read by routing, then the rest) and, when
 * the stream ends or the client leaves, tells routing, settles the limiter and writes the log line — exactly once.
 */
function meteredStream(request: Request, opened: OpenedStream, ctx: CallContext, deadline: Deadline, settle: (status: number) => void, s: RequestState, deps: ChatDeps) {
  const { reader } = opened;
  let pending: Uint8Array | null = opened.first;
  const start = s.start;
  let ended = false;
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  /** Set when a shutdown ended the stream from outside: a pull still awaiting the provider must not touch it. */
  let cut = false;
  const leave = deps.inflight.add((reason) => {
    if (ended) return;
    cut = true;
    try {
      controller.enqueue(encodeError(reason));
      controller.close();
    } catch {
      // Already closed by the client going away.
    }
    end(200, false, `${reason.kind}: ${reason.message}`);
    reader.cancel().catch(() => {});
  });
  const end = (status: number, failed: boolean, error?: string) => {
    if (ended) return;
    ended = true;
    leave();
    // A stream cut by our own deadline (silent too long, or past max_stream_duration_ms) was the provider's to
    // finish slowly, not a failure of the deployment: only breaks count against it.
    opened.finish(failed && !deadline.expired);
    settle(status);
    const usage = ctx.meter.usage;
    if (usage) {
      s.telemetry?.usage(usage);
      s.log.tokens_in = usage.prompt_tokens;
      s.log.tokens_out = usage.completion_tokens;
    }
    if (ctx.meter.firstByteAt !== null) s.log.ttfb_ms = Math.round((ctx.meter.firstByteAt - start) * 1000) / 1000;
    logRequest(deps.logger, s, status, error ? { error } : undefined);
  };
  // A client gone before Bun ever pulled or cancelled the body would otherwise hold its slot.
  request.signal.addEventListener(
    "abort",
    () => {
      end(499, false, "client closed the stream");
      reader.cancel().catch(() => {});
    },
    { once: true },
  );
  return new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
      },
      async pull(c) {
        if (cut) return;
        if (pending) {
          ctx.meter.firstByteAt = performance.now();
          c.enqueue(pending);
          pending = null;
          return;
        }
        try {
          const r = await reader.read();
          if (cut) return;
          if (r.done) {
            c.close();
            end(200, ctx.meter.failed, ctx.meter.failed ? "stream ended with an error event" : undefined);
            return;
          }
          if (r.value) {
            deadline.touch();
            c.enqueue(r.value);
          }
        } catch {
          if (cut) return;
          // Providers end their own streams cleanly; this is the last line of defence.
          c.enqueue(encodeError(upstreamFailed("The provider stream failed.")));
          c.close();
          end(200, true, "stream broke");
        }
      },
      cancel() {
        end(499, false, "client closed the stream");
        return reader.cancel().catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
}
