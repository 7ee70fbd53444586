#!/usr/bin/env bash
# Control-plane costs, against one running node (zero delay, 2 workers):
#  1. UpdateConfig apply time over 1,000 updates (p50/p99), as the node reports it;
#  2. data-plane throughput (wrk, 100 connections) with and without a client polling
#     GetStats 100 times a second, alternating PAIRS times; prints each pair's ratio and
#     the median.
# Bounded: about PAIRS * 2 * (DUR + 1) seconds plus a few. Prints markdown.
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n "$(ulimit -Hn)"
NODE_BIN=${NODE_BIN:-build/controlplane/proxynode}
BENCH_BIN=${BENCH_BIN:-build/bench/control_bench}
DUR=${DUR:-8}
PAIRS=${PAIRS:-3}
OUT=${OUT:-${TMPDIR:-/tmp}/proxynode-bench}
mkdir -p "$OUT"

"$NODE_BIN" --http_listen=127.0.0.1:0 --admin_listen=127.0.0.1:0 --control_listen=127.0.0.1:0 \
  --workers=2 --delay=0s >"$OUT/control-node.out" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q listening "$OUT/control-node.out" && break; sleep 0.05; done
http=$(grep -o 'http=[0-9.:]*' "$OUT/control-node.out" | cut -d= -f2)
control=$(grep -o 'control=[0-9.:]*' "$OUT/control-node.out" | cut -d= -f2)

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
"$BENCH_BIN" --addr="$control" poll 100 10 >"$OUT/poll-idle.txt"
after=$(ticks)
echo "### Cost of GetStats polled 100/s"
echo
echo "node CPU while polled 100/s for 10 s (idle data plane): $(awk -v t=$((after - before)) -v hz="$hz" 'BEGIN { printf "%.1f%% of one core", 100 * t / hz / 10 }'); $(cat "$OUT/poll-idle.txt")"
echo
rps() { wrk -t2 -c100 -d"${DUR}s" "http://$http/" | awk '/^Requests\/sec/ { print $2 }'; }
echo "### Throughput with and without GetStats polled 100/s (wrk -t2 -c100 -d${DUR}s, zero delay)"
echo
echo "| pair | without req/s | with req/s | with/without |"
echo "|---|---|---|---|"
wrk -t2 -c100 -d2s "http://$http/" >/dev/null   # warm-up
ratios=()
for pair in $(seq "$PAIRS"); do
  without=$(rps)
  "$BENCH_BIN" --addr="$control" poll 100 "$((DUR + 1))" >"$OUT/poll-$pair.txt" &
  poller=$!
  with=$(rps)
  wait "$poller"
  ratio=$(awk -v a="$with" -v b="$without" 'BEGIN { printf "%.3f", a / b }')
  ratios+=("$ratio")
  echo "| $pair | $without | $with | $ratio |"
done
median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
echo
echo "median with/without: $median (GetStats calls per run: $(grep -o 'n=[0-9]*' "$OUT/poll-1.txt"))"
