// The two Lua scripts of the Redis store: admit (check-and-record, also peek) and settle (tokens to usage, slot freed).
//
// Per scope four keys, all with the key's name as hash tag (one cluster slot per request):
//   r  ZSET  request log        member = request id, score = time (ms)
//   t  ZSET  token reservations member = request id, score = time (ms)
//   h  HASH  token amounts      field = request id → tokens; field "sum" = total of the live reservations
//   c  ZSET  in-flight slots    member = request id, score = lease expiry (ms)
// The window is (now − W, now]: an entry leaves it exactly W after it was made (an exact log, like the memory store).
// Every key gets PEXPIRE on write, so an idle key's data disappears by itself.
// Time: Redis's own TIME unless ARGV[1] carries a clock (tests). One clock for every instance means gateway hosts
// with skewed clocks still share one window.

const NOW = `
local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[1])
end`;

// ---- Budgets: part of the same scripts, so a reservation is atomic with rpm, tpm and concurrency.
// Two more keys after the scopes' (same hash tag): bh HASH {spent, held, ep, h:<request id> → reserved micro-USD} and
// bz ZSET of reservations (member = request id, score = lease expiry). ARGV after the scopes' limits:
// admit: flag ('1' = budget), limit, reserve, seed ('' = unknown), ttl ms, lease ms; settle: flag, cost (-1 = unknown),
// reserved, the epoch it was admitted under ('' = none), its finish time (Redis clock), ttl ms.
// A window's counter is created from the seed the gateway read from the store (the ledger); without `spent` and
// unseeded → state 2 (ask again). `ep` is when it was seeded (Redis ms): its epoch. A reservation whose lease ran out
// belonged to an instance that died mid-request: charged, never silently freed.
//
// Redis restarted empty (or the key expired) under requests in flight: their reservations went with the old counter,
// and the new one was seeded from a ledger that did not have their cost yet. Their settle then finds no reservation
// under another epoch (or no counter at all) and adds the cost itself, unless the request finished more than
// LEDGER_LAG ms before the seed: then its event was in the ledger the seed was read from (events are flushed every
// 200 ms and visible within 2 s). A settle that finds no counter at all leaves its cost as p:<id> = "<finish>:<cost>"
// for whoever seeds it. A restart of Redis never resets a budget; at worst, a request finishing within LEDGER_LAG of a
// re-seed is counted twice (an over-count, never an under-count).
const LEDGER_LAG = 2000;

const BUDGET_CHECK = `
local bstate, bspent, bheld, bep = 0, 0, 0, 0
local ba = 7 + n * 3
local bud = ARGV[ba + 1] == '1'
local bk, bz = KEYS[n * 4 + 1], KEYS[n * 4 + 2]
local breserve = 0
if bud then
  local blimit, bseed, bttl = tonumber(ARGV[ba + 2]), ARGV[ba + 4], tonumber(ARGV[ba + 5])
  breserve = tonumber(ARGV[ba + 3])
  if redis.call('HEXISTS', bk, 'spent') == 0 then
    if bseed == '' then
      bstate = 2
    else
      -- costs of requests that settled before anyone seeded this counter, unless the seed's ledger has them already
      local extra = 0
      local pre = redis.call('HGETALL', bk)
      for j = 1, #pre, 2 do
        if string.sub(pre[j], 1, 2) == 'p:' then
          local sep = string.find(pre[j + 1], ':', 1, true)
          local fin, c = tonumber(string.sub(pre[j + 1], 1, sep - 1)), tonumber(string.sub(pre[j + 1], sep + 1))
          if fin > now - ${LEDGER_LAG} then extra = extra + c end
          redis.call('HDEL', bk, pre[j])
        end
      end
      redis.call('HSET', bk, 'spent', tonumber(bseed) + extra, 'held', 0, 'ep', now)
      redis.call('PEXPIRE', bk, bttl)
    end
  elseif redis.call('HEXISTS', bk, 'ep') == 0 then
    -- a counter from before epochs existed: it is the truth as it stands
    redis.call('HSET', bk, 'ep', now)
  end
  if bstate == 0 then
    local gone = redis.call('ZRANGEBYSCORE', bz, '-inf', now)
    for j = 1, #gone do
      local amt = tonumber(redis.call('HGET', bk, 'h:' .. gone[j])) or 0
      redis.call('HDEL', bk, 'h:' .. gone[j])
      redis.call('HINCRBY', bk, 'held', -amt)
      redis.call('HINCRBY', bk, 'spent', amt)
    end
    if #gone > 0 then redis.call('ZREMRANGEBYSCORE', bz, '-inf', now) end
    bspent = tonumber(redis.call('HGET', bk, 'spent')) or 0
    bheld = tonumber(redis.call('HGET', bk, 'held')) or 0
    bep = tonumber(redis.call('HGET', bk, 'ep')) or 0
    if bspent + bheld + breserve > blimit then bstate = 1 end
  end
  if bstate ~= 0 then ok = false end
end`;

