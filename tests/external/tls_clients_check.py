#!/usr/bin/python3
"""TLS on the data plane (issue 20), with clients no one here wrote.

curl (HTTP/2 through ALPN, and HTTP/1.1), h2load over TLS, and openssl s_client (session
resumption, a certificate swapped the way Kubernetes updates a mounted Secret); raw sockets
for handshakes that stall or are not TLS at all. The certificates come from the openssl
command line at test time. The node runs as a child process on free ports.

Usage: tls_clients_check.py --proxynode BIN --proxyctl BIN [unittest args]
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import node_child  # noqa: E402
from node_child import Node, free_port  # noqa: E402

ARGS = None
SLACK = float(os.environ.get("TLS_CHECK_SLACK", "0.5"))
DELAY = 0.1


def make_certificate(directory, name, common_name):
    """A self-signed certificate for localhost and 127.0.0.1: (cert path, key path)."""
    cert = os.path.join(directory, f"{name}.crt")
    key = os.path.join(directory, f"{name}.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", key, "-out", cert, "-subj", f"/CN={common_name}", "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


class TlsNode(Node):
    """A node with --https_listen, its certificate behind a `..data`-style symlink."""

    def __init__(self, *extra):
        directory = tempfile.mkdtemp(prefix="tls_check_")
        # As a Kubernetes Secret volume: tls.crt -> ..data/tls.crt, ..data -> a versioned dir.
        first = os.path.join(directory, "..v1")
        os.mkdir(first)
        self.first_cert, _ = make_certificate(first, "tls", "first")
        os.symlink("..v1", os.path.join(directory, "..data"))
        for name in ("tls.crt", "tls.key"):
            os.symlink(os.path.join("..data", name), os.path.join(directory, name))
        self.cert = os.path.join(directory, "tls.crt")
        self.https_port = free_port()
        super().__init__(ARGS.proxynode, ARGS.proxyctl,
                         f"--https_listen=127.0.0.1:{self.https_port}", f"--tls_cert={self.cert}",
                         f"--tls_key={os.path.join(directory, 'tls.key')}", *extra,
                         delay=f"{int(DELAY * 1000)}ms", directory=directory)

    def stats(self):
        return super().stats()["total"]

    def rotate_certificate(self):
        """A new certificate, swapped in as the kubelet does: a new dir, then `..data`."""
        second = os.path.join(self.dir, "..v2")
        os.mkdir(second)
        make_certificate(second, "tls", "second")
        os.symlink("..v2", os.path.join(self.dir, "..data_tmp"))
        os.rename(os.path.join(self.dir, "..data_tmp"), os.path.join(self.dir, "..data"))

    def url(self, path="/"):
        return f"https://localhost:{self.https_port}{path}"


def s_client(port, *args, stdin=b"", timeout=20):
    """openssl s_client; with a request on stdin it reads until the node closes."""
    wait = ["-ign_eof"] if stdin else []
    return subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}",
                           "-servername", "localhost", *wait, *args],
                          input=stdin, capture_output=True, timeout=timeout)


class TlsClientsCheck(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = TlsNode("--header_timeout=1s")

    @classmethod
    def tearDownClass(cls):
        cls.node.stop()

    def curl(self, *args):
        result = subprocess.run(
            ["curl", "-sS", "--max-time", "10", "--cacert", self.node.cert, "-w",
             "\n%{http_code} %{http_version}", *args], capture_output=True, text=True,
            timeout=30)
        body, _, summary = result.stdout.rpartition("\n")
        return result.returncode, body, summary, result.stderr

    def test_curl_gets_http2_through_alpn_and_http11_when_it_asks(self):
        code, body, summary, err = self.curl(self.node.url("/alpn"))
        self.assertEqual((code, body, summary), (0, "Hello World\n", "200 2"), err)
        code, body, summary, err = self.curl("--http1.1", self.node.url("/h1"))
        self.assertEqual((code, body, summary), (0, "Hello World\n", "200 1.1"), err)
        # The clear port still serves beside it.
        result = subprocess.run(["curl", "-sS", f"http://127.0.0.1:{self.node.http_port}/"],
                                capture_output=True, text=True, timeout=30)
        self.assertEqual(result.stdout, "Hello World\n", result.stderr)

    def test_h2load_over_tls_all_succeed(self):
        result = subprocess.run(["h2load", "-n", "1000", "-c", "10", "-m", "10",
                                 f"https://127.0.0.1:{self.node.https_port}/"],
                                capture_output=True, text=True, timeout=120)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("Application protocol: h2", result.stdout)
        self.assertIn("requests: 1000 total, 1000 started, 1000 done, 1000 succeeded",
                      result.stdout)

    def test_a_session_is_resumed(self):
        before = int(self.node.stats().get("tls_resumptions", 0))
        with tempfile.NamedTemporaryFile() as session:
            first = s_client(self.node.https_port, "-tls1_2", "-sess_out", session.name,
                             stdin=b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            self.assertIn(b"Hello World", first.stdout, first.stderr[-2000:])
            second = s_client(self.node.https_port, "-tls1_2", "-sess_in", session.name,
                              stdin=b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            self.assertIn(b"Reused, TLSv1.2", second.stdout, second.stdout[-2000:])
            self.assertIn(b"Hello World", second.stdout)
        after = int(self.node.stats().get("tls_resumptions", 0))
        self.assertGreater(after, before)

    def test_a_stalled_handshake_is_closed_at_the_header_timeout(self):
        before = int(self.node.stats()["rejected"].get("tls_handshake", 0))
        with socket.create_connection(("127.0.0.1", self.node.https_port), timeout=10) as sock:
            sock.sendall(b"\x16\x03\x01")  # the start of a ClientHello, never finished
            started = time.monotonic()
            self.assertEqual(sock.recv(100), b"")  # closed by the node
            elapsed = time.monotonic() - started
        self.assertGreaterEqual(elapsed, 0.9)
        self.assertLess(elapsed, 1 + SLACK + 1)
        after = int(self.node.stats()["rejected"].get("tls_handshake", 0))
        self.assertGreater(after, before)

    def test_plain_http_on_the_tls_port_is_refused_and_the_node_goes_on(self):
        with socket.create_connection(("127.0.0.1", self.node.https_port), timeout=10) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while True:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
            self.assertNotIn(b"Hello World", data)
        code, body, summary, err = self.curl(self.node.url("/after"))
        self.assertEqual((code, summary), (0, "200 2"), err)


class TlsWorkersCheck(unittest.TestCase):
    def test_idle_tls_connections_keep_serving_while_workers_retire(self):
        import ssl
        node = TlsNode("--workers=4")
        try:
            context = ssl.create_default_context(cafile=node.cert)
            clients = []
            for _ in range(8):
                raw = socket.create_connection(("127.0.0.1", node.https_port), timeout=10)
                clients.append(context.wrap_socket(raw, server_hostname="localhost"))

            def round_trip(client):
                client.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
                data = b""
                while not data.endswith(b"Hello World\n"):
                    chunk = client.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                return data

            for client in clients:
                self.assertIn(b"200 OK", round_trip(client))
            changed = node.ctl("config", "set", "workers=1", "--yes")
            self.assertEqual(changed.returncode, 0, changed.stderr)
            time.sleep(0.5)  # the retired workers hand their idle connections over
            self.assertGreater(int(node.stats().get("connections_handed_in", 0)), 0)
            for client in clients:  # the same TLS sessions, now on the remaining worker
                self.assertIn(b"200 OK", round_trip(client))
            for client in clients:
                client.close()
        finally:
            node.stop()


class TlsLimitsCheck(unittest.TestCase):
    def test_over_max_connections_a_tls_connection_is_closed_before_its_handshake(self):
        import ssl
        node = TlsNode("--max_connections=2")
        try:
            context = ssl.create_default_context(cafile=node.cert)
            held = []
            for _ in range(2):
                raw = socket.create_connection(("127.0.0.1", node.https_port), timeout=10)
                tls = context.wrap_socket(raw, server_hostname="localhost")
                tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
                self.assertIn(b"200 OK", tls.recv(4096))
                held.append(tls)
            refused = socket.create_connection(("127.0.0.1", node.https_port), timeout=10)
            with self.assertRaises((ssl.SSLError, ConnectionError, OSError)):
                context.wrap_socket(refused, server_hostname="localhost")
            refused.close()
            stats = node.stats()
            self.assertGreaterEqual(int(stats["rejected"].get("max_connections", 0)), 1)
            held.pop().close()  # a slot given back is usable again
            deadline = time.monotonic() + 5
            served = False
            while not served and time.monotonic() < deadline:
                try:
                    raw = socket.create_connection(("127.0.0.1", node.https_port), timeout=10)
                    tls = context.wrap_socket(raw, server_hostname="localhost")
                    tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
                    served = b"200 OK" in tls.recv(4096)
                    tls.close()
                except (ssl.SSLError, OSError):
                    time.sleep(0.1)
            self.assertTrue(served)
            for tls in held:
                tls.close()
        finally:
            node.stop()


class TlsAccessLogCheck(unittest.TestCase):
    def test_the_access_log_says_the_protocol_and_tls_version(self):
        log_dir = tempfile.mkdtemp(prefix="tls_access_")
        log_path = os.path.join(log_dir, "access.log")
        node = TlsNode(f"--access_log={log_path}")
        try:
            for version, path in (("--http2", "/over-h2"), ("--http1.1", "/over-h1")):
                subprocess.run(["curl", "-sS", "--max-time", "10", "--cacert", node.cert,
                                version, "-o", "/dev/null", node.url(path)],
                               check=True, capture_output=True, timeout=30)
            subprocess.run(["curl", "-sS", "--max-time", "10", "--http2-prior-knowledge", "-o",
                            "/dev/null", f"http://127.0.0.1:{node.http_port}/in-clear"],
                           check=True, capture_output=True, timeout=30)
            deadline = time.monotonic() + 10
            text = ""
            while time.monotonic() < deadline and "/in-clear" not in text:
                time.sleep(0.1)
                with open(log_path) as log:
                    text = log.read()
            self.assertIn('"target":"/over-h2","protocol":"h2","tls":"TLSv1.3","status":200', text)
            self.assertIn('"target":"/over-h1","protocol":"http/1.1","tls":"TLSv1.3",', text)
            self.assertIn('"target":"/in-clear","protocol":"h2c","status":200', text)
        finally:
            node.stop()
            shutil.rmtree(log_dir, True)


class TlsDrainCheck(unittest.TestCase):
    def test_a_drain_with_handshakes_pending_closes_them_and_exits_cleanly(self):
        node = TlsNode("--drain_timeout=10s")
        try:
            pending = []
            for _ in range(4):  # handshakes begun and never finished, on both workers
                sock = socket.create_connection(("127.0.0.1", node.https_port), timeout=10)
                sock.sendall(b"\x16\x03\x01")
                pending.append(sock)
            time.sleep(0.2)
            self.assertEqual(node.ctl("drain", "--yes").returncode, 0)
            for sock in pending:  # closed at once: nothing was asked yet
                self.assertEqual(sock.recv(100), b"")
                sock.close()
            node.process.wait(timeout=10)
        finally:
            node.stop()  # raises unless the node exited with 0


class TlsReloadCheck(unittest.TestCase):
    def test_a_secret_update_is_served_to_new_connections_without_restart(self):
        node = TlsNode()
        try:
            first = s_client(node.https_port, stdin=b"")
            self.assertIn(b"CN = first", first.stdout, first.stderr[-2000:])
            node.rotate_certificate()
            deadline = time.monotonic() + 5
            seen = b""
            while time.monotonic() < deadline:
                seen = s_client(node.https_port, stdin=b"").stdout
                if b"CN = second" in seen:
                    break
                time.sleep(0.2)
            self.assertIn(b"CN = second", seen)
        finally:
            node.stop()

    def test_missing_or_mismatched_files_are_refused_at_start_naming_the_flag(self):
        directory = tempfile.mkdtemp(prefix="tls_refuse_")
        try:
            cert, _ = make_certificate(directory, "a", "a")
            _, other_key = make_certificate(directory, "b", "b")
            for extra, expected in (
                    ([], "--https_listen needs --tls_cert and --tls_key"),
                    ([f"--tls_cert={cert}", f"--tls_key={other_key}"], "mismatch"),
                    ([f"--tls_cert={directory}/missing.crt", f"--tls_key={other_key}"],
                     "--tls_cert")):
                result = subprocess.run(
                    [ARGS.proxynode, "--http_listen=127.0.0.1:0", "--https_listen=127.0.0.1:0",
                     "--control_listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0", *extra],
                    capture_output=True, text=True, timeout=30)
                self.assertNotEqual(result.returncode, 0, extra)
                self.assertIn(expected, result.stdout + result.stderr, extra)
        finally:
            shutil.rmtree(directory, True)


def main():
    global ARGS
    ARGS, rest = node_child.binaries_from_command_line()
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)


if __name__ == "__main__":
    main()
