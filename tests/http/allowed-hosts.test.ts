// DNS rebinding: the built-in default config answers only loopback Host names; server.allowed_hosts sets the list for any config.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { buildConfig, ConfigError, defaultConfig } from "../../src/config/load.ts";
import { createApp, type Gateway } from "../../src/entry/app.ts";
import { createMemoryLogger } from "../../src/observability/log.ts";
import { openStore } from "../../src/store/open.ts";
import type { Store } from "../../src/store/store.ts";
import { startGateway, type GatewayHandle } from "../support/gateway.ts";

/** A raw HTTP/1.1 request with exactly the Host header given (fetch would send the URL's). */
async function withHost(port: number, host: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; body: string }> {
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("");
  const req = `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n${extra}${body !== undefined ? `Content-Length: ${Buffer.byteLength(body)}\r\n` : ""}\r\n${body ?? ""}`;
  let data = "";
  await new Promise<void>((resolve, reject) => {
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open(s) {
          s.write(req);
        },
        data(_s, chunk) {
          data += new TextDecoder().decode(chunk);
        },
        close() {
          resolve();
        },
        error(_s, e) {
          reject(e);
        },
      },
    }).catch(reject);
  });
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0);
  return { status, body: data.slice(data.indexOf("\r\n\r\n") + 4) };
}

describe("the built-in default config", () => {
  let gw: Gateway;
  let store: Store;
  let port: number;
  const env = { SWITCHBOARD_KEY: "sk-default-public-0001", SWITCHBOARD_ADMIN_KEY: "sk-default-admin-0001" };
  beforeAll(async () => {
    store = await openStore("sqlite://:memory:");
    gw = createApp(defaultConfig(env), { logger: createMemoryLogger(), store });
    await gw.ready;
    gw.listen("127.0.0.1", 0);
    port = gw.app.server!.port!;
  });
  afterAll(async () => {
    await gw.app.stop(true);
    await gw.close();
    await store.close();
  });

  test("a page's own name as Host (DNS rebinding) is refused on every route with a 403 naming it: chat, the admin API, the dashboard sign-in", async () => {
    for (const host of ["evil.example", "evil.example:8080", "localhost.evil.example", "127.0.0.1.nip.io", "attacker"]) {
      const chat = await withHost(port, host, "POST", "/v1/chat/completions", { authorization: `Bearer ${env.SWITCHBOARD_KEY}`, "content-type": "application/json" }, JSON.stringify({ model: "echo", messages: [{ role: "user", content: "hi" }] }));
      expect(chat.status).toBe(403);
      const err = JSON.parse(chat.body) as { error: { code: string; type: string; message: string } };
      expect(err.error).toMatchObject({ code: "host_not_allowed", type: "permission_error" });
      expect(err.error.message).toContain("server.allowed_hosts");
      expect((await withHost(port, host, "GET", "/admin/v1/keys", { authorization: `Bearer ${env.SWITCHBOARD_ADMIN_KEY}` })).status).toBe(403);
      expect((await withHost(port, host, "POST", "/ui/session", { origin: `http://${host}`, "content-type": "application/json" }, JSON.stringify({ admin_key: env.SWITCHBOARD_ADMIN_KEY }))).status).toBe(403);
      expect((await withHost(port, host, "GET", "/ui")).status).toBe(403);
    }
  });

  test("loopback names answer, with any port and in any case", async () => {
    for (const host of ["localhost", `localhost:${port}`, "LOCALHOST:1", "127.0.0.1", `127.0.0.1:${port}`, "[::1]", `[::1]:${port}`, "localhost."]) {
      const r = await withHost(port, host, "GET", "/v1/models", { authorization: `Bearer ${env.SWITCHBOARD_KEY}` });
      expect(r.status).toBe(200);
    }
  });

  test("a garbage Host is a clear 403 (or the server's own 400), never a crash", async () => {
    for (const host of ["", "a b", "[::1", "x".repeat(300)]) {
      const r = await withHost(port, host, "GET", "/health");
      expect([400, 403]).toContain(r.status);
    }
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
  });
});

describe("server.allowed_hosts in a config file", () => {
  let g: GatewayHandle;
  beforeAll(async () => {
    g = await startGateway({ server: { allowed_hosts: ["gw.example.com", "*.internal.example", "10.0.0.5:8080"] }, providers: { e: { type: "echo" } }, models: [{ id: "echo", provider: "e" }] });
  });
  afterAll(() => g?.stop());
  const port = () => Number(new URL(g.url).port);

  test("exactly the listed names answer: any port unless one is given; *. matches subdomains only", async () => {
    const cases: [string, number][] = [
      ["gw.example.com", 200],
      ["gw.example.com:443", 200],
      ["GW.Example.com", 200],
      ["a.internal.example", 200],
      ["b.a.internal.example:9", 200],
      ["internal.example", 403],
      ["10.0.0.5:8080", 200],
      ["10.0.0.5:8081", 403],
      ["10.0.0.5", 403],
      // Not listed: loopback is not implied once a list is set.
      ["127.0.0.1", 403],
      ["evil.example", 403],
    ];
    for (const [host, status] of cases) expect([host, (await withHost(port(), host, "GET", "/v1/models")).status]).toEqual([host, status]);
  });

  test("a config without the list answers any Host (as before)", async () => {
    const open = await startGateway({ providers: { e: { type: "echo" } }, models: [{ id: "echo", provider: "e" }] });
    try {
      expect((await withHost(Number(new URL(open.url).port), "anything.example", "GET", "/v1/models")).status).toBe(200);
    } finally {
      await open.stop();
    }
  });

  test("an invalid entry is a start-up error naming the field", () => {
    expect(() => buildConfig({ server: { allowed_hosts: ["bad host!"] }, providers: { e: { type: "echo" } }, models: [{ id: "echo", provider: "e" }] }, "test", {})).toThrow(ConfigError);
    expect(() => buildConfig({ server: { allowed_hosts: ["bad host!"] }, providers: { e: { type: "echo" } }, models: [{ id: "echo", provider: "e" }] }, "test", {})).toThrow(/server\.allowed_hosts/);
  });
});