const BUDGET_HOLD = `
  if bud then
    local bttl, blease = tonumber(ARGV[ba + 5]), tonumber(ARGV[ba + 6])
    redis.call('HSET', bk, 'h:' .. id, breserve)
    redis.call('HINCRBY', bk, 'held', breserve)
    redis.call('ZADD', bz, now + blease, id)
    redis.call('PEXPIRE', bk, bttl)
    redis.call('PEXPIRE', bz, bttl)
    bheld = bheld + breserve
  end`;

const BUDGET_SETTLE = `
local ba = 7 + n * 3
if ARGV[ba + 1] == '1' then
  local bk, bz = KEYS[n * 4 + 1], KEYS[n * 4 + 2]
  local reserved = tonumber(redis.call('HGET', bk, 'h:' .. id))
  local cost = tonumber(ARGV[ba + 2])
  -- settled once: a retried settle finds the reservation gone
  if reserved then
    if cost < 0 then cost = reserved end
    redis.call('HDEL', bk, 'h:' .. id)
    redis.call('ZREM', bz, id)
    redis.call('HINCRBY', bk, 'held', -reserved)
    redis.call('HINCRBY', bk, 'spent', cost)
  else
    local aep, fin, bttl = ARGV[ba + 4], tonumber(ARGV[ba + 5]), tonumber(ARGV[ba + 6])
    local bep = redis.call('HGET', bk, 'ep')
    -- the counter it was admitted on is gone (Redis restarted empty): its cost must not vanish with it
    if aep ~= '' and aep ~= '0' and bep ~= aep then
      if cost < 0 then cost = tonumber(ARGV[ba + 3]) end
      if redis.call('HSETNX', bk, 'o:' .. id, 1) == 1 then
        if bep then
          if fin > tonumber(bep) - ${LEDGER_LAG} then redis.call('HINCRBY', bk, 'spent', cost) end
        else
          redis.call('HSET', bk, 'p:' .. id, fin .. ':' .. cost)
        end
        redis.call('PEXPIRE', bk, bttl)
      end
    end
  end
end`;

/**
 * KEYS: 4 per scope (r, t, h, c), then the budget's bh, bz. ARGV: [1] now or '', [2] window ms, [3] request id, [4] lease ms,
 * [5] tokens to reserve, [6] 1 = record if admitted, 0 = only look (peek), [7] scope count, then per scope rpm, tpm,
 * concurrency (0 = none), then the budget's (above). Returns {admitted, now, then per scope: requests, requests reset
 * ms, tokens, tokens reset ms, in flight, wait for requests, wait for tokens, wait for a slot (-1 = not hit)}, then the
 * budget's state (0 fits or none, 1 over, 2 needs a seed), spent, held, epoch (when the counter was seeded).
 */
export const ADMIT_LUA = `${NOW}
local W = tonumber(ARGV[2])
local id = ARGV[3]
local lease = tonumber(ARGV[4])
local est = tonumber(ARGV[5])
local record = ARGV[6] == '1'
local n = tonumber(ARGV[7])
local edge = now - W
local snaps = {}
local ok = true
for i = 1, n do
  local k = (i - 1) * 4
  local rk, tk, hk, ck = KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4]
  local a = 7 + (i - 1) * 3
  local rpm, tpm, conc = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  local s = { rpm = rpm, tpm = tpm, conc = conc, rk = rk, tk = tk, hk = hk, ck = ck, count = 0, used = 0, inflight = 0, wr = -1, wt = -1, wc = -1 }
  if rpm > 0 then
    redis.call('ZREMRANGEBYSCORE', rk, '-inf', edge)
    s.count = redis.call('ZCARD', rk)
    if s.count >= rpm then
      -- the (count - rpm + 1)-th oldest request must leave the window before one more fits
      local e = redis.call('ZRANGE', rk, s.count - rpm, s.count - rpm, 'WITHSCORES')
      s.wr = tonumber(e[2]) + W - now
    end
  end
  if tpm > 0 then
    local old = redis.call('ZRANGEBYSCORE', tk, '-inf', edge)
    if #old > 0 then
      local freed = 0
      -- in batches: unpack() of a long list would overflow Lua's stack
      for j = 1, #old, 500 do
        local batch = {}
        for x = j, math.min(j + 499, #old) do batch[#batch + 1] = old[x] end
        local v = redis.call('HMGET', hk, unpack(batch))
        for x = 1, #batch do freed = freed + (tonumber(v[x]) or 0) end
        redis.call('HDEL', hk, unpack(batch))
      end
      redis.call('ZREMRANGEBYSCORE', tk, '-inf', edge)
      redis.call('HINCRBY', hk, 'sum', -freed)
    end
    s.used = tonumber(redis.call('HGET', hk, 'sum')) or 0
    if s.used + est > tpm then
      -- the earliest moment enough reserved tokens have left the window for this request to fit
      local need = s.used + est - tpm
      local freed = 0
      local e = redis.call('ZRANGE', tk, 0, -1, 'WITHSCORES')
      for j = 1, #e, 2 do
        freed = freed + (tonumber(redis.call('HGET', hk, e[j])) or 0)
        if freed >= need then
          s.wt = tonumber(e[j + 1]) + W - now
          break
        end
      end
      if s.wt < 0 then s.wt = W end
    end
  end
  if conc > 0 then
    -- a slot whose lease ran out belonged to an instance that died without releasing it
    redis.call('ZREMRANGEBYSCORE', ck, '-inf', now)
    s.inflight = redis.call('ZCARD', ck)
    if s.inflight >= conc then s.wc = 1000 end
  end
  if s.wr >= 0 or s.wt >= 0 or s.wc >= 0 then ok = false end
  snaps[i] = s
end
${BUDGET_CHECK}
if ok and record then
  for i = 1, n do
    local s = snaps[i]
    if s.rpm > 0 then
      redis.call('ZADD', s.rk, now, id)
      redis.call('PEXPIRE', s.rk, W)
      s.count = s.count + 1
    end
    if s.tpm > 0 then
      redis.call('ZADD', s.tk, now, id)
      redis.call('HSET', s.hk, id, est)
      redis.call('HINCRBY', s.hk, 'sum', est)
      redis.call('PEXPIRE', s.tk, W)
      redis.call('PEXPIRE', s.hk, W)
      s.used = s.used + est
    end
    if s.conc > 0 then
      redis.call('ZADD', s.ck, now + lease, id)
      redis.call('PEXPIRE', s.ck, lease)
      s.inflight = s.inflight + 1
    end
  end
  ${BUDGET_HOLD}
end
local out = { (ok and record) and 1 or 0, now }
for i = 1, n do
  local s = snaps[i]
  local rr, tr = 0, 0
  if s.count > 0 then
    local e = redis.call('ZRANGE', s.rk, -1, -1, 'WITHSCORES')
    if e[2] then rr = tonumber(e[2]) + W - now end
  end
  if s.tpm > 0 then
    local e = redis.call('ZRANGE', s.tk, -1, -1, 'WITHSCORES')
    if e[2] then tr = tonumber(e[2]) + W - now end
  end
  local b = #out
  out[b + 1] = s.count
  out[b + 2] = rr
  out[b + 3] = s.used
  out[b + 4] = tr
  out[b + 5] = s.inflight
  out[b + 6] = s.wr
  out[b + 7] = s.wt
  out[b + 8] = s.wc
end
out[#out + 1] = bstate
out[#out + 1] = bspent
out[#out + 1] = bheld
out[#out + 1] = bep
return out`;

