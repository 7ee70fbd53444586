#!/usr/bin/env bash
# The access log's cost (issue 15): the same load on the node three ways, alternating in each
# round so that the machine's drift falls on all of them:
#   off      no access log (the default);
#   on       every request logged to a file;
#   sampled  --access_log_sample=0.01, one request in a hundred.
# S1: zero delay, 100 keep-alive connections (throughput, CPU). S3: 100 ms delay, 10,000
# connections (share of the limit, lateness). Prints each round and the median ratio of
# each side to `off`.
#
#   bench/access_log_cost.sh                 # S1 and S3, 3 rounds
#   SCENARIOS=S1 ROUNDS=5 DUR=10 bench/access_log_cost.sh
set -euo pipefail
cd "$(dirname "$0")/.."
NODE_BIN=${NODE_BIN:-build/controlplane/proxynode}
ROUNDS=${ROUNDS:-3}
DUR=${DUR:-10}
THREADS=${THREADS:-2}
WORKERS=${WORKERS:-2}
SCENARIOS=${SCENARIOS:-"S1 S3"}
OUT=${OUT:-${TMPDIR:-/tmp}/proxynode-bench/access_log}
source bench/lib/wrk_pairs.sh

declare -A args=([off]="" [on]="--access_log=$OUT/access.log"
  [sampled]="--access_log=$OUT/access.log --access_log_sample=0.01")

for scenario in $SCENARIOS; do
  case $scenario in
    S1) conns=100 delay=0s ;;
    S3) conns=10000 delay=100ms ;;
    *) echo "unknown scenario $scenario (S1 or S3)" >&2; exit 2 ;;
  esac
  declare -A rates=() cpus=()
  sides="off on sampled"
  echo "### Access log at $scenario: $conns connections, delay $delay, $WORKERS workers, ${DUR} s x $ROUNDS rounds"
  echo
  echo "| round | side | req/s | wrk p99 ms | errors | node CPU % | lines logged | dropped |"
  echo "|---|---|---|---|---|---|---|---|"
  for round in $(seq "$ROUNDS"); do
    for side in $sides; do
      rm -f "$OUT/access.log"
      # shellcheck disable=SC2086 # the side's flags, split on spaces
      start_node "$scenario-$side$round" "$NODE_BIN" --workers="$WORKERS" --delay="$delay" ${args[$side]}
      wrk -t"$THREADS" -c"$conns" -d2s --timeout 2s "http://$NODE_HTTP/" >/dev/null 2>&1 || true
      read -r rps p99 errors cpu _ < <(DUR=$DUR CONNS=$conns run_wrk "http://$NODE_HTTP/" "$NODE_PID" "$OUT/wrk-$scenario-$side$round.txt")
      dropped=$(curl -s "http://$NODE_ADMIN/metrics" | awk '/^proxynode_access_log_dropped_total / { print $2 }')
      kill "$NODE_PID"; wait "$NODE_PID" 2>/dev/null || true
      lines=$( [[ -f $OUT/access.log ]] && wc -l <"$OUT/access.log" || echo 0)
      rates[$side]+="$rps " cpus[$side]+="$cpu "
      echo "| $round | $side | $rps | $p99 | $errors | $cpu | $lines | ${dropped:--} |"
    done
    sides=$(reversed $sides)
  done
  echo
  # shellcheck disable=SC2086 # the space-separated figures of one side
  off=$(median ${rates[off]})
  for side in off on sampled; do
    # shellcheck disable=SC2086
    med=$(median ${rates[$side]})
    echo "- $scenario $side: median $med req/s ($(ratio "$med" "$off") of off), node CPU $(median ${cpus[$side]})%"
  done
  echo
  rm -f "$OUT/access.log"
done
