#!/usr/bin/env bash
# Control-plane costs, against one running node (zero delay, 2 workers):
#  1. UpdateConfig apply time over 1,000 updates (p50/p99), as the node reports it;
#  2. data-plane throughput (wrk, 100 connections) with and without a client polling
#     GetStats 100 times a second, alternating PAIRS times; prints each pair's ratio and
#     the median. The poller is bench/raw_stats_poller (hand-written HTTP/2, a few syscalls
#     a call) so that what the drop shows is the node's cost, not the poller's: the gRPC C++
#     client costs about as much CPU per call as the node answering, on the same two cores.
#     POLLER=grpc uses the gRPC client (control_bench) instead.
# Bounded: about PAIRS * 2 * (DUR + 1) seconds plus a few. Prints markdown.
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n "$(ulimit -Hn)"
NODE_BIN=${NODE_BIN:-build/controlplane/proxynode}
BENCH_BIN=${BENCH_BIN:-build/bench/control_bench}
RAW_POLLER_BIN=${RAW_POLLER_BIN:-build/bench/raw_stats_poller}
POLLER=${POLLER:-raw}
DUR=${DUR:-8}
PAIRS=${PAIRS:-3}
OUT=${OUT:-${TMPDIR:-/tmp}/proxynode-bench}
mkdir -p "$OUT"

"$NODE_BIN" --http_listen=127.0.0.1:0 --admin_listen=127.0.0.1:0 --control_listen=127.0.0.1:0 \
  --workers=2 --delay=0s >"$OUT/control-node.out" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q listening "$OUT/control-node.out" && break; sleep 0.05; done
http=$(grep -o '"http":"[^"]*"' "$OUT/control-node.out" | cut -d'"' -f4)
control=$(grep -o '"control":"[^"]*"' "$OUT/control-node.out" | cut -d'"' -f4)

echo "### UpdateConfig apply time (1,000 updates, 2 workers, idle data plane)"
echo
echo '```'
"$BENCH_BIN" --addr="$control" updates 1000
echo '```'
echo
# The direct cost: CPU the node spends answering 100 GetStats/s with an idle data plane.
ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
before=$(ticks)
poll() {  # poll SECONDS: GetStats 100/s
  if [[ $POLLER == grpc ]]; then
    "$BENCH_BIN" --addr="$control" poll 100 "$1"
  else
    "$RAW_POLLER_BIN" "$control" 100 "$1"
  fi
}
poll 10 >"$OUT/poll-idle.txt"
after=$(ticks)
echo "### Cost of GetStats polled 100/s"
echo
echo "node CPU while polled 100/s for 10 s (idle data plane): $(awk -v t=$((after - before)) -v hz="$hz" 'BEGIN { printf "%.1f%% of one core", 100 * t / hz / 10 }'); $(cat "$OUT/poll-idle.txt")"
echo
# The other way to follow stats: the admin /metrics, served by the data plane's admin loop.
# 5,000 scrapes back to back on one keep-alive connection (curl reuses it across URLs).
admin=$(grep -o '"admin":"[^"]*"' "$OUT/control-node.out" | cut -d'"' -f4)
urls=()
for _ in $(seq 5000); do urls+=("http://$admin/metrics"); done
before=$(ticks)
curl -s "${urls[@]}" >/dev/null
after=$(ticks)
echo "/metrics scraped 5,000 times back to back on one connection: $(awk -v t=$((after - before)) -v hz="$hz" 'BEGIN { printf "%.3f ms", 1000 * t / hz / 5000 }') of node CPU per scrape"
echo
# One wrk run: prints "REQ_PER_S REQ_PER_NODE_CPU_S". The second figure (requests served per
# CPU-second the node used) is steadier than requests/s on a shared machine: it does not
# move when a neighbour takes CPU time from the whole benchmark, only when the node does
# more work per request -- such as answering GetStats.
run_wrk() {
  local before after
  before=$(ticks)
  wrk -t2 -c100 -d"${DUR}s" "http://$http/" >"$OUT/wrk.txt"
  after=$(ticks)
  awk -v cpu=$((after - before)) -v hz="$hz" '
    / requests in / { requests = $1 }
    /^Requests\/sec/ { rps = $2 }
    END { printf "%.0f %.0f\n", rps, requests / (cpu / hz) }' "$OUT/wrk.txt"
}
echo "### Throughput with and without GetStats polled 100/s (wrk -t2 -c100 -d${DUR}s, zero delay, $POLLER poller)"
echo
echo "| pair | without req/s | with req/s | ratio | without req/CPU-s | with req/CPU-s | ratio |"
echo "|---|---|---|---|---|---|---|"
wrk -t2 -c100 -d2s "http://$http/" >/dev/null   # warm-up
ratios=()
cpu_ratios=()
for pair in $(seq "$PAIRS"); do
  read -r without without_cpu < <(run_wrk)
  poll "$((DUR + 1))" >"$OUT/poll-$pair.txt" &
  poller=$!
  read -r with with_cpu < <(run_wrk)
  wait "$poller"
  ratio=$(awk -v a="$with" -v b="$without" 'BEGIN { printf "%.3f", a / b }')
  cpu_ratio=$(awk -v a="$with_cpu" -v b="$without_cpu" 'BEGIN { printf "%.3f", a / b }')
  ratios+=("$ratio")
  cpu_ratios+=("$cpu_ratio")
  echo "| $pair | $without | $with | $ratio | $without_cpu | $with_cpu | $cpu_ratio |"
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo
echo "median with/without: requests/s $(median "${ratios[@]}"), requests per node CPU-second $(median "${cpu_ratios[@]}") (GetStats calls per run: $(grep -o 'n=[0-9]*' "$OUT/poll-1.txt"))"
