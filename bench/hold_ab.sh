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
mkdir -p "$OUT"
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
for row in "${rows[@]}"; do
  awk -F'|' '{ split($1, s, " "); split($12, l, " / "); split($15, w, " / ")
    printf "| %s | %s | %s | %s | %s | %s |\n", s[1], $6, $8, $9, $12, w[2] }' <<<"$row"
done
echo
for side in A B; do
  printf '%s\n' "${rows[@]}" | awk -F'|' -v side="$side" '
    { split($1, s, " "); if (s[1] != side) next
      n++; limit[n] = $6 + 0; split($12, l, " / "); p99[n] = l[2] + 0; p999[n] = l[3] + 0
      split($15, w, " / "); wrk[n] = w[2] + 0 }
    function median(a,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
      if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t } return a[int((n + 1) / 2)] }
    END { printf "- %s median: %.1f%% of the limit, lateness p99 %.2f ms, p999 %.2f ms, wrk p99 %.2f ms\n",
          side, median(limit), median(p99), median(p999), median(wrk) }'
done
