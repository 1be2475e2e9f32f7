#!/usr/bin/env bash
# Two checkouts side by side in one run (A = OTHER_DIR, B = this checkout), same config as run.sh's `ours`, same mock
# provider and floor, rounds alternating so drift hits both alike. Prints requests/s per round and the medians.
# Usage: OTHER_DIR=/path/to/other/checkout bash bench/ab.sh   env: DURATION (5), ROUNDS (5), MODES ("json stream"), C (64)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/.." && pwd)
DURATION=${DURATION:-5}; ROUNDS=${ROUNDS:-5}; MODES=${MODES:-"json stream"}; C=${C:-64}
: "${OTHER_DIR:?set OTHER_DIR to the other checkout}"
BUN=$root/node_modules/.bin/bun
export BUN_CONFIG_MAX_HTTP_REQUESTS=65336 NODE_ENV=production
pin0="taskset -c 0"; pin1="taskset -c 1"; [ "$(nproc)" -ge 2 ] || { pin0=""; pin1=""; }
out=$here/results; mkdir -p "$out"
pids=(); cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }; trap cleanup EXIT
wait_up() { for _ in $(seq 150); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "not up: $1" >&2; return 1; }
pid_of() { ss -ltnpH "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2; }
# CPU time (user + system, in clock ticks) of a process and its threads: the cost of a request, less noisy than req/s.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TICK_US=$((1000000 / $(getconf CLK_TCK)))
PORT=9200 $pin1 "$BUN" "$here/mock-upstream.ts" >/dev/null & pids+=($!)
PORT=9206 $pin1 "$BUN" "$here/otlp-sink.ts" >/dev/null & pids+=($!)
PORT=9201 UPSTREAM=http://127.0.0.1:9200/v1 $pin0 "$BUN" "$here/floor-proxy.ts" >/dev/null & pids+=($!)
for side in a b; do
  dir=$([ $side = a ] && echo "$OTHER_DIR" || echo "$root"); port=$([ $side = a ] && echo 9202 || echo 9203)
  db=$out/ab-$side.db; rm -f "$db" "$db-wal" "$db-shm"
  cat > "$out/ab-$side.yaml" <<YAML
server: { host: 127.0.0.1, port: $port, admin_key: sk-bench-admin }
store: { url: "sqlite://$db" }
telemetry: { otlp_endpoint: "http://127.0.0.1:9206" }
prices: { bench-model: { input_per_mtok: 2.5, output_per_mtok: 10 } }
providers: { mock: { type: openai, base_url: "http://127.0.0.1:9200/v1", api_key: upstream-key } }
models: [ { id: bench-model, provider: mock } ]
keys: [ { name: bench, key: sk-bench, rpm: 100000000, tpm: 100000000000, budget: { usd: 1000000000, period: month } } ]
YAML
  (cd "$dir" && exec $pin0 "$BUN" src/main.ts --config "$out/ab-$side.yaml" --port $port >/dev/null 2>"$out/ab-$side.err") & pids+=($!)
done
wait_up http://127.0.0.1:9200/v1/models; wait_up http://127.0.0.1:9201/v1/models; wait_up http://127.0.0.1:9202/health; wait_up http://127.0.0.1:9203/health
declare -A URL=( [floor]=http://127.0.0.1:9201/v1/chat/completions [a]=http://127.0.0.1:9202/v1/chat/completions [b]=http://127.0.0.1:9203/v1/chat/completions )
declare -A PID=( [floor]=$(pid_of 9201) [a]=$(pid_of 9202) [b]=$(pid_of 9203) )
for mode in $MODES; do
  if [ "$mode" = stream ]; then stream=true; else stream=false; fi
  export BODY="{\"model\":\"bench-model\",\"stream\":$stream,\"messages\":[{\"role\":\"user\",\"content\":\"Say hello in twenty words please.\"}]}"
  for t in floor a b; do $pin1 wrk -t1 -c"$C" -d2s -s "$here/post.lua" "${URL[$t]}" >/dev/null; done
  declare -A R=( [floor]="" [a]="" [b]="" ) U=( [floor]="" [a]="" [b]="" )
  for r in $(seq "$ROUNDS"); do
    for t in floor a b; do
      c0=$(cpu_ticks "${PID[$t]}")
      rps=$($pin1 wrk -t1 -c"$C" -d"${DURATION}s" -s "$here/post.lua" "${URL[$t]}" | grep '^RESULT' | sed 's/.*rps=\([0-9.]*\).*/\1/')
      c1=$(cpu_ticks "${PID[$t]}")
      R[$t]="${R[$t]} $rps"
      U[$t]="${U[$t]} $(awk -v c=$((c1 - c0)) -v t="$TICK_US" -v r="$rps" -v d="$DURATION" 'BEGIN { printf "%.1f", c * t / (r * d) }')"
    done
    echo "  $mode round $r: req/s floor ${R[floor]##* } a ${R[a]##* } b ${R[b]##* }; CPU µs/request floor ${U[floor]##* } a ${U[a]##* } b ${U[b]##* }" >&2
  done
  med() { echo "$1" | tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
  f=$(med "${R[floor]}"); a=$(med "${R[a]}"); b=$(med "${R[b]}")
  fu=$(med "${U[floor]}"); au=$(med "${U[a]}"); bu=$(med "${U[b]}")
  awk -v m="$mode" -v f="$f" -v a="$a" -v b="$b" 'BEGIN { printf "%-7s req/s   floor %8.0f   a %8.0f (%.3f)   b %8.0f (%.3f)   b/a %.3f\n", m, f, a, a/f, b, b/f, b/a }'
  awk -v m="$mode" -v f="$fu" -v a="$au" -v b="$bu" 'BEGIN { printf "%-7s CPU µs  floor %8.1f   a %8.1f (%.2fx)  b %8.1f (%.2fx)  b/a %.3f\n", m, f, a, a/f, b, b/f, b/a }'
done
