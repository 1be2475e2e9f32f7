// Limiter shared by every gateway instance: the memory store's semantics in Redis, one Lua script per request.
import { RedisClient } from "bun";
import type { Principal } from "../auth/keys.ts";
import type { Logger } from "../observability/log.ts";
import { GatewayError, storeUnavailable } from "../openai/errors.ts";
import {
  exceedsTpm,
  rateHeaders,
  rejection,
  reservation,
  scopeResolver,
  tooLargeForTpm,
  unknownStateHeaders,
  WINDOW_MS,
  type Admission,
  type Limiter,
  type LimiterStats,
  type LimitQuery,
  type Scope,
  type ScopeSnapshot,
  type StoreOptions,
} from "./limiter.ts";
import { ADMIT_LUA, SETTLE_LUA, UNDO } from "./redis-lua.ts";
import { budgetExceeded, budgetUnavailable, spendUnavailable, windowEnd, windowStart, windowStartDay } from "../costs/budget.ts";
import type { BudgetQuery } from "./limiter.ts";

export interface RedisStoreOptions extends StoreOptions {
  url: string;
  /** Milliseconds before a store call counts as failed (rate_limit.store_timeout_ms). */
  timeoutMs: number;
  /** A request the store cannot check: let it through uncounted, or refuse it with 503. */
  onStoreError: "allow" | "deny";
  logger: Pick<Logger, "info" | "error">;
  /** How long a concurrency slot outlives an instance that died without releasing it (longer than any request). */
  leaseMs: number;
  /** Key prefix (several gateways or tests on one Redis). */
  prefix?: string;
  /**
   * Normally every script reads Redis's TIME, one clock for all instances. A clock given here is sent instead
   * (tests move through the window without sleeping).
   */
  now?: () => number;
}

/** A store call that did not answer in time (it may still have run). */
class StoreTimeout extends Error {}
/** A store call never sent: the store is down and the probe this call waited for did not reach it. */
class StoreDown extends Error {}

const sha1 = (s: string) => new Bun.CryptoHasher("sha1").update(s).digest("hex");
const ADMIT_SHA = sha1(ADMIT_LUA);
const SETTLE_SHA = sha1(SETTLE_LUA);
/** Settles that failed (store down) wait here and are retried when it answers again; beyond this, leases clean up. */
const MAX_PENDING = 10_000;
/** While the store is down and no request asks, it is probed this often (so it is known to be back before traffic is). */
const PROBE_EVERY_MS = 200;

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** `p`, or a StoreTimeout after `ms`. */
async function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreTimeout(`no answer within ${ms} ms`)), Math.max(0, ms));
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function numbers(reply: unknown): number[] {
  if (!Array.isArray(reply) || !reply.every((x) => typeof x === "number")) throw new Error("unexpected reply from the rate-limit script");
  return reply as number[];
}

