// A fixture Anthropic Messages API on port 0: real wire format (JSON, named SSE events, error bodies), scripted replies.
import { sampleFor } from "./json-sample.ts";
import { greedyTokens } from "./greedy.ts";
export type SpecBlock =
  | { type: "text"; text: string }
  | { type: "tool_use"; id?: string; name: string; input: Record<string, unknown> }
  | { type: "thinking"; thinking: string; signature: string }
  | { type: "redacted_thinking"; data: string };

/** One assistant message, rendered as a JSON body or as a stream depending on the request's `stream`. */
export interface MessageSpec {
  content: SpecBlock[];
  /** Default: tool_use when there is a tool block, else end_turn. */
  stop_reason?: string;
  stop_sequence?: string | null;
  usage?: { input_tokens?: number; output_tokens?: number; cache_read_input_tokens?: number; cache_creation_input_tokens?: number; thinking_tokens?: number };
}

export type Reply =
  | { kind: "message"; message: MessageSpec; /** ms between stream events */ delayMs?: number }
  /** Raw stream events (e.g. a recorded fixture), each sent as `event: <type>`; `cut` drops the connection after them (~4 s). */
  | { kind: "events"; events: Record<string, unknown>[]; delayMs?: number; cut?: boolean }
  | { kind: "error"; status: number; type: string; message: string; headers?: Record<string, string> }
  /** Streams the message's first `after` events, then an `error` event (HTTP 200 already sent). */
  | { kind: "midstream-error"; message: MessageSpec; after: number; error: { type: string; message: string } }
  /** Streams the message's first `after` events, then drops the connection without message_stop (~4 s). */
  | { kind: "cut"; message: MessageSpec; after: number }
  /** Never answers (before headers), or sends headers and the first events then goes silent (`afterHeaders`). */
  | { kind: "hang"; afterHeaders?: boolean }
  | { kind: "raw"; status: number; body: string; headers?: Record<string, string> };

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
}

export interface AnthropicUpstream {
  url: string;
  apiKey: string;
  requests: RecordedRequest[];
  /** Requests whose client went away: before the answer (hang) or mid-stream (the body was cancelled). */
  aborted: number;
  /** Queues replies, used one per valid request in order; when empty, `fallback` answers. */
  reply(...replies: Reply[]): void;
  fallback: (body: Record<string, unknown>) => Reply;
  stop(): Promise<void>;
}

/**
 * Claude using every token max_tokens allows, thinking included (its thinking share is the budget it was given):
 * set as `fallback` for a greedy model. Anthropic requires max_tokens, so there is always a cap.
 */
export function greedyClaude(body: Record<string, unknown>): Reply {
  const max = greedyTokens(body.max_tokens);
  const thinking = body.thinking as { type?: string; budget_tokens?: number } | undefined;
  const thought = thinking?.type === "enabled" ? Math.min(thinking.budget_tokens ?? 0, max - 1) : thinking?.type === "adaptive" ? Math.floor(max / 2) : 0;
  const content: SpecBlock[] = [...(thought > 0 ? [{ type: "thinking" as const, thinking: "Thinking as long as I may.", signature: "sig-greedy" }] : []), { type: "text", text: "all the words I am allowed" }];
  return { kind: "message", message: { content, stop_reason: "max_tokens", usage: { input_tokens: 19, output_tokens: max, ...(thought > 0 ? { thinking_tokens: thought } : {}) } } };
}

export const text = (t: string, extra: Partial<MessageSpec> = {}): Reply => ({ kind: "message", message: { content: [{ type: "text", text: t }], ...extra } });
export const toolUse = (calls: { name: string; input: Record<string, unknown>; id?: string }[], lead?: string): Reply => ({
  kind: "message",
  message: { content: [...(lead ? [{ type: "text" as const, text: lead }] : []), ...calls.map((c) => ({ type: "tool_use" as const, ...c }))] },
});

