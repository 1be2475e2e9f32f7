// TypeBox schema of a Responses API request (POST /v1/responses): the items, tools and settings OpenAI's API takes.
import { t, type Static } from "elysia";

// Open objects everywhere: a native passthrough hands OpenAI every field, known or not; a translation reads what it knows.
const open = { additionalProperties: true } as const;
// Elysia's t.Integer accepts numeric strings; a JSON API must not.
const Int = (o: { minimum?: number; maximum?: number } = {}) => t.Number({ multipleOf: 1, ...o });
const nullable = <T extends Parameters<typeof t.Union>[0][number]>(s: T) => t.Union([s, t.Null()]);

/** `type` values of content parts and items the schema knows; any other value is kept as an open object. */
const KNOWN_PARTS = ["input_text", "input_image", "input_file", "output_text", "refusal"];
const KNOWN_ITEMS = ["message", "function_call", "function_call_output", "reasoning", "item_reference"];
const KNOWN_TOOLS = ["function", "namespace", "custom"];
const other = (known: string[]) => t.String({ pattern: `^(?!(?:${known.join("|")})$).+` });

export const InputText = t.Object({ type: t.Literal("input_text"), text: t.String() }, open);
export const InputImage = t.Object(
  {
    type: t.Literal("input_image"),
    image_url: t.Optional(nullable(t.String({ pattern: "^(https?://|data:)", description: "an http(s) URL or data: URI" }))),
    file_id: t.Optional(nullable(t.String())),
    detail: t.Optional(t.Union([t.Literal("low"), t.Literal("high"), t.Literal("auto"), t.Literal("original")])),
  },
  open,
);
export const InputFile = t.Object(
  {
    type: t.Literal("input_file"),
    file_data: t.Optional(t.String()),
    file_id: t.Optional(nullable(t.String())),
    file_url: t.Optional(t.String()),
    filename: t.Optional(t.String()),
  },
  open,
);
export const OutputText = t.Object({ type: t.Literal("output_text"), text: t.String() }, open);
export const Refusal = t.Object({ type: t.Literal("refusal"), refusal: t.String() }, open);
/** Content part types the gateway does not know: passed to providers that speak Responses, refused by translations. */
export type OtherPartValue = { type: "(other)" } & Record<string, unknown>;
const OtherPart = t.Unsafe<OtherPartValue>(t.Object({ type: other(KNOWN_PARTS) }, open));
export const ContentPart = t.Union([InputText, InputImage, InputFile, OutputText, Refusal, OtherPart]);

const Role = t.Union([t.Literal("user"), t.Literal("assistant"), t.Literal("system"), t.Literal("developer")]);
const Status = t.Union([t.Literal("in_progress"), t.Literal("completed"), t.Literal("incomplete")]);

export const MessageItem = t.Object(
  {
    type: t.Optional(t.Literal("message")),
    role: Role,
    content: t.Union([t.String(), t.Array(ContentPart)]),
    id: t.Optional(nullable(t.String())),
    status: t.Optional(nullable(Status)),
  },
  open,
);
export const FunctionCallItem = t.Object(
  {
    type: t.Literal("function_call"),
    call_id: t.String({ minLength: 1 }),
    name: t.String({ minLength: 1 }),
    arguments: t.String(),
    namespace: t.Optional(nullable(t.String())),
    id: t.Optional(nullable(t.String())),
    status: t.Optional(nullable(Status)),
  },
  open,
);
export const FunctionCallOutputItem = t.Object(
  {
    type: t.Literal("function_call_output"),
    call_id: t.String({ minLength: 1 }),
    output: t.Union([t.String(), t.Array(t.Union([InputText, InputImage, InputFile, OtherPart]))]),
    id: t.Optional(nullable(t.String())),
    status: t.Optional(nullable(Status)),
  },
  open,
);
export const SummaryText = t.Object({ type: t.Literal("summary_text"), text: t.String() }, open);
export const ReasoningItem = t.Object(
  {
    type: t.Literal("reasoning"),
    id: t.Optional(nullable(t.String())),
    summary: t.Array(SummaryText),
    content: t.Optional(nullable(t.Array(t.Object({ type: t.String(), text: t.String() }, open)))),
    encrypted_content: t.Optional(nullable(t.String())),
    status: t.Optional(nullable(Status)),
  },
  open,
);
export const ItemReference = t.Object({ type: t.Optional(nullable(t.Literal("item_reference"))), id: t.String({ minLength: 1 }) }, open);
/** Item types of OpenAI's hosted tools and newer features (web_search_call, compaction…): passed natively, dropped when translated. */
export type OtherItemValue = { type: "(other)" } & Record<string, unknown>;
const OtherItem = t.Unsafe<OtherItemValue>(t.Object({ type: other(KNOWN_ITEMS) }, open));
export const InputItem = t.Union([MessageItem, FunctionCallItem, FunctionCallOutputItem, ReasoningItem, ItemReference, OtherItem]);

