// The admin API under bad input and a failing store: days that do not exist, CSV formula cells, control characters, store outages.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { openStore } from "../../src/store/open.ts";
import type { Store } from "../../src/store/store.ts";
import { csvCell } from "../../src/control/admin/usage.ts";
import { startGateway, post, type GatewayHandle } from "../support/gateway.ts";
import { startPostgres, type PostgresServer } from "../support/postgres.ts";

const ADMIN = "sk-admin-hardening-0123456789";
const KEY = "sk-hardening-key-0001";

let pg: PostgresServer;
let store: Store;
let g: GatewayHandle;
beforeAll(async () => {
  pg = await startPostgres();
  store = await openStore(await pg.createDatabase("hard"));
  g = await startGateway({ server: { admin_key: ADMIN }, providers: { e: { type: "echo" } }, models: [{ id: "echo", provider: "e" }], keys: [{ name: "h", key: KEY }] }, { store });
}, 60_000);
afterAll(async () => {
  await g?.stop();
  await store?.close().catch(() => {});
  await pg?.stop();
});

const admin = async (method: string, path: string, body?: unknown) => {
  const r = await fetch(g.url + path, { method, headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let json: { error?: { message: string; type: string; param: string | null; code: string | null } } = {};
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: r.status, json, text, headers: r.headers };
};

describe("query parameters", () => {
  test("a day that does not exist is a 400 naming the parameter, not a 500", async () => {
    for (const [q, param] of [["from=2026-13-01", "from"], ["to=2026-02-30", "to"], ["from=2026-00-10", "from"], ["to=9999-99-99", "to"]] as const) {
      const r = await admin("GET", `/admin/v1/usage?${q}`);
      expect(r.status).toBe(400);
      expect(r.json.error).toMatchObject({ type: "invalid_request_error", param });
      expect(r.json.error!.message).toContain(`'${param}'`);
    }
    expect((await admin("GET", "/admin/v1/usage?from=2024-02-29&to=2024-03-01")).status).toBe(200);
  });
});

describe("CSV export", () => {
  test("the contract's rule: leading = + - @ tab CR defused with ', and , ; \" or a line break quoted", () => {
    expect(csvCell("x;=cmd|' /C calc'!A0")).toBe(`"x;=cmd|' /C calc'!A0"`);
    expect(csvCell("=1+1")).toBe("'=1+1");
    expect(csvCell("@SUM(A1)")).toBe("'@SUM(A1)");
    expect(csvCell("\tx")).toBe("'\tx");
    expect(csvCell("\rx")).toBe(`"'\rx"`);
    expect(csvCell("-2;x")).toBe(`"'-2;x"`);
    expect(csvCell('a"b')).toBe(`"a""b"`);
    expect(csvCell("a,b")).toBe(`"a,b"`);
    expect(csvCell("a\nb")).toBe(`"a\nb"`);
    expect(csvCell("plain")).toBe("plain");
    // Numbers are numbers: a negative count is not text to defuse.
    expect(csvCell(-1)).toBe("-1");
  });

  test("a model id chosen by a client with ; and a formula comes out quoted, whatever delimiter a spreadsheet splits on", async () => {
    const model = "x;=cmd|' /C calc'!A0";
    expect((await post(`${g.baseURL}/chat/completions`, { model, messages: [{ role: "user", content: "hi" }] }, KEY)).status).toBe(404);
    await g.gateway.control!.writer.flush();
    const r = await admin("GET", "/admin/v1/usage/events?format=csv");
    expect(r.status).toBe(200);
    const row = r.text.split("\r\n").find((l) => l.includes("calc"))!;
    expect(row).toContain(`"x;=cmd|' /C calc'!A0"`);
    // Split on ';' (outside quotes) no cell begins with '='.
    const cells: string[] = [];
    let cur = "";
    let quoted = false;
    for (const ch of row) {
      if (ch === '"') quoted = !quoted;
      if (ch === ";" && !quoted) (cells.push(cur), (cur = ""));
      else cur += ch;
    }
    cells.push(cur);
    expect(cells.some((c) => /^[=+\-@]/.test(c))).toBe(false);
  });
});

describe("bodies", () => {
  test("a key name with NUL or another control character is a 400 naming `name` (PostgreSQL cannot store NUL)", async () => {
    for (const name of ["a\u0000b", "line\nbreak", "bell\u0007"]) {
      const r = await admin("POST", "/admin/v1/keys", { name });
      expect(r.status).toBe(400);
      expect(r.json.error?.param).toBe("name");
    }
  });
});

describe("the store down", () => {
  test("admin routes answer 503 naming the store, not 500 'internal error'; back: 200", async () => {
    await pg.kill();
    try {
      for (const [m, p, b] of [["GET", "/admin/v1/keys", undefined], ["POST", "/admin/v1/keys", { name: "while-down" }], ["GET", "/admin/v1/usage", undefined], ["GET", "/admin/v1/usage/events", undefined], ["GET", "/admin/v1/audit", undefined]] as const) {
        const r = await admin(m, p, b);
        expect(r.status).toBe(503);
        expect(r.json.error).toMatchObject({ type: "server_error", code: "store_unavailable" });
        expect(r.json.error!.message).toContain("PostgreSQL");
        expect(r.json.error!.message).not.toContain("127.0.0.1");
        expect(r.headers.get("retry-after")).toBe("1");
      }
      expect(g.logs.some((l) => l.msg === "unhandled error")).toBe(false);
    } finally {
      await pg.start();
    }
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      status = (await admin("GET", "/admin/v1/keys")).status;
      if (status !== 200) await Bun.sleep(100);
    }
    expect(status).toBe(200);
  }, 30_000);
});
