#!/usr/bin/env bash
# Requests/s over HTTP (wrk, 64 connections) with the store and usage events off, on (SQLite), and on with a budget,
# alternating rounds; the gateway pinned to one core and the mock provider + wrk to the other, as bench/run.sh does.
# Env: DURATION (5), ROUNDS (3), CONNS (64).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/.." && pwd)
DURATION=${DURATION:-5}; ROUNDS=${ROUNDS:-3}; CONNS=${CONNS:-64}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
BUN=$root/node_modules/.bin/bun
export NODE_ENV=production
pin0="taskset -c 0"; pin1="taskset -c 1"; [ "$(nproc)" -ge 2 ] || { pin0=""; pin1=""; }
pids=(); cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }; trap cleanup EXIT
wait_up() { for _ in $(seq 150); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "not up: $1" >&2; return 1; }
PORT=9100 $pin1 "$BUN" "$here/mock-upstream.ts" >/dev/null & pids+=($!)
wait_up http://127.0.0.1:9100/
BODY='{"model":"bench-model","max_tokens":64,"messages":[{"role":"user","content":"Say hello to the benchmark, please."}]}'
db=$(mktemp -d)/bench.db
declare -A RPS
for round in $(seq "$ROUNDS"); do
  for mode in off on budget; do
    $pin0 "$BUN" "$here/store-gateway.ts" "$mode" 9110 http://127.0.0.1:9100/v1 "sqlite://$db" >/dev/null 2>"$db.$mode.err" & gpid=$!
    wait_up http://127.0.0.1:9110/health
    key=sk-bench; [ "$mode" = budget ] && key=$(grep -o 'KEY=.*' "$db.$mode.err" | cut -d= -f2)
    BODY=$BODY KEY=$key $pin1 wrk -t1 -c"$CONNS" -d1s -s "$here/post.lua" http://127.0.0.1:9110/v1/chat/completions >/dev/null
    r=$(BODY=$BODY KEY=$key $pin1 wrk -t1 -c"$CONNS" -d"${DURATION}s" -s "$here/post.lua" http://127.0.0.1:9110/v1/chat/completions | grep -o 'rps=[0-9.]*' | cut -d= -f2)
    kill "$gpid"; wait "$gpid" 2>/dev/null || true
    RPS[$mode]="${RPS[$mode]:-} $r"
    echo "round $round $mode: $r req/s"
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
off=$(echo "${RPS[off]}" | median); on=$(echo "${RPS[on]}" | median); bud=$(echo "${RPS[budget]}" | median)
echo
echo "| store | req/s (median of $ROUNDS, $CONNS conns, JSON) | vs off |"
echo "|---|---|---|"
echo "| off (no store, no usage events) | $off | — |"
awk -v a="$on" -v o="$off" 'BEGIN {printf "| on: SQLite, one usage event per request | %s | %+.1f%% |\n", a, (a/o-1)*100}'
awk -v a="$bud" -v o="$off" 'BEGIN {printf "| on: SQLite, usage events + a budget on the key | %s | %+.1f%% |\n", a, (a/o-1)*100}'
