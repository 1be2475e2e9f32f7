// Claude Code itself (npm @anthropic-ai/claude-code, its native binary, offline) through the gateway to an OpenAI-type and a Gemini model.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startGateway, type GatewayHandle } from "../../support/gateway.ts";
import { startOpenAIUpstream, type OpenAIUpstream } from "../../support/openai-upstream.ts";
import { startGeminiUpstream, type GeminiUpstream } from "../../support/gemini-upstream.ts";
import { text, toolUse } from "../../support/fake-core.ts";

const CLAUDE = join(import.meta.dir, "..", "..", "..", "node_modules", ".bin", "claude");
const KEY = "sk-claude-code-0123456789";
const TIMEOUT_MS = 120_000;

let oa: OpenAIUpstream;
let goog: GeminiUpstream;
let gw: GatewayHandle;
const dirs: string[] = [];

beforeAll(async () => {
  [oa, goog] = await Promise.all([startOpenAIUpstream(), startGeminiUpstream()]);
  gw = await startGateway({
    providers: { oa: { type: "openai", base_url: oa.url, api_key: oa.apiKey }, goog: { type: "gemini", base_url: goog.url, api_key: goog.apiKey } },
    models: [
      // gpt-4o writes at most 16,384 tokens; Claude Code asks for 32,000.
      { id: "gpt-4o", provider: "oa", max_tokens: 16384 },
      { id: "gemini-flash", provider: "goog", upstream_model: "gemini-2.5-flash" },
    ],
    keys: [{ name: "cc", key: KEY }],
  });
});
afterAll(async () => {
  await gw?.stop();
  await Promise.all([oa?.stop(), goog?.stop()]);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `claude -p` in its own process group (so every process it starts is killed with it), killed on timeout. */
function runClaude(prompt: string, model: string, cwd: string, home: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(CLAUDE, ["-p", prompt, "--model", model, "--output-format", "json", "--allowedTools", "Write"], {
      cwd,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        PATH: process.env.PATH,
        HOME: home,
        ANTHROPIC_BASE_URL: gw.url,
        ANTHROPIC_API_KEY: KEY,
        DISABLE_TELEMETRY: "1",
        DISABLE_AUTOUPDATER: "1",
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      },
    });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr!.on("data", (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // Already gone.
      }
    }, TIMEOUT_MS);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function workspace() {
  const root = mkdtempSync(join(tmpdir(), "sb-claude-code-"));
  dirs.push(root);
  const cwd = join(root, "work");
  const home = join(root, "home");
  Bun.spawnSync(["mkdir", "-p", cwd, home]);
  return { cwd, home, file: join(cwd, "hello.txt") };
}

const toolNames = (tools: unknown) => (Array.isArray(tools) ? tools.map((t: { name?: string; function?: { name?: string }; functionDeclarations?: { name: string }[] }) => t.function?.name ?? t.name) : []);

describe("Claude Code writes a file through Switchboard", () => {
  test("on an OpenAI-type model: the model calls Write, Claude Code writes the file, the result reaches the model", async () => {
    const { cwd, home, file } = workspace();
    const before = oa.calls.length;
    oa.respond = (body) => {
      if (!toolNames(body.tools).includes("Write")) return undefined;
      const answered = (body.messages as { role: string }[]).some((m) => m.role === "tool");
      return answered ? text("I wrote hello.txt.") : toolUse([{ name: "Write", input: { file_path: file, content: "hi\n" } }]);
    };
    try {
      const run = await runClaude("Write hello.txt containing hi", "gpt-4o", cwd, home);
      expect({ code: run.code, stderr: run.stderr.slice(0, 2000) }).toEqual({ code: 0, stderr: run.stderr.slice(0, 2000) });
      const out = JSON.parse(run.stdout) as { is_error: boolean; result: string; num_turns: number };
      expect(out.is_error).toBe(false);
      expect(out.result).toContain("I wrote hello.txt.");
      expect(readFileSync(file, "utf8")).toBe("hi\n");
      const calls = oa.calls.slice(before).filter((c) => toolNames(c.body.tools).includes("Write"));
      expect(calls.length).toBeGreaterThanOrEqual(2);
      const first = calls[0]!.body;
      // What Claude Code sends for a model it does not know, made acceptable to OpenAI.
      expect(first.max_tokens).toBe(16384);
      expect(JSON.stringify(first)).not.toContain("cache_control");
      expect(first.reasoning_effort).toBeUndefined();
      const last = calls.at(-1)!.body.messages as { role: string; content: unknown; tool_call_id?: string; tool_calls?: { id: string }[] }[];
      const result = last.find((m) => m.role === "tool")!;
      const call = last.find((m) => m.tool_calls)!.tool_calls![0]!;
      expect(result.tool_call_id).toBe(call.id);
      expect(String(result.content)).toContain(file);
      // Claude Code was told what was dropped rather than refused.
      const lines = gw.logs.filter((l) => l.msg === "request" && l.endpoint === "messages" && l.model === "gpt-4o");
      expect(lines.length).toBeGreaterThanOrEqual(2);
      expect(lines.every((l) => l.status === 200)).toBe(true);
    } finally {
      oa.respond = undefined;
    }
  }, TIMEOUT_MS + 10_000);

  test("on a Gemini model: the same loop, Gemini's thought signature carried through Claude Code's own history", async () => {
    const { cwd, home, file } = workspace();
    const before = goog.calls.length;
    goog.respond = (body) => {
      const decls = (Array.isArray(body.tools) ? body.tools : []).flatMap((t: { functionDeclarations?: { name: string }[] }) => t.functionDeclarations ?? []);
      if (!decls.some((d) => d.name === "Write")) return undefined;
      const contents = body.contents as { parts: Record<string, unknown>[] }[];
      const answered = contents.some((c) => c.parts.some((p) => p.functionResponse));
      return answered ? text("I wrote hello.txt.") : toolUse([{ name: "Write", input: { file_path: file, content: "hi\n" } }]);
    };
    try {
      const run = await runClaude("Write hello.txt containing hi", "gemini-flash", cwd, home);
      expect({ code: run.code, stderr: run.stderr.slice(0, 2000) }).toEqual({ code: 0, stderr: run.stderr.slice(0, 2000) });
      const out = JSON.parse(run.stdout) as { is_error: boolean; result: string };
      expect(out.is_error).toBe(false);
      expect(out.result).toContain("I wrote hello.txt.");
      expect(existsSync(file) && readFileSync(file, "utf8")).toBe("hi\n");
      const calls = goog.calls.slice(before).filter((c) => JSON.stringify(c.body.tools ?? []).includes('"Write"'));
      expect(calls.length).toBeGreaterThanOrEqual(2);
      const contents = calls.at(-1)!.body.contents as { role: string; parts: Record<string, unknown>[] }[];
      const response = contents.flatMap((c) => c.parts).find((p) => p.functionResponse) as { functionResponse: { name: string; response: unknown } };
      expect(response.functionResponse.name).toBe("Write");
      expect(JSON.stringify(response.functionResponse.response)).toContain(file);
      const fc = contents.flatMap((c) => c.parts).find((p) => p.functionCall)!;
      expect(fc.thoughtSignature).toBe(goog.signature);
    } finally {
      goog.respond = undefined;
    }
  }, TIMEOUT_MS + 10_000);
});
