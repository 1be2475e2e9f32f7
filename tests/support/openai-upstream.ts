// A fake OpenAI-type provider on port 0 (on the shared fake core): chat completions, embeddings and the Responses API in OpenAI's wire format.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startFake, type Call, type ErrorReply, type Fake, type Json, type Message, type Reply, type Wire } from "./fake-core.ts";
import { chatChunks, chatErrorEvent, chatFrame, chatJson, chatUsage, openAIError, type ChatStyle } from "./openai-chat-wire.ts";
import { openAIEmbeddings } from "./embeddings-wire.ts";
import { sampleFor } from "./json-sample.ts";
import { RECORDED_REASONING_EVENTS, responsesDefault, responsesOf, sseFrame } from "./openai-responses-wire.ts";
import { greedyMessage, greedyTokens, isGreedy } from "./greedy.ts";

/**
 * Behaviour is picked per request by the upstream model name, so one fixture serves a whole config: the core's fault
 * names (`fault-<status>`, `fault-hang`, `fault-hang-stream`, `fault-reset`, `fault-cut`, `fault-slow`, `fault-pause`, …)
 * and OpenAI's own: `fault-invalid-json`, `fault-html` (200 with a non-JSON body), hostile ones: `fault-huge` (a 48 MiB
 * JSON answer, chunked), `fault-gzip-bomb` (a 512 MiB JSON answer gzipped to ~0.5 MB), `fault-endless-line` (a stream
 * whose second line is 64 MiB without a newline), `fault-echo-key` (a 400 whose message quotes the gateway's provider
 * key, as some providers do for a malformed key); `recorded` (a real OpenAI stream); a `*greedy*` model uses every token
 * it is allowed. Anything else answers normally: a tool call when tools are offered and the last message is the
 * user's, else text. `script`, `reply` and `respond` (the core's) script the model; `delayMs` delays every answer.
 *
 * It also speaks OpenAI's Responses API (`POST /v1/responses`, `GET`/`DELETE /v1/responses/{id}`, and Azure's
 * `/openai/v1/responses` with `api-key`): JSON or typed SSE events, responses kept for previous_response_id unless
 * `store: false`; `recorded` there is a real OpenAI stream (reasoning with encrypted content, then a function call).
 */
export interface OpenAIUpstream extends Fake {
  /** Base URL as the OpenAI SDK takes it: http://127.0.0.1:PORT/v1 */
  url: string;
  apiKey: string;
}

const fixture = (name: string) => readFileSync(join(import.meta.dir, "..", "fixtures", "openai", name), "utf8");
const RECORDED_TEXT_CHUNKS = fixture("openai-text.chunks.txt").trim().split("\n");
const RECORDED_TEXT_JSON = JSON.parse(fixture("openai-text.json")) as Json;

