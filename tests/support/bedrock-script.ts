// What the fake Bedrock answers: Bedrock's request rules (ValidationException texts), the default Converse and Claude answers, and the Converse encoder.
import { isObj, stopReasonOf, type Json, type Message } from "./fake-core.ts";
import { greedyMessage, greedyTokens, isGreedy } from "./greedy.ts";

type Obj = Json;
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);
const words = (s: string) => s.split(/\s+/).filter(Boolean).length;

const DOC_NAME = /^(?:[A-Za-z0-9\-()[\]]| (?! ))+$/;
const IMAGE_FORMATS = new Set(["png", "jpeg", "gif", "webp"]);
const DOC_FORMATS = new Set(["pdf", "csv", "doc", "docx", "xls", "xlsx", "html", "txt", "md"]);

/** The rules Bedrock enforces on a Converse request that a translation bug would trip; the message as AWS words it. */
export function converseProblem(body: Obj): string | undefined {
  const messages = arr(body.messages);
  if (messages.length === 0) return "The messages field is empty. Add at least one message to the field, and try again.";
  if (messages[0]!.role !== "user") return "A conversation must start with a user message. Try again with a conversation that starts with a user message.";
  const hasToolConfig = isObj(body.toolConfig) && arr(body.toolConfig.tools).length > 0;
  for (const [i, m] of messages.entries()) {
    if (i > 0 && messages[i - 1]!.role === m.role) return "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.";
    const content = arr(m.content);
    if (content.length === 0) return `The content field in the Message object at messages.${i} is empty. Add a ContentBlock object to the content field and try again.`;
    for (const [j, b] of content.entries()) {
      const at = `messages.${i}.content.${j}`;
      if (typeof b.text === "string" && b.text.trim() === "") return `The text field in the ContentBlock object at ${at} is blank. Add text to the text field, and try again.`;
      if (isObj(b.image) && (!IMAGE_FORMATS.has(String(b.image.format)) || !isObj(b.image.source))) return `The image at ${at} is not valid.`;
      if (isObj(b.image) && isObj(b.image.source) && typeof b.image.source.bytes === "string" && !/^[A-Za-z0-9+/=]+$/.test(b.image.source.bytes)) return `The image bytes at ${at} are not valid base64.`;
      if (isObj(b.document) && (!DOC_FORMATS.has(String(b.document.format)) || !DOC_NAME.test(String(b.document.name)))) return `The document file name at ${at} can only contain alphanumeric characters, whitespace characters, hyphens, parentheses, and square brackets. The name can't contain more than one consecutive whitespace character.`;
      if ((isObj(b.toolUse) || isObj(b.toolResult)) && !hasToolConfig) return "The toolConfig field must be defined when using toolUse and toolResult content blocks.";
      if (isObj(b.toolResult)) {
        const rc = arr(b.toolResult.content);
        if (b.toolResult.status === "error" && rc.length === 0) return `The content field in the ToolResultBlock at ${at} must not be empty when the status is error.`;
        if (rc.some((c) => typeof c.text === "string" && c.text.trim() === "")) return `The text field in the ToolResultContentBlock at ${at} is blank. Add text to the text field, and try again.`;
        const prev = messages[i - 1];
        const ids = arr(prev?.content).map((x) => (isObj(x.toolUse) ? x.toolUse.toolUseId : undefined));
        if (!ids.includes(b.toolResult.toolUseId)) return `The toolResult blocks at messages.${i}.content contain toolUseId that does not match any toolUse in the previous turn.`;
      }
    }
  }
  for (const s of arr(body.system)) if (typeof s.text === "string" && s.text.trim() === "") return "The text field in the SystemContentBlock is blank. Add text to the text field, and try again.";
  const inf = isObj(body.inferenceConfig) ? body.inferenceConfig : {};
  if (typeof inf.temperature === "number" && (inf.temperature < 0 || inf.temperature > 1)) return "The value at inferenceConfig.temperature must be between 0 and 1.";
  if (isObj(body.toolConfig) && isObj(body.toolConfig.toolChoice) && !hasToolConfig) return "toolChoice needs tools.";
  const extra = isObj(body.additionalModelRequestFields) ? body.additionalModelRequestFields : {};
  if (isObj(extra.thinking) && extra.thinking.type === "enabled") {
    const budget = Number(extra.thinking.budget_tokens);
    if (!(budget >= 1024) || !(typeof inf.maxTokens === "number" && budget < inf.maxTokens)) return "The model returned the following errors: `max_tokens` must be greater than `thinking.budget_tokens`.";
    if (inf.temperature !== undefined && inf.temperature !== 1) return "The model returned the following errors: `temperature` may only be set to 1 when thinking is enabled.";
  }
  return undefined;
}

