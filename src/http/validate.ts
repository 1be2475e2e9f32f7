// Turns schema failures into OpenAI 400s naming the field, and checks the rules a schema cannot express.
import type { ValueError } from "@sinclair/typebox/errors";
import { compiledOnFirstUse } from "./compiled-schema.ts";
import { invalidRequest, type GatewayError } from "../openai/errors.ts";
import { ChatRequestSchema, EmbeddingsRequestSchema, type ChatRequest, type EmbeddingsRequest } from "../openai/schemas.ts";

// Elysia's own body validation coerces ("hi" to an array, strings to objects), which a JSON API must not, so the
// chat route validates with this strict checker instead.
const chatRequest = compiledOnFirstUse(ChatRequestSchema);
const embeddingsRequest = compiledOnFirstUse(EmbeddingsRequestSchema);

/** The embeddings body, checked as strictly as chat: OpenAI refuses empty strings among the inputs, so do we. */
export function parseEmbeddingsRequest(raw: unknown): EmbeddingsRequest {
  const check = embeddingsRequest();
  if (!check.Check(raw)) throw validationError(check.Errors(raw).First());
  const inputs = typeof raw.input === "string" ? [raw.input] : raw.input;
  inputs.forEach((x, i) => {
    if (x === "") throw invalidRequest(`Invalid 'input${typeof raw.input === "string" ? "" : `[${i}]`}': an input cannot be an empty string.`, typeof raw.input === "string" ? "input" : `input[${i}]`);
  });
  return raw;
}

/** Schema check plus the cross-field rules: the only way a body becomes a ChatRequest. */
export function parseChatRequest(raw: unknown): ChatRequest {
  const check = chatRequest();
  if (!check.Check(raw)) throw validationError(check.Errors(raw).First());
  checkChatRequest(raw);
  return raw;
}

/** `/messages/0/content` → `messages[0].content`: how OpenAI names a field in `param`. */
export function paramFromPointer(pointer: string): string | null {
  const name = pointer
    .split("/")
    .filter(Boolean)
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), "");
  return name || null;
}

const BARE_TYPE = /^Expected (string|number|integer|boolean|null|array|object)$/;

/**
 * A union's own error ("Expected union value") says nothing useful; descend into the variant that got
 * furthest (deepest path), preferring one that is not merely "expected null".
 */
function mostSpecific(e: ValueError): ValueError {
  const tagged = byTypeTag(e);
  if (tagged) return tagged;
  let best = e;
  if (e.errors && e.errors.length > 0) {
    let bestDepth = -1;
    for (const it of e.errors) {
      const first = it.First();
      if (!first) continue;
      // A variant of another JSON type ("Expected string" for an array) says less than one that took the value's type.
      const depth = first.path.split("/").length + (BARE_TYPE.test(first.message) ? -0.5 : 0);
      if (depth > bestDepth) {
        bestDepth = depth;
        best = first;
      }
    }
    if (best !== e) return mostSpecific(best);
  }
  return best;
}

/**
 * Unions of objects told apart by a literal `type` (content parts, tool_choice): when the value's `type`
 * matches a variant, that variant's error is the one that matters; when it matches none, `type` is wrong.
 */
function byTypeTag(e: ValueError): ValueError | undefined {
  const variants = (e.schema as { anyOf?: { properties?: { type?: { const?: unknown } } }[] }).anyOf;
  const value = e.value as { type?: unknown } | null;
  if (!variants || !e.errors?.length || !value || typeof value !== "object" || Array.isArray(value)) return undefined;
  const tags = variants.map((v) => v.properties?.type?.const);
  if (!tags.some((t) => t !== undefined)) return undefined;
  const i = tags.indexOf(value.type);
  if (i === -1) {
    const allowed = tags.filter((t) => t !== undefined).map((t) => `'${String(t)}'`).join(", ");
    return { ...e, path: `${e.path}/type`, value: value.type, message: `Expected one of ${allowed}`, errors: [] };
  }
  const first = e.errors[i]?.First();
  return first ? mostSpecific(first) : undefined;
}

export function validationError(e: ValueError | undefined): GatewayError {
  if (!e) return invalidRequest("The request body is invalid.");
  const s = mostSpecific(e);
  const param = paramFromPointer(s.path);
  const description = (s.schema as { description?: unknown }).description;
  let detail = s.message.charAt(0).toLowerCase() + s.message.slice(1);
  if (s.message === "Expected required property") detail = "is required";
  else if (typeof description === "string" && /pattern/.test(s.message)) detail = `must be ${description}`;
  else if (Array.isArray(s.value) && typeof s.schema.maxItems === "number" && /length/.test(s.message)) {
    detail = `at most ${s.schema.maxItems} items are allowed (got ${s.value.length})`;
  }
  if (!param) return invalidRequest(`Invalid request body: ${detail}.`);
  return invalidRequest(s.message === "Expected required property" ? `Missing required parameter: '${param}'.` : `Invalid '${param}': ${detail}.`, param);
}

