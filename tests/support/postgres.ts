// A real, throw-away PostgreSQL cluster per test file: initdb and pg_ctl as the postgres user, on a free port, removed afterwards.
import { afterAll, beforeAll } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface PostgresServer {
  /** postgres://postgres@127.0.0.1:PORT/postgres (trust authentication on loopback). */
  url: string;
  port: number;
  /** A URL to a fresh, empty database of its own (one per store under test). */
  createDatabase(name: string): Promise<string>;
  /** Kills the server at once (what an outage looks like to the gateway). */
  kill(): Promise<void>;
  /** Starts it again on the same port with the same data. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** PG_BIN, else the newest Debian install (/usr/lib/postgresql/<version>/bin). */
function findBin(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, "bin", "initdb"))) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  return join(root, versions[0] ?? "15", "bin");
}
const BIN = findBin();

/** The tests need a real PostgreSQL and never skip without it. */
function requireBinaries(): void {
  if (!existsSync(join(BIN, "initdb")) || !existsSync(join(BIN, "pg_ctl"))) {
    throw new Error(`PostgreSQL is not installed (${BIN}/initdb): the store tests need a real server. Install it with \`apt-get install -y postgresql\` (.ci/run does this).`);
  }
}

function freePort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

/** PostgreSQL refuses to run as root: as root, every command runs as the postgres user. */
const asPostgres = (cmd: string[]) => (process.getuid?.() === 0 ? ["runuser", "-u", "postgres", "--", ...cmd] : cmd);

async function run(cmd: string[]): Promise<void> {
  const p = Bun.spawn(asPostgres(cmd), { stdout: "pipe", stderr: "pipe" });
  const [code, out, err] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
  if (code !== 0) throw new Error(`${cmd[0]} exited with ${code}: ${err || out}`);
}

const live = new Set<string>();
process.on("exit", () => {
  for (const data of live) Bun.spawnSync(asPostgres([join(BIN, "pg_ctl"), "-D", data, "-m", "immediate", "stop"]));
});

export async function startPostgres(): Promise<PostgresServer> {
  requireBinaries();
  const dir = mkdtempSync(join(tmpdir(), "sb-pg-"));
  // The postgres user must be able to write the cluster and the socket here.
  chmodSync(dir, 0o777);
  const data = join(dir, "data");
  await run([join(BIN, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]);
  let port = 0;
  const start = async () => {
    await run([
      join(BIN, "pg_ctl"),
      "-D", data,
      "-o", `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`,
      "-l", join(dir, "log"),
      "-w", "start",
    ]);
    live.add(data);
  };
  for (let attempt = 0; ; attempt++) {
    port = freePort();
    try {
      await start();
      break;
    } catch (e) {
      if (attempt >= 4) throw e;
    }
  }
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const stopServer = async () => {
    if (!live.has(data)) return;
    live.delete(data);
    await run([join(BIN, "pg_ctl"), "-D", data, "-m", "immediate", "stop"]);
  };
  return {
    url,
    port,
    async createDatabase(name) {
      const sql = new Bun.SQL(url);
      try {
        await sql.unsafe(`CREATE DATABASE "${name}"`);
      } finally {
        await sql.close();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    kill: stopServer,
    start,
    async stop() {
      await stopServer();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface StoresUnderTest {
  /** A fresh, empty database of either kind: a new SQLite file, or a new database on the file's PostgreSQL cluster. */
  freshUrl(kind: "sqlite" | "postgres"): Promise<string>;
  /** The file's cluster (started before its tests). */
  pg(): PostgresServer;
  /** The file's temporary folder (SQLite files live here). */
  dir: string;
}

/**
 * For a test file whose tests run on both stores: one PostgreSQL cluster started before its tests, one temporary folder
 * for SQLite files, both removed after. `prefix` names the folder and the databases (letters only).
 */
export function storesUnderTest(prefix: string): StoresUnderTest {
  let server: PostgresServer | undefined;
  const dir = mkdtempSync(join(tmpdir(), `sb-${prefix}-`));
  let n = 0;
  beforeAll(async () => {
    server = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const pg = () => {
    if (!server) throw new Error("the PostgreSQL cluster is started in beforeAll: use it from a test or a hook");
    return server;
  };
  return {
    dir,
    pg,
    freshUrl: async (kind) => (kind === "sqlite" ? `sqlite://${join(dir, `${prefix}${++n}.db`)}` : pg().createDatabase(`${prefix}${++n}`)),
  };
}
