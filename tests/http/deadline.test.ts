// The per-request upstream signal: client abort and deadline both end it; release leaves nothing behind.
import { expect, test } from "bun:test";
import { requestDeadline } from "../../src/http/deadline.ts";

test("the client leaving aborts it with the client's reason", () => {
  const client = new AbortController();
  const d = requestDeadline(client.signal, 60_000);
  expect(d.signal.aborted).toBe(false);
  client.abort(new Error("gone"));
  expect(d.signal.aborted).toBe(true);
  expect((d.signal.reason as Error).message).toBe("gone");
  d.release();
});

test("the deadline aborts it with a TimeoutError, as AbortSignal.timeout would", async () => {
  const d = requestDeadline(new AbortController().signal, 20);
  await Bun.sleep(60);
  expect(d.signal.aborted).toBe(true);
  expect(d.signal.reason).toBeInstanceOf(DOMException);
  expect((d.signal.reason as DOMException).name).toBe("TimeoutError");
});

test("after release neither the timer nor the client can abort it", async () => {
  const client = new AbortController();
  const d = requestDeadline(client.signal, 20);
  d.release();
  client.abort();
  await Bun.sleep(60);
  expect(d.signal.aborted).toBe(false);
});

test("an already-gone client gives an aborted signal at once", () => {
  const client = new AbortController();
  client.abort(new Error("early"));
  const d = requestDeadline(client.signal, 60_000);
  expect(d.signal.aborted).toBe(true);
  d.release();
});
