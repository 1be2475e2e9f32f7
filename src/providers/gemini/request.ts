// Pure translation of an OpenAI chat request into a Gemini `generateContent` request body.
import type { Warn } from "../types.ts";
import type { ChatMessage, ChatRequest } from "../../openai/schemas.ts";
import { invalidRequest } from "../../openai/errors.ts";
import { schemaBudget, toGeminiSchema, type GeminiSchema, type SchemaBudget } from "./schema.ts";
import { isObj, parseToolArguments } from "../shared/json.ts";
import { parseDataUri } from "../shared/data-uri.ts";

export interface GeminiPart {
  text?: string;
  inlineData?: { mimeType: string; data: string };
  fileData?: { mimeType: string; fileUri: string };
  functionCall?: { name: string; args: Record<string, unknown> };
  functionResponse?: { name: string; response: Record<string, unknown> };
  thoughtSignature?: string;
}
export interface GeminiContent {
  role: "user" | "model";
  parts: GeminiPart[];
}
export interface GeminiFunctionDeclaration {
  name: string;
  description?: string;
  parameters?: GeminiSchema;
}
export interface GeminiRequest {
  contents: GeminiContent[];
  systemInstruction?: { parts: { text: string }[] };
  tools?: { functionDeclarations: GeminiFunctionDeclaration[] }[];
  toolConfig?: { functionCallingConfig: { mode: "NONE" | "AUTO" | "ANY"; allowedFunctionNames?: string[] } };
  generationConfig?: Record<string, unknown>;
}

export interface RequestOptions {
  /** Logs a dropped or mapped parameter for this request. */
  warn: Warn;
  /** The model entry's `max_tokens`, used when the client sets none. */
  defaultMaxTokens?: number;
  /** The upstream model id: decides how reasoning_effort is expressed. */
  model?: string;
}

/**
 * Gemini 3 rejects a replayed function call without the `thoughtSignature` it was issued with. OpenAI clients
 * that keep `extra_content.google.thought_signature` (as Google's own OpenAI endpoint sends it) give it back;
 * for the rest, Google documents this value as the way to replay calls whose signature is unknown.
 */
export const SKIP_SIGNATURE = "skip_thought_signature_validator";

/** Fields this translator reads, or the gateway handles itself; any other top-level field is dropped with a warning. */
const HANDLED = new Set([
  "model", "messages", "stream", "stream_options", "temperature", "max_tokens", "max_completion_tokens", "top_p",
  "frequency_penalty", "presence_penalty", "stop", "tools", "tool_choice", "seed", "n", "response_format",
  "parallel_tool_calls", "reasoning_effort", "logprobs", "top_logprobs",
]);


export function toGeminiRequest(req: ChatRequest, opts: RequestOptions): GeminiRequest {
  const { contents, system } = convertMessages(req.messages, opts.warn);
  if (contents.length === 0) {
    throw invalidRequest("Gemini models need at least one user or assistant message besides system messages.", "messages");
  }
  const out: GeminiRequest = { contents };
  const budget = schemaBudget();
  if (system.length > 0) out.systemInstruction = { parts: system.map((text) => ({ text })) };

  if (req.tools && req.tools.length > 0) {
    out.tools = [{ functionDeclarations: req.tools.map((t, i) => declaration(t.function, `tools[${i}].function.parameters`, opts.warn, budget)) }];
    const mode = functionCallingConfig(req.tool_choice);
    if (mode) out.toolConfig = { functionCallingConfig: mode };
  }
  if (req.parallel_tool_calls === false) opts.warn("parallel_tool_calls=false dropped: Gemini has no switch for it.", "parallel_tool_calls");

  const gen = generationConfig(req, opts, budget);
  if (Object.keys(gen).length > 0) out.generationConfig = gen;

  const unknown = Object.keys(req).filter((k) => !HANDLED.has(k) && (req as Record<string, unknown>)[k] != null);
  for (const k of unknown.sort()) opts.warn(`'${k}' is not supported by Gemini and was dropped.`, k);
  return out;
}

