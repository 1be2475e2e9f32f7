#!/usr/bin/env bash
# Gateway overhead, side by side in one run: the mock provider directly, a bare Bun proxy (the floor) and
# Switchboard (this checkout, `bun src/main.ts` as `npm start` runs it), optionally Portkey's gateway (PEERS=portkey).
# Prints requests/s, p50, p99 (wrk), TTFB of a stream, RSS idle / with 2,000 slow streams / after, as ratios to the floor.
# Env: DURATION (s per wrk run, 5), CONC ("1 64"), ROUNDS (3), MODES ("json stream"), STREAMS (2000),
#      CHUNK_DELAY_MS (400: the slow provider's gap between its 20 chunks), TTFB_N (300), PEERS ("" or "portkey"),
#      AFTER_S (15: seconds after the streams end before "after" is read; Bun's idle GC runs some 5-10 s after activity stops),
#      BIG_STREAMS (10000: a second hold of that many streams, peak RSS and completions; 0 skips it),
#      QUICK=1 (a check of a change in under a minute: 2 s × 1 round at 64 connections, 500 streams, no big hold),
#      TAIL_S (8: seconds of each fixed-rate run with hey, at half the floor's saturated requests/s; 0 skips them),
#      SAMPLED (1: also run ours with telemetry.sample_ratio 0.1 as "ours_s01"; 0 skips it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/.." && pwd)
if [ "${QUICK:-}" = 1 ]; then
  DURATION=${DURATION:-2}; ROUNDS=${ROUNDS:-1}; CONC=${CONC:-64}; STREAMS=${STREAMS:-500}; TTFB_N=${TTFB_N:-50}; AFTER_S=${AFTER_S:-3}; BIG_STREAMS=${BIG_STREAMS:-0}; TAIL_S=${TAIL_S:-3}
