// TypeBox schema of the YAML config file; Static<> of it is the typed Config the gateway runs on.
import { Type as T, type Static } from "@sinclair/typebox";

const closed = { additionalProperties: false } as const;
const PosInt = (o: { default?: number; minimum?: number; maximum?: number } = {}) => T.Integer({ minimum: 1, ...o });

export const LimitsSchema = T.Object(
  {
    rpm: T.Optional(PosInt()),
    tpm: T.Optional(PosInt()),
    max_concurrent: T.Optional(PosInt()),
  },
  closed,
);
export type Limits = Static<typeof LimitsSchema>;

export const ServerSchema = T.Object(
  {
    host: T.String({ default: "127.0.0.1", minLength: 1 }),
    port: T.Integer({ default: 8080, minimum: 0, maximum: 65535 }),
    upstream_timeout_ms: PosInt({ default: 180000 }),
    body_limit_bytes: PosInt({ default: 10 * 1024 * 1024 }),
    /** Seconds an idle keep-alive connection is kept open (chat requests are exempt while in flight). */
    idle_timeout_s: T.Integer({ default: 30, minimum: 1, maximum: 255 }),
    /** Key for admin endpoints (health of providers); plaintext via env or sha256 hex. */
    admin_key: T.Optional(T.String({ minLength: 1 })),
    admin_key_sha256: T.Optional(T.String({ pattern: "^[0-9a-fA-F]{64}$" })),
  },
  closed,
);

export const ProviderSchema = T.Object(
  {
    type: T.Union([T.Literal("openai"), T.Literal("anthropic"), T.Literal("gemini"), T.Literal("azure"), T.Literal("echo")]),
    /** As the provider's official SDK takes it (OpenAI: https://api.openai.com/v1; Anthropic: https://api.anthropic.com). */
    base_url: T.Optional(T.String({ pattern: "^https?://" })),
    api_key: T.Optional(T.String()),
    /** Extra headers sent on every upstream call (e.g. OpenAI-Organization, anthropic-beta). */
    headers: T.Optional(T.Record(T.String(), T.String())),
    /** Azure: the `api-version` query parameter. */
    api_version: T.Optional(T.String({ minLength: 1 })),
    /** Anthropic: the `anthropic-version` header (default 2023-06-01). */
    anthropic_version: T.Optional(T.String({ minLength: 1 })),
    /** Per-provider upstream limit; defaults to server.upstream_timeout_ms. */
    timeout_ms: T.Optional(PosInt()),
  },
  closed,
);
export type ProviderConfig = Static<typeof ProviderSchema>;

export const ModelSchema = T.Object(
  {
    id: T.String({ minLength: 1 }),
    provider: T.String({ minLength: 1 }),
    upstream_model: T.Optional(T.String({ minLength: 1 })),
    /** Default `max_tokens` for providers that require one (Anthropic) when the client sends none. */
    max_tokens: T.Optional(PosInt()),
    /** Azure: deployment name (default: the upstream model). */
    deployment: T.Optional(T.String({ minLength: 1 })),
    owned_by: T.Optional(T.String()),
  },
  closed,
);
export type ModelConfig = Static<typeof ModelSchema>;

export const KeySchema = T.Object(
  {
    name: T.String({ minLength: 1 }),
    key: T.Optional(T.String({ minLength: 8 })),
    key_sha256: T.Optional(T.String({ pattern: "^[0-9a-fA-F]{64}$" })),
    rpm: T.Optional(PosInt()),
    tpm: T.Optional(PosInt()),
    max_concurrent: T.Optional(PosInt()),
    models: T.Optional(T.Array(T.String({ minLength: 1 }))),
    /** Per-model limits inside this key, e.g. `{ gpt-4o: { rpm: 10 } }`. */
    limits: T.Optional(T.Record(T.String(), LimitsSchema)),
  },
  closed,
);
export type KeyConfig = Static<typeof KeySchema>;

export const RateLimitSchema = T.Object(
  {
    store: T.Union([T.Literal("memory"), T.Literal("redis")], { default: "memory" }),
    redis_url: T.Optional(T.String({ pattern: "^rediss?://" })),
    /** What to do when the shared store cannot be reached. */
    on_store_error: T.Union([T.Literal("allow"), T.Literal("deny")], { default: "allow" }),
    /** Limits for keys that set none of their own. */
    defaults: T.Optional(LimitsSchema),
    /** Tokens reserved for the completion when a request sets no max_tokens. */
    default_completion_tokens: PosInt({ default: 1024 }),
    /** Milliseconds before a store call counts as failed. */
    store_timeout_ms: PosInt({ default: 250 }),
  },
  closed,
);

export const ConfigSchema = T.Object(
  {
    server: T.Optional(ServerSchema),
    providers: T.Record(T.String({ minLength: 1 }), ProviderSchema),
    models: T.Array(ModelSchema, { minItems: 1 }),
    keys: T.Optional(T.Array(KeySchema)),
    rate_limit: T.Optional(RateLimitSchema),
  },
  closed,
);

type RawConfig = Static<typeof ConfigSchema>;
/** The config after defaults are applied: every section present. */
export interface Config {
  server: Static<typeof ServerSchema>;
  providers: Record<string, ProviderConfig>;
  models: ModelConfig[];
  keys: KeyConfig[];
  rate_limit: Static<typeof RateLimitSchema>;
  /** Where it came from, for the start-up banner. */
  source: string;
}
export type { RawConfig };
