#!/usr/bin/env bash
# Gateway overhead, side by side in one run: the mock provider directly, a bare Bun proxy (the floor) and
# Switchboard (this checkout, `bun src/main.ts` as `npm start` runs it), optionally Portkey's gateway (PEERS=portkey).
# Prints requests/s, p50, p99 (wrk), TTFB of a stream, RSS idle / with 2,000 slow streams / after, as ratios to the floor.
# Env: DURATION (s per wrk run, 5), CONC ("1 64"), ROUNDS (3), MODES ("json stream"), STREAMS (2000),
#      CHUNK_DELAY_MS (400: the slow provider's gap between its 20 chunks), TTFB_N (300), PEERS ("" or "portkey"),
#      AFTER_S (15: seconds after the streams end before "after" is read; Bun's idle GC runs some 5-10 s after activity stops).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/.." && pwd)
DURATION=${DURATION:-5}; CONC=${CONC:-"1 64"}; ROUNDS=${ROUNDS:-3}; MODES=${MODES:-"json stream"}
STREAMS=${STREAMS:-2000}; CHUNK_DELAY_MS=${CHUNK_DELAY_MS:-400}; TTFB_N=${TTFB_N:-300}; PEERS=${PEERS:-}; AFTER_S=${AFTER_S:-15}
command -v wrk >/dev/null || { echo "installing wrk (Debian package)" >&2; apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
command -v ss >/dev/null || { apt-get update -qq && apt-get install -y -qq iproute2 >/dev/null; }
[ -x "$root/node_modules/.bin/bun" ] || (cd "$root" && npm ci --no-audit --no-fund)
BUN=$root/node_modules/.bin/bun
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
# Bun's fetch allows 256 concurrent requests by default: the client, the floor and ours all need more for STREAMS.
export BUN_CONFIG_MAX_HTTP_REQUESTS=$((STREAMS + 1024)) NODE_ENV=production
pin0="taskset -c 0"; pin1="taskset -c 1"; [ "$(nproc)" -ge 2 ] || { pin0=""; pin1=""; }
out=$here/results; mkdir -p "$out"; stamp=$(date +%Y%m%dT%H%M%S); res=$out/$stamp.tsv; extra=$out/$stamp.extra.tsv
pids=(); cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }; trap cleanup EXIT
wait_up() { for _ in $(seq 150); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "not up: $1" >&2; return 1; }
pid_of() { ss -ltnpH "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2; }
rss() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status" 2>/dev/null || echo 0; }

# ports: 9100 fast provider, 9104 slow provider, 9101/9105 floor → fast/slow, 9102 portkey, 9103 ours
PORT=9100 $pin0 "$BUN" "$here/mock-upstream.ts" >/dev/null & pids+=($!)
PORT=9104 CHUNK_DELAY_MS=$CHUNK_DELAY_MS $pin0 "$BUN" "$here/mock-upstream.ts" >/dev/null & pids+=($!)
PORT=9101 UPSTREAM=http://127.0.0.1:9100/v1 $pin0 "$BUN" "$here/floor-proxy.ts" >/dev/null & pids+=($!)
PORT=9105 UPSTREAM=http://127.0.0.1:9104/v1 $pin0 "$BUN" "$here/floor-proxy.ts" >/dev/null & pids+=($!)
cfg=$out/bench-config.yaml
cat > "$cfg" <<YAML
server:
  host: 127.0.0.1
  port: 9103
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
YAML
# What `npm start` runs, started directly so that its pid is the server's own and the cleanup below stops it
# (killing npm would leave its bun child listening). Request lines (logging on, as in service) go to a file.
(cd "$root" && exec $pin0 "$BUN" src/main.ts --config "$cfg" --port 9103 >"$out/switchboard.log" 2>"$out/switchboard.err") & pids+=($!)
declare -A URL=( [direct]=http://127.0.0.1:9100/v1/chat/completions [floor]=http://127.0.0.1:9101/v1/chat/completions [ours]=http://127.0.0.1:9103/v1/chat/completions )
declare -A HDR=( [portkey]="x-portkey-provider:openai;x-portkey-custom-host:http://127.0.0.1:9100/v1" )
TARGETS="direct floor ours"
if [[ " $PEERS " == *" portkey "* ]]; then
  # A peer for comparison, installed at run time into bench/.peers (never committed); needs the npm registry.
  [ -f "$here/.peers/node_modules/@portkey-ai/gateway/build/start-server.js" ] ||
    npm install --prefix "$here/.peers" --silent --no-audit --no-fund --no-save @portkey-ai/gateway@1 >/dev/null 2>&1
  $pin0 "$BUN" "$here/.peers/node_modules/@portkey-ai/gateway/build/start-server.js" --port=9102 --headless >/dev/null 2>&1 & pids+=($!)
  URL[portkey]=http://127.0.0.1:9102/v1/chat/completions; TARGETS="direct floor portkey ours"; wait_up http://127.0.0.1:9102/
fi
for p in 9100 9104 9101 9105; do wait_up http://127.0.0.1:$p/v1/models; done
wait_up http://127.0.0.1:9103/health || { cat "$out/switchboard.err" >&2; exit 1; }
sleep 1
echo -e "what\ttarget\tvalue" > "$extra"
echo -e "rss_idle\tfloor\t$(rss "$(pid_of 9101)")" >> "$extra"
echo -e "rss_idle\tours\t$(rss "$(pid_of 9103)")" >> "$extra"
[ -n "${URL[portkey]:-}" ] && echo -e "rss_idle\tportkey\t$(rss "$(pid_of 9102)")" >> "$extra"

echo -e "mode\tconc\ttarget\tround\trps\tp50_ms\tp99_ms\terrors\tnon2xx" > "$res"
for mode in $MODES; do
  if [ "$mode" = stream ]; then stream=true; else stream=false; fi
  export BODY="{\"model\":\"bench-model\",\"stream\":$stream,\"messages\":[{\"role\":\"user\",\"content\":\"Say hello in twenty words please.\"}]}"
  for c in $CONC; do
    for t in $TARGETS; do EXTRA_HEADERS="${HDR[$t]:-}" $pin1 wrk -t1 -c"$c" -d2s -s "$here/post.lua" "${URL[$t]}" >/dev/null; done   # warm-up
    for r in $(seq "$ROUNDS"); do
      for t in $TARGETS; do   # targets alternate within a round, so drift hits all of them alike
        line=$(EXTRA_HEADERS="${HDR[$t]:-}" $pin1 wrk -t1 -c"$c" -d"${DURATION}s" -s "$here/post.lua" "${URL[$t]}" | grep '^RESULT')
        set -- $(echo "$line" | sed 's/[a-z0-9_]*=//g; s/RESULT//')
        echo -e "$mode\t$c\t$t\t$r\t$1\t$2\t$3\t$4\t$5" >> "$res"
        echo "  $mode c=$c $t round $r: $1 req/s, p50 $2 ms, p99 $3 ms" >&2
      done
    done
  done
done

# time to first byte of one stream at a time (after the load above, as in service)
for t in direct floor ours $([ -n "${URL[portkey]:-}" ] && echo portkey); do
  line=$($pin1 "$BUN" "$here/ttfb.ts" "${URL[$t]}" "$TTFB_N" | grep '^TTFB')
  echo -e "ttfb_p50\t$t\t$(echo "$line" | sed 's/.*p50_ms=\([0-9.]*\).*/\1/')" >> "$extra"
  echo "  ttfb $t: $line" >&2
done

# STREAMS concurrent slow streams: RSS before, peak while held, and AFTER_S s after they end (a leak stays; garbage the
# idle GC has not collected yet does not: at 3 s the gateway still holds the streams' garbage, at 10 s it is gone)
hold() {  # name port url
  local pid start peak now cpid log=$out/$stamp.hold-$1.txt
  pid=$(pid_of "$2"); start=$(rss "$pid"); peak=$start
  $pin1 "$BUN" "$here/hold.ts" "$3" "$STREAMS" > "$log" 2>&1 & cpid=$!
  while kill -0 "$cpid" 2>/dev/null; do now=$(rss "$pid"); awk -v a="$now" -v b="$peak" 'BEGIN{exit !(a>b)}' && peak=$now; sleep 0.2; done
  wait "$cpid" || true; sleep "$AFTER_S"
  echo -e "rss_streams_start\t$1\t$start\nrss_streams_peak\t$1\t$peak\nrss_streams_after\t$1\t$(rss "$pid")" >> "$extra"
  echo -e "streams_max_open\t$1\t$(sed -n 's/.*max_open=\([0-9]*\).*/\1/p' "$log")\nstreams_ok\t$1\t$(sed -n 's/.*ok=\([0-9]*\).*/\1/p' "$log")" >> "$extra"
  echo "  $STREAMS streams via $1: $(cat "$log"); RSS $start → peak $peak → after $(rss "$pid") MiB" >&2
}
hold floor 9105 http://127.0.0.1:9105/v1/chat/completions
hold ours 9103 http://127.0.0.1:9103/v1/chat/completions

"$BUN" "$here/report.ts" "$res" "$extra"
echo "raw rows: $res $extra"