fi
DURATION=${DURATION:-5}; CONC=${CONC:-"1 64"}; ROUNDS=${ROUNDS:-3}; MODES=${MODES:-"json stream"}
STREAMS=${STREAMS:-2000}; CHUNK_DELAY_MS=${CHUNK_DELAY_MS:-400}; TTFB_N=${TTFB_N:-300}; PEERS=${PEERS:-}; AFTER_S=${AFTER_S:-15}
BIG_STREAMS=${BIG_STREAMS:-10000}; TAIL_S=${TAIL_S:-8}; SAMPLED=${SAMPLED:-1}
command -v wrk >/dev/null || { echo "installing wrk (Debian package)" >&2; apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
command -v ss >/dev/null || { apt-get update -qq && apt-get install -y -qq iproute2 >/dev/null; }
command -v hey >/dev/null || { echo "installing hey (Debian package)" >&2; apt-get update -qq && apt-get install -y -qq hey >/dev/null; }
[ -x "$root/node_modules/.bin/bun" ] || (cd "$root" && npm ci --no-audit --no-fund)
BUN=$root/node_modules/.bin/bun
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
# Bun's fetch allows 256 concurrent requests by default: the client and the floor need more for the holds (ours
# lifts its own limit at start, as it does in service).
export BUN_CONFIG_MAX_HTTP_REQUESTS=65336 NODE_ENV=production
pin0="taskset -c 0"; pin1="taskset -c 1"; [ "$(nproc)" -ge 2 ] || { pin0=""; pin1=""; }
out=$here/results; mkdir -p "$out"; stamp=$(date +%Y%m%dT%H%M%S); res=$out/$stamp.tsv; extra=$out/$stamp.extra.tsv
pids=(); cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }; trap cleanup EXIT
wait_up() { for _ in $(seq 150); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "not up: $1" >&2; return 1; }
pid_of() { ss -ltnpH "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2; }
rss() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status" 2>/dev/null || echo 0; }

# ports: 9100 fast provider, 9104 slow provider, 9101/9105 floor → fast/slow, 9102 portkey, 9103 ours, 9106 trace sink
PORT=9100 $pin0 "$BUN" "$here/mock-upstream.ts" >/dev/null & pids+=($!)
PORT=9106 $pin1 "$BUN" "$here/otlp-sink.ts" >/dev/null & pids+=($!)
PORT=9104 CHUNK_DELAY_MS=$CHUNK_DELAY_MS $pin0 "$BUN" "$here/mock-upstream.ts" >/dev/null & pids+=($!)
PORT=9101 UPSTREAM=http://127.0.0.1:9100/v1 $pin0 "$BUN" "$here/floor-proxy.ts" >/dev/null & pids+=($!)
PORT=9105 UPSTREAM=http://127.0.0.1:9104/v1 $pin0 "$BUN" "$here/floor-proxy.ts" >/dev/null & pids+=($!)
cfg=$out/bench-config.yaml
db=$out/bench-store.db; rm -f "$db" "$db-wal" "$db-shm"
# Everything a real deployment has on: auth, validation, rpm + tpm + a budget on the key, a price for the model,
# usage events written to the SQLite store, metrics, traces exported to a local sink, the request log.
cat > "$cfg" <<YAML
server:
  host: 127.0.0.1
  port: 9103
  admin_key: sk-bench-admin
store:
  url: sqlite://$db
telemetry:
  otlp_endpoint: http://127.0.0.1:9106
prices:
  bench-model: { input_per_mtok: 2.5, output_per_mtok: 10 }
  slow-model: { input_per_mtok: 2.5, output_per_mtok: 10 }
providers:
  mock:
    type: openai
    base_url: http://127.0.0.1:9100/v1
    api_key: upstream-key
  slow:
    type: openai
    base_url: http://127.0.0.1:9104/v1
    api_key: upstream-key
models:
  - id: bench-model
    provider: mock
  - id: slow-model
    provider: slow
keys:
  - name: bench
    key: sk-bench
    rpm: 100000000
    tpm: 100000000000
    budget: { usd: 1000000000, period: month }
YAML
# What `npm start` runs, started directly so that its pid is the server's own and the cleanup below stops it
# (killing npm would leave its bun child listening). Request lines (logging on, as in service) go to a file.
(cd "$root" && exec $pin0 "$BUN" src/main.ts --config "$cfg" --port 9103 >"$out/switchboard.log" 2>"$out/switchboard.err") & pids+=($!)
if [ "$SAMPLED" = 1 ]; then
  # The same gateway with one trace in ten recorded (telemetry.sample_ratio 0.1), on its own store and port.
  cfg01=$out/bench-config-s01.yaml; db01=$out/bench-store-s01.db; rm -f "$db01" "$db01-wal" "$db01-shm"
  sed "s|port: 9103|port: 9107|; s|sqlite://$db|sqlite://$db01|; s|otlp_endpoint: http://127.0.0.1:9106|otlp_endpoint: http://127.0.0.1:9106\n  sample_ratio: 0.1|" "$cfg" > "$cfg01"
  (cd "$root" && exec $pin0 "$BUN" src/main.ts --config "$cfg01" --port 9107 >"$out/switchboard-s01.log" 2>"$out/switchboard-s01.err") & pids+=($!)
fi
declare -A URL=( [direct]=http://127.0.0.1:9100/v1/chat/completions [floor]=http://127.0.0.1:9101/v1/chat/completions [ours]=http://127.0.0.1:9103/v1/chat/completions [ours_s01]=http://127.0.0.1:9107/v1/chat/completions )
declare -A PORT=( [direct]=9100 [floor]=9101 [portkey]=9102 [ours]=9103 [ours_s01]=9107 )
declare -A HDR=( [portkey]="x-portkey-provider:openai;x-portkey-custom-host:http://127.0.0.1:9100/v1" )
TARGETS="direct floor ours"; [ "$SAMPLED" = 1 ] && TARGETS="$TARGETS ours_s01"
if [[ " $PEERS " == *" portkey "* ]]; then
  # A peer for comparison, installed at run time into bench/.peers (never committed); needs the npm registry.
  [ -f "$here/.peers/node_modules/@portkey-ai/gateway/build/start-server.js" ] ||
    npm install --prefix "$here/.peers" --silent --no-audit --no-fund --no-save @portkey-ai/gateway@1 >/dev/null 2>&1
  $pin0 "$BUN" "$here/.peers/node_modules/@portkey-ai/gateway/build/start-server.js" --port=9102 --headless >/dev/null 2>&1 & pids+=($!)
  URL[portkey]=http://127.0.0.1:9102/v1/chat/completions; TARGETS="direct floor portkey ${TARGETS#direct floor }"; wait_up http://127.0.0.1:9102/
fi
for p in 9100 9104 9101 9105; do wait_up http://127.0.0.1:$p/v1/models; done
wait_up http://127.0.0.1:9106/count
wait_up http://127.0.0.1:9103/health || { cat "$out/switchboard.err" >&2; exit 1; }
[ "$SAMPLED" = 1 ] && { wait_up http://127.0.0.1:9107/health || { cat "$out/switchboard-s01.err" >&2; exit 1; }; }
sleep 1
echo -e "what\ttarget\tvalue" > "$extra"
echo -e "rss_idle\tfloor\t$(rss "$(pid_of 9101)")" >> "$extra"
echo -e "rss_idle\tours\t$(rss "$(pid_of 9103)")" >> "$extra"
[ -n "${URL[portkey]:-}" ] && echo -e "rss_idle\tportkey\t$(rss "$(pid_of 9102)")" >> "$extra"

echo -e "mode\tconc\ttarget\tround\trps\tp50_ms\tp99_ms\terrors\tnon2xx" > "$res"
rss_sampler() {  # the largest RSS of the process on port $1, every 0.2 s, until killed
  local pid max=0 now; pid=$(pid_of "$1"); trap 'echo -e "rss_load_peak\t$2\t$max" >> "$extra"; exit 0' TERM
  while true; do now=$(rss "$pid"); awk -v a="$now" -v b="$max" 'BEGIN{exit !(a>b)}' && max=$now; sleep 0.2; done
}
queue_depth() { curl -s http://127.0.0.1:9103/metrics | awk '/^switchboard_usage_queue_depth / {print $2}'; }
queue_sampler() {  # the largest usage-queue depth seen, every 0.25 s, until killed
  local max=0 d; trap 'echo -e "usage_queue_max\tours-$1\t$max" >> "$extra"; exit 0' TERM
  while true; do d=$(queue_depth); [ -n "$d" ] && awk -v a="$d" -v b="$max" 'BEGIN{exit !(a>b)}' && max=$d; sleep 0.25; done
}
events_written() { curl -s -H 'authorization: Bearer sk-bench-admin' 'http://127.0.0.1:9103/admin/v1/usage' | "$BUN" -e 'const j=JSON.parse(await Bun.stdin.text()); console.log(j.data.reduce((n,r)=>n+r.requests,0))'; }
ours_s=0; events0=$(events_written)
for mode in $MODES; do
  if [ "$mode" = stream ]; then stream=true; else stream=false; fi
  export BODY="{\"model\":\"bench-model\",\"stream\":$stream,\"messages\":[{\"role\":\"user\",\"content\":\"Say hello in twenty words please.\"}]}"
  for c in $CONC; do
    for t in $TARGETS; do EXTRA_HEADERS="${HDR[$t]:-}" $pin1 wrk -t1 -c"$c" -d2s -s "$here/post.lua" "${URL[$t]}" >/dev/null; done   # warm-up
    for r in $(seq "$ROUNDS"); do
      for t in $TARGETS; do   # targets alternate within a round, so drift hits all of them alike
        # Under load, ours' usage queue is sampled: a store that keeps up never lets it grow.
        spid=""; [ "$t" = ours ] && { queue_sampler "$mode-$c-$r" & spid=$!; }
        # Peak RSS under the 64-connection load, per target (the largest over every round and mode).
        rpid=""; [ "$c" = 64 ] && [ "$t" != direct ] && { rss_sampler "${PORT[$t]}" "$t" & rpid=$!; }
        line=$(EXTRA_HEADERS="${HDR[$t]:-}" $pin1 wrk -t1 -c"$c" -d"${DURATION}s" -s "$here/post.lua" "${URL[$t]}" | grep '^RESULT')
        [ -n "$spid" ] && { kill "$spid" 2>/dev/null || true; wait "$spid" 2>/dev/null || true; ours_s=$((ours_s + DURATION)); }
        [ -n "$rpid" ] && { kill "$rpid" 2>/dev/null || true; wait "$rpid" 2>/dev/null || true; }
        set -- $(echo "$line" | sed 's/[a-z0-9_]*=//g; s/RESULT//')
        echo -e "$mode\t$c\t$t\t$r\t$1\t$2\t$3\t$4\t$5" >> "$res"
        echo "  $mode c=$c $t round $r: $1 req/s, p50 $2 ms, p99 $3 ms" >&2
      done
    done
  done
done

# The tail at a fixed rate, which is what users feel (saturation p99 above says how a server queues when overrun): hey
# with 64 workers at half the floor's saturated requests/s of this run (wrk, 64 connections), p50 / p99 / p99.9.
tail_rows=$out/$stamp.tail.tsv; echo -e "mode\ttarget\trate\tp50_ms\tp99_ms\tp999_ms\terrors" > "$tail_rows"
pct() { sort -n | awk -v p="$1" '{a[NR]=$1} END { i=int(NR*p/100); if (i<1) i=1; if (i>NR) i=NR; printf "%.3f", a[i]*1000 }'; }
if [ "$TAIL_S" -gt 0 ]; then
  for mode in $MODES; do
    if [ "$mode" = stream ]; then stream=true; else stream=false; fi
    body="{\"model\":\"bench-model\",\"stream\":$stream,\"messages\":[{\"role\":\"user\",\"content\":\"Say hello in twenty words please.\"}]}"
    sat=$(awk -F'\t' -v m="$mode" '$1==m && $2==64 && $3=="floor" {print $5}' "$res" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    [ -n "$sat" ] || continue
    q=$(awk -v s="$sat" 'BEGIN { q=s/2/64; if (q<1) q=1; printf "%d", q }')
    for t in ${TARGETS#direct }; do
      hdrs=(-H "Authorization: Bearer sk-bench"); [ -n "${HDR[$t]:-}" ] && { IFS=';' read -ra hs <<< "${HDR[$t]}"; for h in "${hs[@]}"; do hdrs+=(-H "$h"); done; }
      $pin1 hey -z 2s -c 64 -q "$q" -m POST -T application/json "${hdrs[@]}" -d "$body" "${URL[$t]}" >/dev/null   # warm-up
      csv=$($pin1 hey -z "${TAIL_S}s" -c 64 -q "$q" -m POST -T application/json "${hdrs[@]}" -d "$body" -o csv "${URL[$t]}")
      lat=$(echo "$csv" | awk -F, 'NR>1 && $7==200 {print $1}')
      errs=$(echo "$csv" | awk -F, 'NR>1 && $7!=200' | wc -l)
      echo -e "$mode\t$t\t$((q * 64))\t$(echo "$lat" | pct 50)\t$(echo "$lat" | pct 99)\t$(echo "$lat" | pct 99.9)\t$errs" >> "$tail_rows"
      echo "  tail $mode $t at $((q * 64)) req/s: $(tail -1 "$tail_rows" | cut -f4-7 | tr '\t' ' ')" >&2
    done
  done
fi

# The store under the load above: usage events written per second of load, and the queue left once the writer caught up.
sleep 1
events1=$(events_written)
echo -e "events_written\tours\t$((events1 - events0))\nevents_per_s\tours\t$(awk -v e=$((events1 - events0)) -v s="$ours_s" 'BEGIN{printf "%.0f", e/s}')\nusage_queue_end\tours\t$(queue_depth)" >> "$extra"
echo -e "spans_exported\tours\t$(curl -s http://127.0.0.1:9106/count)" >> "$extra"

# time to first byte of one stream at a time (after the load above, as in service)
for t in direct floor ours $([ -n "${URL[portkey]:-}" ] && echo portkey); do
  line=$(EXTRA_HEADERS="${HDR[$t]:-}" $pin1 "$BUN" "$here/ttfb.ts" "${URL[$t]}" "$TTFB_N" | grep '^TTFB')
  echo -e "ttfb_p50\t$t\t$(echo "$line" | sed 's/.*p50_ms=\([0-9.]*\).*/\1/')" >> "$extra"
  echo "  ttfb $t: $line" >&2
done

# STREAMS concurrent slow streams: RSS before, peak while held, and AFTER_S s after they end (a leak stays; garbage the
# idle GC has not collected yet does not: at 3 s the gateway still holds the streams' garbage, at 10 s it is gone)
hold() {  # name port url count prefix
  local pid start peak now cpid log=$out/$stamp.hold-$5$1.txt
  pid=$(pid_of "$2"); start=$(rss "$pid"); peak=$start
  $pin1 "$BUN" "$here/hold.ts" "$3" "$4" > "$log" 2>&1 & cpid=$!
  while kill -0 "$cpid" 2>/dev/null; do now=$(rss "$pid"); awk -v a="$now" -v b="$peak" 'BEGIN{exit !(a>b)}' && peak=$now; sleep 0.2; done
  wait "$cpid" || true; sleep "$AFTER_S"
  echo -e "${5}rss_streams_start\t$1\t$start\n${5}rss_streams_peak\t$1\t$peak\n${5}rss_streams_after\t$1\t$(rss "$pid")" >> "$extra"
  echo -e "${5}streams_max_open\t$1\t$(sed -n 's/.*max_open=\([0-9]*\).*/\1/p' "$log")\n${5}streams_ok\t$1\t$(sed -n 's/.*ok=\([0-9]*\).*/\1/p' "$log")" >> "$extra"
  echo "  $4 streams via $1: $(cat "$log"); RSS $start → peak $peak → after $(rss "$pid") MiB" >&2
}
hold floor 9105 http://127.0.0.1:9105/v1/chat/completions "$STREAMS" ""
hold ours 9103 http://127.0.0.1:9103/v1/chat/completions "$STREAMS" ""
# Each stream through a gateway holds two sockets (client and provider): the per-process descriptor limit bounds the hold.
fdmax=$(ulimit -n); if [ "$BIG_STREAMS" -gt $(( (fdmax - 500) / 2 )) ]; then
  echo "  BIG_STREAMS $BIG_STREAMS > what $fdmax file descriptors per process allow; holding $(( (fdmax - 500) / 2 ))" >&2
  BIG_STREAMS=$(( (fdmax - 500) / 2 ))
fi
if [ "$BIG_STREAMS" -gt 0 ]; then
  hold floor 9105 http://127.0.0.1:9105/v1/chat/completions "$BIG_STREAMS" big_
  hold ours 9103 http://127.0.0.1:9103/v1/chat/completions "$BIG_STREAMS" big_
fi

STREAMS=$STREAMS "$BUN" "$here/report.ts" "$res" "$extra" "$tail_rows"
echo "raw rows: $res $extra $tail_rows"
