#!/usr/bin/env bash
# Heap allocations per request in the node's worker threads under load: a uprobe on libc's
# malloc (perf probe; root), counted per thread for 6 s of a 22 s wrk run, divided by the
# requests the node counted meanwhile.
#
#   bench/allocations.sh [CONNS [DELAY]]      # defaults: 10000 100ms; e.g. 100 0s
#
# Knobs: NODE_BIN, OUT. Bounded: about 25 s. Loopback only.
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
"$bin" --http_listen=127.0.0.1:0 --admin_listen=127.0.0.1:0 --control_listen=127.0.0.1:0 \
  --workers=2 --delay="$delay" >"$OUT/node.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q '"proxynode listening"' "$OUT/node.log" && break; sleep 0.05; done
address() { grep -o "\"$1\":\"[^\"]*\"" "$OUT/node.log" | cut -d'"' -f4; }
http=$(address http)
admin=$(address admin)
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
echo "$conns connections, delay $delay: $((r1 - r0)) requests, $mallocs mallocs in the workers," \
  "$(awk -v m="$mallocs" -v r=$((r1 - r0)) 'BEGIN { printf "%.4f", m / r }') per request"
