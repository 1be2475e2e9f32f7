// Ids of the responses and items the gateway makes: a response's items carry its id, so an item id leads to its response.
import { randomBytes } from "node:crypto";

/**
 * `resp_sb` + 32 hex digits (128 random bits). The `sb` marks a response the gateway holds itself (its items are in
 * the store, so any deployment can continue it); a provider's own ids (OpenAI's `resp_68…`) never start that way.
 */
const RESPONSE = /^resp_sb([0-9a-f]{32})$/;
/** `msg_sb…_3`, `fc_sb…_0`, `rs_sb…_1`: the response's 32 hex digits and the item's position in its output. */
const ITEM = /^([a-z]+)_sb([0-9a-f]{32})_(\d{1,4})$/;

export const newResponseKey = (): string => randomBytes(16).toString("hex");
export const responseId = (key: string): string => `resp_sb${key}`;
export const itemId = (prefix: "msg" | "fc" | "rs", key: string, index: number): string => `${prefix}_sb${key}_${index}`;

/** The random part of one of the gateway's response ids, or undefined for any other id. */
export function responseKeyOf(id: string): string | undefined {
  return RESPONSE.exec(id)?.[1];
}

/** The response id one of the gateway's item ids belongs to, or undefined for any other id. */
export function responseOfItem(id: string): string | undefined {
  const m = ITEM.exec(id);
  return m ? responseId(m[2]!) : undefined;
}

export const isGatewayResponseId = (id: string): boolean => RESPONSE.test(id);
