// Reads the YAML config, expands ${ENV}, applies defaults, checks it once and freezes it: fails at start, never per request.
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { Value } from "@sinclair/typebox/value";
import { ConfigSchema, type Config, type RawConfig } from "./schema.ts";

/** A config problem: the message names the field; main prints it and exits non-zero. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

const check = TypeCompiler.Compile(ConfigSchema);

/** `${NAME}` → env NAME; a missing variable is an error naming it and the field that uses it. */
function expandEnv(value: unknown, env: Record<string, string | undefined>, path: string): unknown {
  if (typeof value === "string") {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
      const v = env[name];
      if (v === undefined) throw new ConfigError(`${path}: environment variable ${name} is not set`);
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => expandEnv(v, env, `${path}[${i}]`));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = expandEnv(v, env, path ? `${path}.${k}` : k);
    return out;
  }
  return value;
}

/** `/keys/0/rpm` → `keys[0].rpm`, the way a user reads their YAML. */
export function fieldName(pointer: string): string {
  return pointer
    .split("/")
    .filter(Boolean)
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), "");
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === "object" && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

/** Validates a parsed config object (the YAML as data) and returns the frozen, defaulted Config. */
export function buildConfig(raw: unknown, source: string, env: Record<string, string | undefined> = process.env): Config {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw new ConfigError(`${source}: the config must be a YAML mapping`);
  const expanded = expandEnv(raw, env, "");
  // Numbers written as ${PORT} arrive as strings: convert where the schema wants a number, then default.
  const converted = Value.Convert(ConfigSchema, expanded);
  const withDefaults = Value.Default(ConfigSchema, Value.Clone(converted)) as unknown;
  const first = check.Errors(withDefaults).First();
  if (first) {
    const field = fieldName(first.path) || "(top level)";
    const extra = first.message.startsWith("Unexpected property") ? ` (unknown field)` : "";
    throw new ConfigError(`${field}: ${first.message}${extra}`);
  }
  const c = withDefaults as RawConfig;
  const config: Config = {
    server: Value.Default(ConfigSchema.properties.server, c.server ?? {}) as Config["server"],
    providers: c.providers,
    models: c.models,
    keys: c.keys ?? [],
    rate_limit: Value.Default(ConfigSchema.properties.rate_limit, c.rate_limit ?? {}) as Config["rate_limit"],
    routing: Value.Default(ConfigSchema.properties.routing, c.routing ?? {}) as Config["routing"],
    prices: c.prices ?? {},
    store: Value.Default(ConfigSchema.properties.store, c.store ?? {}) as Config["store"],
    usage: Value.Default(ConfigSchema.properties.usage, c.usage ?? {}) as Config["usage"],
    responses: Value.Default(ConfigSchema.properties.responses, c.responses ?? {}) as Config["responses"],
    metrics: Value.Default(ConfigSchema.properties.metrics, c.metrics ?? {}) as Config["metrics"],
    telemetry: Value.Default(ConfigSchema.properties.telemetry, c.telemetry ?? {}) as Config["telemetry"],
    source,
  };
  checkReferences(config);
  resolveCloudCredentials(config, env);
  return deepFreeze(config);
}

