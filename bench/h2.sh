#!/usr/bin/env bash
# HTTP/2 in clear (h2c, prior knowledge) beside nginx, with h2load (Debian's nghttp2-client),
# alternating which runs first, ROUNDS rounds; both servers with 2 workers.
#   zero:  zero delay, 100 connections x 10 streams (h2load -c100 -m10), requests/s
#   delay: 100 ms delay, 10,000 streams waiting at once (100 connections x 100 streams),
#          requests/s against the limit of 100,000 per second, and the mean request time
# Prints each round's figures and the median of the per-round ratios to nginx.
#
#   bench/h2.sh
#   ROUNDS=5 DUR=10 bench/h2.sh
#
# Knobs: ROUNDS (3), DUR (8 s), WARM (2 s), WORKERS (2), NODE_BIN, NGINX_PORT (18195 up),
#        OUT. Bounded: about ROUNDS * 4 * (DUR + WARM) seconds. Loopback only; h2load and
#        the servers share the machine's cores, so compare ratios within a round.
set -euo pipefail
cd "$(dirname "$0")/.."
NODE_BIN=${NODE_BIN:-build/controlplane/proxynode}
ROUNDS=${ROUNDS:-3}
DUR=${DUR:-8}
WARM=${WARM:-2}
WORKERS=${WORKERS:-2}
NGINX_PORT=${NGINX_PORT:-18195}
OUT=${OUT:-${TMPDIR:-/tmp}/proxynode-bench/h2}
source bench/lib/wrk_pairs.sh
command -v h2load >/dev/null || {
  echo "bench/h2.sh: h2load is missing (scripts/install-deps.sh installs nghttp2-client)" >&2
  exit 1
}
mkdir -p "$OUT"

declare -A URL
start_node zero "$NODE_BIN" --workers="$WORKERS" --delay=0s
URL[node_zero]="http://$NODE_HTTP/"
start_node delay "$NODE_BIN" --workers="$WORKERS" --delay=100ms
URL[node_delay]="http://$NODE_HTTP/"

NGINX_PORT=$(free_port "$NGINX_PORT")
prefix=$OUT/nginx
mkdir -p "$prefix/tmp"
# nginx speaks h2c with prior knowledge on a listener marked http2.
sed -e "s/listen 127.0.0.1:8081;/listen 127.0.0.1:$NGINX_PORT http2;/" \
  -e "s/worker_processes [0-9]*;/worker_processes $WORKERS;/" \
  ../shared/bench/nginx.conf >"$prefix/nginx.conf"
nginx -p "$prefix" -c "$prefix/nginx.conf" >"$OUT/nginx.log" 2>&1 &
pids+=("$!")
URL[nginx_zero]="http://127.0.0.1:$NGINX_PORT/"
URL[nginx_delay]="http://127.0.0.1:$NGINX_PORT/delay"
for key in "${!URL[@]}"; do  # each must answer over h2c before it is measured
  for _ in $(seq 50); do
    curl -sf --http2-prior-knowledge -o /dev/null "${URL[$key]}" && break
    sleep 0.1
  done
done

# run KEY CONNS STREAMS: one h2load run; prints "requests/s mean_request_ms".
run() {
  local out
  out=$(h2load -c "$2" -m "$3" -t 2 -D "$DUR" --warm-up-time="$WARM" "${URL[$1]}" 2>&1)
  echo "$out" >"$OUT/$1.last"
  awk '/^finished in/ { gsub(",", "", $4); rps = $4 }
       /^time for request:/ { v = $6; unit = v; sub(/[0-9.]+/, "", unit); sub(/[a-z]+$/, "", v)
                              ms = unit == "us" ? v / 1000 : unit == "s" ? v * 1000 : v }
       /^requests:/ { failed = $10 + $12 }
       END { printf "%s %.1f %d\n", rps, ms, failed }' <<<"$out"
}

declare -a zero_ratio delay_ratio
printf '%-6s %-6s %12s %12s %8s %12s %12s %10s\n' round case node_rps nginx_rps ratio \
  node_mean_ms nginx_mean_ms failed
for round in $(seq "$ROUNDS"); do
  for case in zero delay; do
    conns=100
    streams=10
    [[ $case == delay ]] && streams=100
    if ((round % 2)); then order="node nginx"; else order="nginx node"; fi
    declare -A result
    for side in $order; do
      result[$side]=$(run "${side}_$case" "$conns" "$streams")
    done
    read -r node_rps node_ms node_failed <<<"${result[node]}"
    read -r nginx_rps nginx_ms nginx_failed <<<"${result[nginx]}"
    ratio=$(awk -v a="$node_rps" -v b="$nginx_rps" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
    if [[ $case == zero ]]; then zero_ratio+=("$ratio"); else delay_ratio+=("$ratio"); fi
    printf '%-6s %-6s %12s %12s %8s %12s %12s %10s\n' "$round" "$case" "$node_rps" \
      "$nginx_rps" "$ratio" "$node_ms" "$nginx_ms" "$((node_failed + nginx_failed))"
  done
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo "median node/nginx: zero delay $(median "${zero_ratio[@]}")x, 100 ms x 10,000 streams" \
  "$(median "${delay_ratio[@]}")x"
