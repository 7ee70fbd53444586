#!/usr/bin/env bash
# Reverse proxy throughput: proxynode --upstream beside nginx as a reverse proxy, both in front
# of the same upstream (a proxynode in respond mode, zero delay, 2 workers), measured with wrk
# at CONNS connections in the same run, in alternating pairs (the order flips every pair, so a
# neighbour's load drifting over the run falls on both sides). Prints a markdown table of
# requests/s and p99 per pair with proxynode/nginx ratios, and the median ratios.
#
#   bench/proxy.sh                     # PAIRS=3, DUR=10: about 75 s
#   SIDES=nginx DUR=3 PAIRS=1 bench/proxy.sh
#
# Knobs: NODE_BIN UPSTREAM_BIN (default NODE_BIN) DUR WARM PAIRS CONNS THREADS
#        NGINX_PORT (the first free port from it up; default 18090)
#        SIDES="proxynode nginx" DIRECT=1 (also measure the upstream alone, once) OUT.
# Loopback only; wrk, both proxies and the upstream share the machine's cores, so compare the
# ratios, not the absolute figures. Every process started here is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
NODE_BIN=${NODE_BIN:-build/controlplane/proxynode}
UPSTREAM_BIN=${UPSTREAM_BIN:-$NODE_BIN}
DUR=${DUR:-10}
WARM=${WARM:-2}
PAIRS=${PAIRS:-3}
CONNS=${CONNS:-100}
THREADS=${THREADS:-2}
NGINX_PORT=${NGINX_PORT:-18090}
SIDES=${SIDES:-"proxynode nginx"}
DIRECT=${DIRECT:-0}
OUT=${OUT:-${TMPDIR:-/tmp}/proxynode-bench/proxy}
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

# start_node NAME BIN ARGS...: a proxynode on port 0; sets NODE_PID and NODE_HTTP (host:port).
start_node() {
  local name=$1 bin=$2; shift 2
  "$bin" --http_listen=127.0.0.1:0 --admin_listen=127.0.0.1:0 --control_listen=127.0.0.1:0 \
    "$@" >"$OUT/$name.log" 2>&1 &
  NODE_PID=$!
  pids+=("$NODE_PID")
  for _ in $(seq 100); do grep -q '"proxynode listening"' "$OUT/$name.log" && break; sleep 0.05; done
  NODE_HTTP=$(grep -o '"http":"[^"]*"' "$OUT/$name.log" | head -1 | cut -d'"' -f4)
  [[ -n $NODE_HTTP ]] || { echo "bench: $name did not start, see $OUT/$name.log" >&2; exit 1; }
}

start_node upstream "$UPSTREAM_BIN" --workers=2 --delay=0s
upstream=$NODE_HTTP
upstream_pid=$NODE_PID
expected=$(curl -sf --max-time 2 "http://$upstream/")

declare -A URL PID
if [[ " $SIDES " == *" proxynode "* ]]; then
  start_node proxynode "$NODE_BIN" --workers=2 --delay=0s --upstream="$upstream"
  URL[proxynode]="http://$NODE_HTTP/"
  PID[proxynode]=$NODE_PID
fi
if [[ " $SIDES " == *" nginx "* ]]; then
  # nginx cannot report a port 0 it was given: take the first free one from NGINX_PORT up.
  for _ in $(seq 50); do
    ss -Htln "( sport = :$NGINX_PORT )" | grep -q . || break
    NGINX_PORT=$((NGINX_PORT + 1))
  done
  prefix=$OUT/nginx
  mkdir -p "$prefix/tmp"
  sed -e "s/@LISTEN_PORT@/$NGINX_PORT/" -e "s/@UPSTREAM@/$upstream/" bench/nginx-proxy.conf \
    >"$prefix/nginx.conf"
  nginx -p "$prefix" -c "$prefix/nginx.conf" >"$OUT/nginx.log" 2>&1 &
  PID[nginx]=$!
  pids+=("${PID[nginx]}")
  URL[nginx]="http://127.0.0.1:$NGINX_PORT/"
  for _ in $(seq 100); do curl -sf --max-time 1 -o /dev/null "${URL[nginx]}" && break; sleep 0.05; done
