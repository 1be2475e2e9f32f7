// Strict checking of a Responses request: schema failures and cross-field rules become 400s naming the field.
import { TypeCompiler } from "@sinclair/typebox/compiler";
import type { ValueError } from "@sinclair/typebox/errors";
import { invalidRequest } from "../../openai/errors.ts";
import { validationError } from "../../api/validate.ts";
import { FunctionCallItem, FunctionCallOutputItem, ItemReference, MessageItem, ReasoningItem, ResponsesRequestSchema, type ResponsesRequest } from "./schema.ts";
import { kindOf } from "./items.ts";

// Compiled once at start-up.
const request = TypeCompiler.Compile(ResponsesRequestSchema);
const itemSchemas = {
  message: TypeCompiler.Compile(MessageItem),
  function_call: TypeCompiler.Compile(FunctionCallItem),
  function_call_output: TypeCompiler.Compile(FunctionCallOutputItem),
  reasoning: TypeCompiler.Compile(ReasoningItem),
  item_reference: TypeCompiler.Compile(ItemReference),
} as const;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * An item's error, from the schema of the item it says it is (by `type`, or by having a role): "input[2].call_id is
 * required" rather than the union's guess at which of six item shapes was meant.
 */
function itemError(raw: Record<string, unknown>, first: ValueError): ValueError {
  const m = /^\/input\/(\d+)(\/|$)/.exec(first.path);
  const input = raw.input;
  if (!m || !Array.isArray(input)) return first;
  const item: unknown = input[Number(m[1])];
  if (!isObj(item)) return first;
  const schema = itemSchemas[kindOf(item as never) as keyof typeof itemSchemas];
  const e = schema?.Errors(item).First();
  return e ? { ...e, path: `/input/${m[1]}${e.path}` } : first;
}

/** Schema check plus the rules a schema cannot say: the only way a body becomes a ResponsesRequest. */
export function parseResponsesRequest(raw: unknown): ResponsesRequest {
  if (!request.Check(raw)) {
    const first = request.Errors(raw).First();
    throw validationError(first && isObj(raw) ? itemError(raw, first) : first);
  }
  checkResponsesRequest(raw);
  return raw;
}

export function checkResponsesRequest(req: ResponsesRequest): void {
  const raw = req as Record<string, unknown>;
  if (raw.conversation != null) {
    throw invalidRequest("Conversations ('conversation') are not supported by this gateway: continue with 'previous_response_id', or send the items in 'input'.", "conversation");
  }
  if (req.background === true) throw invalidRequest("Background responses ('background': true) are not supported by this gateway.", "background");
  const names = new Set<string>();
  const inner = new Set<string>();
  (req.tools ?? []).forEach((t, i) => {
    if (t.type === "function") {
      if (names.has(t.name)) throw invalidRequest(`Invalid 'tools[${i}].name': duplicate tool name '${t.name}'.`, `tools[${i}].name`);
      names.add(t.name);
    } else if (t.type === "namespace") {
      for (const f of t.tools) inner.add(f.name);
    }
  });
  const choice = req.tool_choice;
  if (typeof choice === "object" && choice.type === "function") {
    const name = (choice as { name: string }).name;
    if (!names.has(name) && !inner.has(name)) throw invalidRequest(`Invalid 'tool_choice.name': no function tool named '${name}' in 'tools'.`, "tool_choice.name");
  }
  if (typeof choice === "string" && choice !== "none" && choice !== "auto" && !req.tools?.length) {
    throw invalidRequest(`Invalid 'tool_choice': '${choice}' needs 'tools'.`, "tool_choice");
  }
  if (Array.isArray(req.input)) {
    req.input.forEach((item, i) => {
      if (kindOf(item) !== "message") return;
      const content = (item as { content: unknown }).content;
      if (Array.isArray(content) && content.length === 0 && (item as { role: string }).role === "user") {
        throw invalidRequest(`Invalid 'input[${i}].content': a message needs at least one content part.`, `input[${i}].content`);
      }
    });
  }
}
