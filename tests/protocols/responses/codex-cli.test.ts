// Codex CLI (@openai/codex, its native binary, offline) through the gateway on a Claude and a Gemini model: it runs the command the model asks for.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore } from "../../../src/store/open.ts";
import type { Store } from "../../../src/store/store.ts";
import { startGateway, type GatewayHandle } from "../../support/gateway.ts";
import { startAnthropicUpstream, type AnthropicUpstream } from "../../support/anthropic-upstream.ts";
import { startGeminiUpstream, type GeminiUpstream } from "../../support/gemini-upstream.ts";
import { text, toolUse } from "../../support/fake-core.ts";

const CODEX = join(import.meta.dir, "..", "..", "..", "node_modules", ".bin", "codex");
const KEY = "sk-codex-through-switchboard-01";
const TIMEOUT_MS = 90_000;

let dir: string;
let store: Store;
let claude: AnthropicUpstream;
let gemini: GeminiUpstream;
let gw: GatewayHandle;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "sb-codex-"));
  [claude, gemini] = await Promise.all([startAnthropicUpstream(), startGeminiUpstream()]);
  store = await openStore(`sqlite://${join(dir, "switchboard.db")}`);
  gw = await startGateway(
    {
      providers: {
        anth: { type: "anthropic", base_url: claude.url, api_key: claude.apiKey },
        goog: { type: "gemini", base_url: gemini.url, api_key: gemini.apiKey },
      },
      models: [
        { id: "claude-codex", provider: "anth", upstream_model: "claude-sonnet-4-5-20250929", max_tokens: 4096 },
        { id: "gemini-codex", provider: "goog", upstream_model: "gemini-2.5-flash" },
      ],
      keys: [{ name: "codex", key: KEY }],
    },
    { store },
  );
});
afterAll(async () => {
  await gw?.stop();
  await store?.close();
  await Promise.all([claude?.stop(), gemini?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `codex exec` in its own process group (it spawns shells); the whole group is killed on time-out and at the end. */
function codexExec(model: string, prompt: string): Promise<Run> {
  const home = join(dir, `home-${model}`);
  const codexHome = join(home, ".codex");
  const work = join(dir, `work-${model}`);
  mkdirSync(codexHome, { recursive: true });
  mkdirSync(work, { recursive: true });
  writeFileSync(
    join(codexHome, "config.toml"),
    [
      `model = "${model}"`,
      `model_provider = "switchboard"`,
      `model_reasoning_effort = "high"`,
      `[model_providers.switchboard]`,
      `name = "Switchboard"`,
      `base_url = "${gw.baseURL}"`,
      `env_key = "SWITCHBOARD_KEY"`,
      `wire_api = "responses"`,
    ].join("\n"),
  );
  return new Promise((resolve, reject) => {
    const child = spawn(CODEX, ["exec", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox", prompt], {
      cwd: work,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { PATH: process.env.PATH, HOME: home, CODEX_HOME: codexHome, SWITCHBOARD_KEY: KEY, NO_COLOR: "1" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr!.on("data", (b: Buffer) => (stderr += b.toString()));
    const killGroup = () => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // The group is gone already.
      }
    };
    const timer = setTimeout(() => {
      killGroup();
      reject(new Error(`codex exec did not finish in ${TIMEOUT_MS} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, TIMEOUT_MS);
    child.on("error", (e) => {
      clearTimeout(timer);
      killGroup();
      reject(e);
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      killGroup();
      resolve({ code, stdout, stderr });
    });
  });
}

describe("Codex CLI", () => {
  test(
    "on a Claude model: Claude asks for exec_command, Codex runs it, the output reaches Claude with its signed thinking",
    async () => {
      const signature = "EqQBCkgIBhABGAIiQL" + "Kq9+/z".repeat(12) + "==";
      const thinking = "I should run the command the user asked for.";
      claude.reply(
        { kind: "message", message: { content: [{ type: "thinking", thinking, signature }, { type: "tool_use", name: "exec_command", input: { cmd: "echo codex-marker-$((6*7))" } }] } },
        { kind: "message", message: { content: [{ type: "text", text: "The command printed codex-marker-42." }] } },
      );
      const before = claude.calls.length;
      const run = await codexExec("claude-codex", "Run the marker command.");
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain("The command printed codex-marker-42.");
      const [first, second] = claude.calls.slice(before).map((r) => r.body as { thinking?: unknown; tools: { name: string }[]; messages: { role: string; content: Record<string, unknown>[] }[] });
      // Codex's tools: functions and its namespace's functions offered, web_search dropped.
      const names = first!.tools.map((t) => t.name);
      expect(names).toContain("exec_command");
      expect(names.some((n) => n.startsWith("multi_agent_v1__"))).toBe(true);
      expect(names).not.toContain("web_search");
      expect(first!.thinking).toBeDefined();
      // The next turn: Claude's own thinking block back, byte for byte (sealed in Codex's reasoning item), then the result.
      const assistant = second!.messages.find((m) => m.role === "assistant" && m.content.some((b) => b.type === "tool_use"))!;
      expect(assistant.content[0]).toEqual({ type: "thinking", thinking, signature });
      const result = second!.messages.at(-1)!.content.find((b) => b.type === "tool_result")!;
      expect(result.tool_use_id).toBe(assistant.content.find((b) => b.type === "tool_use")!.id);
      // The shell computed it: the command really ran.
      expect(JSON.stringify(result.content)).toContain("codex-marker-42");
    },
    TIMEOUT_MS + 10_000,
  );

  test(
    "on a Gemini model: the call and its thought signature come back with the command's output",
    async () => {
      gemini.reply(toolUse([{ name: "exec_command", input: { cmd: "echo gemini-marker-$((6*7))" }, signature: "GEMINI-THOUGHT-SIG-1" }]), text("The command printed gemini-marker-42."));
      // Whatever else Codex asks once the turn is done gets a plain answer, never another tool call.
      gemini.respond = () => text("done");
      const before = gemini.calls.length;
      const run = await codexExec("gemini-codex", "Run the marker command.");
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain("The command printed gemini-marker-42.");
      const second = gemini.calls[before + 1]!.body as { contents: { role: string; parts: Record<string, unknown>[] }[] };
      const parts = second.contents.flatMap((c) => c.parts);
      const call = parts.find((p) => p.functionCall) as { functionCall: { name: string; args: { cmd: string } }; thoughtSignature?: string };
      expect(call.functionCall).toEqual({ name: "exec_command", args: { cmd: "echo gemini-marker-$((6*7))" } });
      expect(call.thoughtSignature).toBe("GEMINI-THOUGHT-SIG-1");
      const response = parts.find((p) => p.functionResponse) as { functionResponse: { name: string; response: unknown } };
      expect(response.functionResponse.name).toBe("exec_command");
      expect(JSON.stringify(response.functionResponse.response)).toContain("gemini-marker-42");
    },
    TIMEOUT_MS + 10_000,
  );
});
