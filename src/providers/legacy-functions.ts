// Legacy `functions`/`function_call` on translated providers: tools going in, a single `function_call` coming back out.
import type { ChatCompletion, ChatCompletionChunk, ChatMessage, ChatRequest } from "../openai/schemas.ts";
import type { StreamTranslator } from "./types.ts";

/** Whether the request speaks the pre-tools dialect (OpenAI-type providers get it untouched; they answer in kind). */
export const usesLegacyFunctions = (req: ChatRequest): boolean =>
  req.functions !== undefined || req.messages.some((m) => m.role === "function" || m.function_call !== undefined);

/**
 * The same request in tools form: `functions` → `tools`, `function_call` → `tool_choice`, an assistant's
 * `function_call` → one tool call (id `call_legacy_<message index>`), a `function` message → the `tool` message
 * answering the latest call of that name. One call at a time, as the legacy API had it.
 */
export function fromLegacyFunctions(req: ChatRequest): ChatRequest {
  const { functions, function_call, ...rest } = req;
  const out: ChatRequest = { ...rest };
  if (functions) {
    out.tools = functions.map((f) => ({ type: "function" as const, function: f }));
    out.parallel_tool_calls = false;
  }
  if (function_call !== undefined) out.tool_choice = typeof function_call === "object" ? { type: "function", function: { name: function_call.name } } : function_call;
  const callIds = new Map<string, string>();
  out.messages = req.messages.map((m, i): ChatMessage => {
    if (m.role === "assistant" && m.function_call) {
      const { function_call: call, ...msg } = m;
      const id = `call_legacy_${i}`;
      callIds.set(call.name, id);
      return { ...msg, tool_calls: [...(m.tool_calls ?? []), { id, type: "function", function: { name: call.name, arguments: call.arguments } }] };
    }
    if (m.role === "function") {
      const id = callIds.get(m.name ?? "");
      const { name, ...msg } = m;
      // Without a matching call the name stays, for providers that match results by name (Gemini).
      return { ...msg, role: "tool", content: m.content ?? "", tool_call_id: id ?? `call_legacy_${i}`, ...(id ? {} : { name }) };
    }
    return m;
  });
  return out;
}

/** A completion in the legacy form: the first tool call as `function_call`, finish_reason `function_call`. */
export function toLegacyCompletion(c: ChatCompletion): ChatCompletion {
  for (const choice of c.choices) {
    const call = choice.message.tool_calls?.[0];
    if (!call) continue;
    delete choice.message.tool_calls;
    choice.message.function_call = { name: call.function.name, arguments: call.function.arguments };
    if (choice.finish_reason === "tool_calls") choice.finish_reason = "function_call";
  }
  return c;
}

function legacyChunk(chunk: ChatCompletionChunk): ChatCompletionChunk {
  for (const choice of chunk.choices) {
    const calls = choice.delta.tool_calls;
    if (calls) {
      delete choice.delta.tool_calls;
      const first = calls.find((tc) => tc.index === 0);
      if (first?.function) {
        choice.delta.function_call = {
          ...(first.function.name !== undefined ? { name: first.function.name } : {}),
          arguments: first.function.arguments ?? "",
        };
      }
    }
    if (choice.finish_reason === "tool_calls") choice.finish_reason = "function_call";
  }
  return chunk;
}

/** The stream in the legacy form: tool-call deltas of call 0 become `delta.function_call`. */
export function legacyStreamTranslator<E>(inner: StreamTranslator<E>): StreamTranslator<E> {
  return {
    push: (e) => inner.push(e).map(legacyChunk),
    end: () => inner.end().map(legacyChunk),
  };
}
