// Checks a Messages (or count_tokens) body against the schema and the cross-field rules, naming the field as Anthropic does.
import type { ValueError } from "@sinclair/typebox/errors";
import { compiledOnFirstUse } from "../../http/compiled-schema.ts";
import { invalidRequest, type GatewayError } from "../../openai/errors.ts";
import { CountTokensRequestSchema, MessagesRequestSchema, type CountTokensRequest, type MessagesRequest } from "./schema.ts";

const messagesRequest = compiledOnFirstUse(MessagesRequestSchema);
const countTokensRequest = compiledOnFirstUse(CountTokensRequestSchema);

/** The only way a body becomes a MessagesRequest: schema, then the rules a schema cannot say. */
export function parseMessagesRequest(raw: unknown): MessagesRequest {
  const check = messagesRequest();
  if (!check.Check(raw)) throw validationError(check.Errors(raw).First());
  checkCommon(raw);
  return raw;
}

export function parseCountTokensRequest(raw: unknown): CountTokensRequest {
  const check = countTokensRequest();
  if (!check.Check(raw)) throw validationError(check.Errors(raw).First());
  checkCommon(raw);
  return raw;
}

/** `/messages/0/content` → `messages.0.content`: Anthropic's (pydantic's) way of naming a field. */
export function fieldOf(pointer: string): string {
  return pointer
    .split("/")
    .filter(Boolean)
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"))
    .join(".");
}

/**
 * Unions of objects told apart by a literal `type` (blocks, sources, tool_choice, thinking): the variant whose tag
 * the value carries explains the failure; a tag no variant has makes `type` the wrong field.
 */
function mostSpecific(e: ValueError): ValueError {
  const variants = (e.schema as { anyOf?: { const?: unknown; properties?: { type?: { const?: unknown } } }[] }).anyOf;
  // A union of literals (`role`, `effort`): name them all, as Anthropic does.
  if (variants?.length && variants.every((v) => v.const !== undefined)) {
    const names = variants.map((v) => `'${String(v.const)}'`);
    return { ...e, message: `Input should be ${names.slice(0, -1).join(", ")}${names.length > 1 ? " or " : ""}${names.at(-1)}`, errors: [] };
  }
  const value = e.value as { type?: unknown } | null;
  if (variants && e.errors?.length && value && typeof value === "object" && !Array.isArray(value)) {
    const tags = variants.map((v) => v.properties?.type?.const);
    if (tags.some((t) => t !== undefined)) {
      const i = tags.indexOf(value.type);
      if (i === -1) {
        // An "other" variant (unknown block types) has no tag: its failure means a known type was malformed, or
        // `type` is missing altogether.
        const known = tags.filter((t) => t !== undefined).map((t) => `'${String(t)}'`).join(", ");
        if (typeof value.type !== "string" || tags.includes(undefined) === false) {
          return { ...e, path: `${e.path}/type`, value: value.type, message: `Input tag '${String(value.type)}' found using 'type' does not match any of the expected tags: ${known}`, errors: [] };
        }
      } else {
        const first = e.errors[i]?.First();
        if (first) return mostSpecific(first);
      }
    }
  }
  // Otherwise the variant that got furthest (deepest path) says the most.
  let best = e;
  let depth = -1;
  for (const it of e.errors ?? []) {
    const first = it.First();
    if (!first) continue;
    const d = first.path.split("/").length - (/^Expected (string|number|integer|boolean|null|array|object)$/.test(first.message) ? 0.5 : 0);
    if (d > depth) {
      depth = d;
      best = first;
    }
  }
  return best === e ? e : mostSpecific(best);
}

export function validationError(e: ValueError | undefined): GatewayError {
  if (!e) return invalidRequest("The request body is invalid.");
  const s = mostSpecific(e);
  const field = fieldOf(s.path);
  const message = s.message === "Expected required property" ? "Field required" : s.message;
  return invalidRequest(field ? `${field}: ${message}` : message, field || null);
}

/** What the schema cannot say: which tools need a schema, which roles take which blocks. */
function checkCommon(req: CountTokensRequest): void {
  (req.tools ?? []).forEach((t, i) => {
    const custom = t.type === undefined || t.type === null || t.type === "custom";
    if (custom && t.input_schema === undefined) throw invalidRequest(`tools.${i}.custom.input_schema: Field required`, `tools.${i}.input_schema`);
  });
  req.messages.forEach((m, i) => {
    if (typeof m.content === "string") return;
    m.content.forEach((b, j) => {
      const at = `messages.${i}.content.${j}`;
      if (m.role === "system" && b.type !== "text") throw invalidRequest(`${at}: system messages may contain text blocks only`, at);
      if (m.role === "user" && (b.type === "tool_use" || b.type === "thinking" || b.type === "redacted_thinking")) {
        throw invalidRequest(`${at}: ${b.type} blocks are only allowed in assistant messages`, at);
      }
      if (m.role === "assistant" && b.type === "tool_result") throw invalidRequest(`${at}: tool_result blocks are only allowed in user messages`, at);
    });
  });
  if (req.tool_choice?.type === "tool" && !(req.tools ?? []).some((t) => t.name === (req.tool_choice as { name: string }).name)) {
    throw invalidRequest(`tool_choice.name: the tool '${req.tool_choice.name}' is not among the request's tools`, "tool_choice.name");
  }
}
