// Converts a JSON Schema (tools, response_format) into the OpenAPI 3.0 subset Gemini's `Schema` accepts.
import { invalidRequest } from "../../openai/errors.ts";
import { isObj } from "../shared/json.ts";

export type GeminiSchema = Record<string, unknown>;

/** Keywords Gemini's Schema object knows; their values are copied (after recursion where they hold schemas). */
const KEPT = new Set([
  "description",
  "title",
  "nullable",
  "default",
  "example",
  "minimum",
  "maximum",
  "minLength",
  "maxLength",
  "pattern",
  "minItems",
  "maxItems",
  "minProperties",
  "maxProperties",
  "propertyOrdering",
]);

/**
 * Dropped without a warning: metadata, and boolean `additionalProperties`, which every strict OpenAI schema
 * carries and Gemini has no keyword for (a warning on each such request would be noise, not information).
 */
const SILENT = new Set(["$schema", "$id", "$comment", "$defs", "definitions", "strict", "additionalProperties:false"]);

/** Gemini documents `enum` and `date-time` for strings, and the usual number widths; other formats are rejected by some models. */
const FORMATS: Record<string, Set<string>> = {
  string: new Set(["enum", "date-time"]),
  number: new Set(["float", "double"]),
  integer: new Set(["int32", "int64"]),
};

const TYPES = new Set(["string", "number", "integer", "boolean", "array", "object", "null"]);

/** Inlined local `$ref`s nest at most this deep: a recursive schema has no finite Gemini form. */
const MAX_REF_DEPTH = 8;

/**
 * Schema nodes the converted schemas of one request may have in all. The depth bound alone lets a 2 KB schema whose definitions each
 * reference the next several times expand exponentially (8 levels × 7 references: 5.7 million nodes, a 169 MB body
 * and seconds of blocked event loop); no real tool schema comes near this.
 */
export const MAX_SCHEMA_NODES = 10_000;


export interface SchemaConversion {
  schema: GeminiSchema | undefined;
  /** Keywords dropped because Gemini has no equivalent (for one warning per schema). */
  dropped: string[];
}

/**
 * Converts `root`; `param` names the request field for a 400 when the schema cannot be expressed at all
 * (an unresolvable or recursive `$ref`). Returns `undefined` for a schema that says nothing (`{}`, or an
 * object without properties), which Gemini wants omitted rather than sent empty.
 */
/** What is left of a request's node allowance: one is shared by every schema of a request (tools and response_format). */
export interface SchemaBudget {
  nodes: number;
}
export const schemaBudget = (): SchemaBudget => ({ nodes: MAX_SCHEMA_NODES });

