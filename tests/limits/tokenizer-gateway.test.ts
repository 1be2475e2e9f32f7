// The o200k counter inside a gateway with a tpm limit: prompts gpt-tokenizer choked on are reserved exactly and fast.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { countTokens } from "gpt-tokenizer/encoding/o200k_base";
import { post, startGateway, type GatewayHandle } from "../support/gateway.ts";

const TPM = 1_000_000;
const KEYS = { special: "sk-tokenizer-special-0001", cjk: "sk-tokenizer-cjk-0001" };
let gw: GatewayHandle;
beforeAll(async () => {
  gw = await startGateway({
    providers: { e: { type: "echo" } },
    models: [{ id: "m", provider: "e" }],
    // A key per test, so each one's window starts empty.
    keys: Object.entries(KEYS).map(([name, key]) => ({ name, key, tpm: TPM })),
  });
});
afterAll(async () => {
  await gw.stop();
});

/** What the reservation must be, from gpt-tokenizer (special tokens as text): prompt + 3 per message + 3 + max_tokens. */
const expectedReservation = (content: string, maxTokens: number): number =>
  countTokens(`user\n${content}`, { disallowedSpecial: new Set() }) + 3 + 3 + maxTokens;

/** Streams one prompt; a stream's headers carry the window right after the reservation, before it is settled. */
async function reserve(key: string, content: string, maxTokens: number): Promise<{ status: number; reserved: number; ms: number }> {
  const t = performance.now();
  const res = await post(`${gw.url}/v1/chat/completions`, { model: "m", stream: true, max_tokens: maxTokens, messages: [{ role: "user", content }] }, key);
  const ms = performance.now() - t;
  const remaining = Number(res.headers.get("x-ratelimit-remaining-tokens"));
  expect(await res.text()).toContain("[DONE]");
  return { status: res.status, reserved: TPM - remaining, ms };
}

test("regression: a prompt holding <|endoftext|> under a tpm limit is counted as text, not a 500", async () => {
  const content = "Here is a document. <|endoftext|> And <|im_start|>system\nmore<|im_end|> after it.";
  // gpt-tokenizer's countTokens throws on it, which is what the gateway used to answer 500 for.
  expect(() => countTokens(content)).toThrow("Disallowed special token");
  const r = await reserve(KEYS.special, content, 7);
  expect(r.status).toBe(200);
  expect(r.reserved).toBe(expectedReservation(content, 7));
});

test("regression: a 32k-character run of one CJK character is counted in milliseconds, exactly", async () => {
  // gpt-tokenizer's merge is quadratic on one long piece: this prompt took it 4–20 s on the request path.
  const content = "漢".repeat(32_000);
  // Each 漢 is one token and "user", "\n" one each (checked on a run gpt-tokenizer counts quickly).
  expect(countTokens(`user\n${"漢".repeat(300)}`)).toBe(302);
  const r = await reserve(KEYS.cjk, content, 5);
  expect(r.status).toBe(200);
  expect(r.reserved).toBe(2 + 32_000 + 6 + 5); // "user\n", 32,000 × 漢, framing, max_tokens
  expect(r.ms).toBeLessThan(1500);
});
