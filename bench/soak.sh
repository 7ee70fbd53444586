#!/usr/bin/env bash
# Soak: thousands of keep-alive connections under load for SOAK_SECONDS (default 600) while
# the configuration changes every second through the control plane (delay, workers, limits).
# Then checks, and exits non-zero if one fails:
#   - no failed request that was not a deliberate rejection: wrk saw no connect, read, write
#     or timeout error, and every status was 200, or 429 from the rate-limit steps;
#   - every config change was accepted;
#   - the node's open file descriptors are back to their baseline, and its RSS within
#     10% (or 8 MiB) of it, once the connections are closed and the starting config is
#     restored (baseline: after a warm-up run of the same load, so buffer pools and
#     allocator arenas have their working size);
#   - the node's counters agree with what the clients counted: responses the node wrote
#     minus those wrk completed is between 0 and the number of connections (wrk stops with
#     at most one request in flight per connection).
# Loopback only, bounded: about SOAK_SECONDS + 20 s. Prints a markdown summary.
#   SOAK_SECONDS=600 SOAK_CONNS=4000 bench/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n "$(ulimit -Hn)"
NODE_BIN=${NODE_BIN:-build/controlplane/proxynode}
PROXYCTL_BIN=${PROXYCTL_BIN:-build/cli/proxyctl}
DURATION=${SOAK_SECONDS:-600}
CONNS=${SOAK_CONNS:-4000}
OUT=${OUT:-${TMPDIR:-/tmp}/proxynode-soak}
mkdir -p "$OUT"
# wrk and the node each hold one fd per connection; keep room for both under the limit.
max_conns=$(($(ulimit -n) - 200))
((CONNS <= max_conns)) || CONNS=$max_conns

"$NODE_BIN" --http_listen=127.0.0.1:0 --admin_listen=127.0.0.1:0 --control_listen=127.0.0.1:0 \
  --workers=2 --delay=20ms >"$OUT/node.log" 2>&1 &
pid=$!
changer=""
cleanup() {
  [[ -n $changer ]] && kill "$changer" 2>/dev/null || true
  kill "$pid" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 100); do grep -q '"proxynode listening"' "$OUT/node.log" && break; sleep 0.05; done
field() { grep -o "\"$1\":\"[^\"]*\"" "$OUT/node.log" | head -1 | cut -d'"' -f4; }
http=$(field http)
control=$(field control)

rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$pid/status"; }
fd_count() { ls "/proc/$pid/fd" | wc -l; }
# The node's own count of responses written, and of those that were rate-limit refusals.
node_counts() {
  "$PROXYCTL_BIN" --addr "$control" -o json stats | python3 -c '
import json, sys
t = json.load(sys.stdin)["total"]
written = sum(int(t["responses_%dxx" % k]) for k in range(1, 6))
print(written, int(t["rejected"]["rate_limited"]))'
}
settle() {  # waits until the node holds no connection (wrk has exited)
  for _ in $(seq 100); do
    [[ $("$PROXYCTL_BIN" --addr "$control" -o json status | python3 -c '
import json, sys
print(json.load(sys.stdin).get("connections", 0))') == 0 ]] && return
    sleep 0.1
  done
}

# Warm-up with the same load, then the baseline.
wrk -t2 -c"$CONNS" -d10s --timeout 5s "http://$http/" >"$OUT/warmup.txt" 2>&1
settle
sleep 1
base_rss=$(rss_kib)
base_fds=$(fd_count)
read -r written_before limited_before < <(node_counts)

# One change a second, round and round. rate_limit=2000 is the one deliberate refusal
# (429s for that second); max_requests_per_connection=1000 makes the node close connections
# after a response (wrk reconnects: not an error).
steps=(delay=0s workers=3 delay=50ms workers=1 max_pending=1000000 workers=4 delay=5ms
  header_timeout=5s idle_timeout=30s workers=2 max_requests_per_connection=1000
  rate_limit=2000 rate_limit=0 max_requests_per_connection=0 "max_connections=$((CONNS * 2))"
  delay=100ms max_connections=0 header_timeout=10s idle_timeout=60s max_pending=0 delay=20ms)
(
  changes=0
  refused=0
  end=$((SECONDS + DURATION))
  while ((SECONDS < end)); do
    step=${steps[changes % ${#steps[@]}]}
    if ! "$PROXYCTL_BIN" --addr "$control" --yes config set "$step" >/dev/null 2>>"$OUT/changes.err"; then
      refused=$((refused + 1))
    fi
    changes=$((changes + 1))
    echo "$changes $refused" >"$OUT/changes.txt"
    sleep 1
  done
) &
changer=$!

wrk -t2 -c"$CONNS" -d"${DURATION}s" --timeout 5s -s bench/lua/count_statuses.lua \
  "http://$http/" >"$OUT/soak.txt" 2>&1
wait "$changer" || true
changer=""
# Back to the starting config (each worker holds an epoll fd and an eventfd), then compare.
"$PROXYCTL_BIN" --addr "$control" --yes config set workers=2 delay=20ms max_pending=0 rate_limit=0 \
  max_connections=0 header_timeout=10s idle_timeout=60s max_requests_per_connection=0 >/dev/null
settle
sleep 1
read -r written_after limited_after < <(node_counts)
end_rss=$(rss_kib)
end_fds=$(fd_count)
read -r changes refused <"$OUT/changes.txt"

ok=true
fail() {
  echo "- **FAILED**: $*"
  ok=false
}
echo "### Soak, $(date -u +%Y-%m-%d), ${DURATION} s, $CONNS connections, a config change every second"
echo
echo '```'
grep -E '^(status|errors|requests) ' "$OUT/soak.txt"
grep -E 'Requests/sec|Latency ' "$OUT/soak.txt"
echo '```'
echo
read -r _ _ connect _ read_errors _ write_errors _ _ _ timeouts < <(grep '^errors ' "$OUT/soak.txt")
completed=$(awk '/^status / { n += $3 } END { print n + 0 }' "$OUT/soak.txt")
ok_responses=$(awk '$1 == "status" && $2 == 200 { print $3 }' "$OUT/soak.txt")
limited=$(awk '$1 == "status" && $2 == 429 { print $3 }' "$OUT/soak.txt")
other=$(awk '$1 == "status" && $2 != 200 && $2 != 429 { n += $3 } END { print n + 0 }' "$OUT/soak.txt")
node_written=$((written_after - written_before))
node_limited=$((limited_after - limited_before))
echo "| | |"
echo "|---|---|"
echo "| responses completed (wrk) | $completed: ${ok_responses:-0} × 200, ${limited:-0} × 429 (deliberate), $other other |"
echo "| responses written (node) | $node_written, of which $node_limited rate-limit refusals |"
echo "| socket errors (wrk) | connect $connect, read $read_errors, write $write_errors, timeout $timeouts |"
echo "| config changes | $changes, refused $refused |"
echo "| RSS (KiB) | baseline $base_rss, after $end_rss |"
echo "| open fds | baseline $base_fds, after $end_fds |"
echo
((connect + read_errors + write_errors + timeouts == 0)) || fail "wrk saw socket errors"
((other == 0)) || fail "$other responses were neither 200 nor a deliberate 429"
((refused == 0)) || fail "$refused config changes were refused: $(head -3 "$OUT/changes.err")"
((end_fds == base_fds)) || fail "open fds $end_fds, baseline $base_fds"
allowed=$((base_rss / 10 > 8192 ? base_rss / 10 : 8192))
((end_rss <= base_rss + allowed)) || fail "RSS $end_rss KiB, baseline $base_rss KiB"
limited_in_flight=$((node_limited - ${limited:-0}))
((limited_in_flight >= 0 && limited_in_flight <= CONNS)) ||
  fail "node refused $node_limited for the rate limit, wrk saw ${limited:-0}"
in_flight=$((node_written - completed))
((in_flight >= 0 && in_flight <= CONNS)) ||
  fail "node wrote $node_written responses, wrk completed $completed (difference $in_flight)"
$ok && echo "All checks passed."
$ok
