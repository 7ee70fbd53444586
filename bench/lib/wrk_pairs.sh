# Shared by the bench scripts that compare servers in alternating wrk runs (source it):
# start and stop processes, CPU ticks of a server, one measured wrk run, ratios, medians,
# and the node's histograms (bench/lib/histogram.sh).
# Expects OUT (a directory for logs) to be set by the caller; creates it, raises the
# open-file limit and checks that wrk and nginx are installed.

source "$(dirname "${BASH_SOURCE[0]}")/histogram.sh"
mkdir -p "$OUT"
ulimit -n "$(ulimit -Hn)"
if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null; then
  echo "bench: wrk and nginx needed (scripts/install-deps.sh --bench)" >&2
  exit 1
fi

pids=()
cleanup() {  # TERM everything started here (nginx's master stops its workers), then reap
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_node NAME BIN ARGS...: a proxynode on port 0; sets NODE_PID, NODE_HTTP, NODE_ADMIN
# and NODE_CONTROL (host:port).
start_node() {
  local name=$1 bin=$2; shift 2
  "$bin" --http_listen=127.0.0.1:0 --admin_listen=127.0.0.1:0 --control_listen=127.0.0.1:0 \
    "$@" >"$OUT/$name.log" 2>&1 &
  NODE_PID=$!
  pids+=("$NODE_PID")
  for _ in $(seq 100); do grep -q '"proxynode listening"' "$OUT/$name.log" && break; sleep 0.05; done
  NODE_HTTP=$(grep -o '"http":"[^"]*"' "$OUT/$name.log" | head -1 | cut -d'"' -f4)
  [[ -n $NODE_HTTP ]] || { echo "bench: $name did not start, see $OUT/$name.log" >&2; exit 1; }
  NODE_ADMIN=$(grep -o '"admin":"[^"]*"' "$OUT/$name.log" | head -1 | cut -d'"' -f4)
  NODE_CONTROL=$(grep -o '"control":"[^"]*"' "$OUT/$name.log" | head -1 | cut -d'"' -f4)
}

# metric ADMIN NAME: the sum of a node metric over its labels (6 decimals).
metric() {
  curl -sf "http://$1/metrics" |
    awk -v name="$2" '$1 == name || index($1, name "{") == 1 { sum += $2 } END { printf "%.6f", sum }'
}

# free_port FROM: the first port from FROM up that nothing listens on (for nginx, which
# cannot report a port 0 it was given).
free_port() {
  local port=$1
  while ss -Htln "sport = :$port" | grep -q .; do port=$((port + 1)); done
  echo "$port"
}

# CPU ticks (user+system) of a process and its direct children, all threads.
ticks() {
  local sum=0 pid line fields
  for pid in "$1" $(pgrep -P "$1" || true); do
    read -r line 2>/dev/null <"/proc/$pid/stat" || continue
    read -ra fields <<<"${line##*) }"   # from field 3 (state): utime, stime are 14, 15
    sum=$((sum + fields[11] + fields[12]))
  done
  echo "$sum"
}
hz=$(getconf CLK_TCK)

# wrk_figures FILE: "REQ_PER_S P50_MS P99_MS ERRORS" from the output of wrk --latency
# (errors: connect, read, write, timeout and non-2xx together).
wrk_figures() {
  awk '
    function ms(v) {
      if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000
      return v
    }
    /^Requests\/sec/ { rps = $2 }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    /Socket errors/ { gsub(",", ""); errors += $4 + $6 + $8 + $10 }
    /Non-2xx/ { errors += $5 }
    END { printf "%.0f %.2f %.2f %d\n", rps, p50, p99, errors }' "$1"
}

# run_wrk URL PID FILE: one measured wrk run (THREADS, CONNS, DUR) against URL, served by
# PID; prints "REQ_PER_S P99_MS ERRORS SERVER_CPU_PERCENT WRK_CPU_PERCENT" (% of one core).
run_wrk() {
  local url=$1 pid=$2 file=$3 before after rps p50 p99 errors TIMEFORMAT='%U %S'
  before=$(ticks "$pid")
  { time wrk -t"$THREADS" -c"$CONNS" -d"${DUR}s" --timeout 2s --latency "$url" >"$file" 2>&1; } \
    2>"$file.time"
  after=$(ticks "$pid")
  read -r rps p50 p99 errors < <(wrk_figures "$file")
  echo "$rps $p99 $errors $(awk -v cpu=$((after - before)) -v hz="$hz" -v dur="$DUR" \
    'BEGIN { printf "%.0f", 100 * cpu / hz / dur }') $(awk -v dur="$DUR" \
    '{ printf "%.0f", 100 * ($1 + $2) / dur }' "$file.time")"
}

ratio() {  # ratio A B: A/B, or "-" when a side was not measured
  if [[ -n $1 && -n $2 ]]; then awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }'
  else echo "-"; fi
}
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# reversed WORDS...: the words in reverse order (alternate which side runs first).
reversed() { echo "$@" | awk '{ for (i = NF; i > 0; i--) printf "%s ", $i }'; }

# lateness_buckets ADMIN FILE: the node's cumulative timer-lateness buckets ("LE COUNT" per
# line), so that two of them give a window that leaves the connect ramp out
# (window_quantiles, bench/lib/histogram.sh).
lateness_buckets() {
  curl -sf "http://$1/metrics" | buckets_of proxynode_timer_lateness_seconds >"$2"
}
# worker_counter ADMIN NAME: "N0 N1 ..." a per-worker counter of the node, by worker index.
worker_counter() {
  curl -sf "http://$1/metrics" | awk -v name="$2" 'index($1, name "{worker=\"") == 1 {
    w = $1; sub(/.*worker="/, "", w); sub(/".*/, "", w); v[w + 0] = $2; if (w + 0 > n) n = w + 0 }
    END { for (i = 0; i <= n; i++) printf "%s%d", (i ? " " : ""), v[i] }'
}
# thread_ticks PID PATTERN: "T0 T1 ..." CPU ticks of the process's threads whose name
# matches PATTERN, in name order (the workers: "worker-").
thread_ticks() {
  local task name line fields
  for task in /proc/"$1"/task/*; do
    read -r name <"$task/comm" 2>/dev/null || continue
    [[ $name == $2* ]] || continue
    read -r line <"$task/stat" 2>/dev/null || continue
    read -ra fields <<<"${line##*) }"
    echo "$name $((fields[11] + fields[12]))"
  done | sort -V | awk '{ printf "%s%d", (NR > 1 ? " " : ""), $2 }'
}