const FunctionName = t.String({ pattern: "^[a-zA-Z0-9_-]{1,64}$", description: "1 to 64 letters, digits, underscores or dashes" });
const Parameters = t.Optional(nullable(t.Record(t.String(), t.Unknown())));
export const FunctionTool = t.Object(
  {
    type: t.Literal("function"),
    name: FunctionName,
    description: t.Optional(nullable(t.String())),
    parameters: Parameters,
    strict: t.Optional(nullable(t.Boolean())),
  },
  open,
);
export const CustomTool = t.Object({ type: t.Literal("custom"), name: FunctionName, description: t.Optional(nullable(t.String())) }, open);
export const NamespaceTool = t.Object(
  {
    type: t.Literal("namespace"),
    name: FunctionName,
    description: t.Optional(nullable(t.String())),
    tools: t.Array(t.Union([FunctionTool, CustomTool])),
  },
  open,
);
/** Hosted tools (web_search, file_search, code_interpreter, mcp…): OpenAI runs them; other providers cannot. */
export type OtherToolValue = { type: "(other)" } & Record<string, unknown>;
const OtherTool = t.Unsafe<OtherToolValue>(t.Object({ type: other(KNOWN_TOOLS) }, open));
export const Tool = t.Union([FunctionTool, NamespaceTool, CustomTool, OtherTool]);

export const ToolChoice = t.Union([
  t.Literal("none"),
  t.Literal("auto"),
  t.Literal("required"),
  t.Object({ type: t.Literal("function"), name: t.String({ minLength: 1 }) }, open),
  t.Object({ type: t.Literal("allowed_tools"), mode: t.Union([t.Literal("auto"), t.Literal("required")]), tools: t.Array(t.Object({ type: t.String() }, open)) }, open),
  t.Unsafe<{ type: "(other)" } & Record<string, unknown>>(t.Object({ type: t.String({ pattern: "^(?!(?:function|allowed_tools)$).+" }) }, open)),
]);

export const TextFormat = t.Union([
  t.Object({ type: t.Literal("text") }, open),
  t.Object({ type: t.Literal("json_object") }, open),
  t.Object(
    {
      type: t.Literal("json_schema"),
      name: t.String({ pattern: "^[a-zA-Z0-9_-]{1,64}$", description: "1 to 64 letters, digits, underscores or dashes" }),
      schema: t.Record(t.String(), t.Unknown()),
      description: t.Optional(t.String()),
      strict: t.Optional(nullable(t.Boolean())),
    },
    open,
  ),
]);

const Effort = t.Union([t.Literal("none"), t.Literal("minimal"), t.Literal("low"), t.Literal("medium"), t.Literal("high"), t.Literal("xhigh"), t.Literal("max")]);
const Summary = t.Union([t.Literal("auto"), t.Literal("concise"), t.Literal("detailed")]);

export const ResponsesRequestSchema = t.Object(
  {
    model: t.String({ minLength: 1, description: 'Model id, e.g. "gpt-4o"; see GET /v1/models' }),
    input: t.Optional(t.Union([t.String(), t.Array(InputItem)])),
    instructions: t.Optional(nullable(t.String())),
    stream: t.Optional(nullable(t.Boolean())),
    store: t.Optional(nullable(t.Boolean())),
    previous_response_id: t.Optional(nullable(t.String({ minLength: 1 }))),
    include: t.Optional(nullable(t.Array(t.String()))),
    tools: t.Optional(t.Array(Tool)),
    tool_choice: t.Optional(ToolChoice),
    parallel_tool_calls: t.Optional(nullable(t.Boolean())),
    text: t.Optional(t.Object({ format: t.Optional(TextFormat), verbosity: t.Optional(nullable(t.Union([t.Literal("low"), t.Literal("medium"), t.Literal("high")]))) }, open)),
    reasoning: t.Optional(nullable(t.Object({ effort: t.Optional(nullable(Effort)), summary: t.Optional(nullable(Summary)), generate_summary: t.Optional(nullable(Summary)) }, open))),
    max_output_tokens: t.Optional(nullable(Int({ minimum: 16 }))),
    temperature: t.Optional(nullable(t.Number({ minimum: 0, maximum: 2 }))),
    top_p: t.Optional(nullable(t.Number({ minimum: 0, maximum: 1 }))),
    top_logprobs: t.Optional(nullable(Int({ minimum: 0, maximum: 20 }))),
    metadata: t.Optional(nullable(t.Record(t.String({ maxLength: 64 }), t.String({ maxLength: 512 }), { maxProperties: 16 }))),
    user: t.Optional(t.String()),
    safety_identifier: t.Optional(nullable(t.String())),
    prompt_cache_key: t.Optional(nullable(t.String())),
    truncation: t.Optional(nullable(t.Union([t.Literal("auto"), t.Literal("disabled")]))),
    service_tier: t.Optional(nullable(t.String())),
    background: t.Optional(nullable(t.Boolean())),
    stream_options: t.Optional(nullable(t.Object({ include_obfuscation: t.Optional(t.Boolean()) }, open))),
  },
  { ...open, description: "OpenAI Responses API request; unknown fields pass through to providers that speak the Responses API." },
);

export type ResponsesRequest = Static<typeof ResponsesRequestSchema>;
export type InputItem = Static<typeof InputItem>;
export type MessageItem = Static<typeof MessageItem>;
export type FunctionCallItem = Static<typeof FunctionCallItem>;
export type FunctionCallOutputItem = Static<typeof FunctionCallOutputItem>;
export type ReasoningItem = Static<typeof ReasoningItem>;
export type ContentPart = Static<typeof ContentPart>;
export type ToolValue = Static<typeof Tool>;
export type FunctionToolValue = Static<typeof FunctionTool>;
export type ToolChoiceValue = Static<typeof ToolChoice>;
export type TextFormatValue = Static<typeof TextFormat>;
