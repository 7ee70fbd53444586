#!/usr/bin/env bash
# Micro-benchmarks and per-request costs of the data plane:
#  1. builds build-micro/ (RelWithDebInfo like the normal build, benchmarks on, tests off)
#     and runs the Google Benchmark cases of bench/micro/ (parser, timer heap), 3 repetitions
#     each, aggregates only;
#  2. with valgrind: instructions per request of one worker, from two callgrind runs of the
#     node (--workers=1 --delay=0s) that differ only in the number of requests served
#     (REQUESTS, default 20,000, over 10 keep-alive connections, one request in flight each):
#     (Ir(REQUESTS) - Ir(0)) / REQUESTS, and the top functions of the worker thread;
#  3. with perf and the syscall tracepoints: syscalls per request of the worker thread, for
#     the same client and for wrk (-t1 -c100), by syscall.
# Bounded: about 2 minutes once built (the first build of the node takes longer at -j1).
# Prints markdown; logs and raw outputs go to build-micro/micro-out/.
#
#   bench/micro.sh                      # everything
#   REQUESTS=5000 JOBS=2 bench/micro.sh
#   SKIP_BENCH=1 bench/micro.sh         # only the per-request costs (2 and 3)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${BUILD_DIR:-build-micro}
JOBS=${JOBS:-1}
REQUESTS=${REQUESTS:-20000}
CONNS=${CONNS:-10}
OUT=$ROOT/$BUILD/micro-out
NODE_BIN=$ROOT/$BUILD/controlplane/proxynode

dpkg -s libbenchmark-dev >/dev/null 2>&1 || scripts/install-deps.sh --bench
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPROXYNODE_BUILD_BENCHMARKS=ON ${MICRO_CMAKE_ARGS:-} \
  -DPROXYNODE_BUILD_TESTS=OFF -DPROXYNODE_SANITIZE= >/dev/null
cmake --build "$BUILD" --target http_parser_bench timer_queue_bench fault_engine_bench proxynode -j "$JOBS" >/dev/null
rm -rf "$OUT"
mkdir -p "$OUT"

echo "## Micro-benchmarks, $(date -u +%FT%TZ), proxynode $(git rev-parse --short HEAD)$(
  git diff --quiet HEAD -- dataplane controlplane bench/micro || echo ' (with local changes)')"
echo
echo "Machine: $(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), shared and noisy;" \
  "kernel $(uname -r); $(g++ --version | head -1); Google Benchmark $(dpkg-query -W -f='${Version}' libbenchmark-dev)."
echo "Command: \`bench/micro.sh\` (REQUESTS=$REQUESTS CONNS=$CONNS)."
echo

# --- 1. Google Benchmark -------------------------------------------------------------------
# Markdown from the JSON of one benchmark binary: median of the 3 repetitions, and the
# coefficient of variation of the CPU time (how much the repetitions disagreed).
bench_table() {
  python3 - "$1" <<'PY'
import json, sys
runs = json.load(open(sys.argv[1]))["benchmarks"]
by = {}
for r in runs:
    by.setdefault(r["run_name"], {})[r.get("aggregate_name", "")] = r
def rate(x, unit):
    if x is None:
        return "-"
    for scale, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if x >= scale:
            return "%.2f %s%s" % (x / scale, prefix, unit)
    return "%.0f %s" % (x, unit)
print("| benchmark | CPU time/iter (median) | CV | items/s | bytes/s |")
print("|---|---|---|---|---|")
for name, aggs in by.items():
    med, cv = aggs.get("median"), aggs.get("cv")
    if med is None:
        continue
    t = med["cpu_time"]
    unit = med["time_unit"]
    if unit == "ns" and t >= 10000:
        t, unit = t / 1000, "us"
    cv_text = "%.1f%%" % (100 * cv["cpu_time"]) if cv else "-"
    print("| %s | %.1f %s | %s | %s | %s |" % (name, t, unit, cv_text,
          rate(med.get("items_per_second"), "/s"), rate(med.get("bytes_per_second"), "B/s")))
PY
}

