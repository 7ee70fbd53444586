#!/usr/bin/env bash
# The fault engine's cost at scale (issue 18): S3 (10,000 connections, wrk -t2) served with
# a delay of 100 ms three ways, alternating in each round so that the machine's drift falls
# on all of them:
#   plain      --delay=100ms, no fault rule (the implicit rule);
#   fixed      a fault rule with a fixed 100 ms delay;
#   lognormal  a fault rule with a log-normal delay, median 100 ms and p99 250 ms.
# Each side's share of its limit: connections / mean delay (100 ms, or the log-normal's mean
# median * exp(sigma^2 / 2) = 108.07 ms). The claim to check: the log-normal side carries
# the same share as the fixed ones.
#
#   bench/fault_s3.sh                  # 3 rounds of 20 s
#   ROUNDS=5 DUR=30 CONNS=10000 bench/fault_s3.sh
set -euo pipefail
cd "$(dirname "$0")/.."
NODE_BIN=${NODE_BIN:-build/controlplane/proxynode}
ROUNDS=${ROUNDS:-3}
DUR=${DUR:-20}
CONNS=${CONNS:-10000}
THREADS=${THREADS:-2}
WORKERS=${WORKERS:-2}
OUT=${OUT:-${TMPDIR:-/tmp}/proxynode-bench/fault_s3}
source bench/lib/wrk_pairs.sh

cat >"$OUT/fixed.txtpb" <<'PB'
delay { seconds: 0 }
faults { name: "fixed" delay { distribution { fixed { nanos: 100000000 } } } }
PB
cat >"$OUT/lognormal.txtpb" <<'PB'
delay { seconds: 0 }
faults { name: "lognormal" delay { distribution { lognormal { median { nanos: 100000000 } p99 { nanos: 250000000 } } } } }
PB
# The mean delay of each side, in ms (the log-normal's from its median and p99).
declare -A mean_ms=([plain]=100 [fixed]=100
  [lognormal]=$(awk 'BEGIN { s = log(2.5) / 2.3263478740408408; printf "%.3f", 100 * exp(s * s / 2) }'))
declare -A args=([plain]="--delay=100ms" [fixed]="--config=$OUT/fixed.txtpb"
  [lognormal]="--config=$OUT/lognormal.txtpb")

declare -A shares cpus
sides="plain fixed lognormal"
echo "### Fault engine at S3: $CONNS connections, $WORKERS workers, ${DUR} s x $ROUNDS rounds"
echo
echo "| round | side | req/s | limit | of limit | wrk p99 ms | errors | node CPU % |"
echo "|---|---|---|---|---|---|---|---|"
for round in $(seq "$ROUNDS"); do
  for side in $sides; do
    # shellcheck disable=SC2086 # one flag
    start_node "$side$round" "$NODE_BIN" --workers="$WORKERS" ${args[$side]}
    wrk -t"$THREADS" -c"$CONNS" -d3s --timeout 2s "http://$NODE_HTTP/" >/dev/null 2>&1 || true
    read -r rps p99 errors cpu _ < <(run_wrk "http://$NODE_HTTP/" "$NODE_PID" "$OUT/wrk-$side$round.txt")
    kill "$NODE_PID"; wait "$NODE_PID" 2>/dev/null || true
    limit=$(awk -v c="$CONNS" -v m="${mean_ms[$side]}" 'BEGIN { printf "%.0f", c * 1000 / m }')
    share=$(awk -v r="$rps" -v l="$limit" 'BEGIN { printf "%.1f", 100 * r / l }')
    shares[$side]+="$share " cpus[$side]+="$cpu "
    echo "| $round | $side | $rps | $limit | $share% | $p99 | $errors | $cpu |"
  done
  sides=$(reversed $sides)
done
echo
for side in plain fixed lognormal; do
  # shellcheck disable=SC2086 # the space-separated figures of one side
  echo "- $side: median $(median ${shares[$side]})% of the limit, node CPU $(median ${cpus[$side]})%"
done
