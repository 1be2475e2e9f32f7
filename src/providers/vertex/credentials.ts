// Reads a Google service-account key file once, at start-up: its identity, its private key (a secret) and its token endpoint.
import { readFileSync } from "node:fs";
import { createPrivateKey, type KeyObject } from "node:crypto";
import { ConfigError } from "../../config/load.ts";
import { registerSecrets } from "../../config/secrets.ts";
import { isObj } from "../shared/json.ts";

export interface ServiceAccount {
  clientEmail: string;
  /** The key id (`private_key_id`), sent as the JWT's `kid`. */
  keyId?: string;
  privateKey: KeyObject;
  tokenUri: string;
  projectId?: string;
}

/** Google's token endpoint, for key files that name none (every key file Google issues names this one). */
export const DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token";


/**
 * Parses the file; every problem is a ConfigError naming the field and the file, never quoting the key. The key's
 * text is registered as a secret before anything else can fail, so no later message can carry it.
 */
export function readServiceAccount(path: string, field: string): ServiceAccount {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = isObj(err) && typeof err.code === "string" ? err.code : "unreadable";
    throw new ConfigError(`${field}: cannot read the service-account file ${path} (${code})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ConfigError(`${field}: ${path} is not a JSON service-account key file`);
  }
  if (!isObj(raw)) throw new ConfigError(`${field}: ${path} is not a JSON service-account key file`);
  if (typeof raw.private_key === "string") registerSecrets([raw.private_key, ...raw.private_key.split(/\r?\n/).filter((l) => l.length >= 40)]);
  if (typeof raw.private_key_id === "string") registerSecrets([raw.private_key_id]);
  if (raw.type !== "service_account") {
    throw new ConfigError(`${field}: ${path} is a '${String(raw.type)}' credential; Vertex needs a service-account key file (type service_account)`);
  }
  if (typeof raw.client_email !== "string" || !raw.client_email) throw new ConfigError(`${field}: ${path} has no client_email`);
  if (typeof raw.private_key !== "string" || !raw.private_key) throw new ConfigError(`${field}: ${path} has no private_key`);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(raw.private_key);
  } catch {
    throw new ConfigError(`${field}: the private_key in ${path} is not a readable PEM private key`);
  }
  if (privateKey.asymmetricKeyType !== "rsa") throw new ConfigError(`${field}: the private_key in ${path} is not an RSA key (RS256 needs one)`);
  const tokenUri = typeof raw.token_uri === "string" && raw.token_uri ? raw.token_uri : DEFAULT_TOKEN_URI;
  if (!/^https?:\/\//.test(tokenUri)) throw new ConfigError(`${field}: token_uri in ${path} is not an http(s) URL`);
  return {
    clientEmail: raw.client_email,
    keyId: typeof raw.private_key_id === "string" ? raw.private_key_id : undefined,
    privateKey,
    tokenUri,
    projectId: typeof raw.project_id === "string" ? raw.project_id : undefined,
  };
}