/** SETTLE's "tokens used" for an admission the gateway gave up on: every entry of the request is removed. */
export const UNDO = -2;

/**
 * KEYS: as ADMIT. ARGV: [1] now or '', [2] window ms, [3] request id, [4] tokens used (-1 = keep the reservation,
 * UNDO = take the whole admission back), [5] tokens reserved, [6] admission time (ms, the store's clock), [7] scope
 * count, then per scope rpm, tpm, concurrency, then the budget's flag, cost (an undo sends cost 0: nothing spent),
 * reserved, admission epoch, finish time and ttl (BUDGET_SETTLE).
 * Frees the slot and replaces the reservation with the usage. Idempotent: a retried settle finds the slot gone and
 * the amount already set; an undo of a request that was never recorded (refused, or never ran) finds nothing.
 */
export const SETTLE_LUA = `${NOW}
local W = tonumber(ARGV[2])
local id = ARGV[3]
local used = tonumber(ARGV[4])
local reserved = tonumber(ARGV[5])
local at = tonumber(ARGV[6])
local n = tonumber(ARGV[7])
for i = 1, n do
  local k = (i - 1) * 4
  local rk, tk, hk, ck = KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4]
  local a = 7 + (i - 1) * 3
  local rpm, tpm, conc = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  if conc > 0 then redis.call('ZREM', ck, id) end
  if used == ${UNDO} then
    if rpm > 0 then redis.call('ZREM', rk, id) end
    if tpm > 0 then
      local cur = tonumber(redis.call('HGET', hk, id))
      if cur then
        redis.call('HDEL', hk, id)
        redis.call('HINCRBY', hk, 'sum', -cur)
      end
      redis.call('ZREM', tk, id)
    end
  elseif tpm > 0 and used >= 0 then
    local score = tonumber(redis.call('ZSCORE', tk, id))
    local cur = tonumber(redis.call('HGET', hk, id))
    if score and cur and score > now - W then
      redis.call('HSET', hk, id, used)
      redis.call('HINCRBY', hk, 'sum', used - cur)
    elseif now - at >= W and used > reserved then
      -- the reservation already left the window (a call longer than the window): charge the excess now
      local late = id .. '+'
      if not redis.call('ZSCORE', tk, late) then
        redis.call('ZADD', tk, now, late)
        redis.call('HSET', hk, late, used - reserved)
        redis.call('HINCRBY', hk, 'sum', used - reserved)
        redis.call('PEXPIRE', tk, W)
        redis.call('PEXPIRE', hk, W)
      end
    end
    -- otherwise the entry vanished inside its window (Redis restarted empty): nothing left to correct
  end
end
${BUDGET_SETTLE}
return 1`;