const enc = new TextEncoder();
const JSON_TYPE = { "content-type": "application/json" };
const SSE = { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" };
const errorResponse = (status: number, body: unknown, headers: Record<string, string> = {}) => new Response(JSON.stringify(body), { status, headers: { ...JSON_TYPE, ...headers } });

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
function endlessLine(size: number): ReadableStream<Uint8Array> {
  const first = chatFrame({ id: "chatcmpl-endless", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] });
  const filler = new Uint8Array(64 * 1024).fill(97);
  let sent = -1;
  return new ReadableStream({
    pull(c) {
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

/** OpenAI's own fault names: answers no wire encoder would write. */
function hostileFaults(apiKey: string): Wire["faults"] {
  return {
    "invalid-json": { kind: "raw", status: 200, body: '{"id": "chatcmpl-broken", "choices": [', headers: JSON_TYPE },
    html: { kind: "raw", status: 200, body: "<html>Bad gateway</html>", headers: { "content-type": "text/html" } },
    huge: () => ({ kind: "raw", status: 200, body: hugeJson(48 * 1024 * 1024), headers: JSON_TYPE }),
    "gzip-bomb": () => ({ kind: "raw", status: 200, body: gzipBomb(), headers: { ...JSON_TYPE, "content-encoding": "gzip" } }),
    "endless-line": () => ({ kind: "raw", status: 200, body: endlessLine(64 * 1024 * 1024), headers: { "content-type": "text/event-stream" } }),
    "echo-key": {
      kind: "raw",
      status: 400,
      body: JSON.stringify(openAIError(`Invalid 'model' for key ${apiKey}: not available on this plan (key ${apiKey.slice(0, 8)}…).`, "invalid_request_error", "model_not_available", "model")),
      headers: { ...JSON_TYPE, "x-echo": `auth=${apiKey}` },
    },
  };
}

/** OpenAI's error for a status (429 with Retry-After: 7); `inputParam` is what a 400 blames. */
function statusError(e: ErrorReply, apiKey: string, tooLong: string, inputParam: string): Response {
  const code = e.status;
  const msg = e.message ?? (code === 400 ? tooLong : code === 401 ? `Incorrect API key provided: ${apiKey}.` : code === 429 ? "Rate limit reached for requests" : "The server had an error while processing your request.");
  const type = e.type ?? (code === 400 ? "invalid_request_error" : code === 429 ? "requests" : "server_error");
  const body = openAIError(msg, type, code === 400 && inputParam === "messages" ? "context_length_exceeded" : null, code === 400 ? inputParam : null);
  return errorResponse(code, body, code === 429 ? { "retry-after": "7" } : {});
}

interface Msg {
  role: string;
  content?: unknown;
}

/** The chat answer a request gets by default: a call of the first tool, or text (structured output, a quoted tool result, an echo). */
function defaultChat(body: Json, model: string): Message {
  if (isGreedy(model)) {
    // Every token max_completion_tokens (reasoning included, half of it on o-series and gpt-5) or max_tokens allows, on every choice.
    const completion = greedyTokens(body.max_completion_tokens ?? body.max_tokens, body.n);
    return greedyMessage(completion, /^(o\d|gpt-5)/.test(model) ? Math.floor(completion / 2) : 0, "all the words I am allowed ");
  }
  const messages = (body.messages as Msg[]) ?? [];
  const last = messages[messages.length - 1];
  const tools = body.tools as { function: { name: string } }[] | undefined;
  if (tools?.length && last?.role === "user" && body.tool_choice !== "none") {
    return { content: [{ type: "tool_use", name: tools[0]!.function.name, input: { city: "Paris", unit: "celsius" } }], usage: { input_tokens: 19, output_tokens: 17 } };
  }
  const lastText = typeof last?.content === "string" ? last.content : JSON.stringify(last?.content ?? "");
  // Structured outputs as OpenAI answers them: JSON text matching json_schema.schema (an object for json_object).
  const rf = body.response_format as { type?: string; json_schema?: { schema?: unknown } } | undefined;
  const text =
    rf?.type === "json_schema" ? JSON.stringify(sampleFor(rf.json_schema?.schema, rf.json_schema?.schema)) : rf?.type === "json_object" ? "{}" : last?.role === "tool" ? `The tool said: ${lastText}` : `Echo from upstream: ${lastText}`;
  return { content: [{ type: "text", text }], usage: { input_tokens: 19, output_tokens: 10 } };
}

export async function startOpenAIUpstream(apiKey = "sk-upstream-secret-123"): Promise<OpenAIUpstream> {
  let seq = 0;
  const faults = hostileFaults(apiKey);
  /** Responses kept by id for previous_response_id, GET and DELETE. */
  const kept = new Map<string, Json>();

  const fake = await startFake<Call>(async (req, url, kit) => {
    const headers = Object.fromEntries(req.headers.entries());
    // Azure's v1 surface (/openai/v1/…) authenticates with api-key instead.
    const azureKey = url.pathname.startsWith("/openai/v1/") && headers["api-key"] === apiKey;
    if (headers.authorization !== `Bearer ${apiKey}` && !azureKey) {
      return errorResponse(401, openAIError(`Incorrect API key provided: ${headers.authorization ?? "none"}.`, "invalid_request_error", "invalid_api_key"));
    }
    const responsesPath = /^(?:\/openai)?\/v1\/responses(?:\/([^/]+))?$/.exec(url.pathname);
    if (responsesPath?.[1] !== undefined) {
      kit.record(req, { body: {}, model: "" });
      return storedResponse(req, responsesPath[1]);
    }
    const route = url.pathname === "/v1/chat/completions" ? "chat" : url.pathname === "/v1/embeddings" ? "embeddings" : responsesPath ? "responses" : undefined;
    if (!route || req.method !== "POST") return new Response("not found", { status: 404 });
    const body = (await req.json()) as Json;
    const call = kit.record(req, { body, model: String(body.model) });
    const stream = body.stream === true;

    if (route === "embeddings") {
      const wire: Wire = { ...chatWire(call), error: (e) => errorResponse(e.status, openAIError(e.message ?? "The server had an error while processing your request.", e.type ?? "server_error")) };
      const a = openAIEmbeddings(body, call.model);
      return kit.answer(req, call, wire, { stream: false, answer: () => Response.json(a.body, { status: a.status }) });
    }

    if (route === "responses") {
      const prev = body.previous_response_id;
      if (typeof prev === "string" && !kept.has(prev)) {
        return errorResponse(400, openAIError(`Previous response with id '${prev}' not found.`, "invalid_request_error", "previous_response_not_found", "previous_response_id"));
      }
      const keep = (r: Json) => {
        if (body.store !== false) kept.set(String(r.id), r);
        return r;
      };
      const wire: Wire = {
        error: (e) => statusError(e, apiKey, "Invalid 'input': the input is too long.", "input"),
        json: (m) => Response.json(keep(responsesOf(m, body, `${call.model}-2025-08-07`).response)),
        events: (m) => {
          const a = responsesOf(m, body, `${call.model}-2025-08-07`);
          keep(a.response);
          return a.events;
        },
        frame: sseFrame,
        errorEvent: (e) => ({ type: "error", code: e?.type ?? "server_error", message: e?.message ?? "The server had an error while processing your request.", param: null }),
        streamHeaders: SSE,
        breakAfter: { reset: 4 },
      };
      return kit.answer(req, call, wire, {
        stream,
        answer: (): Reply | Response => {
          if (call.model !== "recorded") return { kind: "message", message: responsesDefault(body) };
          if (stream) return { kind: "events", events: RECORDED_REASONING_EVENTS };
          return Response.json(keep(RECORDED_REASONING_EVENTS.at(-1)!.response as Json));
        },
      });
    }

    const n = ++seq;
    const rid = { "x-request-id": `req_${n}`, "openai-processing-ms": "12" };
    // o-series and gpt-5 refuse max_tokens, as OpenAI does: "Use 'max_completion_tokens' instead."
    if (/^(o\d|gpt-5)/.test(call.model) && body.max_tokens !== undefined) {
      return errorResponse(400, openAIError("Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.", "invalid_request_error", "unsupported_parameter", "max_tokens"), rid);
    }
    const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
    return kit.answer(req, call, chatWire(call, n), {
      stream,
      headers: rid,
      answer: (): Reply | Response => {
        if (call.model !== "recorded") return { kind: "message", message: defaultChat(body, call.model) };
        if (!stream) return Response.json({ ...RECORDED_TEXT_JSON });
        const chunks = RECORDED_TEXT_CHUNKS.map((l) => JSON.parse(l) as { choices: unknown[] }).filter((e) => includeUsage || e.choices.length > 0);
        return { kind: "events", events: [...chunks, "[DONE]"] };
      },
    });
  });

  /** The chat wire for one answer: ids from the request's number, the model's dated name, usage as asked. */
  function chatWire(call: Call, n = seq): Wire {
    const body = call.body;
    const style: ChatStyle = {
      id: `chatcmpl-up${n}`,
      created: 1770000000 + n,
      model: `${call.model}-2024-08-06`,
      fingerprint: "fp_test",
      usage: (m) => chatUsage(m, 19, 10),
      toolCallId: (i) => `call_${n}abc${i > 0 ? i : ""}`,
      choices: typeof body.n === "number" && body.n > 0 ? body.n : 1,
      includeUsage: (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true,
    };
    return {
      error: (e) => statusError(e, apiKey, "This model's maximum context length is 128000 tokens.", "messages"),
      json: (m) => Response.json(chatJson(m, style)),
      events: (m) => chatChunks(m, style),
      frame: chatFrame,
      errorEvent: chatErrorEvent,
      streamHeaders: SSE,
      breakAfter: { reset: 3 },
      faults,
    };
  }

  /** GET or DELETE /v1/responses/{id}: a kept response, or OpenAI's 404. */
  function storedResponse(req: Request, id: string): Response {
    const found = kept.get(id);
    if (!found) return errorResponse(404, openAIError(`Response with id '${id}' not found.`, "invalid_request_error"));
    if (req.method === "DELETE") {
      kept.delete(id);
      return Response.json({ id, object: "response", deleted: true });
    }
    return req.method === "GET" ? Response.json(found) : new Response("not found", { status: 404 });
  }

  return Object.assign(fake, { url: `${fake.url}/v1`, apiKey });
}
