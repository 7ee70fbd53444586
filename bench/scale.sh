#!/usr/bin/env bash
# Scale (issue 8): how proxynode holds many connections, beside its peers.
#  1. hold: HOLD_CONNS (19,000) keep-alive connections, HOLD_DELAY (200 ms) delay, for
#     HOLD_DUR (60 s), proxynode with 2 workers: requests/s against the limit
#     (connections / delay), errors, p50/p99, node RSS before and at peak, the node's own
#     timer lateness p50/p99/p999 over the steady window (/metrics), CPU and accepts per
#     worker.
#  2. growth: connections 100 -> 1,000 -> 10,000 -> 19,000 with the delay scaled so the limit
#     stays GROWTH_LIMIT requests/s (50,000: 2, 20, 200, 380 ms; whole milliseconds, which
#     nginx's echo_sleep needs), workers 1 and 2, for
#     proxynode, nginx (echo_sleep; worker_processes 1 and 2) and the reference Node.js server
#     (one process: workers 1 only): requests/s, % of the limit, p99, errors, peak RSS, as wrk
#     measures them; runs at 10,000 connections and more last LARGE_DUR (30 s), since wrk's
#     connect ramp (seconds at 19,000) counts in its figures.
#
#   bench/scale.sh                     # both parts, about 12 minutes
#   PARTS=growth SERVERS=proxynode DUR=5 bench/scale.sh
#
# Knobs: PARTS ("hold growth"), SERVERS ("proxynode nginx node"), DUR (10 s per growth run),
#        LARGE_DUR,
#        WARM (2 s), THREADS (2), HOLD_CONNS, HOLD_DELAY, HOLD_DUR, GROWTH_LIMIT, NODE_BIN,
#        NODE_ARGS (extra proxynode flags), WRK_CPUS (hold: run wrk on these CPUs, taskset -c
#        syntax; with a NODE_BIN wrapper that pins the node elsewhere, the two stop meeting), OUT.
# wrk needs one descriptor per connection: the hard open-file limit must exceed the largest
# connection count (20,000 here). Loopback only; every process started here stops on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
NODE_BIN=${NODE_BIN:-build/controlplane/proxynode}
NODE_ARGS=${NODE_ARGS:-}
PARTS=${PARTS:-"hold growth"}
SERVERS=${SERVERS:-"proxynode nginx node"}
DUR=${DUR:-10}
WARM=${WARM:-2}
THREADS=${THREADS:-2}
HOLD_CONNS=${HOLD_CONNS:-19000}
HOLD_DELAY=${HOLD_DELAY:-200}
HOLD_DUR=${HOLD_DUR:-60}
GROWTH_LIMIT=${GROWTH_LIMIT:-50000}
LARGE_DUR=${LARGE_DUR:-30}
NGINX_PORT=${NGINX_PORT:-18096}
OUT=${OUT:-${TMPDIR:-/tmp}/proxynode-bench/scale}
source bench/lib/wrk_pairs.sh
if (($(ulimit -n) < HOLD_CONNS + 100)); then
  echo "bench: open-file limit $(ulimit -n) is too low for $HOLD_CONNS connections" >&2
  exit 1
fi

rss_kib() {  # VmRSS of a process and its direct children, KiB
  local sum=0 pid value
  for pid in "$1" $(pgrep -P "$1" || true); do
    value=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
    sum=$((sum + ${value:-0}))
  done
  echo "$sum"
}
# peak_rss PID FILE: samples every 0.2 s into FILE until killed.
peak_rss() {
  local peak=0 now
  while :; do
    now=$(rss_kib "$1")
    ((now > peak)) && { peak=$now; echo "$peak" >"$2"; }
    sleep 0.2
  done
}

