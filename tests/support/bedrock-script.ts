// What the fake Bedrock answers: Bedrock's request rules (ValidationException texts) and scripted Converse / Claude replies.
import { greedyTokens, isGreedy } from "./greedy.ts";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
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

export interface ConverseReply {
  reasoning?: { text: string; signature: string };
  text?: string;
  toolUse?: { toolUseId: string; name: string; input: Obj };
  stopReason: string;
  usage: { inputTokens: number; outputTokens: number; totalTokens: number; cacheReadInputTokens?: number; cacheWriteInputTokens?: number };
}

/**
 * A tool result in the last turn → a reply quoting it; tools offered (and the last turn the user's text) → a call of
 * the first tool (or the one tool_choice names); else an echo of the user's text naming system text, images and
 * documents. Claude with thinking asked for thinks first, with a signature.
 */
export function converseReply(model: string, body: Obj, seq: number): ConverseReply {
  if (isGreedy(model)) {
    // Every token maxTokens allows (reasoning included), or GREEDY_UNCAPPED without one.
    const out = greedyTokens(isObj(body.inferenceConfig) ? body.inferenceConfig.maxTokens : undefined);
    return { text: "all the words I am allowed", stopReason: "max_tokens", usage: { inputTokens: 19, outputTokens: out, totalTokens: 19 + out } };
  }
  const messages = arr(body.messages);
  const last = arr(messages[messages.length - 1]?.content);
  const inputTokens = JSON.stringify(body.messages).length >> 4;
  const usage = (text: string, extra = 0) => ({ inputTokens, outputTokens: words(text) + extra, totalTokens: inputTokens + words(text) + extra });
  const extra = isObj(body.additionalModelRequestFields) ? body.additionalModelRequestFields : {};
  const reasoning = isObj(extra.thinking) || extra.reasoning_effort !== undefined ? { text: `Thinking about turn ${messages.length}.`, signature: `sig-${model}-${seq}` } : undefined;
  const results = last.filter((b) => isObj(b.toolResult)).map((b) => b.toolResult as Obj);
  if (results.length > 0) {
    const said = results.map((r) => `${arr(r.content).map((c) => (typeof c.text === "string" ? c.text : JSON.stringify(c.json))).join(" ")}${r.status === "error" ? " (error)" : ""}`).join("; ");
    const text = `The tool said: ${said}`;
    return { reasoning, text, stopReason: "end_turn", usage: usage(text, 4) };
  }
  const tc = isObj(body.toolConfig) ? body.toolConfig : undefined;
  const tools = arr(tc?.tools).filter((t) => isObj(t.toolSpec)).map((t) => t.toolSpec as Obj);
  const choice = isObj(tc?.toolChoice) ? tc.toolChoice : undefined;
  if (tools.length > 0 && last.some((b) => typeof b.text === "string")) {
    const name = isObj(choice?.tool) ? String(choice.tool.name) : String(tools[0]!.name);
    return { reasoning, toolUse: { toolUseId: `tooluse_${seq}_${name}`, name, input: { city: "Paris", unit: "celsius" } }, stopReason: "tool_use", usage: usage("", 12) };
  }
  const userText = last.map((b) => (typeof b.text === "string" ? b.text : "")).join(" ").trim();
  const system = arr(body.system).map((s) => s.text).filter((s) => typeof s === "string").join(" ");
  const media = last.flatMap((b) => (isObj(b.image) ? [`image/${b.image.format}`] : isObj(b.document) ? [`document ${b.document.name} (${b.document.format})`] : []));
  const text = `Echo from Bedrock ${model}: ${userText}${system ? ` [system: ${system}]` : ""}${media.length ? ` [media: ${media.join(", ")}]` : ""}`;
  const inf = isObj(body.inferenceConfig) ? body.inferenceConfig : {};
  const stop = Array.isArray(inf.stopSequences) ? inf.stopSequences.find((s) => typeof s === "string" && text.includes(s)) : undefined;
  if (typeof stop === "string") return { reasoning, text: text.slice(0, text.indexOf(stop)), stopReason: "stop_sequence", usage: usage(text.slice(0, text.indexOf(stop))) };
  return { reasoning, text, stopReason: "end_turn", usage: { ...usage(text), cacheReadInputTokens: system ? 5 : 0, cacheWriteInputTokens: 0 } };
}

/** The non-streaming Converse answer for a reply. */
export function converseJson(reply: ConverseReply): Obj {
  const content: Obj[] = [];
  if (reply.reasoning) content.push({ reasoningContent: { reasoningText: reply.reasoning } });
  if (reply.text !== undefined) content.push({ text: reply.text });
  if (reply.toolUse) content.push({ toolUse: reply.toolUse });
  return { output: { message: { role: "assistant", content } }, stopReason: reply.stopReason, usage: reply.usage, metrics: { latencyMs: 42 } };
}

