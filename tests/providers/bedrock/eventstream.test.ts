// The gateway's event-stream decoder against AWS's own codec (@smithy/eventstream-codec): every header type, split frames, CRC failures.
import { describe, expect, test } from "bun:test";
import { EventStreamCodec, Int64 } from "@smithy/eventstream-codec";
import type { Message } from "@smithy/types";
import { createFrameDecoder, eventStreamMessages, type EventMessage } from "../../../src/providers/bedrock/eventstream.ts";
import { GatewayError } from "../../../src/openai/errors.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const codec = new EventStreamCodec((b) => dec.decode(b), (s) => enc.encode(s));

const messages: Message[] = [
  {
    headers: { ":event-type": { type: "string", value: "contentBlockDelta" }, ":content-type": { type: "string", value: "application/json" }, ":message-type": { type: "string", value: "event" } },
    body: enc.encode(JSON.stringify({ contentBlockIndex: 0, delta: { text: "Grüße ✓ — 日本" }, p: "abc" })),
  },
  {
    headers: {
      yes: { type: "boolean", value: true },
      no: { type: "boolean", value: false },
      byte: { type: "byte", value: -7 },
      short: { type: "short", value: -30000 },
      int: { type: "integer", value: 2_000_000_000 },
      long: { type: "long", value: Int64.fromNumber(-5_000_000_000) },
      bin: { type: "binary", value: new Uint8Array([0, 1, 254, 255]) },
      when: { type: "timestamp", value: new Date(Date.UTC(2025, 11, 5, 9, 30)) },
      id: { type: "uuid", value: "a0b1c2d3-e4f5-4607-8819-2a3b4c5d6e7f" },
    },
    body: new Uint8Array(0),
  },
  { headers: { ":exception-type": { type: "string", value: "throttlingException" }, ":message-type": { type: "string", value: "exception" } }, body: enc.encode('{"message":"slow down"}') },
];
const frames = messages.map((m) => codec.encode(m));
const all = Uint8Array.from(frames.flatMap((f) => [...f]));

function expectSame(got: EventMessage[]) {
  expect(got.length).toBe(messages.length);
  // What AWS's codec decodes from the same bytes, header by header.
  got.forEach((g, i) => {
    const ref = codec.decode(frames[i]!);
    expect(dec.decode(g.payload)).toBe(dec.decode(ref.body));
    expect(Object.keys(g.headers).sort()).toEqual(Object.keys(ref.headers).sort());
    for (const [name, h] of Object.entries(ref.headers)) {
      const v = g.headers[name];
      if (h.type === "long") expect(v).toBe(BigInt(h.value.toString()));
      else if (h.type === "uuid") expect(Buffer.from(v as Uint8Array).toString("hex")).toBe(h.value.replace(/-/g, ""));
      else if (h.type === "timestamp") expect((v as Date).getTime()).toBe(h.value.getTime());
      else if (h.type === "binary") expect([...(v as Uint8Array)]).toEqual([...h.value]);
      else expect(v).toBe(h.value);
    }
  });
}

describe("event-stream decoder", () => {
  test("whole frames decode as AWS's codec decodes them", () => {
    expectSame(createFrameDecoder().push(all));
  });

  test("every split point: a frame cut anywhere across chunks is reassembled", () => {
    for (let cut = 1; cut < all.length; cut++) {
      const d = createFrameDecoder();
      const got = [...d.push(all.slice(0, cut)), ...d.push(all.slice(cut))];
      expectSame(got);
      expect(d.pending()).toBe(0);
    }
  });

  test("one byte at a time", () => {
    const d = createFrameDecoder();
    const got: EventMessage[] = [];
    for (const b of all) got.push(...d.push(Uint8Array.of(b)));
    expectSame(got);
  });

  test("a wrong message CRC is refused", () => {
    const bad = frames[0]!.slice();
    bad[bad.length - 1]! ^= 0x01;
    expect(() => createFrameDecoder().push(bad)).toThrow(/message checksum/);
    // AWS's codec refuses the same bytes: the fixture is truly corrupt.
    expect(() => codec.decode(bad)).toThrow();
  });

  test("a wrong prelude CRC is refused before the length is trusted", () => {
    const bad = frames[0]!.slice();
    bad[3]! ^= 0x40; // total length changed: the prelude CRC no longer matches
    const d = createFrameDecoder();
    expect(() => d.push(bad.slice(0, 12))).toThrow(/prelude checksum/);
    expect(() => codec.decode(bad)).toThrow();
  });

  test("a corrupt payload byte fails the message CRC", () => {
    const bad = frames[0]!.slice();
    bad[bad.length - 10]! ^= 0x20;
    try {
      createFrameDecoder().push(bad);
      throw new Error("expected a failure");
    } catch (e) {
      expect(e).toBeInstanceOf(GatewayError);
      expect((e as GatewayError).kind).toBe("upstream_failed");
    }
  });

  test("a frame larger than the cap is refused from its prelude", () => {
    expect(() => createFrameDecoder(64).push(frames[0]!)).toThrow(/more than the 64 accepted/);
  });

  test("a body cut inside a frame is an error, not a silent end", async () => {
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(frames[0]!);
        c.enqueue(frames[1]!.slice(0, 20));
        c.close();
      },
    });
    const got: EventMessage[] = [];
    let err: unknown;
    try {
      for await (const m of eventStreamMessages(body)) got.push(m);
    } catch (e) {
      err = e;
    }
    expect(got.length).toBe(1);
    expect(String(err)).toContain("broke off inside a frame");
  });
});

test("frames before a corrupt one in the same chunk are delivered, then the failure", () => {
  const bad = frames[1]!.slice();
  bad[bad.length - 1]! ^= 0x01;
  const d = createFrameDecoder();
  const got = d.push(Uint8Array.from([...frames[0]!, ...bad]));
  expect(got.length).toBe(1);
  expect(() => d.check()).toThrow(/message checksum/);
  expect(() => d.push(frames[2]!)).toThrow(/message checksum/);
});
