// The Bedrock Converse API shapes the translator produces and reads (as @aws-sdk/client-bedrock-runtime types them).

export type ImageFormat = "png" | "jpeg" | "gif" | "webp";
export type DocumentFormat = "pdf" | "csv" | "doc" | "docx" | "xls" | "xlsx" | "html" | "txt" | "md";

export interface ImageBlock {
  format: ImageFormat;
  /** `bytes` is base64 in the JSON protocol. */
  source: { bytes: string } | { s3Location: { uri: string } };
}
export interface DocumentBlock {
  format: DocumentFormat;
  name: string;
  source: { bytes: string } | { text: string } | { s3Location: { uri: string } };
}
export type ToolResultContent = { text: string } | { json: unknown } | { image: ImageBlock } | { document: DocumentBlock };
export interface ReasoningContentBlock {
  reasoningText?: { text: string; signature?: string };
  /** base64 */
  redactedContent?: string;
}

export type ContentBlock =
  | { text: string }
  | { image: ImageBlock }
  | { document: DocumentBlock }
  | { toolUse: { toolUseId: string; name: string; input: unknown } }
  | { toolResult: { toolUseId: string; content: ToolResultContent[]; status?: "success" | "error" } }
  | { reasoningContent: ReasoningContentBlock }
  | { cachePoint: { type: "default" } };

export interface ConverseMessage {
  role: "user" | "assistant";
  content: ContentBlock[];
}

export type SystemBlock = { text: string } | { cachePoint: { type: "default" } };

export interface ToolSpec {
  toolSpec: { name: string; description?: string; inputSchema: { json: Record<string, unknown> }; strict?: boolean };
}
export type ToolChoice = { auto: Record<string, never> } | { any: Record<string, never> } | { tool: { name: string } };

export interface ConverseRequest {
  messages: ConverseMessage[];
  system?: SystemBlock[];
  inferenceConfig?: { maxTokens?: number; temperature?: number; topP?: number; stopSequences?: string[] };
  toolConfig?: { tools: (ToolSpec | { cachePoint: { type: "default" } })[]; toolChoice?: ToolChoice };
  /** Passed to the model as its own request fields (Claude's `thinking`, gpt-oss's `reasoning_effort`, …). */
  additionalModelRequestFields?: Record<string, unknown>;
  outputConfig?: {
    textFormat?: { type: "json_schema"; structure: { jsonSchema: { schema: string; name?: string; description?: string } } };
    effort?: string;
  };
}

/** Converse's usage (inputTokens excludes cache reads and writes, as Anthropic's input_tokens does). */
export interface TokenUsage {
  inputTokens?: number;
  outputTokens?: number;
  totalTokens?: number;
  cacheReadInputTokens?: number;
  cacheWriteInputTokens?: number;
}