# start_server NAME WORKERS DELAY_MS: sets SERVER_PID and SERVER_URL.
start_server() {
  local name=$1 workers=$2 delay=$3
  case $name in
    proxynode)
      # shellcheck disable=SC2086 # NODE_ARGS: extra flags, split on spaces
      start_node "proxynode-w$workers-d$delay" "$NODE_BIN" --workers="$workers" --delay="${delay}ms" \
        $NODE_ARGS
      SERVER_PID=$NODE_PID
      SERVER_URL="http://$NODE_HTTP/"
      ;;
    nginx)
      local prefix=$OUT/nginx port
      port=$(free_port "$NGINX_PORT")
      mkdir -p "$prefix/tmp"
      sed -e "s/127.0.0.1:8081/127.0.0.1:$port/" \
        -e "s/worker_processes [0-9]*;/worker_processes $workers;/" \
        -e "s/echo_sleep [0-9.]*;/echo_sleep $(awk -v d="$delay" 'BEGIN { print d / 1000 }');/" \
        ../shared/bench/nginx.conf >"$prefix/nginx.conf"
      nginx -p "$prefix" -c "$prefix/nginx.conf" >"$OUT/nginx.log" 2>&1 &
      SERVER_PID=$!
      SERVER_URL="http://127.0.0.1:$port/delay"
      ;;
    node)
      local port
      port=$(free_port 13000)
      DELAY_MS=$delay PORT=$port node ../shared/bench/seed_server.js >"$OUT/node.log" 2>&1 &
      SERVER_PID=$!
      SERVER_URL="http://127.0.0.1:$port/"
      ;;
  esac
  pids+=("$SERVER_PID")
  for _ in $(seq 100); do curl -sf --max-time 2 -o /dev/null "$SERVER_URL" && return; sleep 0.1; done
  echo "bench: $name did not answer at $SERVER_URL" >&2
  exit 1
}
stop_server() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  sleep 1  # sockets of the last run leave TIME_WAIT behind; give the ports a moment
}

# measure CONNS DURATION FILE: one wrk run against the started server; prints
# "REQ_PER_S P50_MS P99_MS ERRORS PEAK_RSS_MIB".
measure() {
  local conns=$1 duration=$2 file=$3 sampler
  wrk -t"$THREADS" -c"$conns" -d"${WARM}s" --timeout 5s "$SERVER_URL" >/dev/null 2>&1
  peak_rss "$SERVER_PID" "$file.rss" &
  sampler=$!
  wrk -t"$THREADS" -c"$conns" -d"${duration}s" --timeout 5s --latency "$SERVER_URL" >"$file" 2>&1
  kill "$sampler"
  wait "$sampler" 2>/dev/null || true
  echo "$(wrk_figures "$file") $(awk -v kib="$(cat "$file.rss" 2>/dev/null || echo 0)" \
    'BEGIN { printf "%.1f", kib / 1024 }')"
}

echo "## Scale, $(date -u +%FT%TZ), proxynode $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo
echo "$(nproc) cores, kernel $(uname -r), $(nginx -v 2>&1 | sed 's/.*: //'), node $(node --version), wrk -t$THREADS (same cores). Raw output: $OUT"