function generationConfig(req: ChatRequest, opts: RequestOptions, budget: SchemaBudget): Record<string, unknown> {
  const gen: Record<string, unknown> = {};
  if (req.n != null && req.n > 1) gen.candidateCount = req.n;
  if (req.logprobs === true) {
    gen.responseLogprobs = true;
    if (req.top_logprobs != null && req.top_logprobs > 0) gen.logprobs = req.top_logprobs;
  } else if (req.top_logprobs != null && req.top_logprobs > 0) {
    throw invalidRequest("top_logprobs needs logprobs: true.", "top_logprobs");
  }
  const thinking = thinkingConfig(req, opts);
  if (thinking) gen.thinkingConfig = thinking;
  if (req.temperature != null) gen.temperature = req.temperature; // Gemini takes the same 0–2 range.
  if (req.top_p != null) gen.topP = req.top_p;
  const max = req.max_completion_tokens ?? req.max_tokens ?? opts.defaultMaxTokens;
  if (max != null) gen.maxOutputTokens = max;
  if (req.stop != null) {
    const stops = (typeof req.stop === "string" ? [req.stop] : req.stop).filter((s) => s.length > 0);
    if (stops.length > 0) gen.stopSequences = stops;
  }
  if (req.seed != null) gen.seed = req.seed;
  if (req.presence_penalty != null) gen.presencePenalty = req.presence_penalty;
  if (req.frequency_penalty != null) gen.frequencyPenalty = req.frequency_penalty;
  const rf = req.response_format;
  if (rf?.type === "json_object") gen.responseMimeType = "application/json";
  else if (rf?.type === "json_schema") {
    gen.responseMimeType = "application/json";
    const js = (rf as Record<string, unknown>).json_schema;
    const raw = isObj(js) ? js.schema : undefined;
    if (raw !== undefined) {
      const { schema, dropped } = toGeminiSchema(raw, "response_format.json_schema.schema", budget);
      if (schema) gen.responseSchema = schema;
      if (dropped.length > 0) opts.warn(`response_format schema: dropped keywords Gemini does not support: ${dropped.join(", ")}.`, "response_format.json_schema.schema");
    }
  }
  return gen;
}

/**
 * The output a Gemini request is held to: maxOutputTokens per candidate, which thinking spends too (observed on 2.5
 * and 3); null when it goes without one.
 */
export function geminiOutputCap(req: ChatRequest, defaultMaxTokens: number | undefined): number | null {
  const max = req.max_completion_tokens ?? req.max_tokens ?? defaultMaxTokens;
  return max == null ? null : max * Math.max(1, req.n ?? 1);
}

/** Thinking budget per reasoning_effort for budget-based models (Gemini 2.5: Pro takes 128–32768, Flash 0–24576). */
export const GEMINI_THINKING_BUDGET = { minimal: 512, low: 1024, medium: 8192, high: 24576, xhigh: 24576, max: 24576 } as const;

/**
 * reasoning_effort → `thinkingConfig`, always with `includeThoughts` so the thoughts come back as reasoning_content.
 * Gemini 3 takes a `thinkingLevel` (LOW or HIGH on every model) and cannot stop thinking; earlier models a budget.
 */
function thinkingConfig(req: ChatRequest, opts: RequestOptions): Record<string, unknown> | undefined {
  const effort = req.reasoning_effort;
  if (!effort) return undefined;
  const leveled = /(^|\/)gemini-([3-9]|\d{2,})/.test(opts.model ?? "");
  if (effort === "none") {
    if (!leveled) return { thinkingBudget: 0 };
    opts.warn("reasoning_effort 'none' ignored: Gemini 3 models always think (the lowest level was left to the model's default).", "reasoning_effort");
    return undefined;
  }
  if (leveled) return { thinkingLevel: effort === "minimal" || effort === "low" ? "LOW" : "HIGH", includeThoughts: true };
  return { thinkingBudget: GEMINI_THINKING_BUDGET[effort], includeThoughts: true };
}

