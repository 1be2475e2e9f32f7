// Strict checking of a Responses request: schema failures and cross-field rules become 400s naming the field.
import type { ValueError } from "@sinclair/typebox/errors";
import { t } from "elysia";
import { invalidRequest, type GatewayError } from "../../openai/errors.ts";
import { validationError } from "../../http/validate.ts";
import { compiledOnFirstUse } from "../../http/compiled-schema.ts";
import { FunctionCallItem, FunctionCallOutputItem, ItemReference, MessageItem, ReasoningItem, ResponsesRequestSchema, type ResponsesRequest } from "./schema.ts";
import { kindOf } from "./items.ts";

const request = compiledOnFirstUse(ResponsesRequestSchema);
// Each item kind wrapped as `{ item }`, so an error's path (and param) starts at the item: `item.content[0].text`.
const itemSchemas = {
  message: compiledOnFirstUse(t.Object({ item: MessageItem })),
  function_call: compiledOnFirstUse(t.Object({ item: FunctionCallItem })),
  function_call_output: compiledOnFirstUse(t.Object({ item: FunctionCallOutputItem })),
  reasoning: compiledOnFirstUse(t.Object({ item: ReasoningItem })),
  item_reference: compiledOnFirstUse(t.Object({ item: ItemReference })),
} as const;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * An item's error, from the schema of the item it says it is (by `type`, or by having a role): "input[2].call_id is
 * required" rather than the union's guess at which of six item shapes was meant.
 */
function itemError(raw: Record<string, unknown>, first: ValueError): GatewayError | undefined {
  const input = raw.input;
  // The failure is reported at `/input` (string or items) or inside one item: either way, the first bad item decides.
  if (!Array.isArray(input) || !/^\/input(\/|$)/.test(first.path)) return undefined;
  for (let i = 0; i < input.length; i++) {
    const item: unknown = input[i];
    if (!isObj(item)) return invalidRequest(`Invalid 'input[${i}]': expected an object.`, `input[${i}]`);
    const schema = itemSchemas[kindOf(item as never) as keyof typeof itemSchemas];
    const e = schema?.().Errors({ item }).First();
    if (!e) continue;
    const g = validationError(e);
    const param = g.param?.replace(/^item/, `input[${i}]`) ?? `input[${i}]`;
    return invalidRequest(g.message.replace(/'item(?=[.\[']|$)/, `'input[${i}]`), param);
  }
  return undefined;
}

/** Schema check plus the rules a schema cannot say: the only way a body becomes a ResponsesRequest. */
export function parseResponsesRequest(raw: unknown): ResponsesRequest {
  const check = request();
  if (!check.Check(raw)) {
    const first = check.Errors(raw).First();
    throw (first && isObj(raw) ? itemError(raw, first) : undefined) ?? validationError(first);
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
