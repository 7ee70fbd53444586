#!/usr/bin/env bash
# TCP relaying (issue 19), side by side in one run: proxynode (splice path: no toxic;
# buffered path: a latency toxic of 0 ms on both directions), Toxiproxy 2.8.0, HAProxy in
# TCP mode and nginx's stream module, each with 2 threads or workers, each in front of the
# same servers, alternating per round so the machine's drift falls on all of them:
#   bulk   MB/s of one stream (iperf3 -c through the proxy, 5 s);
#   ping   redis-benchmark PING_INLINE req/s, 50 connections (-P 1 and -P 16);
#   conns  connections per second: redis-benchmark -k 0 (a new connection per request);
#   idle   bytes of the proxy's RSS per idle relayed connection (5,000 held).
# Prints a table per round and the median ratio of each peer to proxynode (splice).
#
#   bench/tcp_relay.sh                 # 3 rounds
#   ROUNDS=1 TOXIPROXY_BIN=/tmp/toxiproxy-server bench/tcp_relay.sh
#   PEERS="proxynode-splice proxynode-buffered" bench/tcp_relay.sh   # some of them
# Toxiproxy is not part of the project: build it beforehand (../shared/bench/toxiproxy.md)
# and name the binary in TOXIPROXY_BIN; without it, that column is left out.
set -euo pipefail
cd "$(dirname "$0")/.."
NODE_BIN=${NODE_BIN:-build/controlplane/proxynode}
TOXIPROXY_BIN=${TOXIPROXY_BIN:-${TMPDIR:-/tmp}/toxiproxy-server}
ROUNDS=${ROUNDS:-3}
IDLE=${IDLE:-5000}
OUT=${OUT:-${TMPDIR:-/tmp}/proxynode-bench/tcp_relay}
mkdir -p "$OUT"
ulimit -n "$(ulimit -Hn)"
for tool in redis-server redis-benchmark iperf3 haproxy nginx; do
  command -v "$tool" >/dev/null || { echo "bench: $tool needed (scripts/install-deps.sh --bench)" >&2; exit 1; }
done

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; echo "bench: nothing on $1" >&2; exit 1; }
rss_kb() { local sum=0 pid; for pid in "$@"; do sum=$((sum + $(awk '/^VmRSS/ {print $2}' "/proc/$pid/status"))); done; echo "$sum"; }

REDIS_PORT=$(free_port) IPERF_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --protected-mode no >"$OUT/redis.log" 2>&1 &
pids+=($!)
iperf3 -s -p "$IPERF_PORT" >"$OUT/iperf3-server.log" 2>&1 &
pids+=($!)
wait_port "$REDIS_PORT"; wait_port "$IPERF_PORT"

# start_peer NAME: starts the proxy NAME with a listener in front of redis (PORT_REDIS) and
# one in front of iperf3 (PORT_IPERF); sets PEER_PIDS (the processes whose RSS counts).
start_peer() {
  local name=$1
  PORT_REDIS=$(free_port) PORT_IPERF=$(free_port)
  case $name in
    proxynode-splice | proxynode-buffered)
      local toxics=""
      [[ $name == proxynode-buffered ]] && toxics='toxics { name: "up" stream: UPSTREAM latency {} } toxics { name: "down" latency {} }'
      cat >"$OUT/$name.conf" <<CONF
tcp_proxies { name: "redis" listen: "127.0.0.1:$PORT_REDIS" upstream: "127.0.0.1:$REDIS_PORT" $toxics }
tcp_proxies { name: "iperf" listen: "127.0.0.1:$PORT_IPERF" upstream: "127.0.0.1:$IPERF_PORT" $toxics }
CONF
      "$NODE_BIN" --http_listen=127.0.0.1:0 --admin_listen=127.0.0.1:0 --control_listen=127.0.0.1:0 \
        --workers=2 --config="$OUT/$name.conf" >"$OUT/$name.log" 2>&1 &
      PEER_PIDS=$! ;;
    toxiproxy)
      local api; api=$(free_port)
      "$TOXIPROXY_BIN" -host 127.0.0.1 -port "$api" >"$OUT/toxiproxy.log" 2>&1 &
      PEER_PIDS=$!
      wait_port "$api"
      curl -sf -XPOST "http://127.0.0.1:$api/proxies" -d "{\"name\":\"redis\",\"listen\":\"127.0.0.1:$PORT_REDIS\",\"upstream\":\"127.0.0.1:$REDIS_PORT\"}" >/dev/null
      curl -sf -XPOST "http://127.0.0.1:$api/proxies" -d "{\"name\":\"iperf\",\"listen\":\"127.0.0.1:$PORT_IPERF\",\"upstream\":\"127.0.0.1:$IPERF_PORT\"}" >/dev/null ;;
    haproxy)
      cat >"$OUT/haproxy.cfg" <<CONF
global
  maxconn 9500
  nbthread 2
defaults
  mode tcp
  timeout connect 5s
  timeout client 1h
  timeout server 1h
listen redis
  bind 127.0.0.1:$PORT_REDIS
  server s 127.0.0.1:$REDIS_PORT
listen iperf
  bind 127.0.0.1:$PORT_IPERF
  server s 127.0.0.1:$IPERF_PORT
