// response_format on Claude: native `output_config.format` where the model has it, else a forced tool whose input is the answer.
import type { ChatRequest } from "../../openai/schemas.ts";
import { invalidRequest } from "../../openai/errors.ts";
import { supportsNativeStructuredOutput } from "./models.ts";
import { isObj } from "../shared/json.ts";
import type { AnthropicOutputConfig, AnthropicTool, AnthropicToolChoice } from "./wire.ts";

type Schema = Record<string, unknown>;
const isPrimitive = (v: unknown) => v === null || typeof v !== "object";
const PARAM = "response_format.json_schema.schema";

/** The name of the tool that carries a structured answer (another name is chosen when the client has a tool by it). */
export const STRUCTURED_TOOL = "json_response";

/** String formats Anthropic's constrained decoding knows; others move into the description. */
const FORMATS = new Set(["date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid"]);

/**
 * The schema in the form Anthropic's structured outputs accept, by the rules its SDK applies (transform-json-schema):
 * every object closed (`additionalProperties: false`), `oneOf` → `anyOf`, and constraints the decoder cannot enforce
 * (minimum, maxLength, pattern…) kept as text in `description`, so the model still reads them. A schema it cannot
 * express at all — a node without a type, a recursive or non-local `$ref` — is a 400, never a silent drop.
 */
export function toAnthropicSchema(root: unknown): Schema {
  if (!isObj(root)) throw invalidRequest("The response schema must be a JSON object.", PARAM);
  const defs = { ...(isObj(root.definitions) ? root.definitions : {}), ...(isObj(root.$defs) ? root.$defs : {}) };
  checkRefs(root, defs);
  return convert(structuredClone(root), PARAM);
}

function checkRefs(root: Schema, defs: Schema): void {
  const refsIn = (v: unknown, out: string[] = []): string[] => {
    if (Array.isArray(v)) v.forEach((x) => refsIn(x, out));
    else if (isObj(v)) for (const [k, x] of Object.entries(v)) (k === "$ref" && typeof x === "string" ? out.push(x) : refsIn(x, out));
    return out;
  };
  const target = (ref: string) => {
    const m = /^#\/(?:\$defs|definitions)\/([^/]+)$/.exec(ref);
    if (!m || !(m[1]! in defs)) throw invalidRequest(`The response schema's $ref '${ref}' is not a local definition; Anthropic resolves only #/$defs/… references.`, PARAM);
    return m[1]!;
  };
  // Depth-first over the definitions each reference reaches: coming back to one on the path is recursion.
  const visit = (name: string, path: string[]) => {
    if (path.includes(name)) throw invalidRequest(`The response schema is recursive (${[...path, name].join(" → ")}); Anthropic's structured outputs cannot express recursive schemas.`, PARAM);
    for (const r of refsIn(defs[name])) visit(target(r), [...path, name]);
  };
  const { $defs: _d, definitions: _defs, ...body } = root;
  for (const r of refsIn(body)) visit(target(r), []);
  for (const name of Object.keys(defs)) visit(name, []);
}

function convert(s: Schema, param: string): Schema {
  const out: Schema = {};
  const take = (k: string) => {
    const v = s[k];
    delete s[k];
    return v;
  };
  for (const key of ["$defs", "definitions"]) {
    const defs = take(key);
    if (isObj(defs)) out[key] = Object.fromEntries(Object.entries(defs).map(([k, v]) => [k, convert(isObj(v) ? v : {}, param)]));
  }
  const ref = take("$ref");
  if (ref !== undefined) return { ...out, $ref: ref };
  if (Array.isArray(s.enum) && s.enum.length > 0 && s.enum.every(isPrimitive)) out.enum = take("enum");
  if (s.const !== undefined && isPrimitive(s.const)) out.const = take("const");
  const literal = "enum" in out || "const" in out;
  const declared = take("type");
  const type = literal ? undefined : declared;
  const anyOf = take("anyOf") ?? take("oneOf");
  const allOf = take("allOf");
  take("$schema");
  if (Array.isArray(anyOf)) out.anyOf = anyOf.map((v) => convert(isObj(v) ? v : {}, param));
  else if (Array.isArray(allOf)) out.allOf = allOf.map((v) => convert(isObj(v) ? v : {}, param));
  else if (!literal) {
    if (type === undefined) throw invalidRequest("Every node of the response schema needs a 'type' (or anyOf/allOf/enum/const) for Anthropic's structured outputs.", param);
    out.type = type;
  }
  for (const k of ["description", "title"]) if (s[k] !== undefined) out[k] = take(k);
  if (type === "object") {
    const props = take("properties");
    out.properties = isObj(props) ? Object.fromEntries(Object.entries(props).map(([k, v]) => [k, convert(isObj(v) ? v : {}, param)])) : {};
    take("additionalProperties");
    out.additionalProperties = false;
    if (s.required !== undefined) out.required = take("required");
  } else if (type === "string" && typeof s.format === "string" && FORMATS.has(s.format)) {
    out.format = take("format");
  } else if (type === "array") {
    const items = take("items");
    if (isObj(items)) out.items = convert(items, param);
    if (s.minItems === 0 || s.minItems === 1) out.minItems = take("minItems");
  }
  const rest = Object.entries(s);
  if (rest.length > 0) {
    const text = `{${rest.map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(", ")}}`;
    out.description = typeof out.description === "string" && out.description ? `${out.description}\n\n${text}` : text;
  }
  return out;
}

export interface StructuredPlan {
  output_config?: AnthropicOutputConfig;
  /** The answer tool and the choice that makes Claude use it (the fallback path). */
  tool?: AnthropicTool;
  tool_choice?: AnthropicToolChoice;
}

/** What `response_format` becomes for this model; undefined for none or `text`. */
export function structuredOutput(req: ChatRequest, model: string): StructuredPlan | undefined {
  const rf = req.response_format as ({ type: string; json_schema?: unknown } & Schema) | undefined;
  if (!rf || rf.type === "text") return undefined;
  const js = isObj(rf.json_schema) ? rf.json_schema : undefined;
  if (rf.type === "json_schema" && !js) throw invalidRequest("response_format of type json_schema needs 'json_schema'.", "response_format.json_schema");
  const schema = js?.schema;
  if (rf.type === "json_schema" && schema !== undefined && supportsNativeStructuredOutput(model)) {
    return { output_config: { format: { type: "json_schema", schema: toAnthropicSchema(schema) } } };
  }
  // json_object, a json_schema without a schema, or a model without native support: the answer is a tool's input.
  const input = schema === undefined ? { type: "object" } : schema;
  if (!isObj(input) || input.type !== "object") {
    throw invalidRequest(`The response schema must describe an object for ${model} (it is answered through a tool, whose input is an object).`, PARAM);
  }
  const names = new Set((req.tools ?? []).map((t) => t.function.name));
  let name = STRUCTURED_TOOL;
  for (let i = 1; names.has(name); i++) name = `${STRUCTURED_TOOL}_${i}`;
  const description =
    typeof js?.description === "string" && js.description
      ? js.description
      : "Give your final answer by calling this tool: its input is the answer, as JSON matching the schema.";
  const tool: AnthropicTool = { name, description, input_schema: input };
  // With the client's own tools the model may still call one of them; otherwise it must answer through ours.
  const choice = req.tool_choice;
  const tool_choice: AnthropicToolChoice =
    !req.tools?.length || choice === "none" ? { type: "tool", name } : typeof choice === "object" ? { type: "tool", name: choice.function.name } : { type: "any" };
  return { tool, tool_choice };
}
