// The public wire format: TypeBox schemas for requests and responses; their Static<> types are the TS types.
import { t, type Static } from "elysia";

// `additionalProperties: true` everywhere on the request: Elysia drops unknown keys otherwise, and a gateway
// must hand OpenAI-type providers the fields it does not know about (name, refusal, audio, future ones).
const open = { additionalProperties: true } as const;
// Elysia's t.Integer/t.Numeric accept numeric strings; a JSON API must not.
const Int = (o: { minimum?: number; maximum?: number; description?: string } = {}) => t.Number({ multipleOf: 1, ...o });

export const TextPart = t.Object({ type: t.Literal("text"), text: t.String() }, open);
export const ImagePart = t.Object(
  {
    type: t.Literal("image_url"),
    image_url: t.Object(
      {
        url: t.String({ pattern: "^(https?://|data:)", description: "an http(s) URL or data: URI" }),
        detail: t.Optional(t.Union([t.Literal("auto"), t.Literal("low"), t.Literal("high")])),
      },
      open,
    ),
  },
  open,
);
/** A document (PDF, text…) as a base64 `data:` URL in `file_data`, or an OpenAI Files API id. */
export const FilePart = t.Object(
  {
    type: t.Literal("file"),
    file: t.Object({ file_data: t.Optional(t.String({ minLength: 1 })), file_id: t.Optional(t.String({ minLength: 1 })), filename: t.Optional(t.String()) }, open),
  },
  open,
);
export const AudioPart = t.Object(
  { type: t.Literal("input_audio"), input_audio: t.Object({ data: t.String({ minLength: 1 }), format: t.String({ minLength: 1 }) }, open) },
  open,
);
/**
 * Part types the gateway does not know: passed to OpenAI-type providers, refused by translated ones. Typed with a
 * placeholder tag so that `part.type === "text"` still narrows; at run time `type` is any other string.
 */
export type OtherPartValue = { type: "(other)" } & Record<string, unknown>;
export const OtherPart = t.Unsafe<OtherPartValue>(t.Object({ type: t.String({ pattern: "^(?!(?:text|image_url|file|input_audio)$).+" }) }, open));
export const ContentPart = t.Union([TextPart, ImagePart, FilePart, AudioPart, OtherPart]);

export const ToolCall = t.Object(
  {
    id: t.String(),
    type: t.Literal("function"),
    function: t.Object({ name: t.String(), arguments: t.String() }, open),
  },
  open,
);

export const Message = t.Object(
  {
    // `function`: the legacy reply to a `function_call` (mapped to a tool message for translated providers).
    role: t.Union([t.Literal("system"), t.Literal("developer"), t.Literal("user"), t.Literal("assistant"), t.Literal("tool"), t.Literal("function")]),
    // Optional here so the semantic check can say precisely when content may be null or absent.
    content: t.Optional(t.Union([t.String(), t.Array(ContentPart), t.Null()])),
    name: t.Optional(t.String()),
    tool_calls: t.Optional(t.Array(ToolCall)),
    tool_call_id: t.Optional(t.String()),
    /** Legacy: the assistant's single function call (before `tool_calls`). */
    function_call: t.Optional(t.Object({ name: t.String(), arguments: t.String() }, open)),
  },
  open,
);

export const FunctionTool = t.Object(
  {
    type: t.Literal("function"),
    function: t.Object(
      {
        name: t.String({ pattern: "^[a-zA-Z0-9_-]{1,64}$" }),
        description: t.Optional(t.String()),
        parameters: t.Optional(t.Record(t.String(), t.Unknown())),
        strict: t.Optional(t.Union([t.Boolean(), t.Null()])),
      },
      open,
    ),
  },
  open,
);

export const ToolChoice = t.Union([
  t.Literal("none"),
  t.Literal("auto"),
  t.Literal("required"),
  t.Object({ type: t.Literal("function"), function: t.Object({ name: t.String() }, open) }, open),
]);

