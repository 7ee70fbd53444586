#!/usr/bin/env bash
# Two builds or flag sets of proxynode side by side in the hold of bench/scale.sh (19,000
# connections, 200 ms), alternating A, B, B, A, ... so that the machine's drift falls on both:
# each run's row, then the medians of rate, lateness p99 / p999 and wrk's p99 per side.
#
#   A_BIN=/tmp/proxynode-before B_BIN=build/controlplane/proxynode bench/hold_ab.sh
#   B_ARGS=--some_flag ROUNDS=5 HOLD_DUR=60 bench/hold_ab.sh
#
# Knobs: A_BIN, B_BIN (build/controlplane/proxynode), A_ARGS, B_ARGS, ROUNDS (3), HOLD_DUR
# (30 s), HOLD_CONNS, HOLD_DELAY, OUT. About (HOLD_DUR + 15) s per run, 2 * ROUNDS runs.
set -euo pipefail
cd "$(dirname "$0")/.."
A_BIN=${A_BIN:-build/controlplane/proxynode}
B_BIN=${B_BIN:-build/controlplane/proxynode}
ROUNDS=${ROUNDS:-3}
export HOLD_DUR=${HOLD_DUR:-30}
OUT=${OUT:-${TMPDIR:-/tmp}/proxynode-bench/hold_ab}
source bench/lib/wrk_pairs.sh  # median
rows=()
for round in $(seq "$ROUNDS"); do
  order="A B"
  ((round % 2 == 0)) && order="B A"
  for side in $order; do
    bin_var=${side}_BIN args_var=${side}_ARGS
    row=$(PARTS=hold NODE_BIN=${!bin_var} NODE_ARGS=${!args_var:-} OUT="$OUT/$side$round" \
      bench/scale.sh | grep '^| [0-9]')
    rows+=("$side $row")
    echo "$side $row" >&2
  done
done
echo "### Hold A/B: A = ${A_BIN} ${A_ARGS:-}, B = ${B_BIN} ${B_ARGS:-}, ${ROUNDS} rounds of ${HOLD_DUR} s"
echo
echo "| side | of limit | CPU% per worker | accepts (spread) | lateness p50 / p99 / p999 ms | wrk p99 ms |"
echo "|---|---|---|---|---|---|"
declare -A limits p99s p999s wrk_p99s
for row in "${rows[@]}"; do
  # The columns of scale.sh's hold row, after the side.
  IFS='|' read -r side _ _ _ _ of_limit _ per_worker accepts _ _ lateness _ _ wrk_latency _ <<<"$row"
  side=${side// /} of_limit=${of_limit// /} lateness=$(echo $lateness) wrk_p99=${wrk_latency##*/ }
  read -r _ p99 p999 <<<"${lateness//\// }"
  echo "| $side | $of_limit | $(echo $per_worker) | $(echo $accepts) | $lateness | $(echo $wrk_p99) |"
  limits[$side]+="${of_limit%\%} " p99s[$side]+="$p99 " p999s[$side]+="$p999 "
  wrk_p99s[$side]+="$wrk_p99 "
done
echo
for side in A B; do
  # shellcheck disable=SC2086 # the space-separated figures of one side
  echo "- $side median: $(median ${limits[$side]})% of the limit, lateness p99" \
    "$(median ${p99s[$side]}) ms, p999 $(median ${p999s[$side]}) ms, wrk p99" \
    "$(median ${wrk_p99s[$side]}) ms"
done
