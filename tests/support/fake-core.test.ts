// The fakes' shared core with a toy wire: the call log, aborts, fault names by model, the script and respond, stream breaks.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startFake, text, toolUse, type Call, type Fake, type Message, type Wire } from "./fake-core.ts";

/** A toy wire: JSON `{say}`, one SSE event per block, errors as `{error: {type, message}}`. */
const say = (m: Message) => m.content.map((b) => (b.type === "text" ? b.text : b.type === "tool_use" ? `call ${b.name}` : "")).join(" ");
const wire: Wire = {
  error: (e) => Response.json({ error: { type: e.type ?? `status_${e.status}`, message: e.message ?? "failed" } }, { status: e.status }),
  json: (m) => Response.json({ say: say(m), stop: m.stop_reason ?? "end_turn" }),
  events: (m) => [...m.content.map((b) => ({ block: b.type === "text" ? b.text : b.type })), { done: true }],
  frame: (e) => new TextEncoder().encode(`data: ${JSON.stringify(e)}\n\n`),
  errorEvent: (e) => ({ error: { type: e?.type ?? "overloaded", message: e?.message ?? "mid-stream" } }),
  streamHeaders: { "content-type": "text/event-stream" },
  breakAfter: { reset: 2 },
  faults: { teapot: { kind: "error", status: 418, type: "teapot" }, "per-call": (c) => text(`for ${c.model}`) },
};

let fake: Fake;
beforeAll(async () => {
  fake = await startFake<Call>(async (req, url, kit) => {
    if (url.pathname !== "/ask") return new Response("not found", { status: 404 });
    const body = (await req.json()) as Record<string, unknown>;
    const call = kit.record(req, { body, model: String(body.model) });
    const words = ["one", "two", "three", "four"].map((w) => ({ type: "text" as const, text: w }));
    return kit.answer(req, call, wire, { stream: body.stream === true, headers: { "x-req": String(fake.calls.length) }, answer: () => ({ kind: "message", message: { content: words } }) });
  });
});
afterAll(() => fake.stop());

const ask = (model: string, stream = false, signal?: AbortSignal) =>
  fetch(`${fake.url}/ask?q=1`, { method: "POST", headers: { "content-type": "application/json", "x-test": "yes" }, body: JSON.stringify({ model, stream }), signal });
const said = async (r: Response) => ((await r.json()) as { say: string }).say;
const events = (s: string) => s.split("\n\n").filter(Boolean).map((l) => JSON.parse(l.slice(6)) as Record<string, unknown>);

describe("the call log", () => {
  test("records method, path with query, headers, body and model; an answered call is not aborted", async () => {
    const res = await ask("m1");
    expect(await res.json()).toEqual({ say: "one two three four", stop: "end_turn" });
    expect(res.headers.get("x-req")).toBe(String(fake.calls.length));
    await Bun.sleep(50);
    const call = fake.calls.at(-1)!;
    expect(call).toMatchObject({ method: "POST", path: "/ask?q=1", body: { model: "m1", stream: false }, model: "m1", aborted: false });
    expect(call.headers["x-test"]).toBe("yes");
  });
});

describe("scripted replies", () => {
  test("the script answers the next requests in order, whatever their model: replies, statuses, fault names, ok", async () => {
    fake.reply(text("first"), 503, "ok", toolUse([{ name: "f", input: {} }], "then"));
    expect(await (await ask("m")).json()).toEqual({ say: "first", stop: "end_turn" });
    const failed = await ask("m");
    expect(failed.status).toBe(503);
    expect(await failed.json()).toEqual({ error: { type: "status_503", message: "failed" } });
    expect(failed.headers.get("x-req")).toBe(String(fake.calls.length));
    expect(await said(await ask("m"))).toBe("one two three four");
    expect(await said(await ask("m"))).toBe("then call f");
    expect(fake.script).toEqual([]);
    fake.script.push("no-such-fault");
    expect((await ask("m")).status).toBe(500);
  });

  test("respond answers what the script and the model leave alone; undefined falls back to the fake's own answer", async () => {
    fake.respond = (body) => (body.model === "scripted" ? text("by respond") : undefined);
    try {
      expect(await said(await ask("scripted"))).toBe("by respond");
      expect(await said(await ask("other"))).toBe("one two three four");
      fake.reply(text("queued"));
      expect(await said(await ask("scripted"))).toBe("queued");
    } finally {
      fake.respond = undefined;
    }
  });

  test("delayMs holds every answer", async () => {
    fake.delayMs = 300;
    try {
      const t0 = performance.now();
      await (await ask("m")).json();
      expect(performance.now() - t0).toBeGreaterThan(250);
    } finally {
      fake.delayMs = 0;
    }
  });
});

