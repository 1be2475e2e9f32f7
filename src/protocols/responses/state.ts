// Conversation state in the store: restoring history and referenced items, unsealing reasoning, saving and pruning.
import type { Store, StoredResponse } from "../../store/store.ts";
import { GatewayError, invalidRequest } from "../../openai/errors.ts";
import type { InputItem, ResponsesRequest } from "./schema.ts";
import type { OutputItem, ResponseObject } from "./objects.ts";
import type { OutputResult } from "./output.ts";
import type { SourcedItem } from "./items.ts";
import { kindOf } from "./items.ts";
import { isGatewayResponseId, responseOfItem } from "./ids.ts";
import { asReasoningState, publicItem, STATE, withState, type ReasoningState } from "./reasoning-state.ts";
import { SealBroken, SEAL_PREFIX, type Sealer } from "../shared/seal.ts";

/** What a response's seals are made for: tokens sealed for another purpose do not open here. */
export const SEAL_PURPOSE = "responses.reasoning";
/** OpenAI's answer for an id it does not hold (or holds for someone else). */
export const previousResponseNotFound = (id: string) =>
  new GatewayError("upstream_client_error", `Previous response with id '${id}' not found.`, {
    status: 400,
    type: "invalid_request_error",
    code: "previous_response_not_found",
    param: "previous_response_id",
    retryable: false,
  });

/** What the gateway keeps of a response it made (the `body` of its row). */
interface SavedRecord {
  v: 1;
  /** Its own input items (references resolved, reasoning state attached): the turn's part of the conversation. */
  input: InputItem[];
  /** Its output items, reasoning state attached. */
  output: OutputItem[];
  /** The response object without its output. */
  response: Omit<ResponseObject, "output">;
}

function parseRecord(row: StoredResponse): SavedRecord | null {
  if (!row.body) return null;
  const v = JSON.parse(row.body) as SavedRecord;
  return v && v.v === 1 ? v : null;
}

export interface Restored {
  /** What the model sees, in order: the restored conversation, then this request's input. */
  items: SourcedItem[];
  /** This request's input as it is saved: references replaced by their items, reasoning state attached. */
  input: InputItem[];
  /** previous_response_id names a response a provider holds (a native passthrough): only that provider can continue it. */
  pinnedProvider: string | null;
}

export interface StateDeps {
  store: Store | null;
  sealer: Sealer | null;
  keyId: string;
}

/** The client's items, with anything posing as gateway state removed (a client cannot plant provider state). */
export function clientItems(req: ResponsesRequest): InputItem[] {
  if (req.input === undefined) return [];
  if (typeof req.input === "string") return [{ type: "message", role: "user", content: req.input }];
  return req.input.map((it) => (STATE in it ? publicItem(it) : it));
}

/**
 * Restores the conversation for a request: the previous response's chain (this key's only), referenced items, and the
 * provider state of reasoning items (unsealed from encrypted_content, or read from the store by item id).
 */
export async function restore(req: ResponsesRequest, deps: StateDeps): Promise<Restored> {
  const items: SourcedItem[] = [];
  let pinnedProvider: string | null = null;
  const prev = req.previous_response_id;
  if (prev) {
    if (!deps.store) throw previousResponseNotFound(prev);
    if (isGatewayResponseId(prev)) {
      const chain = await deps.store.responseChain(prev, deps.keyId);
      if (chain.length === 0) throw previousResponseNotFound(prev);
      for (const row of chain) {
        const rec = parseRecord(row);
        if (!rec) continue;
        for (const item of [...rec.input, ...rec.output]) items.push({ item: item as InputItem, at: "previous_response_id" });
      }
    } else {
      const row = await deps.store.getResponse(prev, deps.keyId);
      if (!row) throw previousResponseNotFound(prev);
      pinnedProvider = row.provider;
    }
  }
  const records = new Map<string, Promise<SavedRecord | null>>();
  const recordOf = (responseId: string) => {
    let p = records.get(responseId);
    if (!p) records.set(responseId, (p = deps.store ? deps.store.getResponse(responseId, deps.keyId).then((r) => (r ? parseRecord(r) : null)) : Promise.resolve(null)));
    return p;
  };
  const storedItem = async (id: string): Promise<InputItem | undefined> => {
    const owner = responseOfItem(id);
    const rec = owner ? await recordOf(owner) : null;
    return (rec?.output.find((o) => o.id === id) ?? rec?.input.find((i) => (i as { id?: unknown }).id === id)) as InputItem | undefined;
  };

  const input: InputItem[] = [];
  const own = clientItems(req);
  for (let i = 0; i < own.length; i++) {
    const at = `input[${i}]`;
    let item = own[i]!;
    const kind = kindOf(item);
    if (kind === "item_reference") {
      // One the store does not hold stays a reference: a provider that keeps its own items (OpenAI) may know it;
      // a translation refuses it.
      item = (await storedItem(String((item as { id: unknown }).id))) ?? item;
    } else if (kind === "reasoning") {
      item = await hydrateReasoning(item, at, deps, storedItem);
    }
    input.push(item);
    items.push({ item, at });
  }
  return { items, input, pinnedProvider };
}

