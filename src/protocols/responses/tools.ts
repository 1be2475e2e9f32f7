// Pure translation of Responses tools and tool_choice into chat tools: namespaces flattened, hosted tools dropped.
import { createHash } from "node:crypto";
import type { ChatTool, ChatToolChoice } from "../../openai/schemas.ts";
import { invalidRequest } from "../../openai/errors.ts";
import type { Warn } from "../../providers/types.ts";
import type { ResponsesRequest, ToolChoiceValue, ToolValue } from "./schema.ts";

/** What a chat tool name stands for in the client's terms: a function, maybe inside a namespace. */
export interface DeclaredName {
  name: string;
  namespace?: string;
}

/** Chat tool name → the name as the client declared it (calls are addressed back that way). */
export type ToolNames = ReadonlyMap<string, DeclaredName>;

const VALID = /^[a-zA-Z0-9_-]{1,64}$/;

/**
 * The one chat name of function `name` in namespace `namespace`: `namespace__name`, or a shortened form with a hash
 * when that is too long. Deterministic, so a call in a restored history maps to the same name as the tool offered now.
 */
export function flatName(namespace: string | null | undefined, name: string): string {
  if (!namespace) return name;
  const joined = `${namespace}__${name}`;
  if (VALID.test(joined)) return joined;
  const hash = createHash("sha256").update(`${namespace}\u0000${name}`).digest("hex").slice(0, 10);
  const head = joined.replace(/[^a-zA-Z0-9_-]/g, "_").slice(0, 64 - hash.length - 1);
  return `${head}_${hash}`;
}

/** The client's name for a chat tool name the model called (an undeclared name comes back as it is). */
export function declaredName(names: ToolNames, chatName: string): DeclaredName {
  return names.get(chatName) ?? { name: chatName };
}

export interface ToolPlan {
  tools?: ChatTool[];
  toolChoice?: ChatToolChoice;
  names: ToolNames;
}

function chatTool(name: string, t: { description?: string | null; parameters?: Record<string, unknown> | null; strict?: boolean | null }): ChatTool {
  const fn: ChatTool["function"] = { name };
  if (t.description) fn.description = t.description;
  // Chat clients may leave parameters out; a Responses client's `null` means the same.
  fn.parameters = t.parameters ?? { type: "object", properties: {} };
  if (t.strict != null) fn.strict = t.strict;
  return { type: "function", function: fn };
}

const toolLabel = (t: { type: string; name?: unknown }) => (typeof t.name === "string" ? `${t.type} '${t.name}'` : t.type);

/**
 * `tools` and `tool_choice` as chat takes them. Function tools and a namespace's functions are offered (the latter
 * flattened to `namespace__name`); hosted tools (web_search, file_search, mcp…) and custom (free-form) tools cannot be
 * run by a translated provider: they are dropped and named in a warning, never refused.
 */
export function planTools(req: ResponsesRequest, warn: Warn): ToolPlan {
  const names = new Map<string, DeclaredName>();
  const tools: ChatTool[] = [];
  const dropped: string[] = [];
  (req.tools ?? []).forEach((t: ToolValue, i) => {
    if (t.type === "function") {
      if (names.has(t.name)) throw invalidRequest(`Invalid 'tools[${i}].name': duplicate tool name '${t.name}'.`, `tools[${i}].name`);
      names.set(t.name, { name: t.name });
      tools.push(chatTool(t.name, t));
    } else if (t.type === "namespace") {
      t.tools.forEach((inner, j) => {
        if (inner.type !== "function") {
          dropped.push(`custom '${t.name}.${inner.name}'`);
          return;
        }
        const flat = flatName(t.name, inner.name);
        if (names.has(flat)) throw invalidRequest(`Invalid 'tools[${i}].tools[${j}].name': duplicate tool name '${inner.name}' in namespace '${t.name}'.`, `tools[${i}].tools[${j}].name`);
        names.set(flat, { name: inner.name, namespace: t.name });
        const described = inner.description ?? t.description;
        tools.push(chatTool(flat, { ...inner, description: described }));
      });
    } else {
      dropped.push(toolLabel(t));
    }
  });
  if (dropped.length > 0) warn(`Tools this provider cannot run were dropped: ${dropped.join(", ")}.`, "tools");
  const plan: ToolPlan = { names };
  if (tools.length > 0) plan.tools = tools;
  const choice = req.tool_choice;
  if (choice === undefined) return plan;
  const mapped = mapChoice(choice, plan, warn);
  if (mapped !== undefined) plan.toolChoice = mapped;
  return plan;
}

function mapChoice(choice: ToolChoiceValue, plan: ToolPlan, warn: Warn): ChatToolChoice | undefined {
  const offered = plan.tools ?? [];
  if (typeof choice === "string") {
    // Chat refuses a tool_choice other than none without tools; with every tool dropped there is nothing to require.
    if (offered.length === 0 && choice !== "none") {
      if (choice === "required") warn("tool_choice 'required' dropped: no tool this provider can run was offered.", "tool_choice");
      return undefined;
    }
    return choice;
  }
  if (choice.type === "function") {
    const name = (choice as { name: string }).name;
    const flat = [...plan.names.entries()].find(([chat, d]) => chat === name || d.name === name)?.[0];
    if (!flat) throw invalidRequest(`Invalid 'tool_choice.name': no function tool named '${name}' in 'tools'.`, "tool_choice.name");
    return { type: "function", function: { name: flat } };
  }
  if (choice.type === "allowed_tools") {
    const allowed = (choice as { tools: { type: string; name?: unknown }[] }).tools
      .filter((t) => t.type === "function" && typeof t.name === "string")
      .map((t) => t.name as string);
    const kept = offered.filter((t) => {
      const d = plan.names.get(t.function.name);
      return allowed.includes(t.function.name) || (d !== undefined && allowed.includes(d.name));
    });
    if (kept.length === 0) {
      warn("tool_choice 'allowed_tools' names no function this provider can run: no tools were offered.", "tool_choice");
      delete plan.tools;
      return undefined;
    }
    plan.tools = kept;
    return (choice as { mode: "auto" | "required" }).mode;
  }
  warn(`tool_choice of type '${choice.type}' dropped: this provider cannot run that tool (the model chooses).`, "tool_choice");
  return offered.length > 0 ? "auto" : undefined;
}