export function createRedisLimiter(opts: RedisStoreOptions): Limiter {
  const w = opts.windowMs ?? WINDOW_MS;
  const prefix = opts.prefix ?? "switchboard:rl:";
  let resolve = scopeResolver(opts.defaults);
  const clock = opts.now;
  const instance = crypto.randomUUID().slice(0, 8);
  let seq = 0;
  const client = new RedisClient(opts.url, {
    // Commands fail at once while disconnected instead of queueing behind a dead connection.
    enableOfflineQueue: false,
    // Reconnection is ours (probes below): Bun's own waits out a growing backoff, and a connect() made meanwhile
    // hangs until that retry, so the gateway would learn late that Redis is back.
    autoReconnect: false,
    connectionTimeout: Math.max(1000, opts.timeoutMs),
  });

  // ---- connection, timeouts, outage bookkeeping
  let connecting: Promise<void> | null = null;
  const connect = (): Promise<void> => (connecting ??= client.connect().finally(() => (connecting = null)));
  // Loaded on every (re)connection, ahead of the commands that follow on it: EVALSHA then finds the scripts, and a
  // settle is never overtaken by a later admit while it falls back to EVAL. A NOSCRIPT that still happens is handled.
  client.onconnect = () => {
    client.script("LOAD", ADMIT_LUA).catch(() => {});
    client.script("LOAD", SETTLE_LUA).catch(() => {});
  };
  connect().catch(() => {});

  const health = { down: false, since: 0, errors: 0, failedInOutage: 0 };
  const pending: string[][] = [];
  let closed = false;

  /**
   * While the store is down, calls are not sent blind (each would wait out the timeout against a Redis that accepts
   * and never answers, or fail without noticing it is back): one probe at a time asks Redis, in the background
   * every PROBE_EVERY_MS and at once when a call needs it. A call waits for a probe that began after the call arrived,
   * so the first call after Redis answers again is counted, whatever the probe timing.
   */
  interface Probe {
    startedAt: number;
    done: Promise<void>;
  }
  let probe: Probe | null = null;
  let probeTimer: ReturnType<typeof setTimeout> | undefined;

  function startProbe(): Probe {
    clearTimeout(probeTimer);
    probeTimer = undefined;
    const p: Probe = {
      startedAt: performance.now(),
      done: within(
        (async () => {
          if (!client.connected) await connect();
          await client.send("PING", []);
        })(),
        opts.timeoutMs,
      ).then(
        () => succeeded(),
        () => {},
      ),
    };
    probe = p;
    void p.done.finally(() => {
      probe = null;
      if (health.down && !closed && !probeTimer) {
        probeTimer = setTimeout(() => {
          probeTimer = undefined;
          if (health.down && !closed && !probe) startProbe();
        }, PROBE_EVERY_MS);
        probeTimer.unref?.();
      }
    });
    return p;
  }

  /** Whether the store answered a probe that began after `arrived`, within `deadline` (both performance.now()). */
  async function backUp(arrived: number, deadline: number): Promise<boolean> {
    while (health.down) {
      const p = probe ?? startProbe();
      try {
        await within(p.done, deadline - performance.now());
      } catch {
        return false;
      }
      if (p.startedAt >= arrived) break;
    }
    return !health.down;
  }

  /**
   * Every store call, bounded by timeoutMs in all (a wait for a probe included), so a slow or dead Redis never
   * stalls a request.
   */
  async function call(sha: string, script: string, keys: string[], args: string[]): Promise<unknown> {
    const arrived = performance.now();
    const deadline = arrived + opts.timeoutMs;
    if (health.down && !(await backUp(arrived, deadline))) {
      health.errors++;
      health.failedInOutage++;
      throw new StoreDown("rate-limit store unreachable");
    }
    const run = async () => {
      if (!client.connected) await connect();
      try {
        return await client.evalsha(sha, keys.length, ...keys, ...args);
      } catch (e) {
        // After SCRIPT FLUSH or a restart the script is gone: EVAL runs it and caches it again.
        if (errorText(e).startsWith("NOSCRIPT")) return client.eval(script, keys.length, ...keys, ...args);
        throw e;
      }
    };
    try {
      const reply: unknown = await within(run(), deadline - performance.now());
      succeeded();
      return reply;
    } catch (e) {
      failed(e);
      throw e;
    }
  }

  function failed(e: unknown): void {
    health.errors++;
    if (health.down) return void health.failedInOutage++;
    health.down = true;
    health.since = Date.now();
    health.failedInOutage = 1;
    // Once per outage, not once per request.
    opts.logger.error("rate-limit store unreachable", { store: "redis", on_store_error: opts.onStoreError, error: errorText(e) });
    if (!probe && !closed) startProbe();
  }

  function succeeded(): void {
    if (!health.down) return;
    health.down = false;
    clearTimeout(probeTimer);
    probeTimer = undefined;
    opts.logger.info("rate-limit store reachable again", { store: "redis", outage_ms: Date.now() - health.since, failed_calls: health.failedInOutage });
    for (const args of pending.splice(0)) void settleCall(args);
  }

  // ---- keys and arguments
  const keyCache = new WeakMap<Scope, string[]>();
  const keysOf = (scopes: readonly Scope[]) =>
    scopes.flatMap((s) => {
      let k = keyCache.get(s);
      if (!k) {
        const base = `${prefix}{${s.tag}}:${s.id}:`;
        keyCache.set(s, (k = [`${base}r`, `${base}t`, `${base}h`, `${base}c`]));
      }
      return k;
    });
  const limitArgs = (scopes: readonly Scope[]) => [String(scopes.length), ...scopes.flatMap((s) => [String(s.rpm), String(s.tpm), String(s.concurrent)])];

  // ---- budgets: two keys per key and window, under the key's hash tag (one cluster slot with its scopes)
  const budgetNow = opts.now ?? Date.now;
  const budgetKeys = (b: Omit<BudgetQuery, "reserveMicros">, start: number) => {
    const base = `${prefix}{${encodeURIComponent(b.keyName)}}:b:${encodeURIComponent(b.keyId)}:${start}:`;
    return [`${base}h`, `${base}z`];
  };
  /** Until the window ends (plus an hour for requests settling late); a total budget is re-seeded after a week idle. */
  const budgetTtl = (b: Omit<BudgetQuery, "reserveMicros">, t: number) => {
    const end = windowEnd(b.period, t);
    return String(end === null ? 7 * 86_400_000 : end - t + 3_600_000);
  };
  const budgetArgs = (b: BudgetQuery, t: number, seed: number | null) =>
    ["1", String(b.limitMicros), String(b.reserveMicros), seed === null ? "" : String(seed), budgetTtl(b, t), String(opts.leaseMs)];
  const seedOf = async (b: Omit<BudgetQuery, "reserveMicros">, start: number): Promise<number> => {
    if (!opts.spend) return 0;
    try {
      return await opts.spend(b.keyId, windowStartDay(b.period, start));
    } catch (e) {
      throw spendUnavailable(e);
    }
  };
  /** The budget part of a reply: after the admitted flag, the clock and 8 numbers per scope. */
  const budgetReply = (reply: number[], n: number) => ({ state: reply[2 + n * 8] ?? 0, spent: reply[3 + n * 8] ?? 0, held: reply[4 + n * 8] ?? 0, epoch: reply[5 + n * 8] ?? 0 });
  const nowArg = () => (clock ? String(Math.floor(clock())) : "");

  function snapshots(reply: number[], n: number): ScopeSnapshot[] {
    const out: ScopeSnapshot[] = [];
    for (let i = 0; i < n; i++) {
      const b = 2 + i * 8;
      const [requests, requestsResetMs, tokens, tokensResetMs, inflight, waitRequestsMs, waitTokensMs, waitConcurrencyMs] = reply.slice(b, b + 8) as [number, number, number, number, number, number, number, number];
      out.push({ requests, requestsResetMs, tokens, tokensResetMs, inflight, waitRequestsMs, waitTokensMs, waitConcurrencyMs });
    }
    return out;
  }

  async function settleCall(args: string[]): Promise<void> {
    const [keyCount, ...rest] = args;
    const keys = rest.slice(0, Number(keyCount));
    try {
      await call(SETTLE_SHA, SETTLE_LUA, keys, rest.slice(Number(keyCount)));
    } catch {
      if (closed) return;
      // Kept for when the store answers again, so a slot is not held until its lease runs out.
      if (pending.length >= MAX_PENDING) pending.shift();
      pending.push(args);
    }
  }

  const unlimited: Admission = { headers: {}, metersTokens: false, settle() {} };
  /** The headers of these scopes now, consuming nothing (the admit script in look-only mode). */
  async function current(scopes: readonly Scope[]): Promise<Record<string, string>> {
    try {
      const reply = numbers(await call(ADMIT_SHA, ADMIT_LUA, keysOf(scopes), [nowArg(), String(w), "peek", String(opts.leaseMs), "0", "0", ...limitArgs(scopes)]));
      return rateHeaders(scopes, snapshots(reply, scopes.length));
    } catch {
      return unknownStateHeaders(scopes);
    }
  }

  return {
    async admit(q: LimitQuery): Promise<Admission> {
      const scopes = resolve(q.principal, q.model);
      const b = q.budget;
      if (scopes.length === 0 && !b) return unlimited;
      const estimate = reservation(scopes, q);
      const metersTokens = estimate > 0;
      if (exceedsTpm(scopes, estimate)) throw tooLargeForTpm(scopes, estimate, w, await current(scopes));
      const id = `${instance}:${++seq}`;
      const t = budgetNow();
      const start = b ? windowStart(b.period, t) : 0;
      const keys = b ? [...keysOf(scopes), ...budgetKeys(b, start)] : keysOf(scopes);
      const limits = limitArgs(scopes);
      const admitArgs = (seed: number | null) => [nowArg(), String(w), id, String(opts.leaseMs), String(estimate), "1", ...limits, ...(b ? budgetArgs(b, t, seed) : [])];
      let reply: number[];
      try {
        reply = numbers(await call(ADMIT_SHA, ADMIT_LUA, keys, admitArgs(null)));
        // The window has no counter in Redis (a new window, or Redis restarted empty): recover it from the store.
        if (b && budgetReply(reply, scopes.length).state === 2) reply = numbers(await call(ADMIT_SHA, ADMIT_LUA, keys, admitArgs(await seedOf(b, start))));
      } catch (e) {
        if (e instanceof GatewayError) throw e;
        // Sent, but we gave up on it (no answer in time, or the connection failed under it): the script may still
        // have run. Take its entries back (once the store answers), so a request refused or let through uncounted
        // here is never counted there; a budget reservation goes back with nothing spent.
        if (!(e instanceof StoreDown)) void settleCall([String(keys.length), ...keys, nowArg(), String(w), id, String(UNDO), String(estimate), "0", ...limits, ...(b ? ["1", "0", "0", "", "0", "0"] : [])]);
        // A budget never fails open, whatever on_store_error says for rate limits: a request let through uncounted
        // could spend any amount (a frozen Redis once admitted 30 of 30 requests on a $0.05 key, $0.34 spent).
        if (b) throw budgetUnavailable(b.keyName, unknownStateHeaders(scopes));
        if (opts.onStoreError === "deny") throw storeUnavailable(unknownStateHeaders(scopes));
        return { headers: unknownStateHeaders(scopes), metersTokens: false, settle() {} };
      }
      const snaps = snapshots(reply, scopes.length);
      if (b) {
        const r = budgetReply(reply, scopes.length);
        // The budget first: a request it refuses should not be told to retry after a rate-limit wait.
        if (r.state === 1) throw budgetExceeded(b.keyName, b, r.spent + r.held, b.reserveMicros, t);
      }
      if (reply[0] !== 1) throw rejection(scopes, snaps, estimate, w);
      const admittedAt = reply[1]!;
      const admittedHere = performance.now();
      // The counter's epoch this reservation was made under: its settle can tell if Redis lost the counter meanwhile.
      const epoch = b ? budgetReply(reply, scopes.length).epoch : 0;
      let settled = false;
      return {
        headers: rateHeaders(scopes, snaps),
        metersTokens,
        settle(used, cost) {
          if (settled) return;
          settled = true;
          // Nothing to give back for a request that holds no slot or budget and whose reservation stays as it is.
          if (!b && !scopes.some((s) => s.concurrent > 0) && (used === null || !metersTokens)) return;
          // Not a number (a provider's garbage usage): unknown, so the reservation stands (a NaN would fail the script).
          const n = used === null || !metersTokens || !Number.isFinite(used) ? -1 : Math.max(0, Math.round(used));
          const c = cost === null || cost === undefined || !Number.isFinite(cost) ? -1 : Math.min(Number.MAX_SAFE_INTEGER, Math.max(0, Math.round(cost)));
          // When it finished, on Redis's clock (a settle retried after an outage still says when it really ended).
          const finishedAt = Math.round(admittedAt + (performance.now() - admittedHere));
          const budgetTail = b ? ["1", String(c), String(b.reserveMicros), String(epoch), String(finishedAt), budgetTtl(b, budgetNow())] : [];
          void settleCall([String(keys.length), ...keys, nowArg(), String(w), id, String(n), String(estimate), String(admittedAt), ...limits, ...budgetTail]);
        },
      };
    },

    async budgetSpend(b) {
      const t = budgetNow();
      const start = windowStart(b.period, t);
      const keys = budgetKeys(b, start);
      const q = { ...b, reserveMicros: 0 };
      const look = (seed: number | null) => call(ADMIT_SHA, ADMIT_LUA, keys, [nowArg(), String(w), "peek", String(opts.leaseMs), "0", "0", "0", ...budgetArgs(q, t, seed)]);
      let r = budgetReply(numbers(await look(null)), 0);
      if (r.state === 2) r = budgetReply(numbers(await look(await seedOf(b, start))), 0);
      return { spentMicros: r.spent, heldMicros: r.held };
    },

    async peek(principal: Principal, model?: string) {
      const scopes = resolve(principal, model);
      return scopes.length === 0 ? {} : current(scopes);
    },

    stats: (): LimiterStats => ({ store: "redis", storeErrors: health.errors, storeDown: health.down }),

    setDefaults(defaults) {
      resolve = scopeResolver(defaults);
    },

    async ping() {
      const ask = async () => {
        if (!client.connected) await connect();
        await client.send("PING", []);
      };
      await within(ask(), opts.timeoutMs);
    },

    async close() {
      closed = true;
      clearTimeout(probeTimer);
      client.close();
    },
  };
}
