# Percentiles of the node's latencies, for the bench scripts (source it). /metrics exports no
# quantiles: they come from its cumulative buckets (1..9 x 10^k seconds from 100 us to 60 s),
# interpolated linearly inside a bucket as Prometheus's histogram_quantile does, over a
# whole run or over the window between two readings; fine where the values spread over
# several buckets (timer lateness), coarse near a delay (request_p99_ms below).

# buckets_of FAMILY [LABELS] < METRICS: "LE COUNT" per line, the cumulative buckets of one
# histogram series in /metrics text; LABELS (e.g. 'worker="0",') are the ones before le.
buckets_of() {
  awk -v prefix="$1_bucket{${2:-}le=\"" 'index($1, prefix) == 1 {
    le = $1; sub(/.*le="/, "", le); sub(/".*/, "", le); print le, $2 }'
}

# window_quantiles BEFORE AFTER: "P50_MS P99_MS P999_MS COUNT" over what two readings of the
# same buckets (buckets_of files) differ by.
window_quantiles() {
  paste -d' ' "$1" "$2" | awk '
    { bound[NR] = ($1 == "+Inf" ? 1e9 : $1 + 0); count[NR] = $4 - $2 }
    function q(p,   target, i, low, below) {
      target = p * count[NR]; low = 0; below = 0
      for (i = 1; i <= NR; i++) {
        if (count[i] >= target) {
          if (bound[i] == 1e9) return low * 1000
          return 1000 * (low + (bound[i] - low) * (count[i] > below ? (target - below) / (count[i] - below) : 0))
        }
        low = bound[i]; below = count[i]
      }
      return low * 1000
    }
    END { if (NR == 0 || count[NR] == 0) { print "- - - 0"; exit }
          printf "%.3f %.3f %.3f %d\n", q(0.5), q(0.99), q(0.999), count[NR] }'
}

# histogram_quantiles FILE: the same over everything one reading counts (since start).
histogram_quantiles() { window_quantiles <(awk '{ print $1, 0 }' "$1") "$1"; }

# request_p99_ms CONTROL: the node's own p99 of request duration since start, in ms, from
# GetStats (proxyctl; its histogram within 0.4%). Not from /metrics: near a delay its
# buckets are up to 2x apart (0.1 to 0.2 s), where histogram_quantile would put a p99 of
# 100.3 ms at 199 ms. PROXYCTL_BIN: default build/cli/proxyctl.
request_p99_ms() {
  "${PROXYCTL_BIN:-build/cli/proxyctl}" --addr "$1" -o json stats | python3 -c '
import json, sys
p99 = json.load(sys.stdin)["request_latency"].get("p99", "0s")
print("%.3f" % (float(p99.rstrip("s")) * 1000))'
}