if [[ -z ${SKIP_BENCH:-} ]]; then
  for bench in http_parser_bench timer_queue_bench fault_engine_bench; do
    echo "### $bench"
    echo
    echo '```'
    "$BUILD/bench/micro/$bench" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
      --benchmark_out="$OUT/$bench.json" --benchmark_out_format=json 2>&1 |
      grep -v '^\*\*\*WARNING\*\*\* CPU scaling'
    echo '```'
    echo
    bench_table "$OUT/$bench.json"
    echo
  done
fi

# --- The client of sections 2 and 3 ---------------------------------------------------------
# Opens CONNS keep-alive connections, then sends REQUESTS GET requests over them, one in
# flight per connection, reading every response; then closes them. With 0 requests it only
# connects and closes, so two runs differ only by the requests.
cat >"$OUT/client.py" <<'PY'
import selectors, socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
total, conns = int(sys.argv[2]), int(sys.argv[3])
request = ("GET / HTTP/1.1\r\nHost: %s:%s\r\n\r\n" % (host, port)).encode()
sel = selectors.DefaultSelector()
socks = []
for i in range(conns):
    s = socket.create_connection((host, int(port)))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    socks.append([s, total // conns + (1 if i < total % conns else 0), 0, b""])
start = time.monotonic()
for c in socks:
    if c[1] > 0:
        c[0].sendall(request)
        sel.register(c[0], selectors.EVENT_READ, c)
done = 0
while sel.get_map():
    events = sel.select(timeout=120)
    if not events:
        sys.exit("client: no response for 120 s")
    for key, _ in events:
        c = key.data
        data = c[0].recv(65536)
        if not data:
            sys.exit("client: the node closed a connection")
        c[3] += data
        while True:
            end = c[3].find(b"\r\n\r\n")
            if end < 0:
                break
            head = c[3][:end].decode("latin-1")
            if not head.startswith("HTTP/1.1 200"):
                sys.exit("client: unexpected response: " + head.splitlines()[0])
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            if len(c[3]) < end + 4 + length:
                break
            c[3] = c[3][end + 4 + length:]
            c[2] += 1
            done += 1
            if c[2] < c[1]:
                c[0].sendall(request)
            else:
                sel.unregister(c[0])
elapsed = time.monotonic() - start
for c in socks:
    c[0].close()
print("client: %d requests over %d connections in %.2f s (%.0f req/s)"
      % (done, conns, elapsed, done / elapsed if elapsed > 0 else 0))
PY

node_pid=""
cleanup() {
  if [[ -n $node_pid ]]; then
    kill "$node_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT
# start_node LOG [COMMAND PREFIX...]: starts the node on 127.0.0.1 port 0 (all three
# listeners), one worker, zero delay; sets node_pid and http. Waits up to 180 s (valgrind).
start_node() {
  local log=$1
  shift
  "$@" "$NODE_BIN" --http_listen=127.0.0.1:0 --admin_listen=127.0.0.1:0 \
    --control_listen=127.0.0.1:0 --workers=1 --delay=0s >"$log" 2>"$log.err" &
  node_pid=$!
  for _ in $(seq 1800); do
    grep -q '"proxynode listening"' "$log" 2>/dev/null && break
    kill -0 "$node_pid" 2>/dev/null || { cat "$log.err" >&2; exit 1; }
    sleep 0.1
  done
  http=$(grep -o '"http":"[^"]*"' "$log" | head -1 | cut -d'"' -f4)
  [[ -n $http ]] || { echo "micro: the node did not start (see $log)" >&2; exit 1; }
}
# stop_node: SIGTERM (the node drains and exits; callgrind then writes its output).
stop_node() {
  kill -TERM "$node_pid"
  wait "$node_pid" || true
  node_pid=""
}
# worker_tid: the thread id of the node's only worker (named worker-0 by its thread).
worker_tid() {
  local task
  for _ in $(seq 50); do
    for task in /proc/"$node_pid"/task/*; do
      if [[ $(cat "$task/comm" 2>/dev/null) == worker-0 ]]; then
        basename "$task"
        return
      fi
    done
    sleep 0.1
  done
  echo "micro: no worker-0 thread in the node" >&2
  exit 1
}

# --- 2. Instructions per request (callgrind) ------------------------------------------------
if command -v valgrind >/dev/null && command -v callgrind_annotate >/dev/null; then
  # Valgrind 3.19 (Debian 12) does not know epoll_pwait2 (syscall 441) and fails it with
  # ENOSYS; this preload serves the loop's epoll_pwait2 with epoll_pwait (timeouts rounded up
  # to the millisecond; at --delay=0s no timer is due during a run, so nothing else changes).
  cat >"$OUT/epoll_pwait2_shim.cc" <<'CC'
#include <signal.h>
#include <sys/epoll.h>
#include <time.h>

#include <climits>

extern "C" int epoll_pwait2(int epfd, struct epoll_event* events, int maxevents,
                            const struct timespec* timeout, const sigset_t* sigmask) {
  int ms = -1;
  if (timeout != nullptr) {
    long long total = timeout->tv_sec * 1000LL + (timeout->tv_nsec + 999999) / 1000000;
    ms = total > INT_MAX ? INT_MAX : static_cast<int>(total);
  }
  return epoll_pwait(epfd, events, maxevents, ms, sigmask);
}
CC
  g++ -O2 -shared -fPIC -o "$OUT/epoll_pwait2_shim.so" "$OUT/epoll_pwait2_shim.cc"

  # callgrind_run N: one node under callgrind serving N requests; sets run_total (Ir of
  # every thread), run_worker_ir and run_worker_file (the worker thread's).
  callgrind_run() {
    local dir=$OUT/callgrind-$1 file ir
    mkdir -p "$dir"
    start_node "$dir/node.log" env LD_PRELOAD="$OUT/epoll_pwait2_shim.so" valgrind \
      --tool=callgrind --separate-threads=yes --callgrind-out-file="$dir/callgrind.out.%p" -q
    python3 "$OUT/client.py" "$http" "$1" "$CONNS" >"$dir/client.txt"
    stop_node
    run_total=0
    run_worker_ir=0
    run_worker_file=""
    for file in "$dir"/callgrind.out.*; do
      ir=$(awk '/^totals:/ { t = $2 } /^summary:/ { s = $2 } END { print (t != "" ? t : s) + 0 }' "$file")
      run_total=$((run_total + ir))
      # A thread that parsed requests (the name of before and after the session split).
      if grep -qE 'Http1Session::ProcessInput|Connection::ProcessInput' "$file" &&
        ((ir > run_worker_ir)); then
        run_worker_file=$file
        run_worker_ir=$ir
      fi
    done
  }
  # top_functions INCLUSIVE COUNT: the first COUNT function lines of callgrind_annotate.
  top_functions() {
    callgrind_annotate --inclusive="$1" --threshold=100 "$worker_file" 2>/dev/null |
      grep -E '^ *[0-9,]+ +\( *[0-9.]+%\) ' | grep -v 'PROGRAM TOTALS' |
      sed -E 's/ \[[^]]*\]$//; s/std::basic_string_view<char, std::char_traits<char> >/std::string_view/g' |
      awk -v n="$2" 'NR <= n { print substr($0, 1, 150) }'
  }
  callgrind_run 0
  base_total=$run_total
  base_worker=$run_worker_ir
  callgrind_run "$REQUESTS"
  total=$run_total
  worker_ir=$run_worker_ir
  worker_file=$run_worker_file
  echo "### Instructions per request (callgrind, user space only)"
  echo
  echo "One worker, zero delay, $CONNS keep-alive connections with one request in flight each" \
    "(GET / with Host only), $REQUESTS requests; (Ir(N) - Ir(0)) / N over two runs under" \
    "\`valgrind --tool=callgrind --separate-threads=yes\`. $(cat "$OUT/callgrind-$REQUESTS/client.txt")."
  echo
  echo "| scope | Ir(0) | Ir($REQUESTS) | instructions per request |"
  echo "|---|---|---|---|"
  echo "| worker thread (epoll loop, parse, respond) | $base_worker | $worker_ir | $(((worker_ir - base_worker) / REQUESTS)) |"
  echo "| whole process (adds main-thread ticks and gRPC threads, which grow with run time) | $base_total | $total | $(((total - base_total) / REQUESTS)) |"
  echo
  echo "Top 20 functions of the worker thread by self Ir (N=$REQUESTS run; share of the thread's Ir):"
  echo
  echo '```'
  top_functions no 20
  echo '```'
  echo
  echo "Same, inclusive (a function with its callees):"
  echo
  echo '```'
  top_functions yes 25
  echo '```'
  echo
else
  echo "(valgrind or callgrind_annotate not installed: no instructions per request)"
  echo
fi

# --- 3. Syscalls per request (perf, syscall tracepoints) ------------------------------------
# syscalls_rows FILE REQUESTS: markdown rows (syscall, count, per request) from `perf stat -x,`.
syscalls_rows() {
  awk -F, '$3 ~ /^syscalls:sys_enter_/ && $1 + 0 > 0 {
      name = $3
      sub(/^syscalls:sys_enter_/, "", name)
      print name, $1
      total += $1
    }
    END { print "**total**", total + 0 }' "$1" |
    sort -k2,2nr | awk -v n="$2" '{ printf "| %s | %d | %.3f |\n", $1, $2, $2 / n }'
}
client_python() { python3 "$OUT/client.py" "$http" "$REQUESTS" "$CONNS"; }
client_wrk() { wrk -t1 -c100 -d"${WRK_SECONDS:-5}s" "http://$http/"; }
# perf_run LABEL CLIENT_FUNCTION: a fresh node (not under valgrind); counts its worker
# thread's syscalls while the client runs.
perf_run() {
  local label=$1 client=$2 tid perf_pid
  start_node "$OUT/perf-$label-node.log"
  tid=$(worker_tid)
  perf stat -x, -e 'syscalls:sys_enter_*' -t "$tid" -o "$OUT/perf-$label.txt" &
  perf_pid=$!
  sleep 1  # perf opens several hundred events before it counts
  "$client" >"$OUT/perf-$label-client.txt" 2>&1
  kill -INT "$perf_pid"
  wait "$perf_pid" || true
  stop_node
}
if command -v perf >/dev/null && perf stat -e 'syscalls:sys_enter_read' true >/dev/null 2>&1; then
  echo "### Syscalls per request (worker thread, perf syscall tracepoints)"
  echo
  perf_run python client_python
  echo "Python client, $CONNS connections, one request in flight each, $REQUESTS requests:" \
    "$(cat "$OUT/perf-python-client.txt")."
  echo
  echo "| syscall | count | per request |"
  echo "|---|---|---|"
  syscalls_rows "$OUT/perf-python.txt" "$REQUESTS"
  echo
  if command -v wrk >/dev/null; then
    perf_run wrk client_wrk
    wrk_requests=$(sed -nE 's/^ *([0-9]+) requests in .*/\1/p' "$OUT/perf-wrk-client.txt")
    echo "wrk -t1 -c100 -d${WRK_SECONDS:-5}s, $wrk_requests requests" \
      "($(grep -o 'Requests/sec: *[0-9.]*' "$OUT/perf-wrk-client.txt" | tr -s ' ')):"
    echo
    echo "| syscall | count | per request |"
    echo "|---|---|---|"
    syscalls_rows "$OUT/perf-wrk.txt" "${wrk_requests:-1}"
    echo
  fi
else
  echo "(perf with syscall tracepoints not available: no syscalls per request)"
  echo
fi
