// Bedrock's configuration (credentials from the config or the AWS_* environment, region) and a client leaving mid-stream.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { buildConfig, ConfigError } from "../../../src/config/load.ts";
import { startBedrockUpstream, type BedrockUpstream } from "../../support/bedrock-upstream.ts";
import { startGateway, type GatewayHandle } from "../../support/gateway.ts";
import { eventually } from "../../support/wait.ts";

const build = (provider: object, env: Record<string, string> = {}) =>
  buildConfig({ providers: { b: { type: "bedrock", ...provider } }, models: [{ id: "m", provider: "b", upstream_model: "x" }] }, "test", env).providers.b!;

describe("configuration", () => {
  test("credentials from the config win; else AWS_BEARER_TOKEN_BEDROCK; else the AWS_* key pair with its session token", () => {
    expect(build({ region: "us-east-1", access_key_id: "AKIA1", secret_access_key: "s" }, { AWS_ACCESS_KEY_ID: "AKIA2", AWS_SECRET_ACCESS_KEY: "t" })).toMatchObject({ access_key_id: "AKIA1", secret_access_key: "s" });
    expect(build({ region: "us-east-1" }, { AWS_BEARER_TOKEN_BEDROCK: "ABSK-env", AWS_ACCESS_KEY_ID: "AKIA2", AWS_SECRET_ACCESS_KEY: "t" })).toMatchObject({ api_key: "ABSK-env" });
    expect(build({ region: "us-east-1" }, { AWS_ACCESS_KEY_ID: "ASIA3", AWS_SECRET_ACCESS_KEY: "u", AWS_SESSION_TOKEN: "tok" })).toMatchObject({ access_key_id: "ASIA3", secret_access_key: "u", session_token: "tok" });
  });

  test("region from the config, else AWS_REGION / AWS_DEFAULT_REGION; required", () => {
    expect(build({ api_key: "k" }, { AWS_REGION: "eu-west-3" }).region).toBe("eu-west-3");
    expect(build({ api_key: "k" }, { AWS_DEFAULT_REGION: "ap-south-1" }).region).toBe("ap-south-1");
    expect(() => build({ api_key: "k" })).toThrow(/region: required/);
  });

  test("missing or half credentials fail at start, naming the fields", () => {
    expect(() => build({ region: "us-east-1" })).toThrow(ConfigError);
    expect(() => build({ region: "us-east-1" })).toThrow(/no AWS credentials/);
    expect(() => build({ region: "us-east-1", access_key_id: "AKIA1" })).toThrow(/go together/);
    expect(() => build({ region: "us-east-1", api_key: "k", access_key_id: "AKIA1", secret_access_key: "s" })).toThrow(/not both/);
    expect(() => build({ region: "us-east-1", api_key: "k", session_token: "t" })).toThrow(/session_token/);
  });

  test("cloud fields on another provider type are refused", () => {
    expect(() => buildConfig({ providers: { o: { type: "openai", api_key: "k", region: "us-east-1" } }, models: [{ id: "m", provider: "o" }] }, "t", {})).toThrow(/region: only used by type bedrock/);
  });
});

describe("a client leaving mid-stream", () => {
  let up: BedrockUpstream;
  let gw: GatewayHandle;
  beforeAll(async () => {
    up = await startBedrockUpstream();
    gw = await startGateway(
      {
        providers: { b: { type: "bedrock", region: up.region, base_url: up.url, access_key_id: up.accessKeyId, secret_access_key: up.secretAccessKey } },
        models: [{ id: "hang", provider: "b", upstream_model: "fault-hang-stream", max_attempts: 1 }],
        keys: [{ name: "k", key: "sk-test-bedrock-abort" }],
      },
      {},
      {},
    );
  });
  afterAll(async () => {
    await gw?.stop();
    await up?.stop();
  });

  test("aborts the Bedrock call", async () => {
    const ctrl = new AbortController();
    const res = await fetch(`${gw.baseURL}/chat/completions`, {
      method: "POST",
      headers: { authorization: "Bearer sk-test-bedrock-abort", "content-type": "application/json" },
      body: JSON.stringify({ model: "hang", stream: true, messages: [{ role: "user", content: "go" }] }),
      signal: ctrl.signal,
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain('"role":"assistant"');
    const call = up.calls.at(-1)!;
    expect(call.aborted).toBe(false);
    ctrl.abort();
    expect(await eventually(() => call.aborted, Boolean, 5000)).toBe(true);
  });
});
