#!/usr/bin/env bash
# Heap allocations per request in the node's worker threads under load: a uprobe on libc's
# malloc (perf probe; root), counted per thread for 6 s of a 22 s wrk run, divided by the
# requests the node counted meanwhile.
#
#   bench/allocations.sh [CONNS [DELAY]]      # defaults: 10000 100ms; e.g. 100 0s
#   PROXY=1 bench/allocations.sh 100 0s       # proxied: --upstream to a second node
#
# Knobs: NODE_BIN, PROXY (0), OUT. Bounded: about 25 s. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n "$(ulimit -Hn)"
bin=${NODE_BIN:-build/controlplane/proxynode}
conns=${1:-10000}
delay=${2:-100ms}
OUT=${OUT:-${TMPDIR:-/tmp}/proxynode-bench/allocations}
mkdir -p "$OUT"
libc=$(ldd "$bin" | awk '/libc.so.6/ { print $3 }')
perf probe -q -x "$libc" --add malloc 2>/dev/null || true  # already there is fine
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
# start NAME ARGS...: a node on port 0 logging to $OUT/NAME.log; sets pid.
start() {
  local name=$1
  shift
  "$bin" --http_listen=127.0.0.1:0 --admin_listen=127.0.0.1:0 --control_listen=127.0.0.1:0 \
    "$@" >"$OUT/$name.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 100); do grep -q '"proxynode listening"' "$OUT/$name.log" && break; sleep 0.05; done
}
# address NAME FIELD: an address from NAME's start-up log record.
address() { grep -o "\"$2\":\"[^\"]*\"" "$OUT/$1.log" | cut -d'"' -f4; }
flags=(--workers=2 --delay="$delay")
mode=""
if [[ ${PROXY:-0} == 1 ]]; then
  start upstream --workers=1 --delay=0s
  flags+=(--upstream="$(address upstream http)")
  mode=", proxied"
fi
start node "${flags[@]}"
http=$(address node http)
admin=$(address node admin)
requests() {
  curl -s "http://$admin/metrics" | awk '/^proxynode_requests_total\{/ { s += $2 } END { printf "%d", s }'
}
wrk -t2 -c"$conns" -d22s --timeout 5s "http://$http/" >"$OUT/wrk.txt" &
wrk_pid=$!
sleep 12  # connections up, pools warm
r0=$(requests)
perf stat -e probe_libc:malloc --per-thread -p "$pid" -- sleep 6 2>"$OUT/perf.txt"
r1=$(requests)
wait "$wrk_pid" || true
mallocs=$(awk '/worker-/ { gsub(",", "", $2); s += $2 } END { print s + 0 }' "$OUT/perf.txt")
echo "$conns connections, delay $delay$mode: $((r1 - r0)) requests, $mallocs mallocs in the workers," \
  "$(awk -v m="$mallocs" -v r=$((r1 - r0)) 'BEGIN { printf "%.4f", m / r }') per request"