async function hydrateReasoning(item: InputItem, at: string, deps: StateDeps, storedItem: (id: string) => Promise<InputItem | undefined>): Promise<InputItem> {
  const enc = (item as { encrypted_content?: unknown }).encrypted_content;
  if (typeof enc === "string" && enc.length > 0) {
    if (!enc.startsWith(SEAL_PREFIX)) return item; // another party's (OpenAI's own): passed natively, dropped when translated
    let opened: unknown;
    try {
      if (!deps.sealer) throw new SealBroken();
      opened = deps.sealer.open(enc);
    } catch (err) {
      if (err instanceof SealBroken) throw invalidRequest("The encrypted content of this reasoning item could not be verified: it was altered, or sealed by another deployment.", `${at}.encrypted_content`);
      throw err;
    }
    const state = asReasoningState(opened);
    if (!state) throw invalidRequest("The encrypted content of this reasoning item could not be verified.", `${at}.encrypted_content`);
    return withState(item, state);
  }
  const id = (item as { id?: unknown }).id;
  if (typeof id === "string" && responseOfItem(id)) {
    const found = await storedItem(id);
    const state = found ? asReasoningState((found as Record<string, unknown>)[STATE]) : undefined;
    if (state) return withState(item, state);
  }
  return item;
}

/** The stored form of a response the gateway made: its conversation items with their state. */
export function responseRow(keyId: string, input: InputItem[], result: OutputResult, createdAtMs: number): StoredResponse {
  const { output: _, ...response } = result.response;
  const rec: SavedRecord = { v: 1, input, output: result.stored, response };
  return { id: result.response.id, keyId, model: result.response.model, provider: null, previousId: response.previous_response_id, createdAt: createdAtMs, body: JSON.stringify(rec) };
}

/** A provider's response passed through: only who owns it and which provider holds it (the items stay there). */
export function nativeRow(id: string, keyId: string, model: string, provider: string, previousId: string | null, createdAtMs: number): StoredResponse {
  return { id, keyId, model, provider, previousId, createdAt: createdAtMs, body: null };
}

export type Lookup = { kind: "gateway"; response: ResponseObject } | { kind: "provider"; provider: string; model: string } | null;

/** GET /responses/{id}: the key's own response as the client saw it, or where a provider's is held. */
export async function lookupResponse(store: Store | null, id: string, keyId: string): Promise<Lookup> {
  const row = store ? await store.getResponse(id, keyId) : null;
  if (!row) return null;
  const rec = parseRecord(row);
  if (!rec) return row.provider ? { kind: "provider", provider: row.provider, model: row.model } : null;
  return { kind: "gateway", response: { ...rec.response, output: rec.output.map((o) => publicItem(o)) } as ResponseObject };
}

/** The reasoning state of a stored item, for tests and tools that inspect a record. */
export const storedState = (item: object): ReasoningState | undefined => asReasoningState((item as Record<string, unknown>)[STATE]);

const DAY_MS = 86_400_000;
/** Pruning runs at start and then hourly: responses are kept by day. */
const PRUNE_EVERY_MS = 3_600_000;

export interface Pruner {
  /** One pass now (the first runs at start). */
  run(): Promise<number>;
  stop(): void;
}

/** Deletes saved responses older than `retention_days`, at start and then every hour. */
export function startResponsePruner(store: Store, retentionDays: () => number, onError: (e: unknown) => void, onPruned?: (n: number) => void): Pruner {
  const run = async () => {
    try {
      const n = await store.pruneResponses(Date.now() - retentionDays() * DAY_MS);
      if (n > 0) onPruned?.(n);
      return n;
    } catch (e) {
      onError(e);
      return 0;
    }
  };
  const timer = setInterval(() => void run(), PRUNE_EVERY_MS);
  timer.unref?.();
  return { run, stop: () => clearInterval(timer) };
}