const enc = new TextEncoder();
const sse = (ev: Record<string, unknown>) => enc.encode(`event: ${String(ev.type)}\ndata: ${JSON.stringify(ev)}\n\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A deterministic stand-in for token counting: about four characters a token, as Anthropic suggests for English. */
const tokens = (v: unknown) => Math.max(1, Math.ceil(JSON.stringify(v ?? "").length / 4));

export async function startAnthropicUpstream(opts: { apiKey?: string } = {}): Promise<AnthropicUpstream> {
  const apiKey = opts.apiKey ?? "sk-ant-test";
  const queue: Reply[] = [];
  const requests: RecordedRequest[] = [];
  let n = 0;
  const hanging = new Set<() => void>();

  const up: AnthropicUpstream = {
    url: "",
    apiKey,
    requests,
    aborted: 0,
    reply: (...r) => void queue.push(...r),
    fallback: (b) => answerFor(b),
    async stop() {
      for (const release of hanging) release();
      await server.stop(true);
    },
  };

  const errorResponse = (status: number, type: string, message: string, reqId: string, headers: Record<string, string> = {}) =>
    Response.json({ type: "error", error: { type, message }, request_id: reqId }, { status, headers: { "request-id": reqId, ...headers } });

  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 0, // hang and slow modes must outlive Bun's 10 s default (a cut sets its own per request)
    async fetch(req, srv) {
      const reqId = `req_fixture${String(++n).padStart(4, "0")}`;
      const url = new URL(req.url);
      const raw = await req.text();
      let body: unknown = raw;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        /* recorded as text; answered below */
      }
      requests.push({ method: req.method, path: url.pathname, headers: Object.fromEntries(req.headers), body });

      const counting = url.pathname === "/v1/messages/count_tokens";
      if (req.method !== "POST" || (url.pathname !== "/v1/messages" && !counting)) return errorResponse(404, "not_found_error", "Not Found", reqId);
      // The API takes the key as x-api-key or (newer SDKs) as a bearer token.
      const key = req.headers.get("x-api-key") ?? req.headers.get("authorization")?.replace(/^Bearer /, "");
      if (key !== apiKey) return errorResponse(401, "authentication_error", "invalid x-api-key", reqId);
      const version = req.headers.get("anthropic-version");
      if (!version) return errorResponse(400, "invalid_request_error", "anthropic-version: header is required", reqId);
      if (typeof body !== "object" || body === null) return errorResponse(400, "invalid_request_error", "There was an error parsing the body of your request", reqId);
      const b = body as Record<string, unknown>;
      if (counting) {
        // count_tokens takes no max_tokens (and refuses one), and counts the prompt: system, messages, tools.
        if ("max_tokens" in b || "stream" in b) return errorResponse(400, "invalid_request_error", `${"max_tokens" in b ? "max_tokens" : "stream"}: Extra inputs are not permitted`, reqId);
        if (typeof b.model !== "string" || !Array.isArray(b.messages)) return errorResponse(400, "invalid_request_error", "messages: Field required", reqId);
        return Response.json({ input_tokens: tokens([b.system, b.messages, b.tools]) }, { headers: { "request-id": reqId } });
      }
      const problem = validate(b, version);
      if (problem) return errorResponse(400, "invalid_request_error", problem, reqId);

      const r = queue.shift() ?? up.fallback(b);
      const headers = { "request-id": reqId };
      const stream = b.stream === true;
      const model = String(b.model);
      switch (r.kind) {
        case "error":
          return errorResponse(r.status, r.type, r.message, reqId, r.headers);
        case "raw":
          return new Response(r.body, { status: r.status, headers: { ...headers, ...r.headers } });
        case "hang":
          if (r.afterHeaders) return sseResponse(messageEvents(defaultHang, model, b, reqId).slice(0, 2), headers, { hold: true });
          return new Promise<Response>((resolve) => {
            const release = () => resolve(new Response(null, { status: 503 }));
            hanging.add(release);
            req.signal.addEventListener("abort", () => {
              up.aborted++;
              hanging.delete(release);
              release();
            });
          });
        case "events":
          if (r.cut) cutAfterSilence(srv, req);
          return sseResponse(r.events, headers, { delayMs: r.delayMs, hold: r.cut });
        case "message":
          if (!stream) return Response.json(messageJson(r.message, model, b, reqId), { headers });
          return sseResponse(messageEvents(r.message, model, b, reqId), headers, { delayMs: r.delayMs });
        case "midstream-error":
          return sseResponse([...messageEvents(r.message, model, b, reqId).slice(0, r.after), { type: "error", error: r.error }], headers, {});
        case "cut":
          cutAfterSilence(srv, req);
          return sseResponse(messageEvents(r.message, model, b, reqId).slice(0, r.after), headers, { hold: true });
      }
    },
  });

  /**
   * A real cut: the connection closes mid-body, without the chunked terminator. Bun.serve has no socket handle and
   * erroring the body stream crashes the process, so the stream goes silent and a 1 s idle timeout drops the
   * connection (Bun checks idle sockets every few seconds, so a cut takes about 4 s).
   */
  function cutAfterSilence(srv: { timeout(req: Request, seconds: number): void }, req: Request) {
    srv.timeout(req, 1);
  }

  function sseResponse(events: Record<string, unknown>[], headers: Record<string, string>, o: { delayMs?: number; hold?: boolean }) {
    let i = 0;
    let release: (() => void) | undefined;
    const stream = new ReadableStream<Uint8Array>({
      async pull(c) {
        if (i < events.length) {
          if (o.delayMs && i > 0) await sleep(o.delayMs);
          c.enqueue(sse(events[i++]!));
          return;
        }
        if (o.hold) {
          await new Promise<void>((r) => {
            release = r;
            hanging.add(r);
          });
        }
        c.close();
      },
      cancel() {
        up.aborted++;
        if (release) hanging.delete(release);
        release?.();
      },
    });
    return new Response(stream, { headers: { ...headers, "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" } });
  }

  up.url = `http://127.0.0.1:${server.port}`;
  return up;
}

