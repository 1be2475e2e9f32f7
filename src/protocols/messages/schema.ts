// Anthropic's Messages API request (and count_tokens) as TypeBox schemas; their Static<> types are the TS types.
import { Type as T, type Static, type TSchema } from "@sinclair/typebox";

// Every object is open: a passthrough to Anthropic must keep fields the gateway does not know (Claude Code sends new
// ones with each release), and translated providers name what they drop in x-switchboard-warnings.
const open = { additionalProperties: true } as const;
// A strict JSON integer (TypeBox's Integer also refuses "5", unlike Elysia's t.Integer).
const Int = (o: { minimum?: number } = {}) => T.Integer(o);
const Nullable = <S extends TSchema>(s: S) => T.Union([s, T.Null()]);

export const CacheControl = T.Object(
  { type: T.Literal("ephemeral"), ttl: T.Optional(T.Union([T.Literal("5m"), T.Literal("1h")])) },
  open,
);
const cacheable = { cache_control: T.Optional(Nullable(CacheControl)) };

export const TextBlock = T.Object({ type: T.Literal("text"), text: T.String(), ...cacheable }, open);

export const ImageSource = T.Union([
  T.Object({ type: T.Literal("base64"), media_type: T.String({ minLength: 1 }), data: T.String({ minLength: 1 }) }, open),
  T.Object({ type: T.Literal("url"), url: T.String({ minLength: 1 }) }, open),
  T.Object({ type: T.Literal("file"), file_id: T.String({ minLength: 1 }) }, open),
]);
export const ImageBlock = T.Object({ type: T.Literal("image"), source: ImageSource, ...cacheable }, open);

export const DocumentSource = T.Union([
  T.Object({ type: T.Literal("base64"), media_type: T.String({ minLength: 1 }), data: T.String({ minLength: 1 }) }, open),
  T.Object({ type: T.Literal("text"), media_type: T.Optional(T.String()), data: T.String() }, open),
  T.Object({ type: T.Literal("content"), content: T.Union([T.String(), T.Array(T.Union([TextBlock, ImageBlock]))]) }, open),
  T.Object({ type: T.Literal("url"), url: T.String({ minLength: 1 }) }, open),
  T.Object({ type: T.Literal("file"), file_id: T.String({ minLength: 1 }) }, open),
]);
export const DocumentBlock = T.Object(
  { type: T.Literal("document"), source: DocumentSource, title: T.Optional(Nullable(T.String())), context: T.Optional(Nullable(T.String())), ...cacheable },
  open,
);

export const ToolUseBlock = T.Object(
  { type: T.Literal("tool_use"), id: T.String({ minLength: 1 }), name: T.String({ minLength: 1 }), input: T.Record(T.String(), T.Unknown()), ...cacheable },
  open,
);

/**
 * Block types the gateway does not translate (search_result, server tool blocks, container uploads, future ones):
 * passed through to Anthropic, dropped with a warning elsewhere. Typed with a placeholder tag so `b.type === "text"`
 * still narrows; at run time `type` is any other string.
 */
export type OtherBlockValue = { type: "(other)" } & Record<string, unknown>;
const KNOWN = "text|image|document|tool_use|tool_result|thinking|redacted_thinking";
export const OtherBlock = T.Unsafe<OtherBlockValue>(T.Object({ type: T.String({ pattern: `^(?!(?:${KNOWN})$).+` }) }, open));

export const ToolResultBlock = T.Object(
  {
    type: T.Literal("tool_result"),
    tool_use_id: T.String({ minLength: 1 }),
    content: T.Optional(T.Union([T.String(), T.Array(T.Union([TextBlock, ImageBlock, DocumentBlock, OtherBlock]))])),
    is_error: T.Optional(T.Boolean()),
    ...cacheable,
  },
  open,
);
export const ThinkingBlock = T.Object({ type: T.Literal("thinking"), thinking: T.String(), signature: T.String() }, open);
export const RedactedThinkingBlock = T.Object({ type: T.Literal("redacted_thinking"), data: T.String() }, open);

export const ContentBlock = T.Union([TextBlock, ImageBlock, DocumentBlock, ToolUseBlock, ToolResultBlock, ThinkingBlock, RedactedThinkingBlock, OtherBlock]);