export function toGeminiSchema(root: unknown, param: string, budget: SchemaBudget = schemaBudget()): SchemaConversion {
  const dropped = new Set<string>();
  const defs = isObj(root) ? { ...(isObj(root.definitions) ? root.definitions : {}), ...(isObj(root.$defs) ? root.$defs : {}) } : {};

  const resolve = (ref: string, depth: number): unknown => {
    const m = /^#\/(?:\$defs|definitions)\/([^/]+)$/.exec(ref);
    const target = m ? defs[decodeURIComponent(m[1]!).replace(/~1/g, "/").replace(/~0/g, "~")] : undefined;
    if (target === undefined) throw invalidRequest(`Gemini models need self-contained schemas: cannot resolve $ref '${ref}'.`, param);
    if (depth >= MAX_REF_DEPTH) throw invalidRequest(`Gemini models do not support recursive schemas ($ref '${ref}').`, param);
    return target;
  };

  const convert = (s: unknown, depth: number): GeminiSchema => {
    if (--budget.nodes < 0) {
      throw invalidRequest(`The request's schemas expand to more than ${MAX_SCHEMA_NODES} nodes once their $refs are inlined, more than a Gemini model can be sent.`, param);
    }
    if (s === true || !isObj(s)) return {};
    if (typeof s.$ref === "string") {
      // Siblings of $ref (description) still apply; the target supplies the rest.
      const { $ref, ...rest } = s;
      const target = resolve($ref as string, depth);
      return { ...convert(target, depth + 1), ...convert(rest, depth) };
    }
    const out: GeminiSchema = {};
    for (const [k, v] of Object.entries(s)) {
      if (KEPT.has(k)) out[k] = v;
      else if (k === "type" || k === "format" || k === "enum" || k === "const" || k === "required") continue; // handled below
      else if (k === "properties" && isObj(v)) {
        const props: Record<string, GeminiSchema> = {};
        for (const [name, sub] of Object.entries(v)) props[name] = convert(sub, depth);
        out.properties = props;
      } else if (k === "items") {
        // Tuple form (`items: [...]`) has no Gemini equivalent: keep the first item's schema as the element type.
        if (Array.isArray(v)) {
          dropped.add("items (tuple)");
          if (v.length > 0) out.items = convert(v[0], depth);
        } else out.items = convert(v, depth);
      } else if ((k === "anyOf" || k === "oneOf") && Array.isArray(v)) {
        // oneOf's "exactly one" cannot be stated in Gemini; anyOf is the closest it accepts.
        const alts = v.map((x) => convert(x, depth));
        out.anyOf = out.anyOf ? [...(out.anyOf as GeminiSchema[]), ...alts] : alts;
      } else if (k === "allOf" && Array.isArray(v)) {
        if (v.length === 1) Object.assign(out, convert(v[0], depth));
        else dropped.add("allOf");
      } else if (k === "additionalProperties" && typeof v === "boolean") dropped.add("additionalProperties:false");
      else dropped.add(k);
    }
    applyType(s, out, dropped);
    if (typeof s.const === "string") out.enum = [s.const];
    else if (s.const !== undefined) dropped.add("const");
    if (Array.isArray(s.enum)) {
      // Gemini's enum is string-only; a numeric enum would be sent back as strings the client does not expect.
      if (s.enum.every((x) => typeof x === "string")) out.enum = s.enum;
      else dropped.add("enum (non-string)");
    }
    if (Array.isArray(s.required)) {
      const props = isObj(out.properties) ? out.properties : undefined;
      // Gemini rejects a `required` name that is not among `properties`.
      const req = s.required.filter((r): r is string => typeof r === "string" && (!props || r in props));
      if (req.length > 0) out.required = req;
    }
    simplifyNullableAnyOf(out);
    return out;
  };

  const schema = convert(root, 0);
  const empty = Object.keys(schema).length === 0 || (schema.type === "object" && !isObj(schema.properties) && !schema.anyOf);
  const noProps = schema.type === "object" && isObj(schema.properties) && Object.keys(schema.properties).length === 0;
  return {
    schema: empty || noProps ? undefined : schema,
    dropped: [...dropped].filter((k) => !SILENT.has(k)),
  };
}

/** `type: ["string","null"]` → `type: string, nullable: true`; several non-null types → `anyOf`. */
function applyType(s: Record<string, unknown>, out: GeminiSchema, dropped: Set<string>): void {
  const raw = s.type;
  const types = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).filter((t): t is string => typeof t === "string" && TYPES.has(t));
  const nonNull = types.filter((t) => t !== "null");
  if (types.includes("null") && nonNull.length > 0) out.nullable = true;
  if (nonNull.length === 1) out.type = nonNull[0];
  else if (nonNull.length > 1) {
    // Keep the constraints that apply to each type on its branch; Gemini reads them per branch.
    out.anyOf = nonNull.map((t) => ({ type: t }));
  } else if (types.length === 1) out.type = "null";
  const fmt = s.format;
  if (typeof fmt === "string") {
    if (typeof out.type === "string" && FORMATS[out.type]?.has(fmt)) out.format = fmt;
    else dropped.add(`format:${fmt}`);
  }
}

/** `anyOf: [X, {type: null}]` (what Pydantic emits for Optional[X]) → X with `nullable: true`. */
function simplifyNullableAnyOf(out: GeminiSchema): void {
  const alts = out.anyOf;
  if (!Array.isArray(alts)) return;
  const rest = alts.filter((a) => !(isObj(a) && a.type === "null" && Object.keys(a).length === 1));
  if (rest.length === alts.length) return;
  out.nullable = true;
  if (rest.length === 1 && isObj(rest[0])) {
    delete out.anyOf;
    for (const [k, v] of Object.entries(rest[0])) if (!(k in out)) out[k] = v;
  } else out.anyOf = rest;
}
