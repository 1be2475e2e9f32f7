// A fake OpenAI-type provider on port 0: real wire format (JSON, SSE, usage chunk, errors), fault modes, and a record of calls.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { openAIEmbeddings } from "./embeddings-wire.ts";
import { sampleFor } from "./json-sample.ts";
import { RECORDED_REASONING_EVENTS, responsesAnswer, sseFrame } from "./openai-responses-wire.ts";
import { greedyTokens, isGreedy } from "./greedy.ts";

/**
 * Behaviour is picked per request by the upstream model name, so one fixture serves a whole config:
 * `fault-<status>` (error body with that status), `fault-invalid-json`, `fault-hang` (never answers),
 * `fault-hang-stream` (headers and one chunk, then silence), `fault-reset` (cut mid-stream),
 * `fault-slow` (chunks 150 ms apart), `fault-pause` (2.5 s of silence after the second chunk), `fault-html` (200 with a non-JSON body),
 * hostile ones: `fault-huge` (a 48 MiB JSON answer, chunked), `fault-gzip-bomb` (a 512 MiB JSON answer gzipped to ~0.5 MB),
 * `fault-endless-line` (a stream whose second line is 64 MiB without a newline), `fault-echo-key` (a 400 whose message
 * quotes the gateway's provider key, as some providers do for a malformed key); anything else answers
 * normally: a tool call when tools are offered and the last message is the user's, else text.
 * Per instance, `script` overrides the next requests in order (routing tests: "a 503, then a success"), and
 * `delayMs` delays every answer (a slow deployment).
 *
 * It also speaks OpenAI's Responses API (`POST /v1/responses`, `GET`/`DELETE /v1/responses/{id}`, and Azure's
 * `/openai/v1/responses` with `api-key`): JSON or typed SSE events, responses kept for previous_response_id unless
 * `store: false`; the same `fault-<status>`, `fault-hang` and `fault-reset` models, and `recorded` (a real OpenAI
 * stream: reasoning with encrypted content, then a function call).
 */
export interface RecordedCall {
  path: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
  /** Set when the client went away (request aborted or response stream cancelled). */
  aborted: boolean;
}

export interface OpenAIUpstream {
  /** Base URL as the OpenAI SDK takes it: http://127.0.0.1:PORT/v1 */
  url: string;
  calls: RecordedCall[];
  apiKey: string;
  /** Behaviours for the next requests, consumed one per request: a status (`503` → as `fault-503`), a fault name (`"hang"`), or `"ok"`. */
  script: (number | string)[];
  /** Milliseconds to wait before answering every request. */
  delayMs: number;
  /**
   * Scripts the model (clients that drive a tool loop, e.g. Claude Code): when set and it returns an answer for a
   * request, that answer is given — a tool call or text — instead of the default one.
   */
  respond?: (body: Record<string, unknown>) => ScriptedAnswer | undefined;
  /** Resolves when `n` calls have been seen aborted (or rejects after `ms`). */
  waitForAbort(n?: number, ms?: number): Promise<void>;
  stop(): Promise<void>;
}

const fixture = (name: string) => readFileSync(join(import.meta.dir, "..", "fixtures", "openai", name), "utf8");
const RECORDED_TEXT_CHUNKS = fixture("openai-text.chunks.txt").trim().split("\n");
const RECORDED_TEXT_JSON = JSON.parse(fixture("openai-text.json")) as Record<string, unknown>;

const enc = new TextEncoder();
const sse = (o: unknown) => enc.encode(`data: ${typeof o === "string" ? o : JSON.stringify(o)}\n\n`);
const errorBody = (message: string, type: string, code: string | null = null, param: string | null = null) =>
  JSON.stringify({ error: { message, type, param, code } });

/** A JSON answer of `size` bytes, produced 64 KiB at a time (never whole in memory). */
function hugeJson(size: number): ReadableStream<Uint8Array> {
  const head = enc.encode('{"id":"chatcmpl-huge","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"');
  const filler = new Uint8Array(64 * 1024).fill(120);
  let sent = 0;
  return new ReadableStream({
    pull(c) {
      if (sent === 0) c.enqueue(head);
      if (sent >= size) {
        c.enqueue(enc.encode('"}}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}'));
        return c.close();
      }
      c.enqueue(filler);
      sent += filler.length;
    },
  });
}