CONF
      haproxy -f "$OUT/haproxy.cfg" -db >"$OUT/haproxy.log" 2>&1 &
      PEER_PIDS=$! ;;
    nginx)
      mkdir -p "$OUT/nginx"
      cat >"$OUT/nginx/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
worker_processes 2;
worker_rlimit_nofile 20000;
daemon off;
pid $OUT/nginx/nginx.pid;
error_log $OUT/nginx/error.log;
events { worker_connections 19000; }
stream {
  server { listen 127.0.0.1:$PORT_REDIS; proxy_pass 127.0.0.1:$REDIS_PORT; }
  server { listen 127.0.0.1:$PORT_IPERF; proxy_pass 127.0.0.1:$IPERF_PORT; }
}
CONF
      nginx -c "$OUT/nginx/nginx.conf" -p "$OUT/nginx" >"$OUT/nginx.log" 2>&1 &
      PEER_PIDS=$!
      wait_port "$PORT_REDIS"
      PEER_PIDS="$PEER_PIDS $(pgrep -P "$PEER_PIDS" | tr '\n' ' ')" ;;
  esac
  pids+=($PEER_PIDS)
  wait_port "$PORT_REDIS"; wait_port "$PORT_IPERF"
}

stop_peer() {
  local pid
  for pid in $PEER_PIDS; do kill "$pid" 2>/dev/null || true; done
  for pid in $PEER_PIDS; do wait "$pid" 2>/dev/null || true; done
}

# One figure each: MB/s, PING req/s (-P 1, -P 16), connections/s, bytes per idle connection.
measure() {
  local bulk ping ping16 conns idle_bytes before after
  bulk=$(iperf3 -c 127.0.0.1 -p "$PORT_IPERF" -t 5 -J 2>/dev/null |
    /usr/bin/python3 -c 'import json,sys; print("%.0f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 8e6))')
  ping=$(redis-benchmark -p "$PORT_REDIS" -t ping -n 200000 -c 50 -q 2>/dev/null | tr '\r' '\n' | awk '/^PING_INLINE: [0-9.]+ requests per second/ {print $2}')
  ping16=$(redis-benchmark -p "$PORT_REDIS" -t ping -n 1000000 -c 50 -P 16 -q 2>/dev/null | tr '\r' '\n' | awk '/^PING_INLINE: [0-9.]+ requests per second/ {print $2}')
  conns=$(redis-benchmark -p "$PORT_REDIS" -t ping -n 20000 -c 20 -k 0 -q 2>/dev/null | tr '\r' '\n' | awk '/^PING_INLINE: [0-9.]+ requests per second/ {print $2}')
  before=$(rss_kb $PEER_PIDS)
  coproc HOLDER { /usr/bin/python3 bench/lib/idle_tcp.py 127.0.0.1 "$PORT_REDIS" "$IDLE" 60; }
  read -r _ <&"${HOLDER[0]}"
  sleep 1
  after=$(rss_kb $PEER_PIDS)
  kill "$HOLDER_PID" 2>/dev/null || true; wait "$HOLDER_PID" 2>/dev/null || true
  idle_bytes=$(( (after - before) * 1024 / IDLE ))
  echo "$bulk $ping $ping16 $conns $idle_bytes"
}

peers=${PEERS:-"proxynode-splice proxynode-buffered haproxy nginx"}
[[ -z ${PEERS:-} && -x $TOXIPROXY_BIN ]] && peers+=" toxiproxy"
declare -A results=()
echo "### TCP relay: one bulk stream, redis PING, connections/s, idle memory; $ROUNDS rounds"
echo
echo "| round | proxy | bulk MB/s | PING req/s | PING -P16 req/s | conns/s | bytes/idle conn |"
echo "|---|---|---|---|---|---|---|"
direct=$(redis-benchmark -p "$REDIS_PORT" -t ping -n 200000 -c 50 -q 2>/dev/null | tr '\r' '\n' | awk '/^PING_INLINE: [0-9.]+ requests per second/ {print $2}')
echo "| - | direct to redis | - | $direct | - | - | - |"
for round in $(seq "$ROUNDS"); do
  for peer in $peers; do
    start_peer "$peer"
    read -r bulk ping ping16 conns idle_bytes < <(measure)
    stop_peer
    results[$peer]+="$bulk,$ping,$ping16,$conns,$idle_bytes "
    echo "| $round | $peer | $bulk | $ping | $ping16 | $conns | $idle_bytes |"
  done
done

echo
echo "Median of each figure over the rounds, and its ratio to proxynode-splice (bytes/idle: lower is better)."
echo
echo "| proxy | bulk MB/s | PING req/s | PING -P16 | conns/s | bytes/idle conn |"
echo "|---|---|---|---|---|---|"
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
declare -A med=()
for peer in $peers; do
  for i in 1 2 3 4 5; do
    med[$peer,$i]=$(echo "${results[$peer]}" | tr ' ' '\n' | grep -v '^$' | cut -d, -f"$i" | tr '\n' ' ' | median)
  done
done
for peer in $peers; do
  row="| $peer"
  for i in 1 2 3 4 5; do
    ratio=$(awk -v a="${med[$peer,$i]}" -v b="${med[proxynode-splice,$i]}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
    row+=" | ${med[$peer,$i]} (${ratio}x)"
  done
  echo "$row |"
done