/** The ConverseStream events for a reply: [event type, payload]; text and tool input arrive in pieces. */
export function converseEvents(reply: ConverseReply): [string, Obj][] {
  const out: [string, Obj][] = [["messageStart", { role: "assistant" }]];
  let index = 0;
  if (reply.reasoning) {
    const half = Math.ceil(reply.reasoning.text.length / 2);
    out.push(["contentBlockDelta", { contentBlockIndex: index, delta: { reasoningContent: { text: reply.reasoning.text.slice(0, half) } } }]);
    out.push(["contentBlockDelta", { contentBlockIndex: index, delta: { reasoningContent: { text: reply.reasoning.text.slice(half) } } }]);
    out.push(["contentBlockDelta", { contentBlockIndex: index, delta: { reasoningContent: { signature: reply.reasoning.signature } } }]);
    out.push(["contentBlockStop", { contentBlockIndex: index++ }]);
  }
  if (reply.text !== undefined) {
    for (const piece of reply.text.split(/(?<= )/)) out.push(["contentBlockDelta", { contentBlockIndex: index, delta: { text: piece } }]);
    out.push(["contentBlockStop", { contentBlockIndex: index++ }]);
  }
  if (reply.toolUse) {
    const input = JSON.stringify(reply.toolUse.input);
    out.push(["contentBlockStart", { contentBlockIndex: index, start: { toolUse: { toolUseId: reply.toolUse.toolUseId, name: reply.toolUse.name } } }]);
    out.push(["contentBlockDelta", { contentBlockIndex: index, delta: { toolUse: { input: input.slice(0, 9) } } }]);
    out.push(["contentBlockDelta", { contentBlockIndex: index, delta: { toolUse: { input: input.slice(9) } } }]);
    out.push(["contentBlockStop", { contentBlockIndex: index++ }]);
  }
  out.push(["messageStop", { stopReason: reply.stopReason }]);
  out.push(["metadata", { usage: reply.usage, metrics: { latencyMs: 42 } }]);
  return out;
}

/** Claude's own Messages answer (InvokeModel), for a body in Anthropic's shape: the same scripting, Anthropic's words. */
export function claudeMessage(model: string, body: Obj, seq: number, where = "Bedrock"): Obj {
  if (isGreedy(model)) {
    const out = greedyTokens(body.max_tokens);
    return { id: `msg_greedy_${seq}`, type: "message", role: "assistant", model, content: [{ type: "text", text: "all the words I am allowed" }], stop_reason: "max_tokens", stop_sequence: null, usage: { input_tokens: 19, output_tokens: out } };
  }
  const messages = arr(body.messages);
  const lastContent = messages[messages.length - 1]?.content;
  const last = typeof lastContent === "string" ? [{ type: "text", text: lastContent }] : arr(lastContent);
  const tools = arr(body.tools);
  const results = last.filter((b) => b.type === "tool_result");
  const input_tokens = JSON.stringify(body.messages).length >> 4;
  const content: Obj[] = [];
  let stop_reason = "end_turn";
  if (isObj(body.thinking)) content.push({ type: "thinking", thinking: "Considering the request.", signature: `sig-invoke-${seq}` });
  if (results.length > 0) content.push({ type: "text", text: `The tool said: ${results.map((r) => (typeof r.content === "string" ? r.content : JSON.stringify(r.content))).join("; ")}` });
  else if (tools.length > 0 && last.some((b) => b.type === "text")) {
    content.push({ type: "tool_use", id: `toolu_${where === "Bedrock" ? "bdrk" : "vrtx"}_${seq}`, name: String(tools[0]!.name), input: { city: "Paris" } });
    stop_reason = "tool_use";
  } else {
    const system = typeof body.system === "string" ? body.system : arr(body.system).map((s) => s.text).join(" ");
    content.push({ type: "text", text: `Echo from Claude on ${where}: ${last.map((b) => b.text ?? "").join(" ")}${system ? ` [system: ${system}]` : ""}` });
  }
  const output_tokens = content.reduce((n, b) => n + words(String(b.text ?? b.thinking ?? "")) + (b.type === "tool_use" ? 10 : 0), 0);
  return { id: `msg_${where === "Bedrock" ? "bdrk" : "vrtx"}_${String(seq).padStart(6, "0")}`, type: "message", role: "assistant", model, content, stop_reason, stop_sequence: null, usage: { input_tokens, output_tokens } };
}

/** The Anthropic stream events of a message, as Claude sends them (message_start … message_stop). */
export function claudeEvents(message: Obj): Obj[] {
  const content = arr(message.content);
  const usage = isObj(message.usage) ? message.usage : {};
  const out: Obj[] = [{ type: "message_start", message: { ...message, content: [], stop_reason: null, usage: { input_tokens: usage.input_tokens, output_tokens: 1 } } }];
  content.forEach((b, index) => {
    if (b.type === "text") {
      out.push({ type: "content_block_start", index, content_block: { type: "text", text: "" } });
      for (const piece of String(b.text).split(/(?<= )/)) out.push({ type: "content_block_delta", index, delta: { type: "text_delta", text: piece } });
    } else if (b.type === "thinking") {
      out.push({ type: "content_block_start", index, content_block: { type: "thinking", thinking: "", signature: "" } });
      out.push({ type: "content_block_delta", index, delta: { type: "thinking_delta", thinking: b.thinking } });
      out.push({ type: "content_block_delta", index, delta: { type: "signature_delta", signature: b.signature } });
    } else if (b.type === "tool_use") {
      out.push({ type: "content_block_start", index, content_block: { type: "tool_use", id: b.id, name: b.name, input: {} } });
      out.push({ type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: JSON.stringify(b.input) } });
    }
    out.push({ type: "content_block_stop", index });
  });
  out.push({ type: "message_delta", delta: { stop_reason: message.stop_reason, stop_sequence: null }, usage: { output_tokens: usage.output_tokens } });
  out.push({ type: "message_stop" });
  return out;
}