/** What the schema alone cannot say: references between sections and fields that depend on each other. */
function checkReferences(c: Config): void {
  const ids = new Set<string>();
  c.models.forEach((m, i) => {
    if (ids.has(m.id)) throw new ConfigError(`models[${i}].id: duplicate model id '${m.id}'`);
    ids.add(m.id);
    if ((m.provider === undefined) === (m.targets === undefined)) throw new ConfigError(`models[${i}]: set exactly one of provider or targets`);
    if (m.provider !== undefined && !c.providers[m.provider]) throw new ConfigError(`models[${i}].provider: no provider named '${m.provider}' in providers`);
    m.targets?.forEach((t, j) => {
      if (!c.providers[t.provider]) throw new ConfigError(`models[${i}].targets[${j}].provider: no provider named '${t.provider}' in providers`);
    });
  });
  // Fallbacks may point forward in the list, so they are checked once every id is known.
  c.models.forEach((m, i) =>
    m.fallbacks?.forEach((f, j) => {
      if (f === m.id) throw new ConfigError(`models[${i}].fallbacks[${j}]: a model cannot fall back to itself`);
      if (!ids.has(f)) throw new ConfigError(`models[${i}].fallbacks[${j}]: no model with id '${f}'`);
    }),
  );
  for (const [name, p] of Object.entries(c.providers)) {
    if (p.type !== "echo" && p.type !== "bedrock" && p.type !== "vertex" && !p.api_key) throw new ConfigError(`providers.${name}.api_key: required for type ${p.type}`);
    if (p.type === "azure" && !p.base_url) throw new ConfigError(`providers.${name}.base_url: required for type azure`);
    if (p.type === "azure" && !p.api_version) throw new ConfigError(`providers.${name}.api_version: required for type azure`);
    if (p.responses !== undefined && p.type !== "openai" && p.type !== "azure") {
      throw new ConfigError(`providers.${name}.responses: only for type openai or azure (the others are always translated)`);
    }
  }
  const names = new Set<string>();
  c.keys.forEach((k, i) => {
    if (names.has(k.name)) throw new ConfigError(`keys[${i}].name: duplicate key name '${k.name}'`);
    names.add(k.name);
    if ((k.key === undefined) === (k.key_sha256 === undefined)) {
      throw new ConfigError(`keys[${i}]: set exactly one of key or key_sha256`);
    }
    k.models?.forEach((m, j) => {
      if (!ids.has(m)) throw new ConfigError(`keys[${i}].models[${j}]: no model with id '${m}'`);
    });
    for (const m of Object.keys(k.limits ?? {})) {
      if (!ids.has(m)) throw new ConfigError(`keys[${i}].limits.${m}: no model with id '${m}'`);
    }
  });
  for (const m of Object.keys(c.prices)) {
    if (!ids.has(m)) throw new ConfigError(`prices.${m}: no model with id '${m}'`);
  }
  if (c.rate_limit.store === "redis" && !c.rate_limit.redis_url) {
    throw new ConfigError("rate_limit.redis_url: required when rate_limit.store is redis");
  }
}

/**
 * Bedrock and Vertex take their credentials from the config, else from the variables AWS's and Google's own SDKs read.
 * They are resolved here, once, into the provider's entry (the same `env` as ${...} expansion, so tests pass their own).
 * Bedrock: `api_key` (a Bedrock API key, sent as a bearer token) or an access key pair, else AWS_BEARER_TOKEN_BEDROCK,
 * else AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN). Vertex: `credentials_file`, else
 * GOOGLE_APPLICATION_CREDENTIALS (the file is read when the provider is built).
 */
