// Vertex service-account auth: the JWT the fake verifies, one token for many calls, one refresh for concurrent calls, expiry, failures.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { startVertexUpstream, type VertexUpstream } from "../../support/vertex-upstream.ts";
import { post, startGateway, type GatewayHandle } from "../../support/gateway.ts";
import { buildConfig, ConfigError } from "../../../src/config/load.ts";
import { buildProviders } from "../../../src/providers/registry.ts";
import { vertexBase, vertexModelUrl } from "../../../src/providers/vertex/urls.ts";

const KEY = "sk-test-vertex-auth-1";
let up: VertexUpstream;
const open: GatewayHandle[] = [];

beforeAll(async () => {
  up = await startVertexUpstream("auth-project");
});
afterAll(async () => {
  await up?.stop();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((g) => g.stop()));
  up.expiresIn = 3599;
  up.tokenDelayMs = 0;
});

const config = (credentials_file: string, extra: object = {}) => ({
  providers: { vertex: { type: "vertex", project: up.project, location: "global", base_url: up.url, credentials_file, ...extra } },
  models: [{ id: "g", provider: "vertex", upstream_model: "gemini-2.0-flash", max_attempts: 1 }, { id: "c", provider: "vertex", upstream_model: "claude-3-5-haiku@20241022", max_attempts: 1 }],
  keys: [{ name: "a", key: KEY, rpm: 100000 }],
});
async function gateway(credentials = up.account.path) {
  const g = await startGateway(config(credentials), {}, {});
  open.push(g);
  return g;
}
const chat = (g: GatewayHandle, model = "g", id?: string) => post(`${g.baseURL}/chat/completions`, { model, messages: [{ role: "user", content: "hi" }] }, KEY, id ? { "x-request-id": id } : {});

describe("access tokens", () => {
  test("the JWT carries what Google checks: iss, aud = token_uri, the cloud-platform scope, kid, an hour's life", async () => {
    const g = await gateway();
    const before = up.tokenRequests.length;
    expect((await chat(g)).status).toBe(200);
    const claims = up.tokenRequests.at(-1)!;
    expect(up.tokenRequests.length - before).toBe(1);
    expect(claims).toMatchObject({ iss: up.account.json.client_email, aud: `${up.url}/token`, scope: "https://www.googleapis.com/auth/cloud-platform", kid: up.account.json.private_key_id });
    expect((claims.exp as number) - (claims.iat as number)).toBe(3600);
  });

  test("concurrent first calls share one refresh; later calls reuse the token", async () => {
    const g = await gateway();
    up.tokenDelayMs = 300;
    const before = up.tokenRequests.length;
    const calls = up.calls.length;
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => chat(g, i % 2 ? "g" : "c")));
    expect(answers.map((r) => r.status)).toEqual(Array(12).fill(200));
    expect(up.tokenRequests.length - before).toBe(1);
    for (let i = 0; i < 5; i++) expect((await chat(g)).status).toBe(200);
    expect(up.tokenRequests.length - before).toBe(1);
    expect(new Set(up.calls.slice(calls).map((c) => c.token)).size).toBe(1);
  });

  test("a token is refreshed once it is within 5 minutes of expiry", async () => {
    const g = await gateway();
    up.expiresIn = 303; // usable for 3 s before the refresh margin
    const before = up.tokenRequests.length;
    expect((await chat(g)).status).toBe(200);
    expect((await chat(g)).status).toBe(200);
    expect(up.tokenRequests.length - before).toBe(1);
    const first = up.calls.at(-1)!.token;
    await Bun.sleep(3500);
    up.expiresIn = 3599;
    expect((await chat(g)).status).toBe(200);
    expect(up.tokenRequests.length - before).toBe(2);
    expect(up.calls.at(-1)!.token).not.toBe(first);
  });

  test("a token the API refuses (401) is replaced and the call made again", async () => {
    const g = await gateway();
    expect((await chat(g)).status).toBe(200);
    const before = up.tokenRequests.length;
    up.revoke();
    expect((await chat(g)).status).toBe(200);
    expect(up.tokenRequests.length - before).toBe(1);
  });
});