fi
# Each side must answer with the upstream's body before it is measured.
for side in $SIDES; do
  got=$(curl -sf --max-time 2 "${URL[$side]}" || true)
  [[ $got == "$expected" ]] ||
    { echo "bench: $side does not proxy (got '$got'), see $OUT/$side.log" >&2; exit 1; }
done

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

# run SIDE TAG: one measured wrk run; prints "REQ_PER_S P99_MS ERRORS PROXY_CPU_PERCENT".
run() {
  local side=$1 url=$2 pid=$3 file="$OUT/$1-$4.txt" before after
  before=$(ticks "$pid")
  wrk -t"$THREADS" -c"$CONNS" -d"${DUR}s" --timeout 2s --latency "$url" >"$file" 2>&1
  after=$(ticks "$pid")
  awk -v cpu=$((after - before)) -v hz="$hz" -v dur="$DUR" '
    function ms(v) {
      if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000
      return v
    }
    /^Requests\/sec/ { rps = $2 }
    $1 == "99%" { p99 = ms($2) }
    /Socket errors/ { gsub(",", ""); errors += $4 + $6 + $8 + $10 }
    /Non-2xx/ { errors += $5 }
    END { printf "%.0f %.2f %d %.0f\n", rps, p99, errors, 100 * cpu / hz / dur }' "$file"
}

for side in $SIDES; do   # warm-up: pools filled, caches warm; not counted
  wrk -t"$THREADS" -c"$CONNS" -d"${WARM}s" "${URL[$side]}" >/dev/null 2>&1
done

echo "### Reverse proxy: proxynode beside nginx (wrk -t$THREADS -c$CONNS -d${DUR}s, zero delay)"
echo
echo "$(date -u +%FT%TZ), proxynode $(git rev-parse --short HEAD 2>/dev/null || echo '?') ($NODE_BIN), $(nginx -v 2>&1 | sed 's/.*: //'), $(nproc) cores; both proxies 2 workers, upstream a proxynode in respond mode (2 workers, delay 0). CPU = the proxy's CPU over the run, % of one core (its threads; nginx: master and workers). Raw output: $OUT"
echo
echo "| pair | proxynode req/s | nginx req/s | ratio | proxynode p99 ms | nginx p99 ms | p99 ratio | errors pn/nginx | CPU% pn/nginx |"
echo "|---|---|---|---|---|---|---|---|---|"
ratio() {  # ratio A B: A/B, or "-" when a side was not measured
  if [[ -n $1 && -n $2 ]]; then awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }'
  else echo "-"; fi
}
rps_ratios=()
p99_ratios=()
for pair in $(seq "$PAIRS"); do
  declare -A RPS=() P99=() ERR=() CPU=()
  order=$SIDES
  ((pair % 2 == 0)) && order=$(echo "$SIDES" | awk '{ for (i = NF; i > 0; i--) printf "%s ", $i }')
  for side in $order; do
    read -r "RPS[$side]" "P99[$side]" "ERR[$side]" "CPU[$side]" < <(run "$side" "${URL[$side]}" "${PID[$side]}" "$pair")
    sleep 1
  done
  r=$(ratio "${RPS[proxynode]:-}" "${RPS[nginx]:-}")
  p=$(ratio "${P99[proxynode]:-}" "${P99[nginx]:-}")
  [[ $r != - ]] && rps_ratios+=("$r") && p99_ratios+=("$p")
  echo "| $pair | ${RPS[proxynode]:--} | ${RPS[nginx]:--} | $r | ${P99[proxynode]:--} | ${P99[nginx]:--} | $p | ${ERR[proxynode]:--}/${ERR[nginx]:--} | ${CPU[proxynode]:--}/${CPU[nginx]:--} |"
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
if ((${#rps_ratios[@]})); then
  echo
  echo "median proxynode/nginx: requests/s $(median "${rps_ratios[@]}"), p99 $(median "${p99_ratios[@]}") (p99: lower is better)"
fi
if [[ $DIRECT == 1 ]]; then
  read -r rps p99 errors cpu < <(run upstream "http://$upstream/" "$upstream_pid" direct)
  echo
  echo "upstream alone (no proxy): $rps req/s, p99 $p99 ms, errors $errors, upstream CPU $cpu%"
fi
