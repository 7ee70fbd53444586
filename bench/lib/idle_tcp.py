#!/usr/bin/python3
"""Holds N idle TCP connections to HOST:PORT (nothing sent), for memory per relayed
connection: prints READY opened=N, waits for stdin to close (or HOLD seconds), then closes.

Usage: idle_tcp.py HOST PORT N [HOLD_S]
"""
import socket
import sys
import time

host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
hold = float(sys.argv[4]) if len(sys.argv) > 4 else 30
socks = []
for i in range(n):
    try:
        socks.append(socket.create_connection((host, port), timeout=5))
    except OSError as error:
        print(f"connect {i}: {error}", file=sys.stderr)
        break
    if i % 200 == 199:
        time.sleep(0.01)  # let a small backlog drain
print(f"READY opened={len(socks)}", flush=True)
time.sleep(hold)
for s in socks:
    s.close()