let bomb: Uint8Array | undefined;
/** 512 MiB of JSON (one long string of zeros) gzipped: about half a megabyte on the wire. Built once, streamed. */
function gzipBomb(): Uint8Array {
  if (!bomb) {
    const { gzipSync } = require("node:zlib") as typeof import("node:zlib");
    const body = Buffer.alloc(512 * 1024 * 1024, 48);
    body.write('{"choices":[{"message":{"content":"', 0);
    body.write('"}}]}', body.length - 5);
    bomb = gzipSync(body, { level: 9 });
  }
  return bomb;
}

/** An SSE stream: one good chunk, then a line of `size` bytes with no newline, 64 KiB at a time. */
function endlessLine(size: number, signal: AbortSignal): ReadableStream<Uint8Array> {
  const first = enc.encode(`data: ${JSON.stringify({ id: "chatcmpl-endless", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] })}\n\n`);
  const filler = new Uint8Array(64 * 1024).fill(97);
  let sent = -1;
  return new ReadableStream({
    pull(c) {
      if (signal.aborted) return c.close();
      if (sent === -1) {
        c.enqueue(first);
        c.enqueue(enc.encode('data: {"x":"'));
        sent = 0;
        return;
      }
      if (sent >= size) return c.close();
      c.enqueue(filler);
      sent += filler.length;
    },
  });
}

/**
 * A model that uses every token it is allowed (a budget's worst case): `max_completion_tokens` (reasoning included,
 * half of it on o-series and gpt-5) or `max_tokens`, on every choice (tests/support/greedy.ts).
 */
function greedy(body: Record<string, unknown>, model: string, id: string, created: number, rid: Record<string, string>): Response {
  const n = typeof body.n === "number" ? body.n : 1;
  const completion = greedyTokens(body.max_completion_tokens ?? body.max_tokens, n);
  const reasoning = /^(o\d|gpt-5)/.test(model) ? Math.floor(completion / 2) : 0;
  const usage = { prompt_tokens: 19, completion_tokens: completion, total_tokens: 19 + completion, completion_tokens_details: { reasoning_tokens: reasoning } };
  const text = "all the words I am allowed ";
  if (!body.stream) {
    const choices = Array.from({ length: n }, (_, index) => ({ index, message: { role: "assistant", content: text, refusal: null }, logprobs: null, finish_reason: "length" }));
    return Response.json({ id, object: "chat.completion", created, model, choices, usage }, { headers: rid });
  }
  const base = { id, object: "chat.completion.chunk", created, model };
  const events = [
    { ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] },
    { ...base, choices: [{ index: 0, delta: { content: text }, finish_reason: null }] },
    { ...base, choices: [{ index: 0, delta: {}, finish_reason: "length" }] },
    { ...base, choices: [], usage },
  ];
  const bytes = events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join("") + "data: [DONE]\n\n";
  return new Response(bytes, { headers: { "content-type": "text/event-stream", ...rid } });
}

/** What a scripted model says: a call of one tool (arguments as the JSON string OpenAI sends), or text. */
export interface ScriptedAnswer {
  toolCall?: { name: string; arguments: string };
  text?: string;
}

interface Msg {
  role: string;
  content?: unknown;
}