describe("fault names by model", () => {
  test("fault-<status> is that error, also ending a longer name; a wire's own names come first", async () => {
    expect((await ask("fault-429")).status).toBe(429);
    expect((await ask("claude-fault-500")).status).toBe(500);
    const teapot = await ask("fault-teapot");
    expect(teapot.status).toBe(418);
    expect(((await teapot.json()) as { error: { type: string } }).error.type).toBe("teapot");
    expect(await said(await ask("x-fault-per-call"))).toBe("for x-fault-per-call");
    // Not a fault: a name that merely contains one.
    expect((await ask("fault-slow-b")).status).toBe(200);
  });

  test("fault-hang sends nothing until the client leaves, and the call is marked aborted", async () => {
    const before = fake.aborted;
    const ac = new AbortController();
    const p = ask("fault-hang", false, ac.signal).catch((e: unknown) => e);
    await Bun.sleep(100);
    expect(fake.calls.at(-1)!.aborted).toBe(false);
    ac.abort();
    expect(await p).toBeInstanceOf(Error);
    await fake.waitForAbort(before + 1);
    expect(fake.calls.at(-1)!.aborted).toBe(true);
  });

  test("fault-hang-stream sends headers and the first event, then silence; leaving cancels it", async () => {
    const before = fake.aborted;
    const ac = new AbortController();
    const res = await ask("fault-hang-stream", true, ac.signal);
    const reader = res.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: {"block":"one"}\n\n');
    const next = await Promise.race([reader.read().then(() => "more"), Bun.sleep(300).then(() => "silence")]);
    expect(next).toBe("silence");
    ac.abort();
    await reader.cancel().catch(() => {});
    await fake.waitForAbort(before + 1);
  });

  test("fault-reset breaks the connection after the wire's mid-stream point", async () => {
    const res = await ask("fault-reset", true);
    const reader = res.body!.getReader();
    let got = "";
    const err = await (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return undefined;
        got += new TextDecoder().decode(value);
      }
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(events(got)).toEqual([{ block: "one" }, { block: "two" }]);
  });

  test("fault-cut ends cleanly mid-stream; fault-midstream-error ends with the wire's error event", async () => {
    expect(events(await (await ask("fault-cut", true)).text())).toEqual([{ block: "one" }]);
    expect(events(await (await ask("fault-midstream-error", true)).text())).toEqual([{ block: "one" }, { error: { type: "overloaded", message: "mid-stream" } }]);
    // Faults touch streams only: the JSON answer is whole.
    expect(await said(await ask("fault-cut"))).toBe("one two three four");
  });

  test("fault-slow spaces the events; a scripted reply can pause, cut partway through an event, or be split in bytes", async () => {
    const t0 = performance.now();
    expect(events(await (await ask("fault-slow", true)).text())).toHaveLength(5);
    expect(performance.now() - t0).toBeGreaterThan(500);
    fake.reply({ kind: "events", events: [{ a: 1 }, { b: 2 }], break: { then: "pause", after: 1, ms: 300 } });
    const t1 = performance.now();
    expect(events(await (await ask("m", true)).text())).toEqual([{ a: 1 }, { b: 2 }]);
    expect(performance.now() - t1).toBeGreaterThan(250);
    fake.reply({ kind: "events", events: [{ a: 1 }, { b: 2 }], break: { then: "end", after: 1, partial: 5 } });
    expect(await (await ask("m", true)).text()).toBe('data: {"a":1}\n\ndata:');
    // Split into 3-byte writes (the client may read them coalesced): every byte arrives, in order.
    fake.reply({ kind: "events", events: [{ a: 1 }, { b: 22 }], split: 3 });
    expect(events(await (await ask("m", true)).text())).toEqual([{ a: 1 }, { b: 22 }]);
  });

  test("stop releases requests still hanging", async () => {
    const other = await startFake<Call>((req, _url, kit) => kit.answer(req, kit.record(req, { body: {}, model: "fault-hang" }), wire, { stream: false, answer: () => text("x") }));
    const p = fetch(other.url).then((r) => r.status, () => "failed");
    await Bun.sleep(100);
    await other.stop();
    expect([499, "failed"]).toContain(await p);
  });
});