export const ChatRequestSchema = t.Object(
  {
    model: t.String({ minLength: 1, description: 'Model id, e.g. "gpt-4o"; see GET /v1/models' }),
    messages: t.Array(Message, { minItems: 1 }),
    stream: t.Optional(t.Boolean({ default: false })),
    temperature: t.Optional(t.Union([t.Number({ minimum: 0, maximum: 2 }), t.Null()])),
    max_tokens: t.Optional(t.Union([Int({ minimum: 1 }), t.Null()])),
    max_completion_tokens: t.Optional(t.Union([Int({ minimum: 1 }), t.Null()])),
    top_p: t.Optional(t.Union([t.Number({ minimum: 0, maximum: 1 }), t.Null()])),
    frequency_penalty: t.Optional(t.Union([t.Number({ minimum: -2, maximum: 2 }), t.Null()])),
    presence_penalty: t.Optional(t.Union([t.Number({ minimum: -2, maximum: 2 }), t.Null()])),
    stop: t.Optional(t.Union([t.String(), t.Array(t.String(), { maxItems: 4 }), t.Null()])),
    tools: t.Optional(t.Array(FunctionTool)),
    tool_choice: t.Optional(ToolChoice),
    /** Legacy (deprecated by OpenAI, still sent by older clients): functions instead of tools. */
    functions: t.Optional(t.Array(FunctionTool.properties.function, { minItems: 1 })),
    function_call: t.Optional(t.Union([t.Literal("none"), t.Literal("auto"), t.Object({ name: t.String() }, open)])),
    stream_options: t.Optional(t.Union([t.Object({ include_usage: t.Optional(t.Boolean()) }, open), t.Null()])),
    user: t.Optional(t.String()),
    seed: t.Optional(t.Union([Int(), t.Null()])),
    n: t.Optional(t.Union([Int({ minimum: 1, maximum: 128 }), t.Null()])),
    response_format: t.Optional(
      t.Object({ type: t.Union([t.Literal("text"), t.Literal("json_object"), t.Literal("json_schema")]) }, open),
    ),
    logit_bias: t.Optional(t.Union([t.Record(t.String(), t.Number()), t.Null()])),
    parallel_tool_calls: t.Optional(t.Boolean()),
    metadata: t.Optional(t.Union([t.Record(t.String(), t.String()), t.Null()])),
    reasoning_effort: t.Optional(
      t.Union([t.Literal("none"), t.Literal("minimal"), t.Literal("low"), t.Literal("medium"), t.Literal("high"), t.Literal("xhigh"), t.Literal("max"), t.Null()]),
    ),
    logprobs: t.Optional(t.Union([t.Boolean(), t.Null()])),
    top_logprobs: t.Optional(t.Union([Int({ minimum: 0, maximum: 20 }), t.Null()])),
  },
  { ...open, description: "OpenAI chat completion request; unknown fields pass through to OpenAI-type providers." },
);

export type ChatRequest = Static<typeof ChatRequestSchema>;
export type ChatMessage = Static<typeof Message>;
export type ChatContentPart = Static<typeof ContentPart>;
export type ReasoningEffort = NonNullable<ChatRequest["reasoning_effort"]>;
export type ChatToolCall = Static<typeof ToolCall>;
export type ChatTool = Static<typeof FunctionTool>;
export type ChatToolChoice = Static<typeof ToolChoice>;

export const UsageSchema = t.Object({
  prompt_tokens: t.Number(),
  completion_tokens: t.Number(),
  total_tokens: t.Number(),
  /** `cache_creation_tokens`: prompt tokens written to the provider's cache (Anthropic), beside OpenAI's cache reads. */
  prompt_tokens_details: t.Optional(t.Object({ cached_tokens: t.Optional(t.Number()), cache_creation_tokens: t.Optional(t.Number()) }, open)),
  completion_tokens_details: t.Optional(t.Object({ reasoning_tokens: t.Optional(t.Number()) }, open)),
});
export type Usage = Static<typeof UsageSchema>;

export const FinishReason = t.Union([
  t.Literal("stop"),
  // Only for requests in the legacy `functions` form.
  t.Literal("function_call"),
  t.Literal("length"),
  t.Literal("tool_calls"),
  t.Literal("content_filter"),
  t.Null(),
]);
export type FinishReason = Static<typeof FinishReason>;

/**
 * One reasoning block, in the shape OpenRouter popularised: `reasoning.text` (text and, for Claude, its signature)
 * or `reasoning.encrypted` (Claude's redacted thinking). `index` orders the blocks of one message.
 */
export const ReasoningDetail = t.Object(
  {
    type: t.Union([t.Literal("reasoning.text"), t.Literal("reasoning.encrypted")]),
    text: t.Optional(t.String()),
    signature: t.Optional(t.String()),
    data: t.Optional(t.String()),
    format: t.Optional(t.String()),
    index: t.Optional(t.Number()),
  },
  open,
);
export type ReasoningDetail = Static<typeof ReasoningDetail>;

const TokenLogprob = t.Object({ token: t.String(), logprob: t.Number(), bytes: t.Union([t.Array(t.Number()), t.Null()]) }, open);
export const Logprobs = t.Object(
  { content: t.Union([t.Array(t.Object({ ...TokenLogprob.properties, top_logprobs: t.Array(TokenLogprob) }, open)), t.Null()]), refusal: t.Optional(t.Union([t.Array(TokenLogprob), t.Null()])) },
  open,
);
export type Logprobs = Static<typeof Logprobs>;

const ResponseToolCall = t.Object({
  id: t.String(),
  type: t.Literal("function"),
  function: t.Object({ name: t.String(), arguments: t.String() }),
});