export async function startOpenAIUpstream(apiKey = "sk-upstream-secret-123"): Promise<OpenAIUpstream> {
  const calls: RecordedCall[] = [];
  const waiters: (() => void)[] = [];
  const markAborted = (c: RecordedCall) => {
    if (c.aborted) return;
    c.aborted = true;
    waiters.splice(0).forEach((w) => w());
  };
  let seq = 0;
  const script: (number | string)[] = [];
  const self: { delayMs: number; respond?: OpenAIUpstream["respond"] } = { delayMs: 0 };

  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const headers = Object.fromEntries(req.headers.entries());
      // Azure's v1 surface (/openai/v1/…) authenticates with api-key instead.
      const azureKey = url.pathname.startsWith("/openai/v1/") && headers["api-key"] === apiKey;
      if (headers.authorization !== `Bearer ${apiKey}` && !azureKey) {
        return Response.json(
          JSON.parse(errorBody(`Incorrect API key provided: ${headers.authorization ?? "none"}.`, "invalid_request_error", "invalid_api_key")),
          { status: 401 },
        );
      }
      if (url.pathname === "/v1/embeddings" && req.method === "POST") {
        const body = (await req.json()) as Record<string, unknown>;
        calls.push({ path: url.pathname, headers, body, aborted: false });
        const forced = script.shift();
        if (typeof forced === "number") {
          return new Response(errorBody("The server had an error while processing your request.", "server_error", null), { status: forced, headers: { "content-type": "application/json" } });
        }
        const a = openAIEmbeddings(body, `${String(body.model)}`);
        return Response.json(a.body, { status: a.status });
      }
      const responsesPath = /^(?:\/openai)?\/v1\/responses(?:\/([^/]+))?$/.exec(url.pathname);
      if (responsesPath) return responsesApi(req, url, headers, responsesPath[1]);
      if (url.pathname !== "/v1/chat/completions" || req.method !== "POST") return new Response("not found", { status: 404 });
      const body = (await req.json()) as Record<string, unknown>;
      const call: RecordedCall = { path: url.pathname + url.search, headers, body, aborted: false };
      calls.push(call);
      req.signal.addEventListener("abort", () => markAborted(call));
      const forced = script.shift();
      const model = forced === undefined || forced === "ok" ? String(body.model) : `fault-${forced}`;
      if (self.delayMs > 0) await Bun.sleep(self.delayMs);
      const id = `chatcmpl-up${++seq}`;
      const created = 1770000000 + seq;
      const rid = { "x-request-id": `req_${seq}`, "openai-processing-ms": "12" };

      const status = /^fault-(\d{3})$/.exec(model);
      if (status) {
        const code = Number(status[1]);
        const h: Record<string, string> = { "content-type": "application/json", ...rid };
        if (code === 429) h["retry-after"] = "7";
        const msg =
          code === 400 ? "This model's maximum context length is 128000 tokens." : code === 401 ? `Incorrect API key provided: ${apiKey}.` : code === 429 ? "Rate limit reached for requests" : "The server had an error while processing your request.";
        const type = code === 400 ? "invalid_request_error" : code === 429 ? "requests" : "server_error";
        return new Response(errorBody(msg, type, code === 400 ? "context_length_exceeded" : null, code === 400 ? "messages" : null), { status: code, headers: h });
      }
      if (model === "fault-echo-key") {
        return new Response(errorBody(`Invalid 'model' for key ${apiKey}: not available on this plan (key ${apiKey.slice(0, 8)}…).`, "invalid_request_error", "model_not_available", "model"), {
          status: 400,
          headers: { "content-type": "application/json", "x-echo": `auth=${apiKey}` },
        });
      }
      if (model === "fault-huge") return new Response(hugeJson(48 * 1024 * 1024), { headers: { "content-type": "application/json" } });
      if (model === "fault-gzip-bomb") return new Response(gzipBomb(), { headers: { "content-type": "application/json", "content-encoding": "gzip" } });
      if (model === "fault-endless-line") return new Response(endlessLine(64 * 1024 * 1024, req.signal), { headers: { "content-type": "text/event-stream" } });
      if (model === "fault-invalid-json") return new Response('{"id": "chatcmpl-broken", "choices": [', { headers: { "content-type": "application/json" } });
      if (model === "fault-html") return new Response("<html>Bad gateway</html>", { headers: { "content-type": "text/html" } });
      if (model === "fault-hang") {
        await new Promise<void>((resolve) => req.signal.addEventListener("abort", () => resolve()));
        return new Response("gone", { status: 499 });
      }

      const scripted = self.respond?.(body);
      const messages = (body.messages as Msg[]) ?? [];
      const last = messages[messages.length - 1];
      const tools = body.tools as { function: { name: string } }[] | undefined;
      const wantsTool = !!tools?.length && last?.role === "user" && body.tool_choice !== "none";
      const usage = { prompt_tokens: 19, completion_tokens: wantsTool ? 17 : 10, total_tokens: wantsTool ? 36 : 29 };
      const lastText = typeof last?.content === "string" ? last.content : JSON.stringify(last?.content ?? "");
      // Structured outputs as OpenAI answers them: JSON text matching json_schema.schema (an object for json_object).
      const rf = body.response_format as { type?: string; json_schema?: { schema?: unknown } } | undefined;
      const answer = scripted?.text ??
        (rf?.type === "json_schema" ? JSON.stringify(sampleFor(rf.json_schema?.schema, rf.json_schema?.schema)) : rf?.type === "json_object" ? "{}" : last?.role === "tool" ? `The tool said: ${lastText}` : `Echo from upstream: ${lastText}`);
      // o-series and gpt-5 refuse max_tokens, as OpenAI does: "Use 'max_completion_tokens' instead."
      if (/^(o\d|gpt-5)/.test(model) && body.max_tokens !== undefined) {
        return new Response(errorBody("Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.", "invalid_request_error", "unsupported_parameter", "max_tokens"), { status: 400, headers: { "content-type": "application/json", ...rid } });
      }
      if (isGreedy(model)) return greedy(body, model, id, created, rid);
      const toolCall = scripted
        ? scripted.toolCall
          ? { id: `call_${seq}abc`, type: "function", function: scripted.toolCall }
          : null
        : wantsTool
          ? { id: `call_${seq}abc`, type: "function", function: { name: tools![0]!.function.name, arguments: '{"city":"Paris","unit":"celsius"}' } }
          : null;

      if (!body.stream) {
        if (model === "recorded") return Response.json({ ...RECORDED_TEXT_JSON }, { headers: rid });
        const message = toolCall ? { role: "assistant", content: null, tool_calls: [toolCall], refusal: null } : { role: "assistant", content: answer, refusal: null };
        return Response.json(
          { id, object: "chat.completion", created, model: `${model}-2024-08-06`, choices: [{ index: 0, message, logprobs: null, finish_reason: toolCall ? "tool_calls" : "stop" }], usage, system_fingerprint: "fp_test" },
          { headers: rid },
        );
      }

      const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
      const base = { id, object: "chat.completion.chunk", created, model: `${model}-2024-08-06`, system_fingerprint: "fp_test" };
      const chunk = (delta: object, finish: string | null = null) => ({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...(includeUsage ? { usage: null } : {}) });
      let events: unknown[];
      if (model === "recorded") {
        events = RECORDED_TEXT_CHUNKS.map((l) => JSON.parse(l)).filter((e: { usage?: unknown; choices: unknown[] }) => includeUsage || e.choices.length > 0);
      } else if (toolCall) {
        const args = toolCall.function.arguments;
        events = [
          chunk({ role: "assistant", content: null, tool_calls: [{ index: 0, id: toolCall.id, type: "function", function: { name: toolCall.function.name, arguments: "" } }], refusal: null }),
          chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(0, 9) } }] }),
          chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(9) } }] }),
          chunk({}, "tool_calls"),
        ];
      } else {
        const words = answer.split(/(?<= )/);
        events = [chunk({ role: "assistant", content: "", refusal: null }), ...words.map((w) => chunk({ content: w })), chunk({}, "stop")];
      }
      if (includeUsage && model !== "recorded") events.push({ ...base, choices: [], usage });
      events.push("[DONE]");

      let i = 0;
      const stream = new ReadableStream<Uint8Array>({
        async pull(c) {
          if (model === "fault-slow" && i > 0) await Bun.sleep(150);
          if (model === "fault-pause" && i === 2) await Bun.sleep(2500);
          if (model === "fault-hang-stream" && i === 1) {
            await new Promise<void>((resolve) => req.signal.addEventListener("abort", () => resolve()));
            return;
          }
          if (model === "fault-reset" && i === 3) {
            // Let the first chunks reach the wire, so the failure is truly mid-stream.
            await Bun.sleep(50);
            c.error(new Error("connection reset by fixture"));
            return;
          }
          const e = events[i++];
          if (e === undefined) return c.close();
          c.enqueue(sse(e));
        },
        cancel() {
          markAborted(call);
        },
      });
      return new Response(stream, { headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", ...rid } });
    },
  });

  /** OpenAI's Responses API: the fake keeps what is stored, by id, for previous_response_id, GET and DELETE. */
  const kept = new Map<string, Record<string, unknown>>();
  async function responsesApi(req: Request, url: URL, headers: Record<string, string>, id: string | undefined): Promise<Response> {
    const notFound = (what: string) => Response.json(JSON.parse(errorBody(`Response with id '${what}' not found.`, "invalid_request_error", null, null)), { status: 404 });
    if (id !== undefined) {
      calls.push({ path: url.pathname, headers, body: {}, aborted: false });
      const found = kept.get(id);
      if (!found) return notFound(id);
      if (req.method === "DELETE") {
        kept.delete(id);
        return Response.json({ id, object: "response", deleted: true });
      }
      return req.method === "GET" ? Response.json(found) : new Response("not found", { status: 404 });
    }
    if (req.method !== "POST") return new Response("not found", { status: 404 });
    const body = (await req.json()) as Record<string, unknown>;
    const call: RecordedCall = { path: url.pathname, headers, body, aborted: false };
    calls.push(call);
    req.signal.addEventListener("abort", () => markAborted(call));
    const forced = script.shift();
    const model = forced === undefined || forced === "ok" ? String(body.model) : `fault-${forced}`;
    if (self.delayMs > 0) await Bun.sleep(self.delayMs);
    const status = /^fault-(\d{3})$/.exec(model);
    if (status) {
      const code = Number(status[1]);
      const h: Record<string, string> = { "content-type": "application/json" };
      if (code === 429) h["retry-after"] = "7";
      const msg = code === 400 ? "Invalid 'input': the input is too long." : code === 429 ? "Rate limit reached for requests" : "The server had an error while processing your request.";
      return new Response(errorBody(msg, code === 400 ? "invalid_request_error" : code === 429 ? "requests" : "server_error", null, code === 400 ? "input" : null), { status: code, headers: h });
    }
    if (model === "fault-hang") {
      await new Promise<void>((resolve) => req.signal.addEventListener("abort", () => resolve()));
      return new Response("gone", { status: 499 });
    }
    const prev = body.previous_response_id;
    if (typeof prev === "string" && !kept.has(prev)) {
      return Response.json(JSON.parse(errorBody(`Previous response with id '${prev}' not found.`, "invalid_request_error", "previous_response_not_found", "previous_response_id")), { status: 400 });
    }
    const answer = model === "recorded" ? { response: RECORDED_REASONING_EVENTS.at(-1)!.response as Record<string, unknown>, events: RECORDED_REASONING_EVENTS } : responsesAnswer(body, `${model}-2025-08-07`);
    if (body.store !== false) kept.set(String(answer.response.id), answer.response);
    if (!body.stream) return Response.json(answer.response);
    let i = 0;
    const stream = new ReadableStream<Uint8Array>({
      async pull(c) {
        if (model === "fault-reset" && i === 4) {
          await Bun.sleep(50);
          c.error(new Error("connection reset by fixture"));
          return;
        }
        const e = answer.events[i++];
        if (e === undefined) return c.close();
        c.enqueue(sseFrame(e));
      },
      cancel() {
        markAborted(call);
      },
    });
    return new Response(stream, { headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" } });
  }

  return {
    url: `http://127.0.0.1:${server.port}/v1`,
    calls,
    apiKey,
    script,
    get delayMs() {
      return self.delayMs;
    },
    get respond() {
      return self.respond;
    },
    set respond(f) {
      self.respond = f;
    },
    set delayMs(ms: number) {
      self.delayMs = ms;
    },
    waitForAbort(n = 1, ms = 3000) {
      return new Promise<void>((resolve, reject) => {
        const check = () => calls.filter((c) => c.aborted).length >= n;
        if (check()) return resolve();
        const timer = setTimeout(() => reject(new Error(`upstream saw ${calls.filter((c) => c.aborted).length} aborts, wanted ${n}`)), ms);
        const w = () => {
          if (check()) {
            clearTimeout(timer);
            resolve();
          } else waiters.push(w);
        };
        waiters.push(w);
      });
    },
    async stop() {
      await server.stop(true);
    },
  };
}