function declaration(
  fn: { name: string; description?: string; parameters?: Record<string, unknown>; strict?: boolean | null },
  param: string,
  warn: Warn,
  budget: SchemaBudget,
): GeminiFunctionDeclaration {
  const d: GeminiFunctionDeclaration = { name: fn.name };
  if (fn.description) d.description = fn.description;
  if (fn.parameters) {
    const { schema, dropped } = toGeminiSchema(fn.parameters, param, budget);
    if (schema) d.parameters = schema;
    if (dropped.length > 0) warn(`Tool '${fn.name}': dropped schema keywords Gemini does not support: ${dropped.join(", ")}.`, param);
  }
  if (fn.strict) warn(`Tool '${fn.name}': strict=true is not enforced by Gemini.`, param.replace(/parameters$/, "strict"));
  return d;
}

function functionCallingConfig(choice: ChatRequest["tool_choice"]): NonNullable<GeminiRequest["toolConfig"]>["functionCallingConfig"] | undefined {
  if (choice === undefined) return undefined;
  if (choice === "none") return { mode: "NONE" };
  if (choice === "auto") return { mode: "AUTO" };
  if (choice === "required") return { mode: "ANY" };
  return { mode: "ANY", allowedFunctionNames: [choice.function.name] };
}

/** Walks the conversation once: system text aside, turns as Gemini contents, consecutive same-role turns merged. */
function convertMessages(messages: ChatMessage[], warn: Warn): { contents: GeminiContent[]; system: string[] } {
  const system: string[] = [];
  const contents: GeminiContent[] = [];
  // Gemini's functionResponse is matched by name; OpenAI's tool message only carries the call id.
  const callNames = new Map<string, string>();
  const push = (role: GeminiContent["role"], parts: GeminiPart[]) => {
    if (parts.length === 0) return;
    const last = contents[contents.length - 1];
    if (last && last.role === role) last.parts.push(...parts);
    else contents.push({ role, parts });
  };

  messages.forEach((m, i) => {
    const at = `messages[${i}]`;
    switch (m.role) {
      case "system":
      case "developer": {
        // Gemini has one system instruction; later system messages join it in order.
        const text = textOf(m.content, at, warn);
        if (text) system.push(text);
        return;
      }
      case "user":
        push("user", userParts(m.content, at, warn));
        return;
      case "assistant": {
        const parts: GeminiPart[] = [];
        const text = textOf(m.content, at, warn);
        if (text) parts.push({ text });
        const calls = m.tool_calls ?? [];
        calls.forEach((tc, j) => {
          callNames.set(tc.id, tc.function.name);
          const part: GeminiPart = { functionCall: { name: tc.function.name, args: parseToolArguments(tc.function.arguments, `${at}.tool_calls[${j}].function.arguments`) } };
          const sig = signatureOf(tc);
          if (sig) part.thoughtSignature = sig;
          parts.push(part);
        });
        // Only the first call of a parallel batch carries a signature; give it the documented stand-in if none came back.
        const firstCall = parts.find((p) => p.functionCall);
        if (firstCall && !parts.some((p) => p.thoughtSignature)) firstCall.thoughtSignature = SKIP_SIGNATURE;
        push("model", parts);
        return;
      }
      case "tool": {
        const id = m.tool_call_id;
        const name = (id !== undefined ? callNames.get(id) : undefined) ?? m.name;
        if (!name) {
          throw invalidRequest(`Tool message tool_call_id '${id ?? ""}' does not match any earlier assistant tool call.`, `${at}.tool_call_id`);
        }
        // Function responses belong to the user side of the conversation in Gemini's REST API.
        push("user", [{ functionResponse: { name, response: toolResponse(textOf(m.content, at, warn)) } }]);
        return;
      }
    }
  });
  return { contents, system };
}

function signatureOf(tc: unknown): string | undefined {
  if (!isObj(tc) || !isObj(tc.extra_content) || !isObj(tc.extra_content.google)) return undefined;
  const s = tc.extra_content.google.thought_signature;
  return typeof s === "string" && s.length > 0 ? s : undefined;
}

/** Gemini's `response` must be an object: a JSON object result is sent as it is, anything else as `{result}`. */
export function toolResponse(text: string): Record<string, unknown> {
  const t = text.trim();
  if (t.startsWith("{")) {
    try {
      const v: unknown = JSON.parse(t);
      if (isObj(v)) return v;
    } catch {
      // Not JSON after all: sent as text below.
    }
  }
  return { result: text };
}

