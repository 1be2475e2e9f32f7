// The sealing secret of a config: `messages.seal_secret`, else one derived from the config's own secrets (never per process).
import { createHash } from "node:crypto";
import type { Config } from "../../config/schema.ts";
import { registerSecrets } from "../../config/secrets.ts";
import { createSealer, type Sealer } from "./seal.ts";

const sealers = new WeakMap<Config, Sealer>();

/**
 * Every instance given the same config agrees on the secret, and a restart keeps it: a per-process secret would
 * break every conversation that moves to another instance or outlives a restart. Without a configured one, the
 * config's secret material (provider keys, client keys and their digests, the admin key) is hashed into one; rotating
 * any of it drops the reasoning state of conversations in flight, which then go on without it.
 */
export function sealerFor(config: Config): Sealer {
  let s = sealers.get(config);
  if (s) return s;
  const configured = config.messages.seal_secret;
  if (configured) registerSecrets([configured]);
  s = createSealer(configured ?? derivedSecret(config));
  sealers.set(config, s);
  return s;
}

function derivedSecret(config: Config): string {
  const parts: string[] = ["switchboard messages seal v1"];
  for (const name of Object.keys(config.providers).sort()) parts.push(`p:${name}:${config.providers[name]!.api_key ?? ""}`);
  for (const k of config.keys) parts.push(`k:${k.name}:${k.key ?? ""}:${k.key_sha256 ?? ""}`);
  parts.push(`a:${config.server.admin_key ?? ""}:${config.server.admin_key_sha256 ?? ""}`);
  return createHash("sha256").update(parts.join("\0")).digest("hex");
}
