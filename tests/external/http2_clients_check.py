#!/usr/bin/python3
"""HTTP/2 clients that no one here wrote, against the node (issue 20).

curl (--http2-prior-knowledge, and --http2's "Upgrade: h2c"), nghttp and h2load from
Debian's nghttp2-client, and hyper-h2 (python3-h2) for the frames a normal client never
sends: rapid resets (CVE-2023-44487), a SETTINGS flood, an oversized header list. The node
runs as a child process on free ports, steered by proxyctl as a user would; each case checks
what the client saw (statuses, frames, timings) and that the node goes on serving.

Usage: http2_clients_check.py --proxynode BIN --proxyctl BIN [unittest args]
"""

import os
import re
import socket
import subprocess
import sys
import time
import unittest

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.settings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import node_child  # noqa: E402
from node_child import Node as NodeChild  # noqa: E402

ARGS = None
# Timing slack on top of an injected delay (the sanitizer builds run this too).
SLACK = float(os.environ.get("HTTP2_CHECK_SLACK", "0.5"))
DELAY = 0.2  # the node's delay in these cases


class Node(NodeChild):
    """A proxynode child process with the check's delay."""

    def __init__(self, *extra):
        super().__init__(ARGS.proxynode, ARGS.proxyctl, *extra, delay=f"{int(DELAY * 1000)}ms")

    def url(self, path="/"):
        return f"http://127.0.0.1:{self.http_port}{path}"


def curl(*args):
    """curl's exit code, body, and its write-out line (status, version, total time)."""
    result = subprocess.run(
        ["curl", "-sS", "--max-time", "10", "-o", "-", "-w",
         "\n%{http_code} %{http_version} %{time_total}", *args],
        capture_output=True, text=True, timeout=30)
    body, _, summary = result.stdout.rpartition("\n")
    fields = summary.split()
    status, version, seconds = (fields + ["", "", "0"])[:3]
    return result.returncode, body, status, version, float(seconds), result.stderr


class H2Client:
    """A raw HTTP/2 connection with hyper-h2: the frames are ours to choose."""

    def __init__(self, port, **settings):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        config = h2.config.H2Configuration(client_side=True, header_encoding="utf-8",
                                           validate_outbound_headers=False)
        self.conn = h2.connection.H2Connection(config=config)
        self.conn.initiate_connection()
        if settings:
            self.conn.update_settings(settings)
        self.flush()

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def request(self, path, extra=(), end_stream=True):
        stream_id = self.conn.get_next_available_stream_id()
        headers = [(":method", "GET"), (":path", path), (":scheme", "http"),
                   (":authority", "localhost"), *extra]
        self.conn.send_headers(stream_id, headers, end_stream=end_stream)
        self.flush()
        return stream_id

    def events(self, until, timeout=10):
        """Reads events until `until(events so far)` holds or the connection ends."""
        seen = []
        deadline = time.monotonic() + timeout
        while not until(seen) and time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                seen.append("reset")
                break
            if not data:
                seen.append("eof")
                break
            try:
                seen.extend(self.conn.receive_data(data))
            except h2.exceptions.ProtocolError as error:
                seen.append(error)
                break
            try:
                self.flush()
            except (BrokenPipeError, ConnectionResetError):
                seen.append("reset")
                break
        return seen

    def close(self):
        self.sock.close()


def ended(stream_id):
    return lambda seen: any(isinstance(e, (h2.events.StreamEnded, h2.events.StreamReset)) and
                            e.stream_id == stream_id for e in seen)


def status_of(seen, stream_id):
    for event in seen:
        if isinstance(event, h2.events.ResponseReceived) and event.stream_id == stream_id:
            return dict(event.headers)[":status"]
    return None