describe("bad credentials → 502 naming no secret", () => {
  test("a key the token endpoint does not trust", async () => {
    const g = await gateway(up.stranger.path);
    for (const model of ["g", "c"]) {
      const res = await chat(g, model, `vertex-bad-${model}`);
      expect(res.status).toBe(502);
      const text = await res.text();
      expect(text).toContain("invalid_grant");
      const log = JSON.stringify(g.logs);
      const keyLines = up.stranger.json.private_key!.split("\n").filter((l) => l.length > 20);
      for (const secret of [...keyLines, up.stranger.json.private_key_id!]) {
        expect(text).not.toContain(secret);
        expect(log).not.toContain(secret);
      }
    }
  });

  test("an unreachable token endpoint", async () => {
    // The same account, its token_uri pointing at a closed port: written to a file of its own.
    const path = `${up.account.path}.closed.json`;
    await Bun.write(path, JSON.stringify({ ...up.account.json, token_uri: "http://127.0.0.1:1/token" }));
    const h = await gateway(path);
    const res = await chat(h);
    expect(res.status).toBe(502);
    expect(await res.text()).toContain("token endpoint");
  });
});

describe("configuration", () => {
  const build = (provider: object, env: Record<string, string> = {}) =>
    buildProviders(buildConfig({ providers: { vertex: { type: "vertex", project: "p", location: "us-east5", ...provider } }, models: [{ id: "m", provider: "vertex" }] }, "test", env));

  test("credentials_file absent: GOOGLE_APPLICATION_CREDENTIALS", () => {
    expect(build({}, { GOOGLE_APPLICATION_CREDENTIALS: up.account.path }).get("vertex")).toBeDefined();
    expect(() => build({})).toThrow(/credentials_file: required/);
  });

  test("an unreadable or wrong file fails at start with the field named, never the key", () => {
    expect(() => build({ credentials_file: "/nonexistent/sa.json" })).toThrow(ConfigError);
    const user = `${up.account.path}.user.json`;
    writeFileSync(user, JSON.stringify({ type: "authorized_user", refresh_token: "r" }));
    expect(() => build({ credentials_file: user })).toThrow(/authorized_user/);
    const broken = `${up.account.path}.broken.json`;
    writeFileSync(broken, JSON.stringify({ ...up.account.json, private_key: "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n" }));
    try {
      build({ credentials_file: broken });
      throw new Error("expected a ConfigError");
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect(String(e)).toContain("providers.vertex.credentials_file");
      expect(String(e)).not.toContain("not a key");
    }
    expect(readFileSync(up.account.path, "utf8")).toContain("PRIVATE KEY");
  });

  test("project and location are required; api_key is refused", () => {
    expect(() => buildConfig({ providers: { v: { type: "vertex", location: "global", credentials_file: up.account.path } }, models: [{ id: "m", provider: "v" }] }, "t", {})).toThrow(/project: required/);
    expect(() => buildConfig({ providers: { v: { type: "vertex", project: "p", credentials_file: up.account.path } }, models: [{ id: "m", provider: "v" }] }, "t", {})).toThrow(/location: required/);
    expect(() => buildConfig({ providers: { v: { type: "vertex", project: "p", location: "global", credentials_file: up.account.path, api_key: "k" } }, models: [{ id: "m", provider: "v" }] }, "t", {})).toThrow(/api_key: not used/);
  });
});

describe("host rules", () => {
  test("the host follows the location; global has none in its name", () => {
    expect(vertexBase("us-east5")).toBe("https://us-east5-aiplatform.googleapis.com/v1");
    expect(vertexBase("europe-west1")).toBe("https://europe-west1-aiplatform.googleapis.com/v1");
    expect(vertexBase("global")).toBe("https://aiplatform.googleapis.com/v1");
    expect(vertexBase("us")).toBe("https://aiplatform.us.rep.googleapis.com/v1");
    expect(vertexBase("global", "https://proxy.example/")).toBe("https://proxy.example/v1");
    expect(vertexBase("global", "https://proxy.example/v1beta1")).toBe("https://proxy.example/v1beta1");
    expect(vertexModelUrl(vertexBase("global"), "my-proj", "global", "anthropic", "claude-sonnet-4-5@20250929", "streamRawPredict")).toBe(
      "https://aiplatform.googleapis.com/v1/projects/my-proj/locations/global/publishers/anthropic/models/claude-sonnet-4-5%4020250929:streamRawPredict",
    );
  });
});
