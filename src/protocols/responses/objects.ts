// The shapes the gateway answers with: output items, the response object, stream events (as OpenAI sends them).
import type { Usage } from "../../openai/schemas.ts";
import type { ResponsesRequest } from "./schema.ts";

export interface OutputTextPart {
  type: "output_text";
  text: string;
  annotations: unknown[];
  logprobs: unknown[];
}
export interface RefusalPart {
  type: "refusal";
  refusal: string;
}
export type ItemStatus = "in_progress" | "completed" | "incomplete";
export interface MessageOutput {
  id: string;
  type: "message";
  status: ItemStatus;
  content: (OutputTextPart | RefusalPart)[];
  role: "assistant";
}
export interface FunctionCallOutput {
  id: string;
  type: "function_call";
  status: ItemStatus;
  arguments: string;
  call_id: string;
  name: string;
  namespace?: string;
}
export interface ReasoningOutput {
  id: string;
  type: "reasoning";
  summary: { type: "summary_text"; text: string }[];
  encrypted_content?: string;
}
export type OutputItem = MessageOutput | FunctionCallOutput | ReasoningOutput;

export interface ResponsesUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export type ResponseStatus = "in_progress" | "completed" | "incomplete" | "failed";

/** A response object; fields in the order OpenAI sends them. */
export interface ResponseObject {
  id: string;
  object: "response";
  created_at: number;
  status: ResponseStatus;
  background: boolean;
  error: { code: string; message: string } | null;
  incomplete_details: { reason: string } | null;
  instructions: string | null;
  max_output_tokens: number | null;
  max_tool_calls: null;
  model: string;
  output: OutputItem[];
  parallel_tool_calls: boolean;
  previous_response_id: string | null;
  prompt_cache_key: string | null;
  reasoning: { effort: string | null; summary: string | null };
  safety_identifier: string | null;
  service_tier: string;
  store: boolean;
  temperature: number;
  text: { format: unknown; verbosity: string };
  tool_choice: unknown;
  tools: unknown[];
  top_logprobs: number;
  top_p: number;
  truncation: string;
  usage: ResponsesUsage | null;
  user: string | null;
  metadata: Record<string, string>;
}

/** One stream event: `type` and `sequence_number` first, then the event's own fields. */
export type ResponseEvent = { type: string; sequence_number: number } & Record<string, unknown>;

export interface ResponseMeta {
  id: string;
  /** Epoch seconds. */
  createdAt: number;
  /** The model id the client asked for. */
  model: string;
}

/** The response as it starts (status in_progress, no output): every field echoes the request or OpenAI's default. */
export function responseSkeleton(req: ResponsesRequest, meta: ResponseMeta): ResponseObject {
  const raw = req as Record<string, unknown>;
  return {
    id: meta.id,
    object: "response",
    created_at: meta.createdAt,
    status: "in_progress",
    background: false,
    error: null,
    incomplete_details: null,
    instructions: req.instructions ?? null,
    max_output_tokens: req.max_output_tokens ?? null,
    max_tool_calls: null,
    model: meta.model,
    output: [],
    parallel_tool_calls: req.parallel_tool_calls ?? true,
    previous_response_id: req.previous_response_id ?? null,
    prompt_cache_key: typeof raw.prompt_cache_key === "string" ? raw.prompt_cache_key : null,
    reasoning: { effort: req.reasoning?.effort ?? null, summary: req.reasoning?.summary ?? req.reasoning?.generate_summary ?? null },
    safety_identifier: req.safety_identifier ?? null,
    service_tier: "default",
    store: req.store ?? true,
    temperature: req.temperature ?? 1,
    text: { format: req.text?.format ?? { type: "text" }, verbosity: req.text?.verbosity ?? "medium" },
    tool_choice: req.tool_choice ?? "auto",
    tools: req.tools ?? [],
    top_logprobs: req.top_logprobs ?? 0,
    top_p: req.top_p ?? 1,
    truncation: req.truncation ?? "disabled",
    usage: null,
    user: req.user ?? null,
    metadata: req.metadata ?? {},
  };
}

/** Chat usage in the Responses API's terms (reasoning counted inside output, cache reads inside input, as chat does). */
export function toResponsesUsage(u: Usage | null | undefined): ResponsesUsage {
  const input = u?.prompt_tokens ?? 0;
  const output = u?.completion_tokens ?? 0;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: u?.prompt_tokens_details?.cached_tokens ?? 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: u?.completion_tokens_details?.reasoning_tokens ?? 0 },
    total_tokens: u?.total_tokens ?? input + output,
  };
}

const encoder = new TextEncoder();
/** An event as OpenAI frames it: `event:` line with the type, `data:` line with the JSON. */
export const encodeEvent = (e: ResponseEvent): Uint8Array => encoder.encode(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
