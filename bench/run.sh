#!/usr/bin/env bash
# Benchmarks proxynode beside its peers (the reference Node.js server, nginx, HAProxy) with
# wrk on loopback, using the shared yardstick ../shared/bench/peers.sh, then measures the
# node's own timer accuracy at 1,000 and 10,000 connections from its /metrics.
# Bounded: about 4 minutes with the defaults. Prints markdown; bench/record.sh writes it
# into docs/benchmarks.md.
#
#   bench/run.sh                      # S1 S2 S3 S4 against proxynode, node, nginx, haproxy
#   SCENARIOS="S1" PEERS="nginx" bench/run.sh
#
# Knobs (passed to peers.sh): SCENARIOS PEERS DUR WARM REPEAT; PEERS_SH=path/to/peers.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PEERS_SH=${PEERS_SH:-$ROOT/../shared/bench/peers.sh}
[[ -x $PEERS_SH ]] || { echo "bench: $PEERS_SH not found (set PEERS_SH)" >&2; exit 1; }
scripts/install-deps.sh --bench
scripts/build.sh >/dev/null
ulimit -n "$(ulimit -Hn)"
NODE_BIN=$ROOT/build/controlplane/proxynode
WORKERS=${WORKERS:-2}
PORT=${PORT:-18080}

echo "## proxynode beside its peers"
echo
echo "proxynode $(git rev-parse --short HEAD), --workers=$WORKERS; $(date -u +%FT%TZ)"
echo
TARGET_NAME=proxynode TARGET_PORT=$PORT \
  TARGET_DELAY_CMD="$NODE_BIN --http_listen=127.0.0.1:$PORT --admin_listen=127.0.0.1:0 --control_listen=127.0.0.1:0 --workers=$WORKERS --delay={delay}ms" \
  SCENARIOS=${SCENARIOS:-"S1 S2 S3 S4"} PEERS=${PEERS-"node nginx haproxy"} \
  DUR=${DUR:-10} WARM=${WARM:-2} REPEAT=${REPEAT:-2} "$PEERS_SH"

echo
bench/delay_accuracy.sh