export const MessageParam = T.Object(
  {
    // `system` inside `messages`: the SDK's SystemMessageParam, and what Claude Code sends for model ids it does not know.
    role: T.Union([T.Literal("user"), T.Literal("assistant"), T.Literal("system")]),
    content: T.Union([T.String(), T.Array(ContentBlock)]),
  },
  open,
);

/** A client tool (`type` absent or "custom") has an object input schema; server tools carry a versioned `type`. */
export const ToolParam = T.Object(
  {
    name: T.String({ minLength: 1, maxLength: 128 }),
    type: T.Optional(Nullable(T.String())),
    description: T.Optional(T.String()),
    input_schema: T.Optional(T.Object({ type: T.Literal("object") }, open)),
    ...cacheable,
  },
  open,
);

export const ToolChoice = T.Union([
  T.Object({ type: T.Literal("auto"), disable_parallel_tool_use: T.Optional(T.Boolean()) }, open),
  T.Object({ type: T.Literal("any"), disable_parallel_tool_use: T.Optional(T.Boolean()) }, open),
  T.Object({ type: T.Literal("tool"), name: T.String({ minLength: 1 }), disable_parallel_tool_use: T.Optional(T.Boolean()) }, open),
  T.Object({ type: T.Literal("none") }, open),
]);

export const ThinkingConfig = T.Union([
  T.Object({ type: T.Literal("enabled"), budget_tokens: Int({ minimum: 1024 }), display: T.Optional(Nullable(T.String())) }, open),
  T.Object({ type: T.Literal("adaptive"), display: T.Optional(Nullable(T.String())) }, open),
  T.Object({ type: T.Literal("disabled") }, open),
  T.Object({ type: T.Literal("between_tools") }, open),
]);

export const OutputConfig = T.Object(
  {
    effort: T.Optional(Nullable(T.Union([T.Literal("low"), T.Literal("medium"), T.Literal("high"), T.Literal("xhigh"), T.Literal("max")]))),
    format: T.Optional(Nullable(T.Object({ type: T.Literal("json_schema"), schema: T.Record(T.String(), T.Unknown()) }, open))),
  },
  open,
);

const System = T.Union([T.String(), T.Array(TextBlock)]);

/** The fields count_tokens and create share. */
const common = {
  model: T.String({ minLength: 1 }),
  messages: T.Array(MessageParam, { minItems: 1 }),
  system: T.Optional(System),
  tools: T.Optional(T.Array(ToolParam)),
  tool_choice: T.Optional(ToolChoice),
  thinking: T.Optional(ThinkingConfig),
  output_config: T.Optional(OutputConfig),
};

export const MessagesRequestSchema = T.Object(
  {
    ...common,
    // 0 is Anthropic's cache pre-warm (no answer); translated providers refuse it.
    max_tokens: Int({ minimum: 0 }),
    stream: T.Optional(T.Boolean()),
    stop_sequences: T.Optional(T.Array(T.String())),
    temperature: T.Optional(T.Number({ minimum: 0, maximum: 1 })),
    top_p: T.Optional(T.Number({ minimum: 0, maximum: 1 })),
    top_k: T.Optional(Int({ minimum: 0 })),
    metadata: T.Optional(T.Object({ user_id: T.Optional(Nullable(T.String())) }, open)),
  },
  { ...open, description: "Anthropic Messages API request; unknown fields pass through to Anthropic-type providers." },
);
export type MessagesRequest = Static<typeof MessagesRequestSchema>;

export const CountTokensRequestSchema = T.Object(common, { ...open, description: "Anthropic count_tokens request." });
export type CountTokensRequest = Static<typeof CountTokensRequestSchema>;

export type MessageParam = Static<typeof MessageParam>;
export type ContentBlock = Static<typeof ContentBlock>;
export type TextBlock = Static<typeof TextBlock>;
export type ImageBlock = Static<typeof ImageBlock>;
export type DocumentBlock = Static<typeof DocumentBlock>;
export type ToolResultBlock = Static<typeof ToolResultBlock>;
export type ToolParam = Static<typeof ToolParam>;
export type ToolChoice = Static<typeof ToolChoice>;
export type ThinkingConfig = Static<typeof ThinkingConfig>;
export type CacheControl = Static<typeof CacheControl>;
