// Pure translation of a chat completion into a response object, through the same builder a stream goes through.
import type { ChatCompletion, ChatCompletionChunk } from "../../openai/schemas.ts";
import { createOutputBuilder, type OutputContext, type OutputResult } from "./output.ts";

/**
 * The completion replayed as the chunks a stream of it would have carried (reasoning, its signed blocks, text, refusal,
 * each tool call whole, the finish, the usage), so a JSON answer and a streamed one build the very same items.
 */
export function completionChunks(c: ChatCompletion): ChatCompletionChunk[] {
  const head = { id: c.id, object: "chat.completion.chunk" as const, created: c.created, model: c.model };
  const out: ChatCompletionChunk[] = [];
  const delta = (d: ChatCompletionChunk["choices"][number]["delta"], finish: ChatCompletionChunk["choices"][number]["finish_reason"] = null) =>
    out.push({ ...head, choices: [{ index: 0, delta: d, finish_reason: finish }] });
  const choice = c.choices.find((x) => x.index === 0) ?? c.choices[0];
  if (choice) {
    const m = choice.message;
    if (m.reasoning_content) delta({ reasoning_content: m.reasoning_content });
    if (m.reasoning_details?.length) delta({ reasoning_details: m.reasoning_details });
    if (m.content) delta({ content: m.content });
    if (m.refusal) delta({ refusal: m.refusal });
    (m.tool_calls ?? []).forEach((tc, index) => delta({ tool_calls: [{ ...tc, index }] }));
    delta({}, choice.finish_reason ?? "stop");
  }
  out.push({ ...head, choices: [], usage: c.usage ?? null });
  return out;
}

export function completionToResponse(c: ChatCompletion, ctx: OutputContext): OutputResult {
  const b = createOutputBuilder(ctx);
  b.start();
  for (const chunk of completionChunks(c)) b.push(chunk);
  return b.end().result;
}
