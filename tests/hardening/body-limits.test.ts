// Hardening 11–12: every oversized body gets the contract's JSON 413 (whatever its size, never read past the limit),
// and a client that leaves during its upload is a 499 at info level, not an unhandled error.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { startGateway, type GatewayHandle } from "../support/gateway.ts";
import { rawHttp, parseRawResponse } from "../support/probe.ts";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore } from "../../src/store/open.ts";
import type { Store } from "../../src/store/store.ts";

const KEY = "sk-test-hardening-body";
const LIMIT = 64 * 1024;
let gw: GatewayHandle;
let port: number;

beforeAll(async () => {
  gw = await startGateway({
    server: { body_limit_bytes: LIMIT },
    providers: { e: { type: "echo" } },
    models: [{ id: "echo", provider: "e" }],
    keys: [{ name: "body", key: KEY }],
  });
  port = Number(new URL(gw.url).port);
});
afterAll(() => gw.stop());

const head = (path: string, length: string) =>
  `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${KEY}\r\nContent-Type: application/json\r\n${length}\r\nConnection: close\r\n\r\n`;

/** Sends headers and `sent` bytes of body, then waits for the answer without sending the rest. */
function partialUpload(path: string, length: string, sent: number): Promise<ReturnType<typeof parseRawResponse>> {
  return rawHttp(port, head(path, length) + '{"model":"echo","messages":[' + " ".repeat(Math.max(0, sent - 28)), 3000);
}

function expect413(r: ReturnType<typeof parseRawResponse>) {
  expect(r.status).toBe(413);
  expect(r.headers["content-type"]).toContain("application/json");
  expect(r.headers["x-request-id"]).toBeDefined();
  const e = (JSON.parse(r.body) as { error: { type: string; code: string } }).error;
  expect(e.type).toBe("invalid_request_error");
  expect(e.code).toBe("request_too_large");
  return r.headers["x-request-id"]!;
}

describe("oversized bodies", () => {
  for (const [what, declared] of [
    ["just over the limit", LIMIT + 1],
    ["over 2 × the limit + 1 MiB (Bun's old cut-off)", 2 * LIMIT + 1024 * 1024 + 1],
    ["5 GB, past Bun's own default maximum", 5 * 1024 ** 3],
  ] as const) {
    test(`declared ${what}: JSON 413 at once, before the body is sent, with a log line`, async () => {
      const t0 = performance.now();
      const r = await partialUpload("/v1/chat/completions", `Content-Length: ${declared}`, 100);
      expect(performance.now() - t0).toBeLessThan(2000);
      const id = expect413(r);
      expect(gw.logs.find((l) => l.request_id === id)?.status).toBe(413);
    });
  }

  test("any route: an unknown path with a huge declared body is a JSON 413 too", async () => {
    expect413(await partialUpload("/v1/whatever", `Content-Length: ${10 * 1024 ** 3}`, 10));
  });

  test("a chunked upload is cut at the limit: JSON 413 while the client is still sending", async () => {
    const r = await new Promise<ReturnType<typeof parseRawResponse>>((resolve, reject) => {
      const s = connect(port, "127.0.0.1");
      const parts: Buffer[] = [];
      let sent = 0;
      let timer: ReturnType<typeof setInterval> | undefined;
      s.on("connect", () => {
        s.write(head("/v1/chat/completions", "Transfer-Encoding: chunked"));
        const piece = "a".repeat(16 * 1024);
        // Keeps sending well past the limit, slowly, until the answer comes.
        timer = setInterval(() => {
          if (sent > 50 * LIMIT) return;
          s.write(`${piece.length.toString(16)}\r\n${piece}\r\n`);
          sent += piece.length;
        }, 5);
      });
      s.on("data", (d: Buffer) => parts.push(d));
      const done = () => {
        clearInterval(timer);
        resolve({ ...parseRawResponse(Buffer.concat(parts).toString()), sent } as never);
      };
      s.on("close", done);
      s.on("error", () => (parts.length ? done() : reject(new Error("no answer"))));
      setTimeout(() => s.destroy(), 4000);
    });
    expect413(r);
    expect((r as unknown as { sent: number }).sent).toBeLessThan(20 * LIMIT);
  });

  test("a body within the limit is served", async () => {
    const body = JSON.stringify({ model: "echo", messages: [{ role: "user", content: "x".repeat(LIMIT - 200) }] });
    const r = await rawHttp(port, head("/v1/chat/completions", `Content-Length: ${Buffer.byteLength(body)}`) + body);
    expect(r.status).toBe(200);
  });
});