const defaultHang: MessageSpec = { content: [{ type: "text", text: "never" }] };

function stopReasonOf(m: MessageSpec) {
  return m.stop_reason ?? (m.content.some((c) => c.type === "tool_use") ? "tool_use" : "end_turn");
}

function usageOf(m: MessageSpec, req: Record<string, unknown>) {
  const thinking = m.usage?.thinking_tokens ?? (m.content.some((c) => c.type === "thinking") ? tokens(m.content.filter((c) => c.type === "thinking")) : undefined);
  return {
    input_tokens: m.usage?.input_tokens ?? tokens([req.system, req.messages, req.tools]),
    cache_creation_input_tokens: m.usage?.cache_creation_input_tokens ?? 0,
    cache_read_input_tokens: m.usage?.cache_read_input_tokens ?? 0,
    output_tokens: m.usage?.output_tokens ?? tokens(m.content),
    // Usage.output_tokens_details (SDK 1.14): the thinking share of output_tokens, present when the model thought.
    ...(thinking !== undefined ? { output_tokens_details: { thinking_tokens: thinking } } : {}),
  };
}

type WireBlock = Exclude<SpecBlock, { type: "tool_use" }> | { type: "tool_use"; id: string; name: string; input: Record<string, unknown> };

function blocksOf(m: MessageSpec, reqId: string): WireBlock[] {
  return m.content.map((c, i) => (c.type === "tool_use" ? { type: "tool_use", id: c.id ?? `toolu_${reqId}_${i}`, name: c.name, input: c.input } : c));
}

/**
 * The default answer, shaped by what the request asks for, as the API would: JSON text matching
 * `output_config.format`, a call of the tool `tool_choice` forces (input built from its schema), a thinking block
 * first when `thinking` is on; otherwise a plain greeting.
 */
