// Hardening 1–3: authentication follows the route that runs (short Host headers over raw TCP), undecodable model ids,
// unknown routes and wrong methods.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startOpenAIUpstream, type OpenAIUpstream } from "../support/openai-upstream.ts";
import { startGateway, type GatewayHandle } from "../support/gateway.ts";
import { rawHttp } from "../support/probe.ts";

const KEY = "sk-test-hardening-routing";
let up: OpenAIUpstream;
let gw: GatewayHandle;
let port: number;

beforeAll(async () => {
  up = await startOpenAIUpstream();
  gw = await startGateway({
    server: { admin_key: "sk-admin-hardening-routing" },
    providers: { up: { type: "openai", base_url: up.url, api_key: up.apiKey } },
    models: [{ id: "gpt-4o", provider: "up" }, { id: "org/model", provider: "up" }],
    keys: [{ name: "routing", key: KEY }],
  });
  port = Number(new URL(gw.url).port);
});
afterAll(async () => {
  await gw.stop();
  await up.stop();
});

const get = (path: string, host: string, key?: string) =>
  rawHttp(port, `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${key ? `Authorization: Bearer ${key}\r\n` : ""}Connection: close\r\n\r\n`);
const postRaw = (path: string, host: string, body: string, key?: string) =>
  rawHttp(
    port,
    `POST ${path} HTTP/1.1\r\nHost: ${host}\r\n${key ? `Authorization: Bearer ${key}\r\n` : ""}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
const errorOf = (body: string) => (JSON.parse(body) as { error: { type: string; code: string | null; param: string | null; message: string } }).error;

describe("auth follows the route that actually runs", () => {
  for (const host of ["a", "zz", "llm", "abc:80"]) {
    test(`Host '${host}': a prefixed path is not routed to /v1/models without a key`, async () => {
      const r = await get("/zz/v1/models", host);
      expect(r.status).toBe(404);
      expect(r.body).not.toContain("gpt-4o");
      expect(errorOf(r.body).code).toBeNull();
    });
    test(`Host '${host}': chat without a key is a 401, never a handler without a principal`, async () => {
      const body = JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] });
      for (const path of ["/zz/v1/chat/completions", "/v1/chat/completions"]) {
        const r = await postRaw(path, host, body);
        expect(r.status).toBeOneOf([401, 404]);
        expect(r.status).not.toBe(500);
      }
      expect((await postRaw("/v1/chat/completions", host, body)).status).toBe(401);
    });
    test(`Host '${host}': a valid key reaches /v1/models/{id} and /v1/models`, async () => {
      const one = await get("/v1/models/gpt-4o", host, KEY);
      expect(one.status).toBe(200);
      expect(JSON.parse(one.body).id).toBe("gpt-4o");
      const list = await get("/v1/models", host, KEY);
      expect(list.status).toBe(200);
      expect(JSON.parse(list.body).data.map((m: { id: string }) => m.id)).toEqual(["gpt-4o", "org/model"]);
      expect((await get("/v1/models", host)).status).toBe(401);
    });
  }
  test("the admin route checks the admin key for a short Host too", async () => {
    expect((await get("/health/providers", "x")).status).toBe(401);
    expect((await get("/health/providers", "x", KEY)).status).toBe(401);
    expect((await get("/health/providers", "x", "sk-admin-hardening-routing")).status).toBe(200);
  });
  test("no request reached the provider", () => {
    expect(up.calls.length).toBe(0);
  });
});

describe("model ids that cannot be decoded", () => {
  for (const id of ["%ff", "%", "%zz", "abc%e2%82"]) {
    test(`GET /v1/models/${id} → 404 in the OpenAI shape, no 500`, async () => {
      const r = await get(`/v1/models/${id}`, "127.0.0.1", KEY);
      expect(r.status).toBe(404);
      expect(errorOf(r.body).code).toBe("model_not_found");
    });
  }
  test("ids with an encoded slash still resolve", async () => {
    const r = await get("/v1/models/org%2Fmodel", "127.0.0.1", KEY);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).id).toBe("org/model");
  });
  test("nothing was logged as an unhandled error", () => {
    expect(gw.logs.filter((l) => l.msg === "unhandled error")).toEqual([]);
  });
});

describe("unknown routes and wrong methods", () => {
  test("an unknown route is a 404 whose code is null", async () => {
    const res = await fetch(`${gw.url}/v1/nothing`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(res.status).toBe(404);
    const e = errorOf(await res.text());
    expect(e.type).toBe("invalid_request_error");
    expect(e.code).toBeNull();
  });
  test("GET on chat/completions → 405 with Allow: POST", async () => {
    for (const prefix of ["/v1", "/api/v1"]) {
      const res = await fetch(`${gw.url}${prefix}/chat/completions`, { headers: { authorization: `Bearer ${KEY}` } });
      expect(res.status).toBe(405);
      expect(res.headers.get("allow")).toBe("POST");
      expect(errorOf(await res.text()).type).toBe("invalid_request_error");
    }
  });
  test("POST and DELETE on the model routes → 405 with Allow: GET, HEAD", async () => {
    const a = await fetch(`${gw.url}/v1/models`, { method: "POST", body: "{}" });
    expect(a.status).toBe(405);
    expect(a.headers.get("allow")).toBe("GET, HEAD");
    const b = await fetch(`${gw.url}/v1/models/gpt-4o`, { method: "DELETE" });
    expect(b.status).toBe(405);
    expect(b.headers.get("allow")).toBe("GET, HEAD");
  });
});
