// Starts the gateway as its own process (`bun src/main.ts`, or the compiled binary), as `npm start` does.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const MAIN = join(import.meta.dir, "..", "..", "src", "main.ts");

export interface GatewayProcess {
  url: string;
  port: number;
  proc: ReturnType<typeof Bun.spawn>;
  /** What the process wrote to stdout (the request log) and stderr so far. */
  stdout(): string;
  stderr(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

/** A port that was free a moment ago (the OS picks it). */
export function freePort(): number {
  const s = Bun.serve({ port: 0, fetch: () => new Response() });
  const port = s.port!;
  s.stop(true);
  return port;
}

/** Collects a child's output stream as text while it runs. */
function collect(stream: ReadableStream<Uint8Array> | undefined): () => string {
  let text = "";
  if (stream) {
    void (async () => {
      const dec = new TextDecoder();
      for await (const chunk of stream) text += dec.decode(chunk, { stream: true });
    })().catch(() => {});
  }
  return () => text;
}

/**
 * Writes `config` (an object: JSON is YAML) to a temp file and starts `command` (default: this Bun running
 * src/main.ts) with `--config FILE --port P`; resolves once /health answers.
 */
export async function startGatewayProcess(
  config: object,
  opts: { command?: string[]; env?: Record<string, string | undefined>; cwd?: string } = {},
): Promise<GatewayProcess> {
  const dir = mkdtempSync(join(tmpdir(), "sb-proc-"));
  const file = join(dir, "switchboard.yaml");
  writeFileSync(file, JSON.stringify(config));
  const port = freePort();
  const command = opts.command ?? [process.execPath, MAIN];
  const proc = Bun.spawn([...command, "--config", file, "--port", String(port)], {
    env: { ...process.env, ...opts.env },
    // The default store (./switchboard.db) then lands in the temp dir, not in the checkout.
    cwd: opts.cwd ?? dir,
    stdout: "pipe",
    stderr: "pipe",
  });
  const stdout = collect(proc.stdout as ReadableStream<Uint8Array>);
  const stderr = collect(proc.stderr as ReadableStream<Uint8Array>);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    if (await fetch(`${url}/health`).then((r) => r.ok, () => false)) {
      return {
        url,
        port,
        proc,
        stdout,
        stderr,
        async stop(graceMs = 5000) {
          proc.kill("SIGTERM");
          const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
          const code = await proc.exited;
          clearTimeout(timer);
          return code;
        },
      };
    }
    if (proc.exitCode !== null) break;
    await Bun.sleep(50);
  }
  proc.kill("SIGKILL");
  throw new Error(`gateway process did not start:\n${stderr()}`);
}

/**
 * Builds the single executable to `outfile` exactly as `npm run build` does (its arguments are read from
 * package.json, so a new entry point — the usage-event worker — is never left out of the tested binary).
 */
export function buildExecutable(outfile: string): void {
  const root = join(import.meta.dir, "..", "..");
  const script = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { scripts: { build: string } }).scripts.build;
  const args = script.split(/\s+/).slice(1); // after "bun"
  const at = args.indexOf("--outfile");
  args.splice(at, 2, "--outfile", outfile);
  const build = Bun.spawnSync([process.execPath, ...args], { cwd: root, stderr: "pipe" });
  if (build.exitCode !== 0) throw new Error(`build failed: ${build.stderr.toString()}`);
}
