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
    /** A stream still flowing after this long is ended with an error event (default: no limit; silence is bounded by upstream_timeout_ms). */
    max_stream_duration_ms: T.Optional(PosInt()),
    body_limit_bytes: PosInt({ default: 10 * 1024 * 1024 }),
    /** The largest JSON answer, or single stream event, taken from a provider (decoded size); past it: 502 or an error event. */
    max_upstream_response_bytes: PosInt({ default: 32 * 1024 * 1024 }),
    /** Request bodies nesting arrays/objects deeper than this are refused with a 400 before they are parsed. */
    max_json_depth: PosInt({ default: 64, maximum: 1000 }),
    /** On SIGTERM/SIGINT: seconds requests in flight may take to finish; then streams get an error event and JSON calls a 503. */
    shutdown_grace_s: T.Integer({ default: 10, minimum: 0, maximum: 3600 }),
    /** Seconds an idle keep-alive connection is kept open (chat requests are exempt while in flight). */
    idle_timeout_s: T.Integer({ default: 30, minimum: 1, maximum: 255 }),
    /** Key for admin endpoints (health of providers); plaintext via env or sha256 hex. */
    admin_key: T.Optional(T.String({ minLength: 1 })),
    admin_key_sha256: T.Optional(T.String({ pattern: "^[0-9a-fA-F]{64}$" })),
    /**
     * The Host names this gateway answers (`gateway.example.com`, `*.example.com`, `10.0.0.5:8080`, `[::1]`; no port:
     * any port; `*`: any host). Absent: any host, except for the built-in default config, which answers only loopback
     * names (its keys are public: a web page must not reach it through DNS rebinding). Others get a 403.
     */
    allowed_hosts: T.Optional(
      T.Array(T.String({ minLength: 1, maxLength: 260, pattern: "^(\\*|(\\*\\.)?[A-Za-z0-9_.-]+|\\[[0-9A-Fa-f:.]+\\])(:[0-9]{1,5})?$" }), { minItems: 1, maxItems: 1000 }),
    ),
    /**
     * The secret sealing what clients carry but must not read (Responses' encrypted reasoning, the thinking signatures
     * of Messages answers); at least 32 characters, the same on every instance. Absent: one is generated once and kept
     * in the store, shared by every instance using it.
     */
    seal_secret: T.Optional(T.String({ minLength: 32 })),
  },
  closed,
);

export const ProviderSchema = T.Object(
  {
    type: T.Union([
      T.Literal("openai"),
      T.Literal("anthropic"),
      T.Literal("gemini"),
      T.Literal("azure"),
      T.Literal("bedrock"),
      T.Literal("vertex"),
      T.Literal("echo"),
    ]),
    /** As the provider's official SDK takes it (OpenAI: https://api.openai.com/v1; Anthropic: https://api.anthropic.com). */
    base_url: T.Optional(T.String({ pattern: "^https?://" })),
    api_key: T.Optional(T.String()),
    /** Extra headers sent on every upstream call (e.g. OpenAI-Organization, anthropic-beta). */
    headers: T.Optional(T.Record(T.String(), T.String())),
    /** Azure: the `api-version` query parameter. */
    api_version: T.Optional(T.String({ minLength: 1 })),
    /**
     * OpenAI and Azure: whether the server speaks OpenAI's Responses API (default true). `false` marks an
     * OpenAI-compatible server that has only chat completions (vLLM, Ollama…): Responses requests are translated.
     */
    responses: T.Optional(T.Boolean()),
    /** Anthropic: the `anthropic-version` header (default 2023-06-01). */
    anthropic_version: T.Optional(T.String({ minLength: 1 })),
    /** Bedrock: the AWS region (default: AWS_REGION, then AWS_DEFAULT_REGION). */
    region: T.Optional(T.String({ minLength: 1 })),
    /** Bedrock: SigV4 credentials (absent: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN). `api_key` is a Bedrock API key instead. */
    access_key_id: T.Optional(T.String({ minLength: 1 })),
    secret_access_key: T.Optional(T.String({ minLength: 1 })),
    session_token: T.Optional(T.String({ minLength: 1 })),
    /** Vertex: the Google Cloud project and location (`global` or a region such as us-east5). */
    project: T.Optional(T.String({ minLength: 1 })),
    location: T.Optional(T.String({ minLength: 1 })),
    /** Vertex: a service-account key file (absent: GOOGLE_APPLICATION_CREDENTIALS). */
    credentials_file: T.Optional(T.String({ minLength: 1 })),
    /** Per-provider upstream limit; defaults to server.upstream_timeout_ms. */
    timeout_ms: T.Optional(PosInt()),
    /** Calls in flight to this provider at once (from this instance); more wait in line up to queue_timeout_ms, then 503. */
    max_concurrent: T.Optional(PosInt()),
    /** How long a call waits for a free slot under max_concurrent (default 5000; 0: answer 503 at once). */
    queue_timeout_ms: T.Optional(T.Integer({ minimum: 0 })),
    /**
     * Anthropic and Gemini: fetch http(s) image URLs in the gateway and send the bytes inline (off when absent).
     * Private and local addresses are refused unless `allow_private`.
     */
    image_fetch: T.Optional(
      T.Object(
        {
          /** Default 5 MiB. */
          max_bytes: T.Optional(PosInt()),
          /** Default 10000. */
          timeout_ms: T.Optional(PosInt()),
          /** Default false. */
          allow_private: T.Optional(T.Boolean()),
        },
        closed,
      ),
    ),
  },
  closed,
);
export type ProviderConfig = Static<typeof ProviderSchema>;

