// The provider state a reasoning item stands for: Claude's signed thinking blocks, Gemini's thought signatures.
import type { ReasoningDetail } from "../../openai/schemas.ts";

/**
 * What must reach the provider again, byte for byte, when a reasoning item comes back: kept in the store beside the
 * item, or sealed into its `encrypted_content`. Never shown to the client in the clear.
 */
export interface ReasoningState {
  /** Claude's thinking blocks as chat carries them (`reasoning.text` with its signature, `reasoning.encrypted`). */
  details?: ReasoningDetail[];
  /** Gemini's thought signatures, by the id of the tool call they were issued with. */
  signatures?: Record<string, string>;
}

/**
 * The field under which a stored item keeps its state. Stripped from every item a client sends (a client cannot plant
 * state) and from every item the gateway shows.
 */
export const STATE = "_sb_state";

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** A value opened from a seal or read from the store, checked before use (a bug elsewhere must not reach a provider). */
export function asReasoningState(v: unknown): ReasoningState | undefined {
  if (!isObj(v)) return undefined;
  const out: ReasoningState = {};
  if (Array.isArray(v.details)) {
    const details = v.details.filter((d): d is ReasoningDetail => isObj(d) && (d.type === "reasoning.text" || d.type === "reasoning.encrypted"));
    if (details.length > 0) out.details = details;
  }
  if (isObj(v.signatures)) {
    const sigs = Object.entries(v.signatures).filter((e): e is [string, string] => typeof e[1] === "string");
    if (sigs.length > 0) out.signatures = Object.fromEntries(sigs);
  }
  return out.details || out.signatures ? out : undefined;
}

export const stateOf = (item: object): ReasoningState | undefined => asReasoningState((item as Record<string, unknown>)[STATE]);

export function withState<T extends object>(item: T, state: ReasoningState | undefined): T {
  return state ? { ...item, [STATE]: state } : item;
}

/** The item as a client may see it. */
export function publicItem<T extends object>(item: T): T {
  if (!(STATE in item)) return item;
  const { [STATE]: _, ...rest } = item as Record<string, unknown>;
  return rest as T;
}

export const isEmptyState = (s: ReasoningState): boolean => !s.details?.length && !s.signatures;
