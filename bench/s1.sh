#!/usr/bin/env bash
# S1 in pairs: zero delay, 100 keep-alive connections (wrk -t2 -c100), proxynode with 2
# workers beside nginx with 2 worker processes, alternating which runs first, PAIRS rounds.
# SIDES adds proxynode's CPU-local mode (--cpu_local: workers pinned, each connection served
# on the CPU its packets arrive on). Prints per round requests/s, p99, server and wrk CPU and
# requests per server CPU-second, then the median of each round's ratio to nginx and the
# ceiling wrk's own CPU per request sets (what a server that cost nothing would reach).
#
#   PAIRS=5 bench/s1.sh
#   SIDES="nginx proxynode" DUR=5 PAIRS=3 bench/s1.sh
#   BASE_BIN=/tmp/before/proxynode SIDES="nginx base proxynode" bench/s1.sh   # two builds
#
# Knobs: PAIRS (3), DUR (10 s), WARM (2 s), CONNS (100), THREADS (2), WORKERS (2),
#        SIDES ("nginx proxynode cpu_local"; "base" is proxynode built from BASE_BIN, for a
#        before/after comparison in the same rounds), NGINX_PORT (18095 up), NODE_BIN,
#        BASE_BIN, OUT.
# Bounded: about PAIRS * sides * (DUR + 1) seconds plus warm-up. Loopback only; wrk and the
# server share the machine's cores, so compare ratios within a round, not absolute figures.
set -euo pipefail
cd "$(dirname "$0")/.."
NODE_BIN=${NODE_BIN:-build/controlplane/proxynode}
DUR=${DUR:-10}
WARM=${WARM:-2}
PAIRS=${PAIRS:-3}
CONNS=${CONNS:-100}
THREADS=${THREADS:-2}
WORKERS=${WORKERS:-2}
NGINX_PORT=${NGINX_PORT:-18095}
SIDES=${SIDES:-"nginx proxynode cpu_local"}
OUT=${OUT:-${TMPDIR:-/tmp}/proxynode-bench/s1}
source bench/lib/wrk_pairs.sh

declare -A URL PID
for side in $SIDES; do
  case $side in
    proxynode | cpu_local | base)
      flags=(--workers="$WORKERS" --delay=0s)
      [[ $side == cpu_local ]] && flags+=(--cpu_local)
      bin=$NODE_BIN
      [[ $side == base ]] && bin=${BASE_BIN:?BASE_BIN names the build to compare with}
      start_node "$side" "$bin" "${flags[@]}"
      URL[$side]="http://$NODE_HTTP/"
      PID[$side]=$NODE_PID
      ;;
    nginx)
      NGINX_PORT=$(free_port "$NGINX_PORT")
      prefix=$OUT/nginx
      mkdir -p "$prefix/tmp"
      sed -e "s/127.0.0.1:8081/127.0.0.1:$NGINX_PORT/" \
        -e "s/worker_processes [0-9]*;/worker_processes $WORKERS;/" \
        ../shared/bench/nginx.conf >"$prefix/nginx.conf"
      nginx -p "$prefix" -c "$prefix/nginx.conf" >"$OUT/nginx.log" 2>&1 &
      PID[nginx]=$!
      pids+=("${PID[nginx]}")
      URL[nginx]="http://127.0.0.1:$NGINX_PORT/"
      ;;
    *) echo "bench: unknown side $side" >&2; exit 2 ;;
  esac
done
for side in $SIDES; do  # each must answer before it is measured
  for _ in $(seq 100); do curl -sf --max-time 1 -o /dev/null "${URL[$side]}" && break; sleep 0.05; done
  curl -sf --max-time 2 -o /dev/null "${URL[$side]}" ||
    { echo "bench: $side does not answer, see $OUT/$side.log" >&2; exit 1; }
  wrk -t"$THREADS" -c"$CONNS" -d"${WARM}s" "${URL[$side]}" >/dev/null 2>&1  # warm-up
done

