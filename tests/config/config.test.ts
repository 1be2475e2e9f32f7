// Config loading (env interpolation, defaults, errors naming the field) and the CLI's start-up behaviour.
import { describe, expect, test } from "bun:test";
import { freePort } from "../support/process.ts";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildConfig, ConfigError, defaultConfig, loadConfigFile } from "../../src/config/load.ts";
import { formatResetDuration } from "../../src/limits/limiter.ts";

const base = { providers: { o: { type: "openai", base_url: "https://api.openai.com/v1", api_key: "k" } }, models: [{ id: "m", provider: "o" }] };
const bad = (raw: unknown, field: string) => {
  expect(() => buildConfig(raw, "t", {})).toThrow(ConfigError);
  try {
    buildConfig(raw, "t", {});
  } catch (e) {
    expect((e as Error).message.startsWith(field)).toBe(true);
  }
};

describe("config", () => {
  test("defaults are applied", () => {
    const c = buildConfig(base, "t", {});
    expect(c.server).toMatchObject({ host: "127.0.0.1", port: 8080, upstream_timeout_ms: 180000, body_limit_bytes: 10 * 1024 * 1024 });
    expect(c.rate_limit.store).toBe("memory");
    expect(Object.isFrozen(c.server)).toBe(true);
  });
  test("${ENV} is replaced, and numbers given through env become numbers", () => {
    const c = buildConfig({ ...base, server: { port: "${P}" }, keys: [{ name: "a", key: "${K}" }] }, "t", { P: "9999", K: "sk-from-env-123" });
    expect(c.server.port).toBe(9999);
    expect(c.keys[0]!.key).toBe("sk-from-env-123");
  });
  test("a missing env variable is an error naming it and the field", () => {
    expect(() => buildConfig({ ...base, keys: [{ name: "a", key: "${NOPE_NOT_SET}" }] }, "t", {})).toThrow(/keys\[0\]\.key: environment variable NOPE_NOT_SET is not set/);
  });
  test("invalid values name the field", () => {
    bad({ ...base, server: { port: 70000 } }, "server.port");
    bad({ ...base, server: { upstream_timeout_ms: 0 } }, "server.upstream_timeout_ms");
    bad({ ...base, providers: { o: { type: "nope", api_key: "k" } } }, "providers.o.type");
    bad({ ...base, models: [{ id: "m", provider: "missing" }] }, "models[0].provider");
    bad({ ...base, keys: [{ name: "a", key: "sk-123456789", rpm: -1 }] }, "keys[0].rpm");
    bad({ ...base, keys: [{ name: "a" }] }, "keys[0]");
    bad({ ...base, keys: [{ name: "a", key: "sk-123456789", models: ["zzz"] }] }, "keys[0].models[0]");
    bad({ ...base, keys: [{ name: "a", key_sha256: "xyz" }] }, "keys[0].key_sha256");
    bad({ ...base, servr: {} }, "servr");
    bad({ ...base, providers: { o: { type: "openai" } } }, "providers.o.api_key");
    bad({ ...base, providers: { o: { type: "azure", api_key: "k", base_url: "https://x.openai.azure.com" } } }, "providers.o.api_version");
    bad({ ...base, rate_limit: { store: "redis" } }, "rate_limit.redis_url");
    bad({ ...base, models: [{ id: "m", provider: "o" }, { id: "m", provider: "o" }] }, "models[1].id");
  });
  test("YAML file through Bun.YAML", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sb-"));
    const f = join(dir, "c.yaml");
    writeFileSync(f, "providers:\n  o:\n    type: openai\n    api_key: ${KEYX}\nmodels:\n  - id: gpt-4o\n    provider: o\n");
    const c = await loadConfigFile(f, { KEYX: "abc" });
    expect(c.providers.o!.api_key).toBe("abc");
    writeFileSync(f, "providers: [unclosed");
    await expect(loadConfigFile(f, {})).rejects.toThrow(/not valid YAML/);
  });
  test("the built-in default serves echo, plus OpenAI when OPENAI_API_KEY is set", () => {
    expect(defaultConfig({}).models.map((m) => m.id)).toEqual(["echo"]);
    const withOpenAI = defaultConfig({ OPENAI_API_KEY: "sk-x" });
    expect(withOpenAI.models.map((m) => m.id)).toContain("gpt-4o");
    expect(withOpenAI.providers.openai!.type).toBe("openai");
  });
  test("reset durations are formatted as OpenAI does", () => {
    expect(formatResetDuration(1000)).toBe("1s");
    expect(formatResetDuration(360000)).toBe("6m0s");
    expect(formatResetDuration(59)).toBe("59ms");
    expect(formatResetDuration(17497)).toBe("17.497s");
    expect(formatResetDuration(61500)).toBe("1m1.5s");
  });
});

const BUN = process.execPath;
const MAIN = join(import.meta.dir, "../..", "src", "main.ts");
const run = (args: string[], env: Record<string, string> = {}) => Bun.spawnSync([BUN, MAIN, ...args], { cwd: tmpdir(), env: { ...process.env, ...env }, stderr: "pipe", stdout: "pipe" });

describe("CLI", () => {
  test("--help and --version", () => {
    const h = run(["--help"]);
    expect(h.exitCode).toBe(0);
    expect(h.stdout.toString()).toContain("--config");
    const v = run(["--version"]);
    expect(v.stdout.toString().trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
  test("an invalid config exits non-zero with a message naming the field", () => {
    const dir = mkdtempSync(join(tmpdir(), "sb-"));
    const f = join(dir, "c.yaml");
    writeFileSync(f, "providers:\n  o:\n    type: openai\n    api_key: k\nmodels:\n  - id: m\n    provider: o\nkeys:\n  - name: a\n    key: sk-1234567890\n    rpm: lots\n");
    const r = run(["--config", f]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr.toString()).toContain("keys[0].rpm");
  });
  test("refuses a non-loopback address without real keys", () => {
    const r = run(["--host", "0.0.0.0", "--port", "0"]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr.toString()).toContain("refusing to listen on 0.0.0.0");
  });
  test("an unknown flag is an error", () => {
    expect(run(["--bogus"]).exitCode).not.toBe(0);
  });
  test("serves the default config and says how to authenticate; SWITCHBOARD_CONFIG and PORT are read", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sb-"));
    const f = join(dir, "c.yaml");
    writeFileSync(f, "providers:\n  e:\n    type: echo\nmodels:\n  - id: echo\n    provider: e\nkeys:\n  - name: a\n    key: sk-cli-test-123\n");
    const port = freePort();
    const p = Bun.spawn([BUN, MAIN], { cwd: dir, env: { ...process.env, SWITCHBOARD_CONFIG: f, PORT: String(port) }, stderr: "pipe", stdout: "ignore" });
    try {
      let res: Response | undefined;
      for (let i = 0; i < 100 && !res; i++) {
        res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
          method: "POST",
          headers: { authorization: "Bearer sk-cli-test-123" },
          body: JSON.stringify({ model: "echo", messages: [{ role: "user", content: "ping pong" }] }),
        }).catch(() => undefined);
        if (!res) await Bun.sleep(50);
      }
      expect(res!.status).toBe(200);
      expect(((await res!.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe("ping pong");
    } finally {
      p.kill("SIGTERM");
      expect(await p.exited).toBe(0);
    }
    const banner = await new Response(p.stderr).text();
    expect(banner).toContain(`listening on http://127.0.0.1:${port}`);
  });
});
