// Sealing: what a client gets cannot be read or forged; the same secret opens it anywhere, another never does.
import { describe, expect, test } from "bun:test";
import { createSealer, SealBroken, SEAL_PREFIX } from "../../../src/protocols/shared/seal.ts";

const SECRET = "a-deployment-secret-of-enough-length-0123456789";
const state = { details: [{ type: "reasoning.text", text: "secret thoughts", signature: "EvQBCkYICxgCKkAx/+==" }], signatures: { call_1: "GEMINI-SIG" } };

describe("sealer", () => {
  test("round trip: the very same value comes back, byte for byte", () => {
    const s = createSealer(SECRET, "responses.reasoning");
    const token = s.seal(state);
    expect(token.startsWith(SEAL_PREFIX)).toBe(true);
    expect(JSON.stringify(s.open(token))).toBe(JSON.stringify(state));
  });

  test("the client cannot read it: no plaintext in the token, a fresh IV every time", () => {
    const s = createSealer(SECRET, "responses.reasoning");
    const a = s.seal(state);
    const b = s.seal(state);
    expect(a).not.toBe(b);
    const raw = Buffer.from(a.slice(SEAL_PREFIX.length), "base64url").toString("latin1");
    for (const secret of ["secret thoughts", "EvQBCkYICxgCKkAx", "GEMINI-SIG"]) expect(raw.includes(secret)).toBe(false);
  });

  test("another instance with the same secret opens it (restarts and every instance of a deployment)", () => {
    const token = createSealer(SECRET, "responses.reasoning").seal(state);
    expect(createSealer(SECRET, "responses.reasoning").open(token)).toEqual(state);
  });

  test("tampered, truncated, or sealed under another secret or purpose: SealBroken", () => {
    const s = createSealer(SECRET, "responses.reasoning");
    const token = s.seal(state);
    const body = Buffer.from(token.slice(SEAL_PREFIX.length), "base64url");
    for (const i of [0, 13, body.length - 1]) {
      const flipped = Buffer.from(body);
      flipped[i]! ^= 1;
      expect(() => s.open(SEAL_PREFIX + flipped.toString("base64url"))).toThrow(SealBroken);
    }
    expect(() => s.open(token.slice(0, 20))).toThrow(SealBroken);
    expect(() => createSealer(`${SECRET}x`, "responses.reasoning").open(token)).toThrow(SealBroken);
    expect(() => createSealer(SECRET, "messages.thinking").open(token)).toThrow(SealBroken);
  });

  test("someone else's encrypted content (OpenAI's) is not the gateway's: undefined, not an error", () => {
    expect(createSealer(SECRET, "responses.reasoning").open("gAAAAABpPDIUph8czEXzDePCV2lJ27wm7Tsb")).toBeUndefined();
  });

  test("a short secret is refused", () => {
    expect(() => createSealer("short", "p")).toThrow();
  });
});