/** Text of a message whose parts may only be text (system, assistant, tool); images there are dropped with a warning. */
function textOf(content: ChatMessage["content"], at: string, warn: Warn): string {
  if (content == null) return "";
  if (typeof content === "string") return content;
  let out = "";
  for (const p of content) {
    if (p.type === "text") out += p.text;
    else warn(`${at}: image parts are only supported in user messages for Gemini; dropped.`, `${at}.content`);
  }
  return out;
}

function userParts(content: ChatMessage["content"], at: string, warn: Warn): GeminiPart[] {
  if (content == null) return [];
  // Gemini rejects empty text parts.
  if (typeof content === "string") return content ? [{ text: content }] : [];
  const parts: GeminiPart[] = [];
  let detailWarned = false;
  content.forEach((p, j) => {
    if (p.type === "text") {
      if (p.text) parts.push({ text: p.text });
      return;
    }
    if (p.type === "file") {
      parts.push(filePart(p.file, `${at}.content[${j}].file`));
      return;
    }
    if (p.type === "input_audio") {
      const format = p.input_audio.format.toLowerCase();
      parts.push({ inlineData: { mimeType: format.includes("/") ? format : `audio/${format}`, data: p.input_audio.data } });
      return;
    }
    if (p.type !== "image_url") throw invalidRequest(`Content part type '${String(p.type)}' is not supported by Gemini models.`, `${at}.content[${j}].type`);
    const { url, detail } = p.image_url;
    if (detail && detail !== "auto" && !detailWarned) {
      detailWarned = true;
      warn(`${at}: image detail '${detail}' dropped: Gemini sets image resolution per request, not per image.`, `${at}.content[${j}].image_url.detail`);
    }
    parts.push(imagePart(url, `${at}.content[${j}].image_url.url`));
  });
  return parts;
}

const MIME_BY_EXT: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  webp: "image/webp",
  gif: "image/gif",
  heic: "image/heic",
  heif: "image/heif",
  pdf: "application/pdf",
};

/** The MIME type of an image URL from its extension (the gateway never fetches it); JPEG when unknown. */
export function guessMimeType(url: string): string {
  let path = url;
  try {
    path = new URL(url).pathname;
  } catch {
    // Not a parseable URL: use it as it is.
  }
  const ext = /\.([a-z0-9]+)$/i.exec(path)?.[1]?.toLowerCase();
  return (ext && MIME_BY_EXT[ext]) || "image/jpeg";
}

/** A `file` part (a PDF, text, audio, an image…) as inline data: Gemini reads the bytes with their MIME type. */
function filePart(file: { file_data?: string; file_id?: string; filename?: string }, param: string): GeminiPart {
  if (file.file_data === undefined) {
    throw invalidRequest("Gemini models need the file's content: send 'file_data' as a data: URL (a 'file_id' of OpenAI's Files API means nothing to Gemini).", `${param}.file_data`);
  }
  // A bare base64 string (no data: prefix) is taken as a PDF, the type OpenAI documents for file_data.
  if (!file.file_data.startsWith("data:")) return { inlineData: { mimeType: "application/pdf", data: file.file_data } };
  return imagePart(file.file_data, `${param}.file_data`);
}

export function imagePart(url: string, param: string): GeminiPart {
  if (!url.startsWith("data:")) return { fileData: { mimeType: guessMimeType(url), fileUri: url } };
  const d = parseDataUri(url);
  if (!d || !d.mediaType.includes("/")) {
    throw invalidRequest("Image data URI must look like data:<mime type>;base64,<data>.", param);
  }
  const { mediaType: mimeType, data: body } = d;
  if (d.base64) return { inlineData: { mimeType, data: body } };
  // A non-base64 data URI is percent-encoded text (SVG, for instance); Gemini wants base64 bytes.
  let decoded: string;
  try {
    decoded = decodeURIComponent(body);
  } catch {
    throw invalidRequest("Image data URI is not valid percent-encoded data.", param);
  }
  return { inlineData: { mimeType, data: Buffer.from(decoded, "utf8").toString("base64") } };
}