/** A greedy model's answer, without a thinking share when it did not think. */
function greedy(cap: unknown): Message {
  const m = greedyMessage(greedyTokens(cap), 0);
  delete m.usage!.thinking_tokens;
  return m;
}

/**
 * The default Converse answer: a tool result in the last turn → a reply quoting it; tools offered (and the last turn
 * the user's text) → a call of the first tool (or the one tool_choice names); else an echo of the user's text naming
 * system text, images and documents. Claude with thinking asked for thinks first, with a signature.
 */
export function converseDefault(model: string, body: Obj, seq: number): Message {
  if (isGreedy(model)) return greedy(isObj(body.inferenceConfig) ? body.inferenceConfig.maxTokens : undefined);
  const messages = arr(body.messages);
  const last = arr(messages[messages.length - 1]?.content);
  const input_tokens = JSON.stringify(body.messages).length >> 4;
  const usage = (text: string, extra = 0) => ({ input_tokens, output_tokens: words(text) + extra });
  const extra = isObj(body.additionalModelRequestFields) ? body.additionalModelRequestFields : {};
  const content: Message["content"] = [];
  if (isObj(extra.thinking) || extra.reasoning_effort !== undefined) content.push({ type: "thinking", thinking: `Thinking about turn ${messages.length}.`, signature: `sig-${model}-${seq}` });
  const results = last.filter((b) => isObj(b.toolResult)).map((b) => b.toolResult as Obj);
  if (results.length > 0) {
    const said = results.map((r) => `${arr(r.content).map((c) => (typeof c.text === "string" ? c.text : JSON.stringify(c.json))).join(" ")}${r.status === "error" ? " (error)" : ""}`).join("; ");
    const text = `The tool said: ${said}`;
    return { content: [...content, { type: "text", text }], usage: usage(text, 4) };
  }
  const tc = isObj(body.toolConfig) ? body.toolConfig : undefined;
  const tools = arr(tc?.tools).filter((t) => isObj(t.toolSpec)).map((t) => t.toolSpec as Obj);
  const choice = isObj(tc?.toolChoice) ? tc.toolChoice : undefined;
  if (tools.length > 0 && last.some((b) => typeof b.text === "string")) {
    const name = isObj(choice?.tool) ? String(choice.tool.name) : String(tools[0]!.name);
    return { content: [...content, { type: "tool_use", id: `tooluse_${seq}_${name}`, name, input: { city: "Paris", unit: "celsius" } }], usage: usage("", 12) };
  }
  const userText = last.map((b) => (typeof b.text === "string" ? b.text : "")).join(" ").trim();
  const system = arr(body.system).map((s) => s.text).filter((s) => typeof s === "string").join(" ");
  const media = last.flatMap((b) => (isObj(b.image) ? [`image/${b.image.format}`] : isObj(b.document) ? [`document ${b.document.name} (${b.document.format})`] : []));
  const text = `Echo from Bedrock ${model}: ${userText}${system ? ` [system: ${system}]` : ""}${media.length ? ` [media: ${media.join(", ")}]` : ""}`;
  const inf = isObj(body.inferenceConfig) ? body.inferenceConfig : {};
  const stop = Array.isArray(inf.stopSequences) ? inf.stopSequences.find((s): s is string => typeof s === "string" && text.includes(s)) : undefined;
  if (stop !== undefined) {
    const cut = text.slice(0, text.indexOf(stop));
    return { content: [...content, { type: "text", text: cut }], stop_reason: "stop_sequence", stop_sequence: stop, usage: usage(cut) };
  }
  return { content: [...content, { type: "text", text }], usage: { ...usage(text), cache_read_input_tokens: system ? 5 : 0, cache_creation_input_tokens: 0 } };
}

/** Converse's usage object; tokens the message leaves unset are counted from the request and the answer. */
function converseUsage(m: Message, body: Obj): Obj {
  const inputTokens = m.usage?.input_tokens ?? JSON.stringify(body.messages).length >> 4;
  const outputTokens = m.usage?.output_tokens ?? Math.max(1, claudeWords(m.content));
  const cache = m.usage?.cache_read_input_tokens !== undefined ? { cacheReadInputTokens: m.usage.cache_read_input_tokens, cacheWriteInputTokens: m.usage.cache_creation_input_tokens ?? 0 } : {};
  return { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens, ...cache };
}

