#!/usr/bin/env python3
"""Keeps N connections to a Redis-speaking port each with one PING in flight, until killed.

Used by tcp_real_servers_check.py as load in its own process, so that it shares no GIL with
the calls a test times. Prints "ready" once every connection is open.
"""
import selectors
import socket
import sys


def main():
    host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    selector = selectors.DefaultSelector()
    for _ in range(count):
        sock = socket.create_connection((host, port), timeout=10)
        sock.setblocking(False)
        sock.send(b"PING\r\n")
        selector.register(sock, selectors.EVENT_READ)
    print("ready", flush=True)
    while True:
        for key, _ in selector.select(timeout=1):
            try:
                data = key.fileobj.recv(4096)
            except BlockingIOError:
                continue
            if not data:
                sys.exit("a relayed connection closed")
            key.fileobj.send(b"PING\r\n" * data.count(b"+PONG"))


if __name__ == "__main__":
    main()
