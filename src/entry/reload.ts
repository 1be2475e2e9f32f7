// Reload: re-read the config, check it as start-up does, and swap the config's part of the gateway whole — or keep the running one and say why.
import type { KeyRing } from "../auth/keys.ts";
import { ConfigError } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import type { ReloadResult } from "../control/admin/reload.ts";
import type { AdminKey } from "../http/auth.ts";
import type { Sessions } from "../http/sessions.ts";
import { configMetersTokens, loadTokenizer } from "../limits/estimate.ts";
import type { Limiter } from "../limits/limiter.ts";
import type { Logger } from "../observability/log.ts";
import type { StoredKey } from "../store/store.ts";
import { buildRuntime, describeChanges, type Runtime, type Shared } from "./runtime.ts";

/** What a reload touches beside the runtime it swaps. */
export interface ReloadDeps {
  live: { current: Runtime };
  shared: Shared;
  loadConfig: () => Promise<Config>;
  keys: KeyRing;
  limiter: Limiter;
  logger: Logger;
  adminKey: AdminKey;
  sessions: Sessions;
  /** Whether the admin API was mounted at start (an admin key added later needs a restart). */
  adminMounted: boolean;
  /** The keys created at run time, by id (their names must not be taken by config keys); null without a store. */
  storedKeys: (() => ReadonlyMap<string, StoredKey>) | null;
  /** Registers a config's secrets for redaction. */
  secrets: (c: Config) => void;
}

/** A config key whose name is taken by a live key created at run time: the message naming both, or null. */
export function nameClash(config: Config, stored: ReadonlyMap<string, StoredKey>): string | null {
  const live = new Map<string, string>();
  for (const k of stored.values()) if (k.status !== "revoked") live.set(k.name, k.id);
  for (const [i, k] of config.keys.entries()) {
    const id = live.get(k.name);
    if (id !== undefined) return `keys[${i}].name: '${k.name}' is the name of a key created at run time (${id}); names are unique across config and run-time keys (their rate limits and usage are kept by name): rename one of them`;
  }
  return null;
}

/** The field a config error names (`models[1].provider: …` → `models[1].provider`), when it names one. */
function fieldOf(message: string): string | null {
  const head = message.slice(0, message.indexOf(":"));
  return /^[A-Za-z_][\w.[\]-]*$/.test(head) ? head : null;
}

/** The reload of a gateway: one at a time (a second waits for the first), each all-or-nothing. */
export function createReloader(d: ReloadDeps): () => Promise<ReloadResult> {
  const reloadOnce = async (): Promise<ReloadResult> => {
    const before = d.live.current;
    let next: Runtime;
    try {
      const c = await d.loadConfig();
      // A config key named like a key created at run time would share its rate-limit windows and usage rows.
      const clash = d.storedKeys ? nameClash(c, d.storedKeys()) : null;
      if (clash) throw new ConfigError(clash);
      next = buildRuntime(c, d.shared, before);
      if (configMetersTokens(c)) loadTokenizer();
    } catch (err) {
      const message = err instanceof ConfigError ? `invalid config: ${err.message}` : `reload failed: ${err instanceof Error ? err.message : String(err)}`;
      d.logger.error("config reload refused; the running config stays", { error: message });
      return { ok: false, message, field: err instanceof ConfigError ? fieldOf(err.message) : null };
    }
    // The swap: no await from here to the end, so no request sees half of it.
    d.secrets(next.config);
    d.keys.setConfigKeys(next.config);
    d.limiter.setDefaults(next.config.rate_limit.defaults);
    d.live.current = next;
    const { summary, restartNeeded } = describeChanges(before.config, next.config);
    if (d.adminKey.set(next.config)) {
      // The old admin key stops working now, and so does every dashboard session it opened.
      const ended = d.sessions.clear();
      d.logger.info("admin key changed by reload: the old key no longer works and dashboard sessions are ended", { sessions_ended: ended });
      // Without an admin key at start the admin API was never mounted: adding one needs a restart.
      if (!d.adminMounted && d.adminKey.digest() !== null) restartNeeded.push("server.admin_key");
    }
    d.logger.info("config reloaded", { source: next.config.source, changes: summary, ...(restartNeeded.length > 0 ? { restart_needed: restartNeeded } : {}) });
    return { ok: true, changes: summary, restartNeeded };
  };
  let reloading: Promise<unknown> = Promise.resolve();
  return () => {
    const run = reloading.then(reloadOnce);
    reloading = run.catch(() => {});
    return run;
  };
}
