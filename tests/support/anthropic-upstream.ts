// A fake Anthropic Messages API on port 0 (on the shared fake core): Anthropic's request checks and errors, answers through Claude's wire.
import { startFake, type Call, type Fake, type Json, type Message, type Wire } from "./fake-core.ts";
import { claudeError, claudeErrorEvent, claudeErrorType, claudeEvents, claudeFrame, claudeJson, tokens, type ClaudeStyle } from "./anthropic-wire.ts";
import { sampleFor } from "./json-sample.ts";
import { greedyMessage, greedyTokens, isGreedy } from "./greedy.ts";

/** The core's neutral replies, in the words the Anthropic tests use. */
export { text, toolUse } from "./fake-core.ts";

/**
 * Every request is recorded (even one the API refuses). A valid one is answered by the core's script, fault names and
 * `respond`, else as the API would by default (see `answerFor`); a `*greedy*` model uses every token max_tokens allows.
 * Mid-stream, `hang-stream` falls silent after message_start and ping.
 */
export interface AnthropicUpstream extends Fake {
  apiKey: string;
}

/**
 * Claude using every token max_tokens allows, thinking included (its thinking share is the budget it was given).
 * Anthropic requires max_tokens, so there is always a cap.
 */
function greedyClaude(body: Json): Message {
  const max = greedyTokens(body.max_tokens);
  const thinking = body.thinking as { type?: string; budget_tokens?: number } | undefined;
  const thought = thinking?.type === "enabled" ? Math.min(thinking.budget_tokens ?? 0, max - 1) : thinking?.type === "adaptive" ? Math.floor(max / 2) : 0;
  const m = greedyMessage(max, thought);
  if (thought > 0) m.content.unshift({ type: "thinking", thinking: "Thinking as long as I may.", signature: "sig-greedy" });
  else delete m.usage!.thinking_tokens;
  return m;
}

/**
 * The default answer, shaped by what the request asks for, as the API would: JSON text matching
 * `output_config.format`, a call of the tool `tool_choice` forces (input built from its schema), a thinking block
 * first when `thinking` is on; otherwise a plain greeting.
 */
function answerFor(b: Json): Message {
  if (isGreedy(String(b.model))) return greedyClaude(b);
  const content: Message["content"] = [];
  const thinking = b.thinking as { type?: string } | undefined;
  if (thinking && thinking.type !== "disabled") content.push({ type: "thinking", thinking: "Let me think about what is asked.", signature: "sig-fixture-" + "A".repeat(24) });
  const format = (b.output_config as { format?: { schema?: unknown } } | undefined)?.format;
  const choice = b.tool_choice as { type?: string; name?: string } | undefined;
  const tools = (Array.isArray(b.tools) ? b.tools : []) as { name: string; input_schema: unknown }[];
  if (format) content.push({ type: "text", text: JSON.stringify(sampleFor(format.schema, format.schema)) });
  else if (choice?.type === "tool" || choice?.type === "any") {
    const tool = tools.find((t) => t.name === choice.name) ?? tools[tools.length - 1]!;
    content.push({ type: "tool_use", name: tool.name, input: sampleFor(tool.input_schema, tool.input_schema) as Json });
  } else content.push({ type: "text", text: "Hello from the fixture." });
  return { content };
}

export async function startAnthropicUpstream(opts: { apiKey?: string } = {}): Promise<AnthropicUpstream> {
  const apiKey = opts.apiKey ?? "sk-ant-test";
  let n = 0;

  const fake = await startFake<Call>(async (req, url, kit) => {
    const reqId = `req_fixture${String(++n).padStart(4, "0")}`;
    const headers = { "request-id": reqId };
    const refuse = (status: number, type: string, message: string) => Response.json(claudeError(type, message, reqId), { status, headers });
    const raw = await req.text();
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      /* answered below */
    }
    const b = typeof body === "object" && body !== null && !Array.isArray(body) ? (body as Json) : {};
    const call = kit.record(req, { body: b, model: typeof b.model === "string" ? b.model : "" });

    const counting = url.pathname === "/v1/messages/count_tokens";
    if (req.method !== "POST" || (url.pathname !== "/v1/messages" && !counting)) return refuse(404, "not_found_error", "Not Found");
    // The API takes the key as x-api-key or (newer SDKs) as a bearer token.
    const key = req.headers.get("x-api-key") ?? req.headers.get("authorization")?.replace(/^Bearer /, "");
    if (key !== apiKey) return refuse(401, "authentication_error", "invalid x-api-key");
    const version = req.headers.get("anthropic-version");
    if (!version) return refuse(400, "invalid_request_error", "anthropic-version: header is required");
    if (b !== body) return refuse(400, "invalid_request_error", "There was an error parsing the body of your request");
    if (counting) {
      // count_tokens takes no max_tokens (and refuses one), and counts the prompt: system, messages, tools.
      if ("max_tokens" in b || "stream" in b) return refuse(400, "invalid_request_error", `${"max_tokens" in b ? "max_tokens" : "stream"}: Extra inputs are not permitted`);
      if (typeof b.model !== "string" || !Array.isArray(b.messages)) return refuse(400, "invalid_request_error", "messages: Field required");
      return Response.json({ input_tokens: tokens([b.system, b.messages, b.tools]) }, { headers });
    }
    const problem = validate(b, version);
    if (problem) return refuse(400, "invalid_request_error", problem);

    const style: ClaudeStyle = {
      id: `msg_${reqId}`,
      model: call.model,
      toolId: (i) => `toolu_${reqId}_${i}`,
      counts: (m) => ({ input: tokens([b.system, b.messages, b.tools]), output: tokens(m.content) }),
      ping: true,
    };
    const wire: Wire = {
      error: (e) => Response.json(claudeError(e.type ?? claudeErrorType(e.status), e.message ?? "Error", reqId), { status: e.status }),
      json: (m) => Response.json(claudeJson(m, style)),
      events: (m) => claudeEvents(m, style),
      frame: claudeFrame,
      errorEvent: claudeErrorEvent,
      streamHeaders: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" },
      // Mid-stream is after message_start and ping.
      breakAfter: { hang: 2, reset: 4, end: 4, error: 4 },
    };
    return kit.answer(req, call, wire, { stream: b.stream === true, headers, answer: () => ({ kind: "message", message: answerFor(b) }) });
  });
  return Object.assign(fake, { apiKey });
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