function resolveCloudCredentials(c: Config, env: Record<string, string | undefined>): void {
  for (const [name, p] of Object.entries(c.providers)) {
    if (p.type === "bedrock") {
      if (p.api_key !== undefined && p.access_key_id !== undefined) throw new ConfigError(`providers.${name}: set api_key or access_key_id/secret_access_key, not both`);
      if ((p.access_key_id === undefined) !== (p.secret_access_key === undefined)) {
        throw new ConfigError(`providers.${name}: access_key_id and secret_access_key go together`);
      }
      if (p.session_token !== undefined && p.access_key_id === undefined) throw new ConfigError(`providers.${name}.session_token: needs access_key_id and secret_access_key`);
      p.region ??= env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined;
      if (!p.region) throw new ConfigError(`providers.${name}.region: required for type bedrock (or set AWS_REGION)`);
      if (!/^[a-z0-9-]+$/.test(p.region)) throw new ConfigError(`providers.${name}.region: '${p.region}' is not an AWS region name`);
      if (p.api_key === undefined && p.access_key_id === undefined) {
        if (env.AWS_BEARER_TOKEN_BEDROCK) p.api_key = env.AWS_BEARER_TOKEN_BEDROCK;
        else if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
          p.access_key_id = env.AWS_ACCESS_KEY_ID;
          p.secret_access_key = env.AWS_SECRET_ACCESS_KEY;
          if (env.AWS_SESSION_TOKEN) p.session_token = env.AWS_SESSION_TOKEN;
        } else {
          throw new ConfigError(`providers.${name}: no AWS credentials: set access_key_id and secret_access_key (or api_key), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment`);
        }
      }
    } else if (p.type === "vertex") {
      if (!p.project) throw new ConfigError(`providers.${name}.project: required for type vertex`);
      if (!p.location) throw new ConfigError(`providers.${name}.location: required for type vertex (a region such as us-east5, or global)`);
      if (!/^[a-z0-9-]+$/.test(p.location)) throw new ConfigError(`providers.${name}.location: '${p.location}' is not a Google Cloud location name`);
      if (p.api_key !== undefined) throw new ConfigError(`providers.${name}.api_key: not used by type vertex (it authenticates with a service account: credentials_file)`);
      p.credentials_file ??= env.GOOGLE_APPLICATION_CREDENTIALS || undefined;
      if (!p.credentials_file) throw new ConfigError(`providers.${name}.credentials_file: required for type vertex (or set GOOGLE_APPLICATION_CREDENTIALS)`);
    } else {
      for (const k of ["region", "access_key_id", "secret_access_key", "session_token", "project", "location", "credentials_file"] as const) {
        if (p[k] !== undefined) throw new ConfigError(`providers.${name}.${k}: only used by type ${k === "project" || k === "location" || k === "credentials_file" ? "vertex" : "bedrock"}`);
      }
    }
  }
}

export async function loadConfigFile(path: string, env: Record<string, string | undefined> = process.env): Promise<Config> {
  const file = Bun.file(path);
  if (!(await file.exists())) throw new ConfigError(`${path}: config file not found`);
  let raw: unknown;
  try {
    raw = Bun.YAML.parse(await file.text());
  } catch (err) {
    throw new ConfigError(`${path}: not valid YAML: ${err instanceof Error ? err.message : String(err)}`);
  }
  return buildConfig(raw, path, env);
}

/** The well-known key of the built-in default config; only ever accepted on a loopback address. */
export const DEFAULT_DEV_KEY = "sk-switchboard-local";

/** The well-known admin key of the built-in default config; likewise only accepted on a loopback address. */
export const DEFAULT_ADMIN_KEY = "sk-switchboard-admin-local";

/** The config used when no file is given: an offline echo model, plus OpenAI when OPENAI_API_KEY is set. */
/** The Host names of the machine itself: what the built-in default config answers. */
export const LOOPBACK_HOSTS = ["localhost", "127.0.0.1", "[::1]"] as const;

export function defaultConfig(env: Record<string, string | undefined> = process.env): Config {
  const raw: Record<string, unknown> = {
    providers: { echo: { type: "echo" } } as Record<string, unknown>,
    models: [{ id: "echo", provider: "echo", owned_by: "switchboard" }] as unknown[],
    keys: [{ name: "local", key: env.SWITCHBOARD_KEY || DEFAULT_DEV_KEY, rpm: 600 }],
    // The admin API (keys, usage, budgets) on the default SQLite store, so a fresh clone shows all of it working.
    // Its keys are printed and public: only loopback Host names, so a web page cannot reach it through DNS rebinding.
    server: { admin_key: env.SWITCHBOARD_ADMIN_KEY || DEFAULT_ADMIN_KEY, allowed_hosts: [...LOOPBACK_HOSTS] },
  };
  if (env.OPENAI_API_KEY) {
    (raw.providers as Record<string, unknown>).openai = { type: "openai", base_url: "https://api.openai.com/v1", api_key: env.OPENAI_API_KEY };
    for (const id of ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano"]) {
      (raw.models as unknown[]).push({ id, provider: "openai" });
    }
  }
  return buildConfig(raw, "built-in default", env);
}