describe("a client leaving mid-upload", () => {
  for (const mode of ["Content-Length: 50000", "Transfer-Encoding: chunked"]) {
    test(`${mode.split(":")[0]}: logged as 499 at info level, no unhandled error`, async () => {
      const before = gw.logs.length;
      const s = connect(port, "127.0.0.1");
      await new Promise((r) => s.on("connect", r));
      s.write(head("/v1/chat/completions", mode) + (mode.startsWith("Transfer") ? '10\r\n{"model":"echo",\r\n' : '{"model":"echo","messages":['));
      await Bun.sleep(100);
      s.destroy();
      await Bun.sleep(200);
      const lines = gw.logs.slice(before);
      expect(lines.filter((l) => l.level === "error")).toEqual([]);
      const line = lines.find((l) => l.msg === "request")!;
      expect(line.status).toBe(499);
      expect(line.level).toBe("info");
    });
  }
});

describe("admin bodies get the same limits, and the admin key check runs whatever the Host", () => {
  const ADMIN = "sk-admin-hardening-body";
  let agw: GatewayHandle;
  let store: Store;
  let aport: number;
  beforeAll(async () => {
    store = await openStore(`sqlite://${join(mkdtempSync(join(tmpdir(), "sb-body-")), "s.db")}`);
    agw = await startGateway(
      { server: { body_limit_bytes: LIMIT, admin_key: ADMIN }, providers: { e: { type: "echo" } }, models: [{ id: "echo", provider: "e" }], keys: [{ name: "body", key: KEY }] },
      { store },
    );
    aport = Number(new URL(agw.url).port);
  });
  afterAll(async () => {
    await agw.stop();
    await store.close();
  });
  const adminHead = (method: string, path: string, host: string, extra: string) =>
    `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${ADMIN}\r\nContent-Type: application/json\r\n${extra}Connection: close\r\n\r\n`;

  test("a chunked admin body past the admin limit (1 MiB) is a JSON 413", async () => {
    const piece = `{"name":"${"n".repeat(1024 * 1024)}"}`;
    const r = await rawHttp(aport, adminHead("POST", "/admin/v1/keys", "127.0.0.1", "Transfer-Encoding: chunked\r\n") + `${piece.length.toString(16)}\r\n${piece}\r\n0\r\n\r\n`);
    expect413(r);
  });
  test("an admin body nested past max_json_depth is a 400 before parsing", async () => {
    const body = `{"name":"deep","metadata":${"[".repeat(5000)}${"]".repeat(5000)}}`;
    const r = await rawHttp(aport, adminHead("POST", "/admin/v1/keys", "127.0.0.1", `Content-Length: ${body.length}\r\n`) + body);
    expect(r.status).toBe(400);
    expect(r.body).toContain("deeper than 64");
  });
  test("an admin body that is fine still creates the key", async () => {
    const body = JSON.stringify({ name: "fine" });
    const r = await rawHttp(aport, adminHead("POST", "/admin/v1/keys", "127.0.0.1", `Content-Length: ${body.length}\r\n`) + body);
    expect(r.status).toBe(201);
  });
  for (const host of ["a", "zz", "llm"]) {
    test(`Host '${host}': /admin/v1/keys without the admin key is a 401`, async () => {
      const r = await rawHttp(aport, `GET /admin/v1/keys HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      expect(r.status).toBe(401);
      const ok = await rawHttp(aport, `GET /admin/v1/keys HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${ADMIN}\r\nConnection: close\r\n\r\n`);
      expect(ok.status).toBe(200);
    });
  }
});