const DATA_IMAGE = /^data:image\/[a-z0-9.+-]+;base64,[A-Za-z0-9+/=\s]+$/i;

/** The cross-field rules of the contract; throws the first violation. */
export function checkChatRequest(req: ChatRequest): void {
  req.messages.forEach((m, i) => {
    const at = `messages[${i}]`;
    const hasCalls = (Array.isArray(m.tool_calls) && m.tool_calls.length > 0) || m.function_call !== undefined;
    if (m.content === null || m.content === undefined) {
      if (m.role === "assistant" && hasCalls) return;
      throw invalidRequest(
        m.content === null
          ? `Invalid '${at}.content': null is allowed only on an assistant message with tool_calls.`
          : `Missing required parameter: '${at}.content'.`,
        `${at}.content`,
      );
    }
    if (m.tool_calls !== undefined && m.role !== "assistant") {
      throw invalidRequest(`Invalid '${at}.tool_calls': only assistant messages may carry tool_calls.`, `${at}.tool_calls`);
    }
    if (m.role === "function" && typeof m.name !== "string") {
      throw invalidRequest(`Missing required parameter: '${at}.name' (a function message names the function it answers).`, `${at}.name`);
    }
    if (m.function_call !== undefined && m.role !== "assistant") {
      throw invalidRequest(`Invalid '${at}.function_call': only assistant messages may carry function_call.`, `${at}.function_call`);
    }
    if (m.role === "tool" && typeof m.tool_call_id !== "string") {
      throw invalidRequest(`Missing required parameter: '${at}.tool_call_id' (a tool message answers one tool call).`, `${at}.tool_call_id`);
    }
    if (Array.isArray(m.content)) {
      m.content.forEach((p, j) => {
        if (p.type === "file" || p.type === "input_audio") {
          if (m.role !== "user") throw invalidRequest(`Invalid '${at}.content[${j}]': ${p.type} parts are only allowed in user messages.`, `${at}.content[${j}]`);
          if (p.type === "file" && p.file.file_data === undefined && p.file.file_id === undefined) {
            throw invalidRequest(`Invalid '${at}.content[${j}].file': give 'file_data' or 'file_id'.`, `${at}.content[${j}].file`);
          }
          return;
        }
        if (p.type !== "image_url") return;
        if (m.role !== "user") {
          throw invalidRequest(`Invalid '${at}.content[${j}]': image parts are only allowed in user messages.`, `${at}.content[${j}]`);
        }
        const url = p.image_url.url;
        if (url.startsWith("data:") && !DATA_IMAGE.test(url)) {
          throw invalidRequest(
            `Invalid '${at}.content[${j}].image_url.url': a data URI must be a base64-encoded image (data:image/<type>;base64,...).`,
            `${at}.content[${j}].image_url.url`,
          );
        }
      });
    }
  });
  if (req.functions && req.tools) throw invalidRequest("Send either 'tools' or the legacy 'functions', not both.", "functions");
  if (req.function_call !== undefined && !req.functions) {
    throw invalidRequest("Invalid 'function_call': function_call is only allowed when 'functions' are specified.", "function_call");
  }
  const fc = req.function_call;
  if (typeof fc === "object" && !req.functions!.some((f) => f.name === fc.name)) {
    throw invalidRequest(`Invalid 'function_call': no function named '${fc.name}' in 'functions'.`, "function_call");
  }
  const choice = req.tool_choice;
  if (choice !== undefined && choice !== "none" && !req.tools?.length) {
    throw invalidRequest("Invalid 'tool_choice': tool_choice is only allowed when 'tools' are specified.", "tool_choice");
  }
  if (typeof choice === "object" && !req.tools!.some((t) => t.function.name === choice.function.name)) {
    throw invalidRequest(`Invalid 'tool_choice': no tool named '${choice.function.name}' in 'tools'.`, "tool_choice");
  }
  if (req.tools) {
    const names = new Set<string>();
    req.tools.forEach((t, i) => {
      if (names.has(t.function.name)) throw invalidRequest(`Invalid 'tools[${i}].function.name': duplicate tool name '${t.function.name}'.`, `tools[${i}].function.name`);
      names.add(t.function.name);
    });
  }
}
