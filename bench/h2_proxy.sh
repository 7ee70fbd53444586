#!/usr/bin/env bash
# HTTP/2 proxying beside nginx's: h2load (Debian's nghttp2-client) through each proxy to the
# same h2c upstream (an nginx answering at once), alternating which runs first, ROUNDS
# rounds; both proxies with 2 workers. proxynode forwards on an upstream_protocol=h2c route
# (multiplexed streams, http2_proxy_call.h); nginx with grpc_pass, its way of proxying over
# HTTP/2 (proxy_pass speaks HTTP/1.x to upstreams).
#   zero:  zero delay, 100 connections x 10 streams (h2load -c100 -m10), requests/s
# Prints each round's figures and the median of the per-round ratios to nginx.
#
#   bench/h2_proxy.sh
#   ROUNDS=5 DUR=10 bench/h2_proxy.sh
#
# Knobs: ROUNDS (3), DUR (8 s), WARM (2 s), WORKERS (2), NODE_BIN, NGINX_PORT (18295 up),
#        OUT. Bounded: about ROUNDS * 2 * (DUR + WARM) seconds. Loopback only; h2load, the
#        proxies and the upstream share the machine's cores, so compare ratios within a round.
set -euo pipefail
cd "$(dirname "$0")/.."
NODE_BIN=${NODE_BIN:-build/controlplane/proxynode}
ROUNDS=${ROUNDS:-3}
DUR=${DUR:-8}
WARM=${WARM:-2}
WORKERS=${WORKERS:-2}
NGINX_PORT=${NGINX_PORT:-18295}
OUT=${OUT:-${TMPDIR:-/tmp}/proxynode-bench/h2_proxy}
source bench/lib/wrk_pairs.sh
command -v h2load >/dev/null || {
  echo "bench/h2_proxy.sh: h2load is missing (scripts/install-deps.sh installs nghttp2-client)" >&2
  exit 1
}
mkdir -p "$OUT"

# nginx_with NAME PORT LOCATION [UPSTREAM_BLOCK]: an nginx on PORT (h2c, prior knowledge)
# whose "/" is LOCATION, with UPSTREAM_BLOCK in its http block.
nginx_with() {
  local prefix=$OUT/$1
  mkdir -p "$prefix/tmp"
  awk -v port="$2" -v location="$3" -v upstream="${4:-}" -v workers="$WORKERS" '
    /listen 127.0.0.1:8081;/ { print "        listen 127.0.0.1:" port " http2;"; next }
    /worker_processes/ { print "worker_processes " workers ";"; next }
    /return 200 "Hello World\\n";/ { print "            " location; next }
    /^    server \{/ { print "    " upstream }
    { print }' ../shared/bench/nginx.conf >"$prefix/nginx.conf"
  nginx -p "$prefix" -c "$prefix/nginx.conf" >"$OUT/$1.log" 2>&1 &
  pids+=("$!")
}

UPSTREAM_PORT=$(free_port "$NGINX_PORT")
nginx_with upstream "$UPSTREAM_PORT" 'return 200 "Hello World\n";'
PROXY_PORT=$(free_port $((UPSTREAM_PORT + 1)))
# Kept-alive upstream connections, as proxynode keeps them (without "keepalive" nginx opens
# one per request).
nginx_with nginx_proxy "$PROXY_PORT" "grpc_pass grpc://h2backend;" \
  "upstream h2backend { server 127.0.0.1:$UPSTREAM_PORT; keepalive 256; }"
start_node node "$NODE_BIN" --workers="$WORKERS" --delay=0s \
  --upstream="127.0.0.1:$UPSTREAM_PORT" --upstream_protocol=h2c

declare -A URL
URL[node]="http://$NODE_HTTP/"
URL[nginx]="http://127.0.0.1:$PROXY_PORT/"
for key in "${!URL[@]}"; do  # each must answer through its proxy before it is measured
  for _ in $(seq 50); do
    curl -sf --http2-prior-knowledge -o /dev/null "${URL[$key]}" && break
    sleep 0.1
  done
  curl -sf --http2-prior-knowledge -o /dev/null "${URL[$key]}" || {
    echo "bench/h2_proxy.sh: $key does not answer, see $OUT" >&2
    exit 1
  }
done

# run KEY: one h2load run; prints "requests/s mean_request_ms failed".
run() {
  local out
  out=$(h2load -c 100 -m 10 -t 2 -D "$DUR" --warm-up-time="$WARM" "${URL[$1]}" 2>&1)
  echo "$out" >"$OUT/$1.last"
  awk '/^finished in/ { gsub(",", "", $4); rps = $4 }
       /^time for request:/ { v = $6; unit = v; sub(/[0-9.]+/, "", unit); sub(/[a-z]+$/, "", v)
                              ms = unit == "us" ? v / 1000 : unit == "s" ? v * 1000 : v }
       /^requests:/ { failed = $10 + $12 }
       END { printf "%s %.1f %d\n", rps, ms, failed }' <<<"$out"
}

declare -a ratios
printf '%-6s %12s %12s %8s %12s %12s %10s\n' round node_rps nginx_rps ratio node_mean_ms \
  nginx_mean_ms failed
for round in $(seq "$ROUNDS"); do
  if ((round % 2)); then order="node nginx"; else order="nginx node"; fi
  declare -A result
  for side in $order; do
    result[$side]=$(run "$side")
  done
  read -r node_rps node_ms node_failed <<<"${result[node]}"
  read -r nginx_rps nginx_ms nginx_failed <<<"${result[nginx]}"
  ratio=$(awk -v a="$node_rps" -v b="$nginx_rps" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
  ratios+=("$ratio")
  printf '%-6s %12s %12s %8s %12s %12s %10s\n' "$round" "$node_rps" "$nginx_rps" "$ratio" \
    "$node_ms" "$nginx_ms" "$((node_failed + nginx_failed))"
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo "median node/nginx, HTTP/2 proxied to an h2c upstream, zero delay: $(median "${ratios[@]}")x"
