#!/usr/bin/env bash
# Timer accuracy under load: runs wrk against proxynode with a 100 ms delay at 1,000 and
# 10,000 connections and reads, from the node's /metrics histograms over the measured run
# (the warm-up left out), how late responses left compared with their deadline
# (p50/p99/p999), next to wrk's view (requests/s as a share of the limit connections/delay,
# p99, errors). Prints a markdown table.
#
#   bench/delay_accuracy.sh                 # 1,000 and 10,000 connections
#   CONNS="1000 3000 10000" bench/delay_accuracy.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n "$(ulimit -Hn)"
NODE_BIN=${NODE_BIN:-build/controlplane/proxynode}
WORKERS=${WORKERS:-2}
DUR=${DUR:-10}
CONNS=${CONNS:-"1000 10000"}
OUT=${OUT:-${TMPDIR:-/tmp}/proxynode-bench}
mkdir -p "$OUT"
source bench/lib/histogram.sh

# run_quantiles FAMILY: "P50_MS P99_MS P999_MS COUNT" of a histogram over the measured run.
run_quantiles() {
  window_quantiles <(buckets_of "$1" <"$OUT/metrics-$conns.before") \
    <(buckets_of "$1" <"$OUT/metrics-$conns.txt")
}

echo "### Delay accuracy (delay 100 ms, $WORKERS workers, wrk -t2 ${DUR}s)"
echo
echo "| conns | req/s | of limit | wrk p99 ms | errors c/r/w/t | node p99 ms | lateness p50 ms | p99 ms | p999 ms | RSS MiB |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for conns in $CONNS; do
  "$NODE_BIN" --http_listen=127.0.0.1:0 --admin_listen=127.0.0.1:0 --control_listen=127.0.0.1:0 \
    --workers="$WORKERS" \
    --delay=100ms >"$OUT/node-$conns.out" 2>&1 &
  pid=$!
  for _ in $(seq 100); do grep -q listening "$OUT/node-$conns.out" && break; sleep 0.05; done
  http=$(grep -o '"http":"[^"]*"' "$OUT/node-$conns.out" | cut -d'"' -f4)
  admin=$(grep -o '"admin":"[^"]*"' "$OUT/node-$conns.out" | cut -d'"' -f4)
  control=$(grep -o '"control":"[^"]*"' "$OUT/node-$conns.out" | cut -d'"' -f4)
  wrk -t2 -c"$conns" -d2s --timeout 2s "http://$http/" >/dev/null 2>&1 || true   # warm-up
  curl -s "http://$admin/metrics" >"$OUT/metrics-$conns.before"
  wrk -t2 -c"$conns" -d"${DUR}s" --timeout 2s --latency "http://$http/" >"$OUT/wrk-$conns.txt" 2>&1
  rss=$(awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status")
  curl -s "http://$admin/metrics" >"$OUT/metrics-$conns.txt"
  node_p99=$(request_p99_ms "$control")
  kill "$pid"; wait "$pid" || true
  rps=$(awk '/^Requests\/sec/ { print $2 }' "$OUT/wrk-$conns.txt")
  p99=$(awk '$1 == "99%" { v = $2; if (v ~ /ms$/) v += 0; else if (v ~ /us$/) v /= 1000; else if (v ~ /s$/) v *= 1000; print v }' "$OUT/wrk-$conns.txt")
  errors=$(awk '/Socket errors/ { gsub(",", ""); print $4 "/" $6 "/" $8 "/" $10 }' "$OUT/wrk-$conns.txt")
  limit=$((conns * 10))
  read -r late_p50 late_p99 late_p999 _ < <(run_quantiles proxynode_timer_lateness_seconds)
  echo "| $conns | $rps | $(awk -v r="$rps" -v l="$limit" 'BEGIN { printf "%.1f%%", 100 * r / l }') | $p99 | ${errors:-0/0/0/0} | $node_p99 | $late_p50 | $late_p99 | $late_p999 | $rss |"
done
echo
echo "lateness = time a delayed response left minus its deadline, from the node's histogram"
echo "(proxynode_timer_lateness_seconds, bucket differences over the measured run, interpolated"
echo "inside a bucket); node p99 = arrival to response written, since start (GetStats)."
