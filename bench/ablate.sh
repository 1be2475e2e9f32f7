#!/usr/bin/env bash
# What each feature costs: this checkout started once per config variant (everything on, then one part off at a time;
# `minimal` has no traces and no limits, usage events and the request log stay),
# side by side with the floor, rounds alternating; requests/s and CPU µs per request (all threads) per variant.
# Usage: bash bench/ablate.sh   env: DURATION (5), ROUNDS (4), MODES ("json stream"), C (64)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/.." && pwd)
DURATION=${DURATION:-5}; ROUNDS=${ROUNDS:-4}; MODES=${MODES:-"json stream"}; C=${C:-64}
BUN=$root/node_modules/.bin/bun
export BUN_CONFIG_MAX_HTTP_REQUESTS=65336 NODE_ENV=production
pin0="taskset -c 0"; pin1="taskset -c 1"; [ "$(nproc)" -ge 2 ] || { pin0=""; pin1=""; }
out=$here/results/ablate; mkdir -p "$out"
pids=(); cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }; trap cleanup EXIT
wait_up() { for _ in $(seq 150); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "not up: $1" >&2; return 1; }
pid_of() { ss -ltnpH "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TICK_US=$((1000000 / $(getconf CLK_TCK)))
PORT=9300 $pin1 "$BUN" "$here/mock-upstream.ts" >/dev/null & pids+=($!)
PORT=9306 $pin1 "$BUN" "$here/otlp-sink.ts" >/dev/null & pids+=($!)
PORT=9301 UPSTREAM=http://127.0.0.1:9300/v1 $pin0 "$BUN" "$here/floor-proxy.ts" >/dev/null & pids+=($!)

# name → config fragments; "all" is the bench's everything-on config, each other variant drops one part of it.
STORE='store: { url: "sqlite://DB" }'
TRACES='telemetry: { otlp_endpoint: "http://127.0.0.1:9306" }'
TRACES01='telemetry: { otlp_endpoint: "http://127.0.0.1:9306", sample_ratio: 0.1 }'
LIMITS='rpm: 100000000, tpm: 100000000000, budget: { usd: 1000000000, period: month }'
# Usage events cannot be switched off by config (every gateway keeps a store), so they are in every variant.
VARIANTS="all traces_0.1 no_traces no_tpm no_limits minimal"
declare -A STORE_OF=( [all]=$STORE [traces_0.1]=$STORE [no_traces]=$STORE [no_tpm]=$STORE [no_limits]=$STORE [minimal]=$STORE )
declare -A TRACES_OF=( [all]=$TRACES [traces_0.1]=$TRACES01 [no_traces]="" [no_tpm]=$TRACES [no_limits]=$TRACES [minimal]="" )
declare -A LIMITS_OF=( [all]=$LIMITS [traces_0.1]=$LIMITS [no_traces]=$LIMITS [no_tpm]="rpm: 100000000, budget: { usd: 1000000000, period: month }" [no_limits]="" [minimal]="" )
declare -A URL=( [floor]=http://127.0.0.1:9301/v1/chat/completions ) PID=()
port=9310
for v in $VARIANTS; do
  port=$((port + 1)); db=$out/$v.db; rm -f "$db" "$db-wal" "$db-shm"
  cat > "$out/$v.yaml" <<YAML
server: { host: 127.0.0.1, port: $port, admin_key: sk-bench-admin }
${STORE_OF[$v]//DB/$db}
${TRACES_OF[$v]}
prices: { bench-model: { input_per_mtok: 2.5, output_per_mtok: 10 } }
providers: { mock: { type: openai, base_url: "http://127.0.0.1:9300/v1", api_key: upstream-key } }
models: [ { id: bench-model, provider: mock } ]
keys: [ { name: bench, key: sk-bench, ${LIMITS_OF[$v]} } ]
YAML
  (cd "$root" && exec $pin0 "$BUN" src/main.ts --config "$out/$v.yaml" --port $port >/dev/null 2>"$out/$v.err") & pids+=($!)
  URL[$v]=http://127.0.0.1:$port/v1/chat/completions
done
wait_up http://127.0.0.1:9300/v1/models; wait_up http://127.0.0.1:9301/v1/models
port=9310; for v in $VARIANTS; do port=$((port + 1)); wait_up http://127.0.0.1:$port/health || { cat "$out/$v.err"; exit 1; }; PID[$v]=$(pid_of $port); done
PID[floor]=$(pid_of 9301)
med() { echo "$1" | tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for mode in $MODES; do
  if [ "$mode" = stream ]; then stream=true; else stream=false; fi
  export BODY="{\"model\":\"bench-model\",\"stream\":$stream,\"messages\":[{\"role\":\"user\",\"content\":\"Say hello in twenty words please.\"}]}"
  declare -A R=() U=()
  for t in floor $VARIANTS; do $pin1 wrk -t1 -c"$C" -d2s -s "$here/post.lua" "${URL[$t]}" >/dev/null; R[$t]=""; U[$t]=""; done
  for r in $(seq "$ROUNDS"); do
    for t in floor $VARIANTS; do
      c0=$(cpu_ticks "${PID[$t]}")
      rps=$($pin1 wrk -t1 -c"$C" -d"${DURATION}s" -s "$here/post.lua" "${URL[$t]}" | grep '^RESULT' | sed 's/.*rps=\([0-9.]*\).*/\1/')
      c1=$(cpu_ticks "${PID[$t]}")
      R[$t]="${R[$t]} $rps"; U[$t]="${U[$t]} $(awk -v c=$((c1 - c0)) -v t="$TICK_US" -v r="$rps" -v d="$DURATION" 'BEGIN { printf "%.1f", c * t / (r * d) }')"
    done
    echo "  $mode round $r done" >&2
  done
  f=$(med "${R[floor]}"); fu=$(med "${U[floor]}"); a=$(med "${R[all]}"); au=$(med "${U[all]}")
  printf "%-7s %-12s %9s %10s %12s %14s\n" "$mode" variant "req/s" "/floor" "CPU µs/req" "µs vs all"
  for t in floor $VARIANTS; do
    rr=$(med "${R[$t]}"); uu=$(med "${U[$t]}")
    awk -v m="$mode" -v t="$t" -v r="$rr" -v f="$f" -v u="$uu" -v au="$au" 'BEGIN { printf "%-7s %-12s %9.0f %10.3f %12.1f %14.1f\n", m, t, r, r/f, u, u-au }'
  done
done
