#!/usr/bin/env bash
# Heap allocations per request in the node's worker threads under load: a uprobe on libc's
# malloc (perf probe; root), counted per thread for 6 s of a 22 s wrk run, divided by the
# requests the node counted meanwhile.
#
#   bench/allocations.sh [CONNS [DELAY]]      # defaults: 10000 100ms; e.g. 100 0s
#   PROXY=1 bench/allocations.sh 100 0s       # proxied: --upstream to a second node
#
#   NODE_ARGS=--config=faults.txtpb bench/allocations.sh 1000 0s   # with fault rules
#
# Knobs: NODE_BIN, NODE_ARGS (more node flags), PROXY (0), OUT. Bounded: about 25 s.
# Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${NODE_BIN:-build/controlplane/proxynode}
conns=${1:-10000}
delay=${2:-100ms}
OUT=${OUT:-${TMPDIR:-/tmp}/proxynode-bench/allocations}
libc=$(ldd "$bin" | awk '/libc.so.6/ { print $3 }')
perf probe -q -x "$libc" --add malloc 2>/dev/null || true  # already there is fine
source bench/lib/wrk_pairs.sh
flags=(--workers=2 --delay="$delay")
# shellcheck disable=SC2206 # NODE_ARGS: flags split on spaces
flags+=(${NODE_ARGS:-})
mode=""
if [[ ${PROXY:-0} == 1 ]]; then
  start_node upstream "$bin" --workers=1 --delay=0s
  flags+=(--upstream="$NODE_HTTP")
  mode=", proxied"
fi
start_node node "$bin" "${flags[@]}"
requests() { metric "$NODE_ADMIN" proxynode_requests_total | cut -d. -f1; }
wrk -t2 -c"$conns" -d22s --timeout 5s "http://$NODE_HTTP/" >"$OUT/wrk.txt" &
wrk_pid=$!
sleep 12  # connections up, pools warm
r0=$(requests)
perf stat -e probe_libc:malloc --per-thread -p "$NODE_PID" -- sleep 6 2>"$OUT/perf.txt"
r1=$(requests)
wait "$wrk_pid" || true
mallocs=$(awk '/worker-/ { gsub(",", "", $2); s += $2 } END { print s + 0 }' "$OUT/perf.txt")
echo "$conns connections, delay $delay$mode: $((r1 - r0)) requests, $mallocs mallocs in the workers," \
  "$(awk -v m="$mallocs" -v r=$((r1 - r0)) 'BEGIN { printf "%.4f", m / r }') per request"
