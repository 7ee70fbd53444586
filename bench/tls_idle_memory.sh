#!/usr/bin/env bash
# Memory per idle TLS connection, the node beside nginx (`listen ... ssl`): N keep-alive
# TLS 1.3 connections, each at rest after one HTTP/1.1 request (bench/lib/idle_tls.py), and
# the servers' resident memory (all their processes) before and after. User-space memory
# only: the kernel's socket memory is the same for both (bench/socket_memory.sh measures it).
#
#   bench/tls_idle_memory.sh [N]     # default 2000
#
# Knobs: NODE_BIN, NGINX_PORT (18395 up), OUT. Bounded: about a minute. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
NODE_BIN=${NODE_BIN:-build/controlplane/proxynode}
count=${1:-2000}
NGINX_PORT=${NGINX_PORT:-18395}
OUT=${OUT:-${TMPDIR:-/tmp}/proxynode-bench/tls_idle}
source bench/lib/wrk_pairs.sh
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -keyout "$OUT/tls.key" -out "$OUT/tls.crt" \
  -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null

start_node tls "$NODE_BIN" --workers=2 --delay=0s --https_listen=127.0.0.1:0 \
  --tls_cert="$OUT/tls.crt" --tls_key="$OUT/tls.key"
node_pid=$NODE_PID
node_address=$(grep -o '"https":"[^"]*"' "$OUT/tls.log" | head -1 | cut -d'"' -f4)

NGINX_PORT=$(free_port "$NGINX_PORT")
prefix=$OUT/nginx
mkdir -p "$prefix/tmp"
sed -e "s|listen 127.0.0.1:8081;|listen 127.0.0.1:$NGINX_PORT ssl; ssl_certificate $OUT/tls.crt; ssl_certificate_key $OUT/tls.key;|" \
  -e "s/worker_processes [0-9]*;/worker_processes 2;/" \
  ../shared/bench/nginx.conf >"$prefix/nginx.conf"
nginx -p "$prefix" -c "$prefix/nginx.conf" >"$OUT/nginx.log" 2>&1 &
nginx_pid=$!
pids+=("$nginx_pid")
for _ in $(seq 50); do curl -sfk -o /dev/null "https://127.0.0.1:$NGINX_PORT/" && break; sleep 0.1; done

rss_kib() {  # resident KiB of a process and its children
  local sum=0 pid
  for pid in "$1" $(pgrep -P "$1" || true); do
    sum=$((sum + $(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)))
  done
  echo "$sum"
}

measure() {  # measure NAME PID HOST:PORT -> "bytes per connection"
  local before after fifo ready
  before=$(rss_kib "$2")
  fifo=$OUT/$1.fifo
  rm -f "$fifo"
  mkfifo "$fifo"
  python3 bench/lib/idle_tls.py "${3%:*}" "${3##*:}" "$count" 60 >"$fifo" &
  local client=$!
  read -r ready <"$fifo"
  sleep 1
  after=$(rss_kib "$2")
  kill "$client" 2>/dev/null || true
  wait "$client" 2>/dev/null || true
  echo "$1: $ready, RSS $before KiB -> $after KiB:" \
    "$(((after - before) * 1024 / count)) bytes per idle TLS connection"
}
measure proxynode "$node_pid" "$node_address"
measure nginx "$nginx_pid" "127.0.0.1:$NGINX_PORT"
