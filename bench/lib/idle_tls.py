#!/usr/bin/python3
"""Holds N idle TLS connections to HOST:PORT, each after one HTTP/1.1 request answered (a
keep-alive client at rest), for memory per idle TLS connection: prints READY opened=N, waits
for stdin to close (or HOLD seconds), then closes.

Usage: idle_tls.py HOST PORT N [HOLD_S]
"""
import socket
import ssl
import sys
import time

host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
hold = float(sys.argv[4]) if len(sys.argv) > 4 else 30
context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
context.set_alpn_protocols(["http/1.1"])
held = []
for i in range(n):
    try:
        raw = socket.create_connection((host, port), timeout=5)
        tls = context.wrap_socket(raw, server_hostname="localhost")
        tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        answer = b""
        while b"Hello World\n" not in answer:
            chunk = tls.recv(4096)
            if not chunk:
                raise OSError("closed before the answer")
            answer += chunk
        held.append(tls)
    except OSError as error:
        print(f"connection {i}: {error}", file=sys.stderr)
        break
print(f"READY opened={len(held)}", flush=True)
time.sleep(hold)
for tls in held:
    tls.close()
