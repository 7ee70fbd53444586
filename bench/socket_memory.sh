#!/usr/bin/env bash
# The kernel's memory per idle connection (docs/capacity.md): /proc/slabinfo before and after
# N idle loopback connections to a node (client and server sockets both on this machine),
# per slab cache that grew by at least N/2 objects. Root (slabinfo is root-only).
#
#   bench/socket_memory.sh [N]     # default 10000
#
# Knobs: NODE_BIN, OUT. Bounded: a few seconds. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n "$(ulimit -Hn)"
bin=${NODE_BIN:-build/controlplane/proxynode}
count=${1:-10000}
OUT=${OUT:-${TMPDIR:-/tmp}/proxynode-bench/socket_memory}
mkdir -p "$OUT"
"$bin" --http_listen=127.0.0.1:0 --admin_listen=127.0.0.1:0 --control_listen=127.0.0.1:0 \
  --workers=2 --delay=0s >"$OUT/node.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q '"proxynode listening"' "$OUT/node.log" && break; sleep 0.05; done
port=$(grep -o '"http":"[^"]*"' "$OUT/node.log" | cut -d'"' -f4 | cut -d: -f2)
python3 - "$port" "$count" <<'PY'
import resource, socket, sys, time

port, count = int(sys.argv[1]), int(sys.argv[2])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

def slabs():  # name -> (active objects, object size)
    with open('/proc/slabinfo') as f:
        lines = f.readlines()[2:]
    return {l.split()[0]: (int(l.split()[1]), int(l.split()[3])) for l in lines}

def slab_kib():
    with open('/proc/meminfo') as f:
        return next(int(l.split()[1]) for l in f if l.startswith('Slab:'))

time.sleep(0.5)
before, slab_before = slabs(), slab_kib()
held = [socket.create_connection(('127.0.0.1', port)) for _ in range(count)]
time.sleep(2)
after, slab_after = slabs(), slab_kib()
print(f"{count} idle connections: Slab +{(slab_after - slab_before) * 1024 / count:.0f} bytes "
      f"per connection (client and server socket together)")
print("| slab cache | objects added | object size | bytes per connection |")
print("|---|---|---|---|")
rows = []
for name, (objects, size) in after.items():
    added = objects - before.get(name, (0, size))[0]
    if added >= count // 2:
        rows.append((added * size / count, name, added, size))
for per_connection, name, added, size in sorted(rows, reverse=True):
    print(f"| {name} | {added} | {size} | {per_connection:.0f} |")
PY