class Http2ClientsCheck(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = Node()

    @classmethod
    def tearDownClass(cls):
        cls.node.stop()

    def assertServing(self):
        code, body, status, version, _, err = curl("--http2-prior-knowledge", self.node.url("/"))
        self.assertEqual((code, status, version, body), (0, "200", "2", "Hello World\n"), err)

    def test_curl_with_prior_knowledge_gets_the_delayed_hello(self):
        code, body, status, version, seconds, err = curl("--http2-prior-knowledge",
                                                         self.node.url("/prior"))
        self.assertEqual((code, status, version, body), (0, "200", "2", "Hello World\n"), err)
        self.assertGreaterEqual(seconds, DELAY)
        self.assertLess(seconds, DELAY + SLACK)

    def test_curl_upgrades_to_h2c_and_gets_its_first_request_answered_over_http2(self):
        result = subprocess.run(["curl", "-sS", "-v", "--http2", self.node.url("/upgrade")],
                                capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("101 Switching Protocols", result.stderr)
        self.assertIn("< HTTP/2 200", result.stderr)
        self.assertEqual(result.stdout, "Hello World\n")

    def test_h2load_streams_all_succeed_with_the_delay(self):
        result = subprocess.run(["h2load", "-n", "2000", "-c", "10", "-m", "10",
                                 self.node.url("/load")],
                                capture_output=True, text=True, timeout=120)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertRegex(result.stdout, r"requests: 2000 total, 2000 started, 2000 done, "
                                        r"2000 succeeded, 0 failed, 0 errored, 0 timeout")
        self.assertIn("status codes: 2000 2xx", result.stdout)
        mean = re.search(r"time for request:\s+\S+\s+\S+\s+(\d+\.?\d*)(us|ms|s)", result.stdout)
        self.assertIsNotNone(mean, result.stdout)
        scale = {"us": 1e-6, "ms": 1e-3, "s": 1.0}[mean.group(2)]
        self.assertGreaterEqual(float(mean.group(1)) * scale, DELAY)

    def test_nghttp_sees_the_node_settings_and_a_head_request_without_body(self):
        result = subprocess.run(["nghttp", "-v", "-H", ":method: HEAD", self.node.url("/head")],
                                capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("SETTINGS_MAX_CONCURRENT_STREAMS(0x03):128", result.stdout)
        self.assertIn(":status: 200", result.stdout)
        self.assertIn("content-length: 12", result.stdout)
        self.assertNotIn("Hello World", result.stdout)

    def test_fault_abort_status_and_reset_reach_the_http2_client_as_such(self):
        node = self.node
        self.assertEqual(node.ctl("fault", "add", "h2-abort", "--path", "/abort",
                                  "--abort", "503", "--tag").returncode, 0)
        self.assertEqual(node.ctl("fault", "add", "h2-reset", "--path", "/reset",
                                  "--abort", "reset").returncode, 0)
        try:
            result = subprocess.run(["curl", "-sS", "-i", "--http2-prior-knowledge",
                                     node.url("/abort")], capture_output=True, text=True,
                                    timeout=30)
            self.assertIn("HTTP/2 503", result.stdout)
            self.assertIn("x-proxynode-fault: h2-abort", result.stdout)
            code, _, _, _, _, err = curl("--http2-prior-knowledge", node.url("/reset"))
            self.assertEqual(code, 92, err)  # curl: HTTP/2 stream not closed cleanly
            self.assertIn("INTERNAL_ERROR", err)
            self.assertServing()
        finally:
            node.ctl("fault", "clear", "--yes")

    def test_an_injected_unavailable_reaches_a_grpc_client_as_that_status(self):
        import grpc  # Debian's python3-grpcio: a gRPC client no one here wrote
        node = self.node
        added = node.ctl("fault", "add", "grpc-down", "--path", "/helloworld.Greeter/",
                         "--delay", "150ms", "--abort", "503", "--abort-grpc-status",
                         "UNAVAILABLE",
                         "--abort-grpc-message", "injected: dependency down 100%")
        self.assertEqual(added.returncode, 0, added.stderr)
        try:
            listed = node.ctl("fault", "list")
            self.assertIn("grpc-status 14", listed.stdout)
            with grpc.insecure_channel(f"127.0.0.1:{node.http_port}") as channel:
                say_hello = channel.unary_unary("/helloworld.Greeter/SayHello",
                                                request_serializer=lambda raw: raw,
                                                response_deserializer=lambda raw: raw)
                started = time.monotonic()
                with self.assertRaises(grpc.RpcError) as caught:
                    say_hello(b"\x0a\x05world", timeout=10)
                elapsed = time.monotonic() - started
            self.assertEqual(caught.exception.code(), grpc.StatusCode.UNAVAILABLE)
            self.assertEqual(caught.exception.details(), "injected: dependency down 100%")
            self.assertGreaterEqual(elapsed, 0.150)  # the rule's delay came first
            # Not a gRPC request: the same rule answers its HTTP status.
            code, _, status, _, _, err = curl("--http2-prior-knowledge",
                                              node.url("/helloworld.Greeter/SayHello"))
            self.assertEqual((code, status), (0, "503"), err)
        finally:
            node.ctl("fault", "clear", "--yes")

    def test_an_oversized_header_list_gets_431_and_the_connection_goes_on(self):
        client = H2Client(self.node.http_port)
        try:
            big = client.request("/big", extra=[("x-big", "a" * 16384)])
            seen = client.events(ended(big))
            self.assertEqual(status_of(seen, big), "431", seen)
            small = client.request("/small")
            seen = client.events(ended(small))
            self.assertEqual(status_of(seen, small), "200", seen)
        finally:
            client.close()

    def test_a_body_over_the_limit_gets_413(self):
        node = self.node
        self.assertEqual(node.ctl("config", "set", "max_body_bytes=1024").returncode, 0)
        client = H2Client(node.http_port)
        try:
            # Still uploading when the limit is passed: 413 at once, then the rest is refused.
            stream_id = client.request("/upload", extra=[("content-length", "8192")],
                                       end_stream=False)
            client.conn.send_data(stream_id, b"x" * 4096, end_stream=False)
            client.flush()
            seen = client.events(ended(stream_id))
            self.assertEqual(status_of(seen, stream_id), "413", seen)
            seen += client.events(lambda events: any(
                isinstance(e, h2.events.StreamReset) and e.stream_id == stream_id
                for e in events), timeout=5)
            resets = [e for e in seen if isinstance(e, h2.events.StreamReset)]
            self.assertTrue(resets, seen)
            self.assertEqual(resets[0].error_code, h2.errors.ErrorCodes.NO_ERROR)
            stream_id = client.request("/upload", extra=[("content-length", "4096")],
                                       end_stream=False)
            client.conn.send_data(stream_id, b"x" * 4096, end_stream=True)
            client.flush()
            seen = client.events(ended(stream_id))
            self.assertEqual(status_of(seen, stream_id), "413", seen)
        finally:
            client.close()
            node.ctl("config", "set", "max_body_bytes=1048576")

    def test_rapid_resets_end_the_connection_and_the_node_goes_on(self):
        before = self.node.stats()["total"]["rejected"].get("http2_flood", 0)
        client = H2Client(self.node.http_port)
        try:
            for _ in range(1000):
                stream_id = client.request("/rapid")
                client.conn.reset_stream(stream_id, h2.errors.ErrorCodes.CANCEL)
                client.flush()
            seen = client.events(lambda seen: any(
                isinstance(e, h2.events.ConnectionTerminated) for e in seen))
            goaway = [e for e in seen if isinstance(e, h2.events.ConnectionTerminated)]
            self.assertTrue(goaway, seen)
            self.assertEqual(goaway[0].error_code, h2.errors.ErrorCodes.ENHANCE_YOUR_CALM)
        finally:
            client.close()
        after = self.node.stats()["total"]["rejected"].get("http2_flood", 0)
        self.assertGreater(int(after), int(before))
        self.assertServing()

    def test_a_settings_flood_from_a_client_that_never_reads_ends_its_connection(self):
        client = H2Client(self.node.http_port)
        try:
            client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            frame = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"  # an empty SETTINGS frame
            sent = 0
            try:
                client.sock.settimeout(10)
                for _ in range(200):
                    client.sock.sendall(frame * 500)
                    sent += 500
            except (BrokenPipeError, ConnectionResetError, socket.timeout):
                pass
            self.assertGreater(sent, 0)
            # The node stopped acknowledging: its GOAWAY (or a reset) ends the connection.
            seen = client.events(lambda seen: any(
                isinstance(e, h2.events.ConnectionTerminated) for e in seen) or "eof" in seen
                or "reset" in seen, timeout=10)
            self.assertTrue(any(isinstance(e, h2.events.ConnectionTerminated) for e in seen) or
                            "eof" in seen or "reset" in seen, seen[-3:])
        finally:
            client.close()
        self.assertServing()


class Http2DrainCheck(unittest.TestCase):
    def test_drain_sends_goaway_with_the_last_stream_and_finishes_it(self):
        # nghttp prints every frame; hyper-h2 would stop at the GOAWAY, although RFC 9113
        # 6.8 lets the streams it covers finish.
        node = Node("--drain_timeout=10s", "--delay=1s")
        try:
            client = subprocess.Popen(["nghttp", "-v", "-n", node.url("/draining")],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(0.4)  # the request reached the node and waits on its delay
            self.assertEqual(node.ctl("drain", "--yes").returncode, 0)
            out, err = client.communicate(timeout=30)
            self.assertEqual(client.returncode, 0, err)
            sent = re.search(r"send HEADERS frame <[^>]*stream_id=(\d+)>", out)
            goaway = re.search(r"recv GOAWAY frame <[^>]*>\s*\(last_stream_id=(\d+), "
                               r"error_code=(\w+)", out)
            self.assertIsNotNone(sent, out)
            self.assertIsNotNone(goaway, out)
            self.assertEqual(goaway.group(1), sent.group(1))
            self.assertEqual(goaway.group(2), "NO_ERROR")
            self.assertIn(":status: 200", out)
            node.process.wait(timeout=20)
        finally:
            node.stop()  # raises unless the node exited with 0


def main():
    global ARGS
    ARGS, rest = node_child.binaries_from_command_line()
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)


if __name__ == "__main__":
    main()
