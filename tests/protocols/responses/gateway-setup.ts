// One real gateway with a store and fake OpenAI, Anthropic and Gemini providers behind it, for the Responses client tests.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore } from "../../../src/store/open.ts";
import type { Store } from "../../../src/store/store.ts";
import { startGateway, type GatewayHandle } from "../../support/gateway.ts";
import { startOpenAIUpstream, type OpenAIUpstream } from "../../support/openai-upstream.ts";
import { startAnthropicUpstream, type AnthropicUpstream } from "../../support/anthropic-upstream.ts";
import { startGeminiUpstream, type GeminiUpstream } from "../../support/gemini-upstream.ts";

export const KEY_A = "sk-responses-team-a-0001";
export const KEY_B = "sk-responses-team-b-0002";

export interface ResponsesWorld {
  gw: GatewayHandle;
  store: Store;
  openai: OpenAIUpstream;
  claude: AnthropicUpstream;
  gemini: GeminiUpstream;
  stop(): Promise<void>;
}

/**
 * Models: `gpt` (OpenAI, passed through), `gpt-chat` (the same server marked `responses: false`: translated to chat),
 * `claude` (Anthropic, a thinking model), `gemini` (Gemini). Keys A and B; a SQLite store.
 */
export async function startResponsesWorld(
  extra: { config?: Record<string, unknown>; build?: (u: { openai: OpenAIUpstream; claude: AnthropicUpstream; gemini: GeminiUpstream }) => Record<string, unknown> } = {},
): Promise<ResponsesWorld> {
  const dir = mkdtempSync(join(tmpdir(), "sb-resp-world-"));
  const [openai, claude, gemini] = await Promise.all([startOpenAIUpstream(), startAnthropicUpstream(), startGeminiUpstream()]);
  const store = await openStore(`sqlite://${join(dir, "switchboard.db")}`);
  const gw = await startGateway(
    {
      providers: {
        oa: { type: "openai", base_url: openai.url, api_key: openai.apiKey },
        "oa-chat": { type: "openai", base_url: openai.url, api_key: openai.apiKey, responses: false },
        anth: { type: "anthropic", base_url: claude.url, api_key: claude.apiKey },
        goog: { type: "gemini", base_url: gemini.url, api_key: gemini.apiKey },
      },
      models: [
        { id: "gpt", provider: "oa", upstream_model: "gpt-4o" },
        { id: "gpt-chat", provider: "oa-chat", upstream_model: "gpt-4o" },
        { id: "claude", provider: "anth", upstream_model: "claude-sonnet-4-5-20250929", max_tokens: 4096 },
        { id: "gemini", provider: "goog", upstream_model: "gemini-2.5-flash" },
      ],
      keys: [
        { name: "team-a", key: KEY_A },
        { name: "team-b", key: KEY_B },
      ],
      ...extra.config,
      ...extra.build?.({ openai, claude, gemini }),
    },
    { store },
  );
  return {
    gw,
    store,
    openai,
    claude,
    gemini,
    async stop() {
      await gw.stop();
      await store.close();
      await Promise.all([openai.stop(), claude.stop(), gemini.stop()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A response with its per-call parts (ids, times) blanked, for comparing two answers to the same request. */
export function comparable(r: unknown): unknown {
  // The SDK's stream helper adds `parsed` / `output_parsed` (null without a format) to what it accumulated.
  return JSON.parse(
    JSON.stringify(r)
      .replace(/"(resp|msg|fc|rs)_sb[0-9a-f]{32}/g, '"$1_X')
      .replace(/"(resp|msg|fc|rs)_[0-9a-f]{40,}"/g, '"$1_X"')
      .replace(/"(created_at|completed_at)":\d+/g, '"$1":0')
      .replace(/"call_[0-9a-f]{24}"/g, '"call_X"'),
    (k, v) => (k === "parsed" || k === "output_parsed" ? undefined : v),
  );
}
