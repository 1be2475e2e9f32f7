// The admin API's shapes as the dashboard reads them (the contract's "Admin API" section).

export type KeyStatus = "active" | "blocked" | "revoked" | "expired";
export type BudgetPeriod = "day" | "week" | "month" | "total";

export interface Budget {
  usd: number;
  period: BudgetPeriod;
  spent_usd: number;
  remaining_usd: number;
  resets_at: string | null;
}

export interface Key {
  id: string;
  object: "key";
  name: string;
  source: "config" | "api";
  status: KeyStatus;
  prefix: string | null;
  models: string[] | null;
  rpm: number | null;
  tpm: number | null;
  max_concurrent: number | null;
  budget: Budget | null;
  expires_at: string | null;
  created_at: string | null;
  metadata: Record<string, unknown>;
}

/** POST /admin/v1/keys and /rotate answer with the secret, once. */
export interface KeyWithSecret extends Key {
  key: string;
}

export interface List<T> {
  object: "list";
  data: T[];
  next_cursor?: string | null;
}

export interface UsageRow {
  day?: string;
  key_id?: string;
  key_name?: string | null;
  model?: string;
  requests: number;
  errors: number;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens?: number;
  reasoning_tokens?: number;
  cost_usd: number;
}

export interface UsageEvent {
  request_id: string;
  created_at: string;
  key_id: string;
  key_name: string;
  model: string;
  provider: string | null;
  upstream_model: string | null;
  stream: boolean;
  status: number;
  prompt_tokens: number;
  cached_tokens: number;
  completion_tokens: number;
  reasoning_tokens: number;
  cost_usd: number;
  latency_ms: number;
  ttfb_ms: number | null;
  usage_source: "provider" | "estimated";
  endpoint: "chat.completions" | "embeddings" | "responses" | "messages" | "count_tokens";
}

export interface Price {
  model: string;
  input_per_mtok: number | null;
  output_per_mtok: number | null;
  cached_input_per_mtok: number | null;
  source: "builtin" | "config" | "none";
}

export type Range = "1h" | "24h" | "7d" | "30d";

/** GET /admin/v1/usage/series: one value per step, oldest first (columns, as a chart takes them). */
export interface Series {
  object: "usage.series";
  range: Range;
  step_s: number;
  /** Start of each step, seconds since the epoch. */
  t: number[];
  requests: number[];
  errors: number[];
  prompt_tokens: number[];
  completion_tokens: number[];
  cost_usd: number[];
  latency_p50_ms: (number | null)[];
  latency_p95_ms: (number | null)[];
  totals: {
    requests: number;
    errors: number;
    prompt_tokens: number;
    completion_tokens: number;
    cost_usd: number;
    latency_p50_ms: number | null;
    latency_p95_ms: number | null;
  };
}
