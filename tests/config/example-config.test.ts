// switchboard.example.yaml is what the README tells users to copy: it must load, and its routing must do what the
// README says (two deployments share the load 3:1, a third model answers when both fail). Fixture upstreams stand in
// for OpenAI, Azure and Anthropic; only their URLs (and the Azure deployment name) are changed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import OpenAI from "openai";
import { loadConfigFile } from "../../src/config/load.ts";
import { startOpenAIUpstream, type OpenAIUpstream } from "../support/openai-upstream.ts";
import { startAzureUpstream, type AzureUpstream } from "../support/azure-upstream.ts";
import { startAnthropicUpstream, type AnthropicUpstream } from "../support/anthropic-upstream.ts";
import { startGateway, type GatewayHandle } from "../support/gateway.ts";

const file = join(import.meta.dir, "../..", "switchboard.example.yaml");
const env = {
  SWITCHBOARD_ADMIN_KEY: "admin-example-1",
  OPENAI_API_KEY: "sk-openai-example",
  AZURE_OPENAI_API_KEY: "azure-example",
  ANTHROPIC_API_KEY: "sk-ant-example",
  GEMINI_API_KEY: "gemini-example",
  TEAM_A_KEY: "sk-team-a-example-1",
};

test("the example config loads with its env variables set", async () => {
  const c = await loadConfigFile(file, env);
  expect(Object.keys(c.providers).sort()).toEqual(["anthropic", "azure-eu", "google", "local", "openai"]);
  expect(c.models.map((m) => m.id)).toEqual(["gpt-4o", "claude-sonnet", "gemini-flash", "echo"]);
  expect(c.keys[0]).toMatchObject({ name: "team-a", key: env.TEAM_A_KEY, rpm: 60 });
});

test("the example config names the variable it misses", async () => {
  const { TEAM_A_KEY: _, ...partial } = env;
  await expect(loadConfigFile(file, partial)).rejects.toThrow(/TEAM_A_KEY/);
});

describe("the example's routing, served", () => {
  let openai: OpenAIUpstream;
  let azure: AzureUpstream;
  let claude: AnthropicUpstream;
  let g: GatewayHandle;
  let client: OpenAI;

  /** The example as data, its providers pointed at the fixtures. */
  const served = (azureDeployment?: string) => {
    const raw = Bun.YAML.parse(readFileSync(file, "utf8")) as {
      providers: Record<string, { base_url?: string }>;
      models: { id: string; targets?: { provider: string; deployment?: string }[] }[];
      keys: { rpm?: number; tpm?: number }[];
    };
    raw.providers.openai!.base_url = openai.url;
    raw.providers["azure-eu"]!.base_url = azure.url;
    raw.providers.anthropic!.base_url = claude.url;
    if (azureDeployment) raw.models[0]!.targets![1]!.deployment = azureDeployment;
    // The example's 60 rpm and 200k tpm would stop this test's 200 requests.
    raw.keys[0]!.rpm = 1000;
    raw.keys[0]!.tpm = 10_000_000;
    return raw;
  };

  beforeAll(async () => {
    [openai, azure, claude] = await Promise.all([startOpenAIUpstream(env.OPENAI_API_KEY), startAzureUpstream(env.AZURE_OPENAI_API_KEY), startAnthropicUpstream({ apiKey: env.ANTHROPIC_API_KEY })]);
    g = await startGateway(served(), {}, env);
    client = new OpenAI({ baseURL: g.baseURL, apiKey: env.TEAM_A_KEY, maxRetries: 0 });
  });
  afterAll(async () => {
    await g.stop();
    await Promise.all([openai.stop(), azure.stop(), claude.stop()]);
  });

  test("gpt-4o is shared about 3:1 between OpenAI and Azure", async () => {
    const seen: Record<string, number> = {};
    for (let i = 0; i < 200; i++) {
      const r = await client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: `hi ${i}` }] }).withResponse();
      const d = r.response.headers.get("x-switchboard-deployment")!;
      seen[d] = (seen[d] ?? 0) + 1;
      expect(r.data.model).toBe("gpt-4o");
    }
    expect(Object.keys(seen).sort()).toEqual(["azure-eu/gpt-4o", "openai/gpt-4o"]);
    // Expected 150; a binomial(200, 0.75) falls outside 120..180 with probability well under one in a million.
    expect(seen["openai/gpt-4o"]!).toBeGreaterThan(120);
    expect(seen["openai/gpt-4o"]!).toBeLessThan(180);
    expect(azure.calls.every((c) => c.deployment === "gpt4o-prod")).toBe(true);
  });

  test("when both deployments fail, claude-sonnet answers in OpenAI format, as gpt-4o", async () => {
    openai.script.push(503, 503, 503);
    // The Azure fixture answers 500 for this deployment name.
    const failing = await startGateway(served("fault-500"), {}, env);
    try {
      const c = new OpenAI({ baseURL: failing.baseURL, apiKey: env.TEAM_A_KEY, maxRetries: 0 });
      const r = await c.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "hello" }] }).withResponse();
      expect(r.response.headers.get("x-switchboard-deployment")).toBe("anthropic/claude-sonnet-4-5");
      expect(r.data.model).toBe("gpt-4o");
      expect(r.data.choices[0]!.message.content).toBeTruthy();
      expect(claude.calls.at(-1)!.body).toMatchObject({ model: "claude-sonnet-4-5", max_tokens: 8192 });
    } finally {
      openai.script.length = 0;
      await failing.stop();
    }
  });

  test("the offline echo model answers the example's key", async () => {
    const r = await client.chat.completions.create({ model: "echo", messages: [{ role: "user", content: "ping" }] });
    expect(r.choices[0]!.message.content).toContain("ping");
  });
});