/** One deployment of a model: a provider instance and its settings for it (routing/README.md). */
export const TargetSchema = T.Object(
  {
    provider: T.String({ minLength: 1 }),
    /** Default: the model's upstream_model, else its id. */
    upstream_model: T.Optional(T.String({ minLength: 1 })),
    /** Share of traffic under `strategy: weighted` (and the tie-break of least-busy and latency). */
    weight: T.Optional(T.Number({ exclusiveMinimum: 0, default: 1 })),
    deployment: T.Optional(T.String({ minLength: 1 })),
    max_tokens: T.Optional(PosInt()),
    max_output_tokens: T.Optional(PosInt()),
  },
  closed,
);
export type TargetConfig = Static<typeof TargetSchema>;

export const ModelSchema = T.Object(
  {
    id: T.String({ minLength: 1 }),
    /** Exactly one of `provider` (one deployment) or `targets` (several, picked by `strategy`). */
    provider: T.Optional(T.String({ minLength: 1 })),
    targets: T.Optional(T.Array(TargetSchema, { minItems: 1 })),
    strategy: T.Optional(T.Union([T.Literal("weighted"), T.Literal("least-busy"), T.Literal("latency"), T.Literal("ordered")])),
    /** Model ids tried in order when every target of this model failed retryably. */
    fallbacks: T.Optional(T.Array(T.String({ minLength: 1 }))),
    /** Upstream attempts on this model's targets (default: targets + 1). */
    max_attempts: T.Optional(PosInt({ maximum: 20 })),
    /** A streaming attempt with no first chunk (a non-streaming one with no answer) by then fails over. */
    first_byte_timeout_ms: T.Optional(PosInt()),
    upstream_model: T.Optional(T.String({ minLength: 1 })),
    /** Default `max_tokens` for providers that require one (Anthropic) when the client sends none. */
    max_tokens: T.Optional(PosInt()),
    /**
     * The most output tokens the model can produce in one answer: the ceiling of the cap the gateway sends for a key
     * with a budget when the client sets none (built in for known OpenAI, Anthropic and Gemini models).
     */
    max_output_tokens: T.Optional(PosInt()),
    /** Azure: deployment name (default: the upstream model). */
    deployment: T.Optional(T.String({ minLength: 1 })),
    owned_by: T.Optional(T.String()),
    /** Default request parameters (e.g. `reasoning_effort: low`); a request's own value wins. */
    params: T.Optional(T.Record(T.String(), T.Unknown())),
    /** A parameter the provider cannot honour: `drop` it and name it in x-switchboard-warnings, or `error` (400). */
    unsupported_params: T.Optional(T.Union([T.Literal("drop"), T.Literal("error")])),
  },
  closed,
);
export type ModelConfig = Static<typeof ModelSchema>;

export const BudgetSchema = T.Object(
  {
    usd: T.Number({ exclusiveMinimum: 0 }),
    period: T.Union([T.Literal("day"), T.Literal("week"), T.Literal("month"), T.Literal("total")]),
  },
  closed,
);

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
    /** Spend limit in USD per calendar window (UTC). */
    budget: T.Optional(BudgetSchema),
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

