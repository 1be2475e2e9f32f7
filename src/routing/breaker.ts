// Per-deployment health: a circuit breaker (closed → cooling down → one probe → closed) plus in-flight count, errors and latency.

export interface BreakerPolicy {
  /** Failures within `windowMs` that open the breaker. */
  failures: number;
  windowMs: number;
  /** How long an open breaker keeps the target out of rotation before one probe is let through. */
  cooldownMs: number;
}

export type HealthState = "healthy" | "cooling_down" | "probing";

/** What GET /health/providers shows for one deployment. */
export interface TargetStatus {
  id: string;
  provider: string;
  upstream_model: string;
  models: string[];
  state: HealthState;
  cooling_down_until: string | null;
  in_flight: number;
  requests: number;
  errors: { recent: number; total: number; last: string | null; last_at: string | null };
  latency_ms: { ewma: number | null; last: number | null };
}

// Weight of the newest sample in the latency average: recent enough to follow a provider's bad hour, smooth enough to ignore one slow call.
const EWMA_ALPHA = 0.3;

/**
 * Shared by every model that routes to the same provider and upstream model: a dead deployment is dead for all
 * of them. Times come from the injected clock (`now`), so tests move through cool-downs without sleeping.
 */
export class TargetHealth {
  inFlight = 0;
  requests = 0;
  errorsTotal = 0;
  latencyEwma: number | null = null;
  lastLatency: number | null = null;
  lastError: { message: string; at: number } | null = null;
  /** Failure times inside the window that count towards opening (cleared when the breaker opens or closes). */
  private counted: number[] = [];
  /** Every failure time inside the window, for the health page. */
  private recent: number[] = [];
  /** While > 0 the breaker is open until this time; after it, one probe decides. */
  private openUntil = 0;
  private probing = false;
  readonly models = new Set<string>();

  constructor(
    readonly id: string,
    readonly provider: string,
    readonly upstreamModel: string,
    private policy: BreakerPolicy,
    private readonly now: () => number,
  ) {}

  /** A reload keeps the breaker's state and takes the new config's thresholds. */
  setPolicy(policy: BreakerPolicy): void {
    this.policy = policy;
  }

  state(): HealthState {
    if (this.openUntil === 0) return "healthy";
    return this.now() < this.openUntil ? "cooling_down" : "probing";
  }

  /** Whether a new attempt may go here: always when closed; once the cool-down is over, only while no probe is out. */
  available(): boolean {
    const s = this.state();
    return s === "healthy" || (s === "probing" && !this.probing);
  }

  /** Milliseconds until this target may be tried again (0 when available). */
  waitMs(): number {
    return this.state() === "cooling_down" ? this.openUntil - this.now() : 0;
  }

  /** An attempt starts: counted in flight, and after a cool-down it becomes the one probe. */
  begin(): void {
    this.inFlight++;
    this.requests++;
    if (this.state() === "probing") this.probing = true;
  }

  /** The attempt answered (for a stream: its first chunk arrived). Closes the breaker. */
  succeeded(latencyMs: number): void {
    this.lastLatency = latencyMs;
    this.latencyEwma = this.latencyEwma === null ? latencyMs : this.latencyEwma + EWMA_ALPHA * (latencyMs - this.latencyEwma);
    this.counted = [];
    this.openUntil = 0;
    this.probing = false;
  }

  /** The deployment failed (not the client's fault). A failed probe re-opens at once; else N in the window open it. */
  failed(message: string): void {
    const t = this.now();
    this.errorsTotal++;
    this.lastError = { message, at: t };
    this.prune(t);
    this.recent.push(t);
    if (this.openUntil !== 0) {
      // Only a probe (or an attempt that started before the breaker opened) lands here: keep it out for another period.
      this.openUntil = t + this.policy.cooldownMs;
      this.probing = false;
      return;
    }
    this.counted.push(t);
    if (this.counted.length >= this.policy.failures) {
      this.openUntil = t + this.policy.cooldownMs;
      this.counted = [];
    }
  }

  /** The attempt is over (answered, failed or abandoned); an abandoned probe frees the slot for the next one. */
  end(outcomeKnown: boolean): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    if (!outcomeKnown) this.probing = false;
  }

  status(): TargetStatus {
    const t = this.now();
    this.prune(t);
    const state = this.state();
    return {
      id: this.id,
      provider: this.provider,
      upstream_model: this.upstreamModel,
      models: [...this.models],
      state,
      cooling_down_until: state === "cooling_down" ? new Date(this.openUntil).toISOString() : null,
      in_flight: this.inFlight,
      requests: this.requests,
      errors: {
        recent: this.recent.length,
        total: this.errorsTotal,
        last: this.lastError?.message ?? null,
        last_at: this.lastError ? new Date(this.lastError.at).toISOString() : null,
      },
      latency_ms: { ewma: this.latencyEwma === null ? null : Math.round(this.latencyEwma), last: this.lastLatency === null ? null : Math.round(this.lastLatency) },
    };
  }

  private prune(t: number): void {
    const from = t - this.policy.windowMs;
    while (this.recent.length > 0 && this.recent[0]! <= from) this.recent.shift();
    while (this.counted.length > 0 && this.counted[0]! <= from) this.counted.shift();
  }
}
