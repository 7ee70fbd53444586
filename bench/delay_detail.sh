#!/usr/bin/env bash
# What is behind the delay figures: in a steady window of a wrk run (after the connections
# are up), the TCP segments per request (nstat, both directions of loopback), how late the
# delayed responses left (differences of the node's histogram buckets, so the connect ramp
# is left out), how many timers each wake-up of a worker fired (a uprobe on the return of
# TimerQueue::RunExpired), and the workers' scheduling delay (perf sched). Root (perf).
#
#   bench/delay_detail.sh                 # 1,000 connections, 100 ms
#   CONNS=10000 bench/delay_detail.sh
#   CONNS=100 DELAY=0s bench/delay_detail.sh
#
# Knobs: CONNS (1000), DELAY (100ms), WORKERS (2), NODE_BIN, OUT. Bounded: about 20 s.
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n "$(ulimit -Hn)"
NODE_BIN=${NODE_BIN:-build/controlplane/proxynode}
CONNS=${CONNS:-1000}
DELAY=${DELAY:-100ms}
WORKERS=${WORKERS:-2}
OUT=${OUT:-${TMPDIR:-/tmp}/proxynode-bench/delay_detail}
mkdir -p "$OUT"
source bench/lib/wrk_pairs.sh
for tool in nstat perf; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is needed" >&2; exit 1; }
done

start_node node "$NODE_BIN" --workers="$WORKERS" --delay="$DELAY"
requests() { metric "$NODE_ADMIN" proxynode_requests_total | cut -d. -f1; }
buckets() { curl -s "http://$NODE_ADMIN/metrics" | grep '^proxynode_timer_lateness_seconds_bucket' >"$1"; }

symbol=$(nm "$NODE_BIN" | awk '/TimerQueue[0-9]*RunExpired/ && !found { print $1; found = 1 }')
perf probe -q -d 'probe_proxynode:*' 2>/dev/null || true
perf probe -q -x "$NODE_BIN" --add "run_expired=0x$symbol%return \$retval" >/dev/null 2>&1

wrk -t2 -c"$CONNS" -d16s --timeout 5s "http://$NODE_HTTP/" >"$OUT/wrk.txt" 2>&1 &
wrk_pid=$!
pids+=("$wrk_pid")
sleep 6  # connections up, past the ramp
nstat -n
r0=$(requests)
buckets "$OUT/buckets0"
perf record -q -e probe_proxynode:run_expired__return -p "$NODE_PID" -o "$OUT/timers.data" \
  -- sleep 3 >/dev/null 2>&1
perf sched record -q -o "$OUT/sched.data" -- sleep 2 >/dev/null 2>&1
buckets "$OUT/buckets1"
r1=$(requests)
nstat >"$OUT/nstat.txt"
wait "$wrk_pid" || true
perf probe -q -d 'probe_proxynode:*' 2>/dev/null || true

n=$((r1 - r0))
echo "### Delay detail: $CONNS connections, delay $DELAY, $WORKERS workers, proxynode $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo
echo "- requests in the window: $n"
awk -v n="$n" '$1 == "TcpOutSegs" { printf "- TCP segments per request: %.2f (both directions)\n", $2 / n }' "$OUT/nstat.txt"
echo "- delayed responses that left within ... of their deadline (this window only):"
paste "$OUT/buckets0" "$OUT/buckets1" | awk '
  { le = $1; sub(/.*le="/, "", le); sub(/".*/, "", le); bound[NR] = le; count[NR] = $4 - $2 }
  END { total = count[NR]; if (total == 0) { print "  (none)"; exit }
        for (i = 1; i <= NR; i++) if (bound[i] != "+Inf" && bound[i] + 0 >= 0.0001 && bound[i] + 0 <= 0.01)
          printf "  %g ms: %.2f%%\n", bound[i] * 1000, 100 * count[i] / total }'
perf script -i "$OUT/timers.data" 2>/dev/null | grep -o 'arg1=0x[0-9a-f]*' | cut -d= -f2 |
  while read -r hex; do echo $((hex)); done | awk '
    { calls++; if ($1 > 0) { wakes++; fired += $1; if ($1 > most) most = $1
      if ($1 >= 50) big += $1 } }
    END { printf "- timers fired per wake-up that fired any: mean %.1f, most %d; %.1f%% of timers in batches of 50 or more (%d RunExpired calls)\n",
          (wakes ? fired / wakes : 0), most, (fired ? 100 * big / fired : 0), calls }'
perf sched latency -i "$OUT/sched.data" 2>/dev/null | awk '/worker-/ {
  avg = $0; sub(/.*avg: */, "", avg); sub(/ .*/, "", avg)
  worst = $0; sub(/.*max: */, "", worst); sub(/ .*/, "", worst)
  printf "- %s scheduling delay: average %s ms, worst %s ms\n", $1, avg, worst }'
