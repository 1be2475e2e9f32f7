// The deployment's sealing secret, and a sealer per purpose under it: configured, else kept in the store — never made per process.
import { createHash } from "node:crypto";
import type { Config } from "../../config/schema.ts";
import { registerSecrets } from "../../config/secrets.ts";
import { createSealer, newSealSecret, type Sealer } from "./seal.ts";

/** The store's part: a secret made once by whichever instance comes first, read by every other. */
export interface SecretStore {
  sharedSecret(name: string, make: () => string): Promise<string>;
}

export interface SealKeys {
  /** The sealer for one purpose (`responses.reasoning`, `messages.thinking`), made once. */
  sealer(purpose: string): Promise<Sealer>;
}

/** The store's name for the generated secret. */
export const SEAL_SECRET_NAME = "seal_secret";

/**
 * The secret is `server.seal_secret` when configured; else the one kept in the store (the first instance makes it,
 * the rest read it: the same everywhere and after every restart); with no store at all (a test setup), one derived
 * from the config's own secrets, which every instance given that config derives alike. A reload never changes it:
 * tokens already handed out must keep opening. A failed read (the store briefly down) is not kept: the next asks again.
 */
export function createSealKeys(opts: { configured: string | undefined; store: SecretStore | null; fallback: () => string }): SealKeys {
  let secret: Promise<string> | undefined;
  const sealers = new Map<string, Promise<Sealer>>();
  const { configured, store } = opts;
  if (configured) registerSecrets([configured]);
  const load = (): Promise<string> => {
    if (configured) return Promise.resolve(configured);
    if (!store) return Promise.resolve(opts.fallback());
    return store.sharedSecret(SEAL_SECRET_NAME, newSealSecret).then((s) => {
      registerSecrets([s]);
      return s;
    });
  };
  return {
    sealer(purpose) {
      let s = sealers.get(purpose);
      if (!s) {
        secret ??= load().catch((e: unknown) => {
          secret = undefined;
          throw e;
        });
        s = secret.then((k) => createSealer(k, purpose));
        s.catch(() => sealers.delete(purpose));
        sealers.set(purpose, s);
      }
      return s;
    },
  };
}

/** A secret only the holder of the config's own secrets (provider keys, client keys, admin key) can derive. */
export function derivedSecret(config: Config): string {
  const parts: string[] = ["switchboard seal v1"];
  for (const name of Object.keys(config.providers).sort()) parts.push(`p:${name}:${config.providers[name]!.api_key ?? ""}`);
  for (const k of config.keys) parts.push(`k:${k.name}:${k.key ?? ""}:${k.key_sha256 ?? ""}`);
  parts.push(`a:${config.server.admin_key ?? ""}:${config.server.admin_key_sha256 ?? ""}`);
  return createHash("sha256").update(parts.join("\0")).digest("hex");
}