function answerFor(b: Record<string, unknown>): Reply {
  const content: SpecBlock[] = [];
  const thinking = b.thinking as { type?: string } | undefined;
  if (thinking && thinking.type !== "disabled") content.push({ type: "thinking", thinking: "Let me think about what is asked.", signature: "sig-fixture-" + "A".repeat(24) });
  const format = (b.output_config as { format?: { schema?: unknown } } | undefined)?.format;
  const choice = b.tool_choice as { type?: string; name?: string } | undefined;
  const tools = (Array.isArray(b.tools) ? b.tools : []) as { name: string; input_schema: unknown }[];
  if (format) content.push({ type: "text", text: JSON.stringify(sampleFor(format.schema, format.schema)) });
  else if (choice?.type === "tool" || choice?.type === "any") {
    const tool = tools.find((t) => t.name === choice.name) ?? tools[tools.length - 1]!;
    content.push({ type: "tool_use", name: tool.name, input: sampleFor(tool.input_schema, tool.input_schema) as Record<string, unknown> });
  } else content.push({ type: "text", text: "Hello from the fixture." });
  return { kind: "message", message: { content } };
}


function messageJson(m: MessageSpec, model: string, req: Record<string, unknown>, reqId: string) {
  return {
    id: `msg_${reqId}`,
    type: "message",
    role: "assistant",
    model,
    content: blocksOf(m, reqId),
    stop_reason: stopReasonOf(m),
    stop_sequence: m.stop_sequence ?? null,
    usage: { ...usageOf(m, req), service_tier: "standard" },
  };
}

/** The event sequence the API sends for a message: start, ping, blocks in pieces, delta with usage, stop. */
function messageEvents(m: MessageSpec, model: string, req: Record<string, unknown>, reqId: string): Record<string, unknown>[] {
  const usage = usageOf(m, req);
  const out: Record<string, unknown>[] = [
    { type: "message_start", message: { id: `msg_${reqId}`, type: "message", role: "assistant", model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1, service_tier: "standard" } } },
    { type: "ping" },
  ];
  blocksOf(m, reqId).forEach((b, index) => {
    if (b.type === "thinking") {
      // As recorded: an empty thinking block, its text in thinking_delta pieces, then one signature_delta.
      out.push({ type: "content_block_start", index, content_block: { type: "thinking", thinking: "", signature: "" } });
      for (const piece of pieces(b.thinking, 9)) out.push({ type: "content_block_delta", index, delta: { type: "thinking_delta", thinking: piece } });
      out.push({ type: "content_block_delta", index, delta: { type: "signature_delta", signature: b.signature } });
    } else if (b.type === "redacted_thinking") {
      out.push({ type: "content_block_start", index, content_block: { type: "redacted_thinking", data: b.data } });
    } else if (b.type === "text") {
      out.push({ type: "content_block_start", index, content_block: { type: "text", text: "" } });
      for (const piece of pieces(b.text, 8)) out.push({ type: "content_block_delta", index, delta: { type: "text_delta", text: piece } });
    } else {
      out.push({ type: "content_block_start", index, content_block: { type: "tool_use", id: b.id, name: b.name, input: {} } });
      // The API opens with an empty fragment, then streams the JSON in arbitrary cuts.
      out.push({ type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: "" } });
      const json = JSON.stringify(b.input);
      for (const piece of json === "{}" ? [] : pieces(json, 7)) out.push({ type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: piece } });
    }
    out.push({ type: "content_block_stop", index });
  });
  out.push({ type: "message_delta", delta: { stop_reason: stopReasonOf(m), stop_sequence: m.stop_sequence ?? null }, usage: { input_tokens: usage.input_tokens, cache_creation_input_tokens: usage.cache_creation_input_tokens, cache_read_input_tokens: usage.cache_read_input_tokens, output_tokens: usage.output_tokens, ...(usage.output_tokens_details ? { output_tokens_details: usage.output_tokens_details } : {}) } });
  out.push({ type: "message_stop" });
  return out;
}

function pieces(s: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < s.length; i += size) out.push(s.slice(i, i + size));
  return out.length > 0 ? out : [""];
}