if [[ " $PARTS " == *" hold "* ]]; then
  # wrk opens its connections one after another and each connect() searches the ephemeral
  # port range, most of which 19,000 connections use: the ramp takes seconds. So the rate is
  # the node's own count of requests over HOLD_DUR once every connection is up, and wrk
  # (stopped after that window) gives errors and latency over its whole run.
  limit=$((HOLD_CONNS * 1000 / HOLD_DELAY))
  start_server proxynode 2 "$HOLD_DELAY"
  admin=$NODE_ADMIN
  rss_before=$(rss_kib "$SERVER_PID")
  peak_rss "$SERVER_PID" "$OUT/hold.rss" &
  sampler=$!
  ${WRK_CPUS:+taskset -c "$WRK_CPUS"} wrk -t"$THREADS" -c"$HOLD_CONNS" -d"$((HOLD_DUR + 120))s" \
    --timeout 5s --latency "$SERVER_URL" >"$OUT/hold.txt" 2>&1 &
  wrk_pid=$!
  ramp_start=$EPOCHREALTIME
  for _ in $(seq 600); do
    (($(metric "$admin" proxynode_node_connections | cut -d. -f1) >= HOLD_CONNS)) && break
    sleep 0.1
  done
  ramp=$(awk -v a="$ramp_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
  open=$(metric "$admin" proxynode_node_connections | cut -d. -f1)
  r0=$(metric "$admin" proxynode_requests_total) t0=$EPOCHREALTIME
  node_ticks0=$(ticks "$SERVER_PID") wrk_ticks0=$(ticks "$wrk_pid")
  read -ra worker_ticks0 <<<"$(thread_ticks "$SERVER_PID" worker-)"
  lateness_buckets "$admin" "$OUT/hold.lateness0"
  sleep "$HOLD_DUR"
  r1=$(metric "$admin" proxynode_requests_total) t1=$EPOCHREALTIME
  node_ticks=$(($(ticks "$SERVER_PID") - node_ticks0)) wrk_ticks=$(($(ticks "$wrk_pid") - wrk_ticks0))
  read -ra worker_ticks1 <<<"$(thread_ticks "$SERVER_PID" worker-)"
  lateness_buckets "$admin" "$OUT/hold.lateness1"
  accepts=$(worker_counter "$admin" proxynode_connections_accepted_total)
  open_end=$(metric "$admin" proxynode_node_connections | cut -d. -f1)
  kill -INT "$wrk_pid"
  wait "$wrk_pid" || true
  kill "$sampler"
  wait "$sampler" 2>/dev/null || true
  rps=$(awk -v a="$r0" -v b="$r1" -v s="$t0" -v e="$t1" 'BEGIN { printf "%.0f", (b - a) / (e - s) }')
  # CPU in the window, % of one core; and the ceiling wrk's own CPU per request sets: the
  # requests/s the cores would carry if the server cost nothing, in % of the limit.
  cpu_pct() { awk -v t="$1" -v hz="$hz" -v s="$t0" -v e="$t1" 'BEGIN { printf "%.0f", 100 * t / hz / (e - s) }'; }
  cores=$(( $(nproc) < THREADS ? $(nproc) : THREADS ))
  ceiling=$(awk -v t="$wrk_ticks" -v hz="$hz" -v a="$r0" -v b="$r1" -v c="$cores" -v l="$limit" \
    'BEGIN { printf "%.1f%%", (t > 0 ? 100 * c / (t / hz / (b - a)) / l : 0) }')
  read -r late_p50 late_p99 late_p999 _ < <(window_quantiles "$OUT/hold.lateness0" "$OUT/hold.lateness1")
  worker_cpu=$(for i in "${!worker_ticks1[@]}"; do cpu_pct $((worker_ticks1[i] - ${worker_ticks0[i]:-0})); echo; done | paste -sd/)
  accept_split=$(echo "$accepts" | tr ' ' /)
  accept_spread=$(echo "$accepts" | awk '{ lo = hi = $1; for (i = 2; i <= NF; i++) { if ($i < lo) lo = $i; if ($i > hi) hi = $i }
    printf "%.1f%%", (hi > 0 ? 100 * (hi - lo) / hi : 0) }')
  node_p99=$(request_p99_ms "$NODE_CONTROL")
  read -r wrk_rps wrk_p50 wrk_p99 errors < <(wrk_figures "$OUT/hold.txt")
  stop_server
  echo
  echo "### Hold: $HOLD_CONNS connections, ${HOLD_DELAY} ms delay, ${HOLD_DUR} s, 2 workers"
  echo
  echo "| ramp s | open at start / end of window | node req/s in window | limit | of limit | node / wrk CPU% | CPU% per worker | accepts per worker (spread) | ceiling (server at no cost) | node p99 ms | lateness p50 / p99 / p999 ms (window) | wrk errors | wrk req/s (ramp included) | wrk p50 / p99 ms | node RSS before / peak MiB |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  echo "| $ramp | $open / $open_end | $rps | $limit | $(awk -v r="$rps" -v l="$limit" 'BEGIN { printf "%.1f%%", 100 * r / l }') | $(cpu_pct "$node_ticks") / $(cpu_pct "$wrk_ticks") | $worker_cpu | $accept_split ($accept_spread) | $ceiling | $node_p99 | $late_p50 / $late_p99 / $late_p999 | $errors | $wrk_rps | $wrk_p50 / $wrk_p99 | $(awk -v k="$rss_before" 'BEGIN { printf "%.1f", k / 1024 }') / $(awk -v k="$(cat "$OUT/hold.rss")" 'BEGIN { printf "%.1f", k / 1024 }') |"
  echo
  echo "Lateness over the window only (differences of the node's histogram buckets, interpolated"
  echo "inside a bucket); node p99 since start (GetStats); CPU per worker from its thread's /proc"
  echo "times over the window."
fi

if [[ " $PARTS " == *" growth "* ]]; then
  echo
  echo "### Growth: connections 100 -> 19,000 at a limit of $GROWTH_LIMIT req/s (delay = connections / limit), ${DUR} s each (${LARGE_DUR} s from 10,000)"
  echo
  echo "| server | workers | conns | delay ms | req/s | of limit | p50 ms | p99 ms | errors | peak RSS MiB |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  for server in $SERVERS; do
    for workers in 1 2; do
      [[ $server == node && $workers == 2 ]] && continue  # one process, one thread
      for conns in 100 1000 10000 19000; do
        delay=$(awk -v c="$conns" -v l="$GROWTH_LIMIT" 'BEGIN { printf "%g", c * 1000 / l }')
        start_server "$server" "$workers" "$delay"
        duration=$DUR
        ((conns >= 10000)) && duration=$LARGE_DUR
        read -r rps p50 p99 errors peak < <(measure "$conns" "$duration" "$OUT/growth-$server-w$workers-c$conns.txt")
        stop_server
        echo "| $server | $workers | $conns | $delay | $rps | $(awk -v r="$rps" -v l="$GROWTH_LIMIT" 'BEGIN { printf "%.1f%%", 100 * r / l }') | $p50 | $p99 | $errors | $peak |"
      done
    done
  done
fi
