// The Anthropic Messages API request shapes the translator produces (as @anthropic-ai/sdk types them).

export type CacheControl = { type: "ephemeral"; ttl?: "5m" | "1h" };
type Cacheable = { cache_control?: CacheControl };

export type AnthropicImageSource =
  | { type: "base64"; media_type: string; data: string }
  | { type: "url"; url: string };
export type AnthropicDocumentSource =
  | { type: "base64"; media_type: "application/pdf"; data: string }
  | { type: "text"; media_type: "text/plain"; data: string }
  | { type: "url"; url: string };
export type AnthropicTextBlock = { type: "text"; text: string } & Cacheable;
export type AnthropicImageBlock = { type: "image"; source: AnthropicImageSource } & Cacheable;
export type AnthropicDocumentBlock = { type: "document"; source: AnthropicDocumentSource; title?: string } & Cacheable;
export type AnthropicToolUseBlock = { type: "tool_use"; id: string; name: string; input: Record<string, unknown> } & Cacheable;
export type AnthropicToolResultBlock = {
  type: "tool_result";
  tool_use_id: string;
  content?: string | (AnthropicTextBlock | AnthropicImageBlock | AnthropicDocumentBlock)[];
} & Cacheable;
export type AnthropicThinkingBlock = { type: "thinking"; thinking: string; signature: string };
export type AnthropicRedactedThinkingBlock = { type: "redacted_thinking"; data: string };
export type AnthropicContentBlock = AnthropicTextBlock | AnthropicImageBlock | AnthropicDocumentBlock;
export type AnthropicBlock =
  | AnthropicContentBlock
  | AnthropicToolUseBlock
  | AnthropicToolResultBlock
  | AnthropicThinkingBlock
  | AnthropicRedactedThinkingBlock;
export interface AnthropicMessage {
  role: "user" | "assistant";
  content: AnthropicBlock[];
}
export interface AnthropicTool extends Cacheable {
  name: string;
  description?: string;
  input_schema: Record<string, unknown>;
  strict?: boolean;
}
export type AnthropicToolChoice =
  | { type: "auto" | "any"; disable_parallel_tool_use?: boolean }
  | { type: "tool"; name: string; disable_parallel_tool_use?: boolean }
  | { type: "none" };
export type AnthropicThinking = { type: "enabled"; budget_tokens: number } | { type: "adaptive" };
export interface AnthropicOutputConfig {
  effort?: "low" | "medium" | "high" | "xhigh" | "max";
  format?: { type: "json_schema"; schema: Record<string, unknown> };
}

export interface AnthropicRequest {
  model: string;
  max_tokens: number;
  messages: AnthropicMessage[];
  system?: AnthropicTextBlock[];
  tools?: AnthropicTool[];
  tool_choice?: AnthropicToolChoice;
  stop_sequences?: string[];
  temperature?: number;
  top_p?: number;
  metadata?: { user_id: string };
  thinking?: AnthropicThinking;
  output_config?: AnthropicOutputConfig;
  stream?: boolean;
}