echo "### S1 in pairs: zero delay, wrk -t$THREADS -c$CONNS -d${DUR}s, $WORKERS workers each"
echo
echo "$(date -u +%FT%TZ), proxynode $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nginx -v 2>&1 | sed 's/.*: //'), wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'), $(nproc) cores, kernel $(uname -r). CPU = the server's CPU over the run, % of one core (nginx: master and workers); req/CPU-s = requests per CPU-second of the server. Raw output: $OUT"
echo
echo "| round | server | req/s | p99 ms | errors | CPU% | wrk CPU% | req/CPU-s | req/s vs nginx | p99 vs nginx | req/CPU-s vs nginx |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
declare -A RPS_RATIOS P99_RATIOS EFF_RATIOS
WRK_US="" NGINX_RPS=""  # wrk's CPU microseconds per request, every run; nginx's req/s
for round in $(seq "$PAIRS"); do
  declare -A RPS=() P99=() ERR=() CPU=() EFF=() WRK=()
  order=$SIDES
  ((round % 2 == 0)) && order=$(reversed $SIDES)
  for side in $order; do
    read -r "RPS[$side]" "P99[$side]" "ERR[$side]" "CPU[$side]" "WRK[$side]" \
      < <(run_wrk "${URL[$side]}" "${PID[$side]}" "$OUT/$side-$round.txt")
    EFF[$side]=$(awk -v r="${RPS[$side]}" -v c="${CPU[$side]}" 'BEGIN { printf "%.0f", (c > 0 ? r * 100 / c : 0) }')
    WRK_US+="$(awk -v r="${RPS[$side]}" -v c="${WRK[$side]}" 'BEGIN { printf "%.2f", (r > 0 ? c * 1e4 / r : 0) }') "
    [[ $side == nginx ]] && NGINX_RPS+="${RPS[$side]} "
    sleep 1
  done
  for side in $SIDES; do
    r=- p=- e=-
    if [[ $side != nginx && -n ${RPS[nginx]:-} ]]; then
      r=$(ratio "${RPS[$side]}" "${RPS[nginx]}")
      p=$(ratio "${P99[$side]}" "${P99[nginx]}")
      e=$(ratio "${EFF[$side]}" "${EFF[nginx]}")
      RPS_RATIOS[$side]+="$r "
      P99_RATIOS[$side]+="$p "
      EFF_RATIOS[$side]+="$e "
    fi
    echo "| $round | $side | ${RPS[$side]} | ${P99[$side]} | ${ERR[$side]} | ${CPU[$side]} | ${WRK[$side]} | ${EFF[$side]} | $r | $p | $e |"
  done
done
echo
for side in $SIDES; do
  [[ -n ${RPS_RATIOS[$side]:-} ]] || continue
  # shellcheck disable=SC2086 # the ratios are space-separated words
  echo "- median $side/nginx over $PAIRS rounds: requests/s **$(median ${RPS_RATIOS[$side]})**, p99 $(median ${P99_RATIOS[$side]}) (lower is better), requests per CPU-second $(median ${EFF_RATIOS[$side]})"
done
if [[ -n ${RPS_RATIOS[base]:-} && -n ${RPS_RATIOS[proxynode]:-} ]]; then
  read -ra base_ratios <<<"${RPS_RATIOS[base]}"
  read -ra node_ratios <<<"${RPS_RATIOS[proxynode]}"
  read -ra base_eff <<<"${EFF_RATIOS[base]}"
  read -ra node_eff <<<"${EFF_RATIOS[proxynode]}"
  rps_pairs="" eff_pairs=""
  for i in "${!node_ratios[@]}"; do
    rps_pairs+="$(ratio "${node_ratios[$i]}" "${base_ratios[$i]}") "
    eff_pairs+="$(ratio "${node_eff[$i]}" "${base_eff[$i]}") "
  done
  # shellcheck disable=SC2086 # space-separated words
  echo "- median proxynode/base over $PAIRS rounds (each round's ratios to nginx divided): requests/s **$(median $rps_pairs)**, requests per CPU-second **$(median $eff_pairs)**"
fi
# The load generator's own cost bounds every server: wrk's CPU per request (its syscalls and
# the kernel's TCP work in its context) leaves, on these cores, at most this many requests/s
# even to a server that cost nothing.
if [[ -n $WRK_US ]]; then
  # shellcheck disable=SC2086 # space-separated words
  wrk_us=$(median $WRK_US)
  cores=$(( $(nproc) < THREADS ? $(nproc) : THREADS ))
  ceiling=$(awk -v us="$wrk_us" -v n="$cores" 'BEGIN { printf "%.0f", (us > 0 ? n * 1e6 / us : 0) }')
  line="- ceiling: wrk used a median **$wrk_us us** of CPU per request; with a server that cost nothing, $cores cores carry at most **$ceiling** requests/s"
  if [[ -n $NGINX_RPS ]]; then
    # shellcheck disable=SC2086
    line+=", $(ratio "$ceiling" "$(median $NGINX_RPS)")x nginx's median"
  fi
  echo "$line"
fi