/** Converse's content blocks for a message, in its order. */
function converseBlocks(m: Message): Obj[] {
  return m.content.flatMap((b, i): Obj[] => {
    if (b.type === "thinking") return [{ reasoningContent: { reasoningText: { text: b.thinking, signature: b.signature ?? "sig-fake" } } }];
    if (b.type === "text") return [{ text: b.text }];
    if (b.type === "tool_use") return [{ toolUse: { toolUseId: b.id ?? `tooluse_${i}_${b.name}`, name: b.name, input: b.input } }];
    return [];
  });
}

/** The non-streaming Converse answer for a message. */
export function converseJson(m: Message, body: Obj): Obj {
  return { output: { message: { role: "assistant", content: converseBlocks(m) } }, stopReason: stopReasonOf(m), usage: converseUsage(m, body), metrics: { latencyMs: 42 } };
}

/** The ConverseStream events for a message: [event type, payload]; text and tool input arrive in pieces. */
export function converseEvents(m: Message, body: Obj): [string, Obj][] {
  const out: [string, Obj][] = [["messageStart", { role: "assistant" }]];
  converseBlocks(m).forEach((b, contentBlockIndex) => {
    if (isObj(b.reasoningContent)) {
      const r = b.reasoningContent.reasoningText as { text: string; signature: string };
      const half = Math.ceil(r.text.length / 2);
      for (const text of [r.text.slice(0, half), r.text.slice(half)]) out.push(["contentBlockDelta", { contentBlockIndex, delta: { reasoningContent: { text } } }]);
      out.push(["contentBlockDelta", { contentBlockIndex, delta: { reasoningContent: { signature: r.signature } } }]);
    } else if (typeof b.text === "string") {
      for (const text of b.text.split(/(?<= )/)) out.push(["contentBlockDelta", { contentBlockIndex, delta: { text } }]);
    } else if (isObj(b.toolUse)) {
      const input = JSON.stringify(b.toolUse.input);
      out.push(["contentBlockStart", { contentBlockIndex, start: { toolUse: { toolUseId: b.toolUse.toolUseId, name: b.toolUse.name } } }]);
      for (const piece of [input.slice(0, 9), input.slice(9)]) out.push(["contentBlockDelta", { contentBlockIndex, delta: { toolUse: { input: piece } } }]);
    }
    out.push(["contentBlockStop", { contentBlockIndex }]);
  });
  out.push(["messageStop", { stopReason: stopReasonOf(m) }]);
  out.push(["metadata", { usage: converseUsage(m, body), metrics: { latencyMs: 42 } }]);
  return out;
}

/** Claude's own answer (InvokeModel on Bedrock, rawPredict on Vertex) for a body in Anthropic's shape: the same scripting, Anthropic's words. */
export function claudeDefault(model: string, body: Obj, seq: number, where: "Bedrock" | "Vertex"): Message {
  if (isGreedy(model)) return greedy(body.max_tokens);
  const messages = arr(body.messages);
  const lastContent = messages[messages.length - 1]?.content;
  const last = typeof lastContent === "string" ? [{ type: "text", text: lastContent }] : arr(lastContent);
  const tools = arr(body.tools);
  const results = last.filter((b) => b.type === "tool_result");
  const content: Message["content"] = [];
  if (isObj(body.thinking)) content.push({ type: "thinking", thinking: "Considering the request.", signature: `sig-invoke-${seq}` });
  if (results.length > 0) content.push({ type: "text", text: `The tool said: ${results.map((r) => (typeof r.content === "string" ? r.content : JSON.stringify(r.content))).join("; ")}` });
  else if (tools.length > 0 && last.some((b) => b.type === "text")) {
    content.push({ type: "tool_use", id: `toolu_${where === "Bedrock" ? "bdrk" : "vrtx"}_${seq}`, name: String(tools[0]!.name), input: { city: "Paris" } });
  } else {
    const system = typeof body.system === "string" ? body.system : arr(body.system).map((s) => s.text).join(" ");
    content.push({ type: "text", text: `Echo from Claude on ${where}: ${last.map((b) => b.text ?? "").join(" ")}${system ? ` [system: ${system}]` : ""}` });
  }
  return { content, usage: { input_tokens: JSON.stringify(body.messages).length >> 4, output_tokens: claudeWords(content) } };
}

/** Output tokens of Claude's blocks as the fakes count them: words, and ten per tool call. */
export const claudeWords = (content: Message["content"]): number =>
  content.reduce((n, b) => n + (b.type === "text" ? words(b.text) : b.type === "thinking" ? words(b.thinking) : b.type === "tool_use" ? 10 : 0), 0);
