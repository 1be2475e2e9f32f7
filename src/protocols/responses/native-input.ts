// The body a provider that speaks the Responses API gets: the client's own, with the gateway's conversation state spelled out.
import type { ResponsesRequest } from "./schema.ts";
import type { Restored } from "./state.ts";
import { kindOf, type SourcedItem } from "./items.ts";
import { isGatewayResponseId, responseOfItem } from "./ids.ts";
import { publicItem, STATE } from "./reasoning-state.ts";
import { SEAL_PREFIX } from "../shared/seal.ts";

/** Whether an item is the gateway's own making or holds its state: no provider can read it as it is. */
function gatewayItem(item: object): boolean {
  const id = (item as { id?: unknown }).id;
  return STATE in item || (typeof id === "string" && responseOfItem(id) !== undefined);
}

/**
 * An item as a provider sees it: reasoning that only the gateway can read (sealed by it, or another provider's
 * thinking it keeps) is left out; the gateway's item ids are removed (the provider never issued them).
 */
function forProvider(item: SourcedItem["item"]): SourcedItem["item"] | null {
  const kind = kindOf(item);
  if (kind === "reasoning") {
    const enc = (item as { encrypted_content?: unknown }).encrypted_content;
    if (STATE in item || (typeof enc === "string" && enc.startsWith(SEAL_PREFIX))) return null;
    const id = (item as { id?: unknown }).id;
    if (typeof id === "string" && responseOfItem(id)) return null;
    return item;
  }
  if (!gatewayItem(item)) return item;
  const { id: _, ...rest } = publicItem(item) as Record<string, unknown>;
  return rest as SourcedItem["item"];
}

/**
 * The client's body (unknown fields kept) when nothing in it is the gateway's; otherwise the same body with the
 * gateway's part made explicit: a conversation it holds (previous_response_id) inlined into `input`, references to
 * its items replaced by the items, and its sealed reasoning left out.
 */
export function nativeBody(raw: Record<string, unknown>, req: ResponsesRequest, restored: Restored): Record<string, unknown> {
  const prev = req.previous_response_id;
  const inlined = typeof prev === "string" && isGatewayResponseId(prev);
  const touched = inlined || restored.items.some(({ item }) => gatewayItem(item) || (kindOf(item) === "reasoning" && forProvider(item) === null));
  if (!touched) return raw;
  const body: Record<string, unknown> = { ...raw };
  if (inlined) delete body.previous_response_id;
  const items = inlined ? restored.items : restored.items.filter((s) => s.at !== "previous_response_id");
  body.input = items.map(({ item }) => forProvider(item)).filter((i): i is SourcedItem["item"] => i !== null);
  return body;
}
