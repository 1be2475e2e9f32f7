// Claude's turns, on Anthropic's API and on Bedrock's Converse alike: user and assistant must alternate.

export interface Turn<B> {
  role: "user" | "assistant";
  content: B[];
}

/** Appends blocks as a turn, merged into the last one when it has the same role; an empty turn is left out. */
export function appendTurn<B>(turns: Turn<B>[], role: Turn<B>["role"], blocks: B[]): void {
  if (blocks.length === 0) return;
  const last = turns[turns.length - 1];
  if (last && last.role === role) last.content.push(...blocks);
  else turns.push({ role, content: blocks });
}
