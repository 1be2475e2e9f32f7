// Raises Bun's cap on simultaneous fetches (256 by default) by re-executing the process once with the variable set.
import { dlopen, FFIType, ptr } from "bun:ffi";

/** Bun's documented maximum for BUN_CONFIG_MAX_HTTP_REQUESTS. */
export const MAX_HTTP_REQUESTS = "65336";

/**
 * Bun's fetch runs at most 256 requests at once per process and queues the rest silently, unless
 * BUN_CONFIG_MAX_HTTP_REQUESTS is in the environment when the process starts (setting it later has no effect). A
 * gateway holding 300 slow streams would stall every other provider call. So when it is missing, the process
 * replaces itself (execve: same PID, same stdio, signals from npm, systemd or Docker still reach it) with a copy
 * whose environment has it. A value the operator set is kept as it is.
 */
export function ensureFetchConcurrency(): void {
  if (process.env.BUN_CONFIG_MAX_HTTP_REQUESTS || process.platform !== "linux") return;
  const cstr = (s: string) => Buffer.from(`${s}\0`);
  // A compiled executable sees argv ["bun", "/$bunfs/root/<name>", ...args]; `bun run file` sees [bun, file, ...args].
  const compiled = (process.argv[1] ?? "").startsWith("/$bunfs/");
  // Runtime flags (`bun --smol`, `--cpu-prof`) come back through execArgv.
  const args = [process.execPath, ...process.execArgv, ...process.argv.slice(compiled ? 2 : 1)].map(cstr);
  const env = Object.entries({ ...process.env, BUN_CONFIG_MAX_HTTP_REQUESTS: MAX_HTTP_REQUESTS }).map(([k, v]) => cstr(`${k}=${v ?? ""}`));
  const table = (bufs: Buffer[]) => {
    const t = new BigUint64Array(bufs.length + 1);
    bufs.forEach((b, i) => (t[i] = BigInt(ptr(b))));
    return t;
  };
  // Profiling (`bun --cpu-prof`): start with the variable set, so there is no re-exec — JavaScriptCore's sampler
  // signals the main thread every millisecond, and one left pending across execve kills the new image (2 of 60 starts).
  try {
    const libc = dlopen("libc.so.6", { execve: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 } });
    // Returns only on failure.
    libc.symbols.execve(ptr(args[0]!), ptr(table(args)), ptr(table(env)));
    libc.close();
  } catch {
    // No glibc (or no FFI): fall through to the warning.
  }
  process.stderr.write(
    `switchboard: could not raise Bun's limit of 256 simultaneous provider calls; start with BUN_CONFIG_MAX_HTTP_REQUESTS=${MAX_HTTP_REQUESTS} in the environment\n`,
  );
}
