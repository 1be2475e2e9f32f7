// The gateway the fuzz tests attack: one model per provider kind (and two per cloud), each behind its fake provider.
import { afterAll, beforeAll } from "bun:test";
import { startGateway, type GatewayHandle } from "./gateway.ts";
import { startOpenAIUpstream } from "./openai-upstream.ts";
import { startAnthropicUpstream } from "./anthropic-upstream.ts";
import { startGeminiUpstream } from "./gemini-upstream.ts";
import { startBedrockUpstream } from "./bedrock-upstream.ts";
import { startVertexUpstream } from "./vertex-upstream.ts";

/** The public model ids, one or two per provider kind. */
export const FUZZ_MODELS = ["echo", "gpt", "claude", "gemini", "bedrock-claude", "bedrock-llama", "vertex-gemini", "vertex-claude"] as const;

export interface FuzzTarget {
  readonly gw: GatewayHandle;
  /** Requests each fake provider has received so far: the fuzz must reach every kind, not only the gateway's checks. */
  upstreamCalls(): Record<string, number>;
}

/** The target, started before the file's tests and stopped after them. */
export function fuzzTargetForFile(key: string, adminKey: string): FuzzTarget {
  let t: (FuzzTarget & { stop(): Promise<void> }) | undefined;
  beforeAll(async () => {
    t = await startFuzzTarget(key, adminKey);
  });
  afterAll(async () => {
    await t?.stop();
  });
  const started = () => {
    if (!t) throw new Error("the fuzz target is started in beforeAll: use it from a test");
    return t;
  };
  return {
    get gw() {
      return started().gw;
    },
    upstreamCalls: () => started().upstreamCalls(),
  };
}

async function startFuzzTarget(key: string, adminKey: string): Promise<FuzzTarget & { stop(): Promise<void> }> {
  const [oai, ant, gem, bed, ver] = await Promise.all([startOpenAIUpstream(), startAnthropicUpstream(), startGeminiUpstream(), startBedrockUpstream(), startVertexUpstream()]);
  const gw = await startGateway({
    server: { admin_key: adminKey, body_limit_bytes: 256 * 1024 },
    providers: {
      echo: { type: "echo" },
      oai: { type: "openai", base_url: oai.url, api_key: oai.apiKey },
      ant: { type: "anthropic", base_url: ant.url, api_key: ant.apiKey },
      gem: { type: "gemini", base_url: gem.url, api_key: gem.apiKey },
      bed: { type: "bedrock", region: bed.region, base_url: bed.url, access_key_id: bed.accessKeyId, secret_access_key: bed.secretAccessKey },
      ver: { type: "vertex", project: ver.project, location: "us-east5", base_url: ver.url, credentials_file: ver.account.path },
    },
    models: [
      { id: "echo", provider: "echo" },
      { id: "gpt", provider: "oai", upstream_model: "gpt-4o" },
      { id: "claude", provider: "ant", upstream_model: "claude-sonnet-4-5" },
      { id: "gemini", provider: "gem", upstream_model: "gemini-2.0-flash" },
      { id: "bedrock-claude", provider: "bed", upstream_model: "anthropic.claude-sonnet-4-5-20250929-v1:0" },
      { id: "bedrock-llama", provider: "bed", upstream_model: "meta.llama3-1-70b-instruct-v1:0" },
      { id: "vertex-gemini", provider: "ver", upstream_model: "gemini-2.0-flash" },
      { id: "vertex-claude", provider: "ver", upstream_model: "claude-sonnet-4-5@20250929" },
    ],
    keys: [{ name: "fuzz", key }],
    routing: { cooldown_failures: 1 },
  });
  return {
    gw,
    upstreamCalls: () => ({ openai: oai.calls.length, anthropic: ant.calls.length, gemini: gem.calls.length, bedrock: bed.calls.length, vertex: ver.calls.length }),
    async stop() {
      await gw.stop();
      await Promise.all([oai.stop(), ant.stop(), gem.stop(), bed.stop(), ver.stop()]);
    },
  };
}