/** The request checks the real API makes that a translation bug would trip; the messages follow the API's wording. */
function validate(b: Record<string, unknown>, version: string): string | undefined {
  if (typeof b.model !== "string" || b.model === "") return "model: Field required";
  if (typeof b.max_tokens !== "number" || !Number.isInteger(b.max_tokens) || b.max_tokens < 1) return "max_tokens: Field required";
  if (!Array.isArray(b.messages) || b.messages.length === 0) return "messages: at least one message is required";
  if (version > "2023-06-01") {
    for (const k of ["temperature", "top_p", "top_k"]) if (k in b) return `${k}: Extra inputs are not permitted`;
  }
  if (typeof b.temperature === "number" && (b.temperature < 0 || b.temperature > 1)) return "temperature: Input should be less than or equal to 1";
  const featureProblem = validateFeatures(b);
  if (featureProblem) return featureProblem;
  if (b.system !== undefined && typeof b.system !== "string" && !(Array.isArray(b.system) && b.system.every((s) => s?.type === "text" && typeof s.text === "string" && s.text !== ""))) {
    return "system: Input should be a valid string or a list of text blocks";
  }
  let prevToolUses: string[] = [];
  for (const [i, raw] of (b.messages as unknown[]).entries()) {
    const m = raw as { role?: unknown; content?: unknown };
    if (m.role !== "user" && m.role !== "assistant") return `messages.${i}.role: Input should be 'user' or 'assistant'`;
    const blocks = typeof m.content === "string" ? [{ type: "text", text: m.content }] : m.content;
    if (!Array.isArray(blocks)) return `messages.${i}.content: Input should be a valid list`;
    const typed = blocks as { type?: unknown; text?: unknown; tool_use_id?: unknown; id?: unknown }[];
    for (const [j, blk] of typed.entries()) {
      if (blk.type === "text" && (typeof blk.text !== "string" || blk.text === "")) return `messages.${i}.content.${j}.text: text content blocks must be non-empty`;
      const problem = validateBlock(blk as Record<string, unknown>, `messages.${i}.content.${j}`, m.role as string);
      if (problem) return problem;
      if (blk.type === "tool_result" && m.role !== "user") return `messages.${i}.content.${j}: tool_result blocks are only allowed in user messages`;
    }
    const results = typed.filter((x) => x.type === "tool_result").map((x) => String(x.tool_use_id));
    if (m.role === "user") {
      const firstOther = typed.findIndex((x) => x.type !== "tool_result");
      if (results.length > 0 && firstOther !== -1 && typed.slice(firstOther).some((x) => x.type === "tool_result")) {
        return `messages.${i}.content: tool_result blocks must come first in a user message`;
      }
      const stray = results.filter((id) => !prevToolUses.includes(id));
      if (stray.length > 0) return `messages.${i}.content: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${stray.join(", ")}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`;
      const missing = prevToolUses.filter((id) => !results.includes(id));
      if (missing.length > 0) return `messages.${i}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(", ")}`;
      prevToolUses = [];
    } else {
      prevToolUses = typed.filter((x) => x.type === "tool_use").map((x) => String(x.id));
    }
  }
  if (asMessages(b.messages).some((m) => Array.isArray(m.content) && m.content.some((c: { type?: unknown }) => c.type === "tool_use" || c.type === "tool_result")) && !Array.isArray(b.tools)) {
    return "Requests which include `tool_use` or `tool_result` blocks must define tools.";
  }
  return undefined;
}

const asMessages = (v: unknown) => v as { content?: { type?: unknown }[] | string }[];

