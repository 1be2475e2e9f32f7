// Saved responses in a real SQLite file and a real PostgreSQL: chains, ownership, references, sealing secret, pruning.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { openStore } from "../../../src/store/open.ts";
import type { Store } from "../../../src/store/store.ts";
import { storesUnderTest } from "../../support/postgres.ts";
import { parseResponsesRequest } from "../../../src/protocols/responses/validate.ts";
import { createOutputBuilder } from "../../../src/protocols/responses/output.ts";
import { lookupResponse, nativeRow, responseRow, restore, SEAL_PURPOSE, startResponsePruner, storedState } from "../../../src/protocols/responses/state.ts";
import { createSealKeys, SEAL_SECRET_NAME } from "../../../src/protocols/shared/seal-keys.ts";
import { newResponseKey } from "../../../src/protocols/responses/ids.ts";
import type { ChatCompletionChunk } from "../../../src/openai/schemas.ts";
import type { Sealer } from "../../../src/protocols/shared/seal.ts";
import { thrown } from "../../support/fixtures.ts";

/** The deployment's reasoning sealer: the configured secret, else the store's. */
const loadSealer = (configured: string | undefined, store: Store) => createSealKeys({ configured, store, fallback: () => "unused-fallback-secret-0123456789" }).sealer(SEAL_PURPOSE);

const { freshUrl } = storesUnderTest("r");


const chunk = (delta: object, finish: string | null = null): ChatCompletionChunk => ({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta, finish_reason: finish }] }) as ChatCompletionChunk;
const SIGNED = [{ type: "reasoning.text" as const, text: "hmm", signature: "SIG/abc+==", format: "anthropic-claude-v1" }];

/** One translated turn, as the route makes it: restore, build the output from chat chunks, save. */
async function turn(store: Store, keyId: string, body: Record<string, unknown>, chunks: ChatCompletionChunk[], sealer: Sealer | null = null) {
  const req = parseResponsesRequest({ model: "claude", ...body });
  const restored = await restore(req, { store, sealer, keyId });
  const include = req.include?.includes("reasoning.encrypted_content");
  const b = createOutputBuilder({ key: newResponseKey(), publicModel: "claude", createdAt: 1, request: req, names: new Map(), summary: false, keepState: req.store !== false, seal: include && sealer ? (s) => sealer.seal(s) : undefined });
  b.start();
  for (const c of chunks) b.push(c);
  const { result } = b.end();
  if (req.store !== false) await store.saveResponse(responseRow(keyId, restored.input, result, Date.now()));
  return { restored, result };
}

