// A real redis-server per test file, on a free port, without persistence; killable and restartable on the same port.
import { existsSync } from "node:fs";
import { RedisClient } from "bun";

export interface RedisServer {
  url: string;
  port: number;
  /** A client of the test's own (FLUSHALL, SCRIPT FLUSH, PTTL…); reconnects after a restart. */
  client(): RedisClient;
  /** SIGKILL: the way a crashed or unreachable Redis looks to the gateway. */
  kill(): Promise<void>;
  /** SIGSTOP / SIGCONT: a Redis that accepts bytes and never answers (the case a timeout exists for). */
  pause(): void;
  resume(): void;
  /** Starts again on the same port, empty (no persistence). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** The binary on PATH or Debian's path; the rate-limit tests need a real one and never skip without it. */
export function redisServerBinary(): string {
  const found = Bun.which("redis-server") ?? (existsSync("/usr/bin/redis-server") ? "/usr/bin/redis-server" : null);
  if (!found) {
    throw new Error("redis-server is not installed: the rate-limit tests need a real Redis. Install it with `apt-get install -y redis-server` (.ci/run does this).");
  }
  return found;
}

/** A port nobody listens on now: bind port 0, note it, let it go. */
function freePort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

async function waitReady(port: number, proc: ReturnType<typeof Bun.spawn>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode} on port ${port}`);
    const ok = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } }).then(
      (s) => (s.end(), true),
      () => false,
    );
    if (ok) return;
    await Bun.sleep(25);
  }
  throw new Error(`redis-server did not start on port ${port}`);
}

const live = new Set<ReturnType<typeof Bun.spawn>>();
process.on("exit", () => live.forEach((p) => p.kill("SIGKILL")));

export async function startRedis(): Promise<RedisServer> {
  const bin = redisServerBinary();
  let port = 0;
  let proc: ReturnType<typeof Bun.spawn> | null = null;
  const spawn = async () => {
    const p = Bun.spawn([bin, "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdout: "ignore", stderr: "pipe" });
    live.add(p);
    proc = p;
    await waitReady(port, p);
  };
  // Another process may take the free port between the probe and redis-server binding it: try a few.
  for (let attempt = 0; ; attempt++) {
    port = freePort();
    try {
      await spawn();
      break;
    } catch (e) {
      if (attempt >= 4) throw e;
    }
  }
  let own: RedisClient | null = null;
  const stopProc = async () => {
    const p = proc;
    if (!p) return;
    proc = null;
    p.kill("SIGKILL");
    await p.exited;
    live.delete(p);
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    client() {
      own ??= new RedisClient(`redis://127.0.0.1:${port}`);
      return own;
    },
    kill: stopProc,
    pause: () => void proc?.kill("SIGSTOP"),
    resume: () => void proc?.kill("SIGCONT"),
    async restart() {
      await stopProc();
      await spawn();
    },
    async stop() {
      own?.close();
      await stopProc();
    },
  };
}
