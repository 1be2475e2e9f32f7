// Polling for what lands a moment after a response (usage events, Redis settles, spans): one helper for every test.

/**
 * Reads until `ok(value)` holds or `ms` pass, and returns the last value read — never throws on time-out, so the
 * caller's own expect says what was wrong with it.
 */
export async function eventually<T>(read: () => T | Promise<T>, ok: (v: T) => boolean = Boolean, ms = 5000, everyMs = 20): Promise<T> {
  const until = performance.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v) || performance.now() > until) return v;
    await Bun.sleep(everyMs);
  }
}