for (const kind of ["sqlite", "postgres"] as const) {
  describe(`saved responses (${kind})`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await openStore(await freshUrl(kind));
    });
    afterAll(async () => {
      await store.close();
    });

    test("previous_response_id restores the whole chain, in order, with its reasoning state", async () => {
      const t1 = await turn(store, "key_a", { input: "first" }, [chunk({ reasoning_content: "hmm" }), chunk({ reasoning_details: SIGNED }), chunk({ content: "one" }), chunk({}, "stop")]);
      const t2 = await turn(store, "key_a", { input: "second", previous_response_id: t1.result.response.id }, [chunk({ content: "two" }), chunk({}, "stop")]);
      const t3 = await restore(parseResponsesRequest({ model: "claude", input: "third", previous_response_id: t2.result.response.id }), { store, sealer: null, keyId: "key_a" });
      const texts = t3.items.map(({ item }) => JSON.stringify(item));
      expect(t3.items.map((s) => (s.item as { type?: string }).type)).toEqual(["message", "reasoning", "message", "message", "message", "message"]);
      expect(texts[0]).toContain("first");
      expect(texts[2]).toContain("one");
      expect(texts[3]).toContain("second");
      expect(texts[4]).toContain("two");
      expect(texts[5]).toContain("third");
      expect(storedState(t3.items[1]!.item)).toEqual({ details: SIGNED });
      expect(t3.items.slice(0, 5).every((s) => s.at === "previous_response_id")).toBe(true);
    });

    test("another key's response is unknown: previous_response_not_found, GET finds nothing, DELETE removes nothing", async () => {
      const t1 = await turn(store, "key_a", { input: "mine" }, [chunk({ content: "x" }), chunk({}, "stop")]);
      const id = t1.result.response.id;
      const err = await restore(parseResponsesRequest({ model: "claude", input: "y", previous_response_id: id }), { store, sealer: null, keyId: "key_b" }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ param: "previous_response_id", init: { status: 400, code: "previous_response_not_found" } });
      expect(await lookupResponse(store, id, "key_b")).toBeNull();
      expect(await store.deleteResponse(id, "key_b")).toBe(false);
      const mine = await lookupResponse(store, id, "key_a");
      expect(mine).toMatchObject({ kind: "gateway", response: { id, status: "completed", output: [{ type: "message" }] } });
      expect(JSON.stringify(mine)).not.toContain("_sb_state");
      expect(await store.deleteResponse(id, "key_a")).toBe(true);
      expect(await lookupResponse(store, id, "key_a")).toBeNull();
    });

    test("item_reference and a reasoning item's id resolve from the store (this key's only)", async () => {
      const t1 = await turn(store, "key_a", { input: "q" }, [chunk({ reasoning_details: SIGNED }), chunk({ content: "answer" }), chunk({}, "stop")]);
      const [rs, msg] = t1.result.response.output;
      const body = { input: [{ role: "user", content: "q" }, { type: "reasoning", id: rs!.id, summary: [] }, { type: "item_reference", id: msg!.id }, { role: "user", content: "again" }] };
      const r = await restore(parseResponsesRequest({ model: "claude", ...body }), { store, sealer: null, keyId: "key_a" });
      expect(storedState(r.items[1]!.item)).toEqual({ details: SIGNED });
      expect(r.items[2]!.item).toMatchObject({ type: "message", role: "assistant", content: [{ type: "output_text", text: "answer" }] });
      // Saved as resolved: a later chain never needs the reference again.
      expect(r.input[2]).toMatchObject({ type: "message", id: msg!.id });
      // Another key's: not resolved (a translation then refuses the reference, naming it).
      const foreign = await restore(parseResponsesRequest({ model: "claude", ...body }), { store, sealer: null, keyId: "key_b" });
      expect(foreign.items[2]!.item).toEqual({ type: "item_reference", id: msg!.id });
      expect(storedState(foreign.items[1]!.item)).toBeUndefined();
    });

    test("the sealing secret is made once and shared: every instance opens what another sealed", async () => {
      const url = await freshUrl(kind);
      // Opened one after the other (two SQLite connections migrating at once in one thread would wait on each other).
      const a = await openStore(url);
      const b = await openStore(url);
      try {
        const [sa, sb] = await Promise.all([loadSealer(undefined, a), loadSealer(undefined, b)]);
        expect(sb!.open(sa!.seal({ x: 1 }))).toEqual({ x: 1 });
        expect(await a.sharedSecret(SEAL_SECRET_NAME, () => "other")).toBe(await b.sharedSecret(SEAL_SECRET_NAME, () => "another"));
      } finally {
        await a.close();
        await b.close();
      }
      // A configured secret wins over the store's.
      const configured = await loadSealer("configured-secret-of-at-least-32-characters", store);
      const fromStore = await loadSealer(undefined, store);
      expect(() => fromStore!.open(configured!.seal({ x: 1 }))).toThrow();
    });

    test("encrypted_content: unsealed into state; tampered is a 400 naming it; OpenAI's own is left alone", async () => {
      const sealer = (await loadSealer(undefined, store))!;
      const t1 = await turn(store, "key_a", { input: "q", store: false, include: ["reasoning.encrypted_content"] }, [chunk({ reasoning_details: SIGNED }), chunk({ content: "a" }), chunk({}, "stop")], sealer);
      const rs = t1.result.response.output[0] as { id: string; encrypted_content: string };
      expect(rs.encrypted_content.startsWith("sb1.")).toBe(true);
      expect(rs.encrypted_content).not.toContain("SIG/abc");
      const back = (enc: string) => parseResponsesRequest({ model: "claude", input: [{ role: "user", content: "q" }, { type: "reasoning", id: rs.id, summary: [], encrypted_content: enc }] });
      const r = await restore(back(rs.encrypted_content), { store, sealer, keyId: "key_other" });
      expect(storedState(r.items[1]!.item)).toEqual({ details: SIGNED });
      const tampered = rs.encrypted_content.slice(0, -3) + (rs.encrypted_content.endsWith("A") ? "BBB" : "AAA");
      const err = await restore(back(tampered), { store, sealer, keyId: "key_a" }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ kind: "invalid_request", param: "input[1].encrypted_content" });
      const openai = await restore(back("gAAAAABpPDIUph8czEXz"), { store, sealer, keyId: "key_a" });
      expect(storedState(openai.items[1]!.item)).toBeUndefined();
    });

    test("a provider's response (native passthrough) records its owner and provider; a follow-up is pinned to it", async () => {
      await store.saveResponse(nativeRow("resp_openai123", "key_a", "gpt", "openai-prod", null, Date.now()));
      const r = await restore(parseResponsesRequest({ model: "gpt", input: "x", previous_response_id: "resp_openai123" }), { store, sealer: null, keyId: "key_a" });
      expect(r.pinnedProvider).toBe("openai-prod");
      expect(r.items).toHaveLength(1);
      expect(await lookupResponse(store, "resp_openai123", "key_a")).toEqual({ kind: "provider", provider: "openai-prod", model: "gpt" });
      const foreign = await restore(parseResponsesRequest({ model: "gpt", input: "x", previous_response_id: "resp_openai123" }), { store, sealer: null, keyId: "key_b" }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(foreign).toMatchObject({ param: "previous_response_id" });
    });

    test("pruning removes responses older than the cut, and only those", async () => {
      const old = nativeRow("resp_old", "key_p", "m", "p", null, 1000);
      const fresh = nativeRow("resp_fresh", "key_p", "m", "p", null, Date.now());
      await store.saveResponse(old);
      await store.saveResponse(fresh);
      expect(await store.pruneResponses(Date.now() - 86_400_000)).toBeGreaterThanOrEqual(1);
      expect(await store.getResponse("resp_old", "key_p")).toBeNull();
      expect(await store.getResponse("resp_fresh", "key_p")).not.toBeNull();
    });

    test("the pruner removes what is older than retention_days (read from the running config at each pass)", async () => {
      const days = 30;
      await store.saveResponse(nativeRow("resp_31days", "key_q", "m", "p", null, Date.now() - 31 * 86_400_000));
      await store.saveResponse(nativeRow("resp_29days", "key_q", "m", "p", null, Date.now() - 29 * 86_400_000));
      const errors: unknown[] = [];
      const pruner = startResponsePruner(store, () => days, (e) => errors.push(e));
      try {
        expect(await pruner.run()).toBeGreaterThanOrEqual(1);
      } finally {
        pruner.stop();
      }
      expect(errors).toEqual([]);
      expect(await store.getResponse("resp_31days", "key_q")).toBeNull();
      expect(await store.getResponse("resp_29days", "key_q")).not.toBeNull();
    });

    test("unknown ids: a gateway-looking one and a provider-looking one are both previous_response_not_found", async () => {
      for (const id of ["resp_sb0123456789abcdef0123456789abcdef", "resp_nothere"]) {
        const err = await restore(parseResponsesRequest({ model: "m", input: "x", previous_response_id: id }), { store, sealer: null, keyId: "key_a" }).then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).toMatchObject({ param: "previous_response_id", init: { code: "previous_response_not_found" } });
      }
      expect(thrown(() => parseResponsesRequest({ model: "m", input: "x", previous_response_id: "" })).param).toBe("previous_response_id");
    });
  });
}
