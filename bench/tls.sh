#!/usr/bin/env bash
# TLS beside nginx (Debian's, `listen ... ssl http2`), both with 2 workers, the same
# self-signed RSA-2048 certificate, alternating which runs first, ROUNDS rounds:
#   h2:         HTTP/2 over TLS (ALPN h2), zero delay, 100 connections x 10 streams (h2load),
#               requests/s
#   handshakes: full TLS 1.3 handshakes per second from `openssl s_time -new` (one client
#               process, a new connection each time, no resumption)
# Prints each round's figures and the median of the per-round ratios to nginx.
#
#   bench/tls.sh
#   ROUNDS=5 DUR=10 bench/tls.sh
#
# Knobs: ROUNDS (3), DUR (8 s), WARM (2 s), WORKERS (2), NODE_BIN, NGINX_PORT (18295 up),
#        OUT. Bounded: about ROUNDS * 4 * (DUR + WARM) seconds. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
NODE_BIN=${NODE_BIN:-build/controlplane/proxynode}
ROUNDS=${ROUNDS:-3}
DUR=${DUR:-8}
WARM=${WARM:-2}
WORKERS=${WORKERS:-2}
NGINX_PORT=${NGINX_PORT:-18295}
OUT=${OUT:-${TMPDIR:-/tmp}/proxynode-bench/tls}
source bench/lib/wrk_pairs.sh
command -v h2load >/dev/null || {
  echo "bench/tls.sh: h2load is missing (scripts/install-deps.sh installs nghttp2-client)" >&2
  exit 1
}
mkdir -p "$OUT"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -keyout "$OUT/tls.key" -out "$OUT/tls.crt" \
  -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null

start_node tls "$NODE_BIN" --workers="$WORKERS" --delay=0s --https_listen=127.0.0.1:0 \
  --tls_cert="$OUT/tls.crt" --tls_key="$OUT/tls.key"
NODE_HTTPS=$(grep -o '"https":"[^"]*"' "$OUT/tls.log" | head -1 | cut -d'"' -f4)

NGINX_PORT=$(free_port "$NGINX_PORT")
prefix=$OUT/nginx
mkdir -p "$prefix/tmp"
sed -e "s|listen 127.0.0.1:8081;|listen 127.0.0.1:$NGINX_PORT ssl http2; ssl_certificate $OUT/tls.crt; ssl_certificate_key $OUT/tls.key;|" \
  -e "s/worker_processes [0-9]*;/worker_processes $WORKERS;/" \
  ../shared/bench/nginx.conf >"$prefix/nginx.conf"
nginx -p "$prefix" -c "$prefix/nginx.conf" >"$OUT/nginx.log" 2>&1 &
pids+=("$!")
declare -A ADDRESS=([node]=$NODE_HTTPS [nginx]=127.0.0.1:$NGINX_PORT)
for side in node nginx; do
  for _ in $(seq 50); do
    curl -sfk -o /dev/null "https://${ADDRESS[$side]}/" && break
    sleep 0.1
  done
done

h2_rps() {  # h2_rps SIDE: requests/s of one h2load run over TLS
  h2load -c 100 -m 10 -t 2 -D "$DUR" --warm-up-time="$WARM" "https://${ADDRESS[$1]}/" \
    >"$OUT/$1.h2.last" 2>&1
  awk '/^finished in/ { gsub(",", "", $4); print $4 }' "$OUT/$1.h2.last"
}
handshakes() {  # handshakes SIDE: full handshakes per wall-clock second, openssl s_time -new
  local started ended
  started=$(date +%s.%N)
  openssl s_time -connect "${ADDRESS[$1]}" -new -time "$DUR" >"$OUT/$1.s_time.last" 2>&1 || true
  ended=$(date +%s.%N)
  awk -v seconds="$(awk -v a="$started" -v b="$ended" 'BEGIN { print b - a }')" \
    '/connections in [0-9]+ real seconds/ { n = $1 } END { printf "%.1f", n / seconds }' \
    "$OUT/$1.s_time.last"
}

declare -a h2_ratio hs_ratio
printf '%-6s %14s %14s %7s %16s %16s %7s\n' round node_h2_rps nginx_h2_rps ratio \
  node_handshakes nginx_handshakes ratio
for round in $(seq "$ROUNDS"); do
  if ((round % 2)); then order="node nginx"; else order="nginx node"; fi
  declare -A rps hs
  for side in $order; do rps[$side]=$(h2_rps "$side"); done
  for side in $order; do hs[$side]=$(handshakes "$side"); done
  r1=$(awk -v a="${rps[node]}" -v b="${rps[nginx]}" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
  r2=$(awk -v a="${hs[node]}" -v b="${hs[nginx]}" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
  h2_ratio+=("$r1")
  hs_ratio+=("$r2")
  printf '%-6s %14s %14s %7s %16.1f %16.1f %7s\n' "$round" "${rps[node]}" "${rps[nginx]}" "$r1" \
    "${hs[node]}" "${hs[nginx]}" "$r2"
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo "median node/nginx: h2 over TLS $(median "${h2_ratio[@]}")x, handshakes/s" \
  "$(median "${hs_ratio[@]}")x"