/** Block rules from the Messages API reference and the SDK's param types (DocumentBlockParam, ThinkingBlockParam, CacheControlEphemeral). */
function validateBlock(blk: Record<string, unknown>, at: string, role: string): string | undefined {
  const cc = blk.cache_control as { type?: unknown; ttl?: unknown } | undefined;
  if (cc !== undefined && (cc?.type !== "ephemeral" || (cc.ttl !== undefined && cc.ttl !== "5m" && cc.ttl !== "1h"))) return `${at}.cache_control: Input tag does not match 'ephemeral'`;
  if (blk.type === "document") {
    const src = blk.source as Record<string, unknown> | undefined;
    const ok =
      (src?.type === "base64" && src.media_type === "application/pdf" && typeof src.data === "string" && src.data !== "") ||
      (src?.type === "text" && src.media_type === "text/plain" && typeof src.data === "string") ||
      (src?.type === "url" && typeof src.url === "string");
    if (!ok) return `${at}.source: Input does not match any of the document source types`;
    if (role !== "user") return `${at}: document blocks are only allowed in user messages`;
  }
  if (blk.type === "thinking" && (typeof blk.signature !== "string" || blk.signature === "" || typeof blk.thinking !== "string")) return `${at}.signature: Field required`;
  if ((blk.type === "thinking" || blk.type === "redacted_thinking") && role !== "assistant") return `${at}: thinking blocks are only allowed in assistant messages`;
  return undefined;
}

/** thinking, output_config and cache breakpoints, as the API checks them. */
function validateFeatures(b: Record<string, unknown>): string | undefined {
  const thinking = b.thinking as Record<string, unknown> | undefined;
  if (thinking) {
    if (thinking.type === "enabled") {
      const budget = thinking.budget_tokens;
      if (typeof budget !== "number" || budget < 1024) return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024";
      if (budget >= (b.max_tokens as number)) return "`max_tokens` must be greater than `thinking.budget_tokens`.";
    } else if (thinking.type !== "adaptive" && thinking.type !== "disabled") return "thinking: Input tag does not match any of the expected tags";
    if (thinking.type !== "disabled") {
      if (b.temperature !== undefined && b.temperature !== 1) return "`temperature` may only be set to 1 when thinking is enabled.";
      if (typeof b.top_p === "number" && b.top_p < 0.95) return "`top_p` must be between 0.95 and 1 when thinking is enabled.";
      const choice = b.tool_choice as { type?: string } | undefined;
      if (choice?.type === "any" || choice?.type === "tool") return "Thinking may not be enabled when tool_choice forces tool use.";
    }
  }
  const oc = b.output_config as Record<string, unknown> | undefined;
  if (oc !== undefined) {
    if (oc.effort !== undefined && !["low", "medium", "high", "xhigh", "max"].includes(oc.effort as string)) return "output_config.effort: Input should be 'low', 'medium', 'high', 'xhigh' or 'max'";
    const format = oc.format as Record<string, unknown> | undefined;
    if (format !== undefined) {
      if (format.type !== "json_schema" || typeof format.schema !== "object") return "output_config.format: Input tag does not match 'json_schema'";
      const open = openObject(format.schema);
      if (open) return `output_config.format.schema: For 'object' type, 'additionalProperties' must be explicitly set to false (at ${open})`;
    }
  }
  let breakpoints = 0;
  const count = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(count);
    else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) (k === "cache_control" ? breakpoints++ : count(x));
  };
  count([b.system, b.messages, b.tools]);
  if (breakpoints > 4) return `A maximum of 4 blocks with cache_control may be provided. Found ${breakpoints}.`;
  for (const t of (Array.isArray(b.tools) ? b.tools : []) as Record<string, unknown>[]) {
    const schema = t.input_schema as { type?: unknown } | undefined;
    if (schema?.type !== "object") return `tools.${String(t.name)}.input_schema.type: Input should be 'object'`;
  }
  return undefined;
}

/** The path of the first object schema that is not closed, if any (structured outputs require every object closed). */
function openObject(schema: unknown, path = "$"): string | undefined {
  if (Array.isArray(schema)) {
    for (const [i, x] of schema.entries()) {
      const r = openObject(x, `${path}[${i}]`);
      if (r) return r;
    }
    return undefined;
  }
  if (!schema || typeof schema !== "object") return undefined;
  const s = schema as Record<string, unknown>;
  if (s.type === "object" && s.additionalProperties !== false) return path;
  for (const [k, v] of Object.entries(s)) {
    if (k === "enum" || k === "const" || k === "default") continue;
    const r = openObject(v, `${path}.${k}`);
    if (r) return r;
  }
  return undefined;
}
