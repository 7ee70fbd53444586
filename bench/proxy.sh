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
source bench/lib/wrk_pairs.sh

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
  NGINX_PORT=$(free_port "$NGINX_PORT")
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

# run SIDE TAG: one measured wrk run; prints "REQ_PER_S P99_MS ERRORS PROXY_CPU_PERCENT WRK_CPU".
run() { run_wrk "${URL[$1]}" "${PID[$1]}" "$OUT/$1-$2.txt"; }

for side in $SIDES; do   # warm-up: pools filled, caches warm; not counted
  wrk -t"$THREADS" -c"$CONNS" -d"${WARM}s" "${URL[$side]}" >/dev/null 2>&1
done

echo "### Reverse proxy: proxynode beside nginx (wrk -t$THREADS -c$CONNS -d${DUR}s, zero delay)"
echo
echo "$(date -u +%FT%TZ), proxynode $(git rev-parse --short HEAD 2>/dev/null || echo '?') ($NODE_BIN), $(nginx -v 2>&1 | sed 's/.*: //'), $(nproc) cores; both proxies 2 workers, upstream a proxynode in respond mode (2 workers, delay 0). CPU = the proxy's CPU over the run, % of one core (its threads; nginx: master and workers). Raw output: $OUT"
echo
echo "| pair | proxynode req/s | nginx req/s | ratio | proxynode p99 ms | nginx p99 ms | p99 ratio | errors pn/nginx | CPU% pn/nginx |"
echo "|---|---|---|---|---|---|---|---|---|"
rps_ratios=()
p99_ratios=()
for pair in $(seq "$PAIRS"); do
  declare -A RPS=() P99=() ERR=() CPU=()
  order=$SIDES
  ((pair % 2 == 0)) && order=$(reversed $SIDES)
  for side in $order; do
    read -r "RPS[$side]" "P99[$side]" "ERR[$side]" "CPU[$side]" _ < <(run "$side" "$pair")
    sleep 1
  done
  r=$(ratio "${RPS[proxynode]:-}" "${RPS[nginx]:-}")
  p=$(ratio "${P99[proxynode]:-}" "${P99[nginx]:-}")
  [[ $r != - ]] && rps_ratios+=("$r") && p99_ratios+=("$p")
  echo "| $pair | ${RPS[proxynode]:--} | ${RPS[nginx]:--} | $r | ${P99[proxynode]:--} | ${P99[nginx]:--} | $p | ${ERR[proxynode]:--}/${ERR[nginx]:--} | ${CPU[proxynode]:--}/${CPU[nginx]:--} |"
done
if ((${#rps_ratios[@]})); then
  echo
  echo "median proxynode/nginx: requests/s $(median "${rps_ratios[@]}"), p99 $(median "${p99_ratios[@]}") (p99: lower is better)"
fi
if [[ $DIRECT == 1 ]]; then
  read -r rps p99 errors cpu _ < <(run_wrk "http://$upstream/" "$upstream_pid" "$OUT/upstream-direct.txt")
  echo
  echo "upstream alone (no proxy): $rps req/s, p99 $p99 ms, errors $errors, upstream CPU $cpu%"
fi