export const ChatCompletionSchema = t.Object({
  id: t.String(),
  object: t.Literal("chat.completion"),
  created: t.Number(),
  model: t.String(),
  choices: t.Array(
    t.Object({
      index: t.Number(),
      message: t.Object({
        role: t.Literal("assistant"),
        content: t.Union([t.String(), t.Null()]),
        refusal: t.Optional(t.Union([t.String(), t.Null()])),
        tool_calls: t.Optional(t.Array(ResponseToolCall)),
        function_call: t.Optional(t.Object({ name: t.String(), arguments: t.String() })),
        /** Claude thinking, Gemini thoughts: the field the Vercel AI SDK and LangChain read. */
        reasoning_content: t.Optional(t.Union([t.String(), t.Null()])),
        /** The provider's reasoning blocks with their signatures, to send back unchanged in the next turn. */
        reasoning_details: t.Optional(t.Array(ReasoningDetail)),
      }),
      finish_reason: FinishReason,
      logprobs: t.Optional(t.Union([Logprobs, t.Null()])),
    }),
  ),
  usage: t.Optional(UsageSchema),
  system_fingerprint: t.Optional(t.Union([t.String(), t.Null()])),
});
export type ChatCompletion = Static<typeof ChatCompletionSchema>;

export const ChunkToolCall = t.Object({
  index: t.Number(),
  id: t.Optional(t.String()),
  type: t.Optional(t.Literal("function")),
  function: t.Optional(t.Object({ name: t.Optional(t.String()), arguments: t.Optional(t.String()) })),
});
export type ChunkToolCall = Static<typeof ChunkToolCall>;

export const ChatCompletionChunkSchema = t.Object({
  id: t.String(),
  object: t.Literal("chat.completion.chunk"),
  created: t.Number(),
  model: t.String(),
  choices: t.Array(
    t.Object({
      index: t.Number(),
      delta: t.Object({
        role: t.Optional(t.Literal("assistant")),
        content: t.Optional(t.Union([t.String(), t.Null()])),
        refusal: t.Optional(t.Union([t.String(), t.Null()])),
        tool_calls: t.Optional(t.Array(ChunkToolCall)),
        function_call: t.Optional(t.Object({ name: t.Optional(t.String()), arguments: t.Optional(t.String()) })),
        reasoning_content: t.Optional(t.String()),
        reasoning_details: t.Optional(t.Array(ReasoningDetail)),
      }),
      finish_reason: FinishReason,
      logprobs: t.Optional(t.Union([Logprobs, t.Null()])),
    }),
  ),
  usage: t.Optional(t.Union([UsageSchema, t.Null()])),
});
export type ChatCompletionChunk = Static<typeof ChatCompletionChunkSchema>;

export const ModelSchema = t.Object({
  id: t.String(),
  object: t.Literal("model"),
  created: t.Number(),
  owned_by: t.String(),
});
export type ModelObject = Static<typeof ModelSchema>;
export const ModelListSchema = t.Object({ object: t.Literal("list"), data: t.Array(ModelSchema) });

export const ErrorBodySchema = t.Object({
  error: t.Object({
    message: t.String(),
    type: t.String(),
    param: t.Union([t.String(), t.Null()]),
    code: t.Union([t.String(), t.Null()]),
  }),
});
export type ErrorBody = Static<typeof ErrorBodySchema>;

export const EmbeddingsRequestSchema = t.Object(
  {
    model: t.String({ minLength: 1, description: "Embedding model id; see GET /v1/models" }),
    input: t.Union([
      t.String(),
      t.Array(t.String(), { minItems: 1, maxItems: 2048 }),
      t.Array(Int({ minimum: 0 }), { minItems: 1 }),
      t.Array(t.Array(Int({ minimum: 0 }), { minItems: 1 }), { minItems: 1, maxItems: 2048 }),
    ]),
    encoding_format: t.Optional(t.Union([t.Literal("float"), t.Literal("base64")])),
    dimensions: t.Optional(Int({ minimum: 1 })),
    user: t.Optional(t.String()),
  },
  { ...open, description: "OpenAI embeddings request; unknown fields pass through to OpenAI-type providers." },
);
export type EmbeddingsRequest = Static<typeof EmbeddingsRequestSchema>;

export const EmbeddingsResponseSchema = t.Object({
  object: t.Literal("list"),
  data: t.Array(t.Object({ object: t.Literal("embedding"), index: t.Number(), embedding: t.Union([t.Array(t.Number()), t.String()]) })),
  model: t.String(),
  usage: t.Object({ prompt_tokens: t.Number(), total_tokens: t.Number() }),
});
export type EmbeddingsResponse = Static<typeof EmbeddingsResponseSchema>;
