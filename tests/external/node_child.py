"""A proxynode child process for the external checks: free ports, proxyctl, a clean stop.

Only the standard library; the checks that import it stay clients apart from the node's
code (they drive it as a user would: flags, proxyctl, the data ports).
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time


def binaries_from_command_line():
    """--proxynode BIN --proxyctl BIN, and the other arguments (for unittest)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--proxynode", required=True)
    parser.add_argument("--proxyctl", required=True)
    return parser.parse_known_args()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Node:
    """proxynode on free HTTP, control and admin ports, with `extra` flags."""

    def __init__(self, proxynode, proxyctl, *extra, delay="0ms", workers=2, directory=None):
        """`directory`: made by the caller (files the flags name); removed at stop()."""
        self.proxyctl = proxyctl
        self.http_port = free_port()
        self.control_port = free_port()
        self.admin_port = free_port()
        self.dir = directory or tempfile.mkdtemp(prefix="proxynode_check_")
        self.log = open(os.path.join(self.dir, "node.log"), "w")
        self.process = subprocess.Popen(
            [proxynode, f"--http_listen=127.0.0.1:{self.http_port}",
             f"--control_listen=127.0.0.1:{self.control_port}",
             f"--admin_listen=127.0.0.1:{self.admin_port}", f"--delay={delay}",
             f"--workers={workers}", *extra], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            if self.ctl("status").returncode == 0:
                return
            time.sleep(0.1)
        self.stop(check=False)
        raise RuntimeError("the node did not come up")

    def ctl(self, *args):
        return subprocess.run([self.proxyctl, "--addr", f"127.0.0.1:{self.control_port}", *args],
                              capture_output=True, text=True, timeout=30)

    def ctl_ok(self, *args):
        result = self.ctl(*args)
        assert result.returncode == 0, f"proxyctl {' '.join(args)}: {result.stderr}"
        return result.stdout

    def stats(self):
        return json.loads(self.ctl_ok("stats", "-o", "json"))

    def metrics(self):
        with socket.create_connection(("127.0.0.1", self.admin_port), timeout=10) as s:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def stop(self, check=True):
        """Stops the node (SIGTERM: a drain); raises when it did not exit cleanly."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        with open(os.path.join(self.dir, "node.log")) as log:
            tail = log.read()[-4000:]
        shutil.rmtree(self.dir, True)
        if check and (self.process.returncode != 0 or "Sanitizer" in tail):
            raise RuntimeError(f"the node exited with {self.process.returncode}:\n{tail}")