/** Retry backoff and circuit-breaker settings shared by every model (routing/README.md). */
export const RoutingSchema = T.Object(
  {
    backoff_base_ms: PosInt({ default: 200 }),
    backoff_max_ms: PosInt({ default: 5000 }),
    /** A provider's Retry-After up to this is waited out; a longer one moves on to another target. */
    retry_after_cap_ms: T.Integer({ default: 5000, minimum: 0 }),
    /** Failures within `failure_window_ms` that take a target out of rotation for `cooldown_ms`. */
    cooldown_failures: PosInt({ default: 3 }),
    failure_window_ms: PosInt({ default: 60000 }),
    cooldown_ms: PosInt({ default: 30000 }),
  },
  closed,
);

/** USD per million tokens for one public model id (overrides the built-in table). */
export const PriceSchema = T.Object(
  {
    input_per_mtok: T.Number({ minimum: 0 }),
    output_per_mtok: T.Number({ minimum: 0 }),
    /** Default: input_per_mtok. */
    cached_input_per_mtok: T.Optional(T.Number({ minimum: 0 })),
  },
  closed,
);
export type PriceConfig = Static<typeof PriceSchema>;

/** Where keys created at run time, usage events and budget spend live. */
export const StoreSchema = T.Object(
  {
    url: T.String({ default: "sqlite://./switchboard.db", pattern: "^(sqlite|postgres|postgresql)://" }),
  },
  closed,
);

export const UsageSchema = T.Object(
  {
    /** Usage events older than this are pruned; daily totals are kept. */
    retention_days: PosInt({ default: 90 }),
  },
  closed,
);

/** The Responses API's saved conversations (protocols/responses/). */
export const ResponsesSchema = T.Object(
  {
    /** Saved responses (their conversation items) older than this are pruned. */
    retention_days: PosInt({ default: 30 }),
  },
  closed,
);

/** GET /metrics (observability/metrics.ts). */
export const MetricsSchema = T.Object(
  {
    /** When set, GET /metrics needs `Authorization: Bearer <key>` (open otherwise). */
    key: T.Optional(T.String({ minLength: 8 })),
    /** Adds the key's name as a `key` label to requests, tokens and cost (one series per key: bounded by the keys). */
    key_labels: T.Boolean({ default: false }),
  },
  closed,
);

/** OpenTelemetry traces over OTLP/HTTP JSON (observability/traces.ts); off without `otlp_endpoint`. */
export const TelemetrySchema = T.Object(
  {
    /** The collector's OTLP/HTTP base URL (spans go to `<endpoint>/v1/traces`), e.g. http://collector:4318. */
    otlp_endpoint: T.Optional(T.String({ pattern: "^https?://" })),
    service_name: T.String({ default: "switchboard", minLength: 1 }),
    /** Extra headers on every export (a collector's or vendor's auth). */
    headers: T.Optional(T.Record(T.String(), T.String())),
    /** Finished spans waiting for export; past it new spans are dropped (and counted), never waited for. */
    max_queue_size: PosInt({ default: 2048, maximum: 1_000_000 }),
    /** Spans per export request. */
    max_batch_size: PosInt({ default: 512, maximum: 100_000 }),
    /** How often a partial batch is sent. */
    batch_delay_ms: PosInt({ default: 1000 }),
    /** An export that has not answered by then counts as failed (its spans dropped and counted). */
    export_timeout_ms: PosInt({ default: 10000 }),
    /**
     * Share of new traces recorded (0–1). Parent-based: a request that continues a `traceparent` follows its sampled
     * flag instead. An unsampled request makes no span at all.
     */
    sample_ratio: T.Number({ minimum: 0, maximum: 1, default: 1 }),
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
    routing: T.Optional(RoutingSchema),
    prices: T.Optional(T.Record(T.String({ minLength: 1 }), PriceSchema)),
    store: T.Optional(StoreSchema),
    usage: T.Optional(UsageSchema),
    responses: T.Optional(ResponsesSchema),
    metrics: T.Optional(MetricsSchema),
    telemetry: T.Optional(TelemetrySchema),
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
  routing: Static<typeof RoutingSchema>;
  /** Price overrides per public model id. */
  prices: Record<string, PriceConfig>;
  store: Static<typeof StoreSchema>;
  usage: Static<typeof UsageSchema>;
  responses: Static<typeof ResponsesSchema>;
  metrics: Static<typeof MetricsSchema>;
  telemetry: Static<typeof TelemetrySchema>;
  /** Where it came from, for the start-up banner. */
  source: string;
}
export type { RawConfig };
