#!/usr/bin/python3
"""A real gRPC service behind the node (issue 20): calls pass through with the delays.

A small greeter server and its clients, both written with Debian's python3-grpcio (code no
one here wrote on either side), with the node between them on a route whose upstreams speak
h2c (`upstream_protocol=h2c`), steered by proxyctl as a user would. The messages are
protobuf's own StringValue, so no code is generated. Each case checks what the client saw
(replies, statuses, metadata, timings) and what the node counted.

Usage: grpc_proxy_check.py --proxynode BIN --proxyctl BIN [unittest args]
"""

import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from concurrent import futures

import grpc
from google.protobuf import wrappers_pb2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import node_child  # noqa: E402
from node_child import Node, free_port  # noqa: E402

ARGS = None
# Timing slack on top of an injected delay (the sanitizer builds run this too).
SLACK = float(os.environ.get("GRPC_CHECK_SLACK", "0.5"))
DELAY = 0.2  # the route's delay
SERVICE = "helloworld.Greeter"
StringValue = wrappers_pb2.StringValue


class Greeter:
    """The upstream: a gRPC server on a free port, with what it saw of cancellations."""

    def __init__(self):
        self.cancelled = threading.Event()
        self.port = free_port()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=32))
        handlers = {
            "SayHello": grpc.unary_unary_rpc_method_handler(
                self.say_hello, request_deserializer=StringValue.FromString,
                response_serializer=StringValue.SerializeToString),
            "Count": grpc.unary_stream_rpc_method_handler(
                self.count, request_deserializer=StringValue.FromString,
                response_serializer=StringValue.SerializeToString),
            "Echo": grpc.stream_stream_rpc_method_handler(
                self.echo, request_deserializer=StringValue.FromString,
                response_serializer=StringValue.SerializeToString),
            "Upload": grpc.stream_unary_rpc_method_handler(
                self.upload, request_deserializer=StringValue.FromString,
                response_serializer=StringValue.SerializeToString),
            "Refuse": grpc.unary_unary_rpc_method_handler(
                self.refuse, request_deserializer=StringValue.FromString,
                response_serializer=StringValue.SerializeToString),
            "Slow": grpc.unary_unary_rpc_method_handler(
                self.slow, request_deserializer=StringValue.FromString,
                response_serializer=StringValue.SerializeToString),
        }
        self.server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(SERVICE, handlers),))
        self.server.add_insecure_port(f"127.0.0.1:{self.port}")
        self.server.start()

    def say_hello(self, request, context):
        metadata = dict(context.invocation_metadata())
        context.set_trailing_metadata((("x-served-by", "greeter"),
                                       ("x-seen-forwarded-for",
                                        metadata.get("x-forwarded-for", ""))))
        return StringValue(value="Hello, " + request.value)

    def count(self, request, context):
        for i in range(5):
            time.sleep(0.05)
            yield StringValue(value=f"{request.value} {i}")

    def echo(self, requests, context):
        for message in requests:
            yield StringValue(value="echo " + message.value)

    def upload(self, requests, context):
        return StringValue(value=str(sum(len(m.value) for m in requests)))

    def refuse(self, request, context):
        context.abort(grpc.StatusCode.PERMISSION_DENIED, "not for you: " + request.value)

    def slow(self, request, context):
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            if not context.is_active():
                self.cancelled.set()
                return StringValue()
            time.sleep(0.01)
        return StringValue(value="late")

    def stop(self):
        self.server.stop(grace=None)


def method(channel, name, kind="unary_unary"):
    return getattr(channel, kind)(f"/{SERVICE}/{name}",
                                  request_serializer=StringValue.SerializeToString,
                                  response_deserializer=StringValue.FromString)


def route_stats(node, prefix):
    for route in node.stats().get("routes", []):
        if route.get("prefix") == prefix:
            return route
    return {}


def upstream_stats(node, address):
    for upstream in node.stats().get("upstreams", []):
        if upstream.get("address") == address:
            return upstream
    return {}


class GrpcProxyCheck(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.greeter = Greeter()
        cls.node = Node(ARGS.proxynode, ARGS.proxyctl)
        cls.node.ctl_ok("config", "set",
                        f"routes=/{SERVICE}/ proxy 127.0.0.1:{cls.greeter.port} "
                        f"upstream_protocol=h2c delay={int(DELAY * 1000)}ms; / respond")
        cls.channel = grpc.insecure_channel(f"127.0.0.1:{cls.node.http_port}")

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.node.stop()
        cls.greeter.stop()

    def test_a_unary_call_passes_through_with_the_route_delay(self):
        started = time.monotonic()
        reply, call = method(self.channel, "SayHello").with_call(StringValue(value="world"),
                                                                 timeout=10)
        elapsed = time.monotonic() - started
        self.assertEqual(reply.value, "Hello, world")
        trailers = dict(call.trailing_metadata())
        self.assertEqual(trailers["x-served-by"], "greeter")  # trailers carried back
        self.assertEqual(trailers["x-seen-forwarded-for"], "127.0.0.1")
        self.assertGreaterEqual(elapsed, DELAY)
        self.assertLess(elapsed, DELAY + SLACK)

    def test_a_server_stream_survives_the_delay_message_by_message(self):
        started = time.monotonic()
        arrivals = []
        for message in method(self.channel, "Count", "unary_stream")(StringValue(value="n"),
                                                                    timeout=10):
            arrivals.append((time.monotonic() - started, message.value))
        self.assertEqual([value for _, value in arrivals], [f"n {i}" for i in range(5)])
        self.assertGreaterEqual(arrivals[0][0], DELAY)
        # Streamed as the server wrote them (50 ms apart), not held to the end.
        self.assertGreater(arrivals[-1][0] - arrivals[0][0], 0.15)

    def test_a_bidirectional_stream_is_answered_as_it_goes(self):
        outgoing = queue.Queue()

        def requests():
            while (item := outgoing.get()) is not None:
                yield StringValue(value=item)

        replies = method(self.channel, "Echo", "stream_stream")(requests(), timeout=10)
        for word in ["one", "two", "three"]:
            outgoing.put(word)
            # Each answer comes back before the next message is sent: nothing waits for the
            # end of the client's stream.
            self.assertEqual(next(replies).value, "echo " + word)
        outgoing.put(None)
        self.assertEqual(list(replies), [])

    def test_large_messages_cross_both_ways_under_flow_control(self):
        big = "x" * (3 << 20)
        reply = method(self.channel, "SayHello")(StringValue(value=big), timeout=20)
        self.assertEqual(len(reply.value), len("Hello, ") + len(big))
        total = method(self.channel, "Upload", "stream_unary")(
            (StringValue(value="y" * 100_000) for _ in range(40)), timeout=20)
        self.assertEqual(total.value, str(40 * 100_000))

    def test_the_upstreams_status_and_message_reach_the_client(self):
        with self.assertRaises(grpc.RpcError) as caught:
            method(self.channel, "Refuse")(StringValue(value="eve"), timeout=10)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.PERMISSION_DENIED)
        self.assertEqual(caught.exception.details(), "not for you: eve")

    def test_an_injected_unavailable_stops_a_proxied_call_and_spares_the_rest(self):
        self.node.ctl_ok("fault", "add", "hello-down", "--exact-path", f"/{SERVICE}/SayHello",
                         "--abort", "503", "--abort-grpc-status", "UNAVAILABLE",
                         "--abort-grpc-message", "injected outage")
        try:
            with self.assertRaises(grpc.RpcError) as caught:
                method(self.channel, "SayHello")(StringValue(value="x"), timeout=10)
            self.assertEqual(caught.exception.code(), grpc.StatusCode.UNAVAILABLE)
            self.assertEqual(caught.exception.details(), "injected outage")
            replies = list(method(self.channel, "Count", "unary_stream")(StringValue(value="c"),
                                                                        timeout=10))
            self.assertEqual(len(replies), 5)
        finally:
            self.node.ctl_ok("fault", "remove", "hello-down", "--yes")

    def test_a_delay_asked_in_metadata_delays_the_call(self):
        self.node.ctl_ok("fault", "add", "by-metadata", "--path", f"/{SERVICE}/",
                         "--header-triggers")
        try:
            started = time.monotonic()
            reply = method(self.channel, "SayHello")(
                StringValue(value="m"), timeout=10,
                metadata=(("x-proxynode-fault-delay", "600ms"),))
            elapsed = time.monotonic() - started
            self.assertEqual(reply.value, "Hello, m")
            self.assertGreaterEqual(elapsed, 0.6)  # the trigger's delay replaces the route's
            self.assertLess(elapsed, 0.6 + SLACK)
        finally:
            self.node.ctl_ok("fault", "remove", "by-metadata", "--yes")

    def test_a_delay_on_the_response_head_holds_the_upstreams_answer(self):
        self.node.ctl_ok("fault", "add", "slow-head", "--exact-path", f"/{SERVICE}/SayHello",
                         "--delay", "500ms", "--delay-on", "head")
        try:
            started = time.monotonic()
            reply = method(self.channel, "SayHello")(StringValue(value="h"), timeout=10)
            elapsed = time.monotonic() - started
            self.assertEqual(reply.value, "Hello, h")
            self.assertGreaterEqual(elapsed, 0.5)
            self.assertLess(elapsed, 0.5 + SLACK)
        finally:
            self.node.ctl_ok("fault", "remove", "slow-head", "--yes")

    def test_a_bandwidth_fault_paces_the_upstreams_answer(self):
        self.node.ctl_ok("fault", "add", "thin-pipe", "--exact-path", f"/{SERVICE}/SayHello",
                         "--bandwidth", "100KiB")
        try:
            started = time.monotonic()
            reply = method(self.channel, "SayHello")(StringValue(value="b" * 200_000), timeout=20)
            elapsed = time.monotonic() - started
            self.assertEqual(len(reply.value), len("Hello, ") + 200_000)
            # 200 kB at 100 KiB/s: about 1.95 s (the rule's pace replaces the route's delay).
            self.assertGreaterEqual(elapsed, 1.8)
            self.assertLess(elapsed, 2.0 + 3 * SLACK)
        finally:
            self.node.ctl_ok("fault", "remove", "thin-pipe", "--yes")

    def test_a_client_deadline_cancels_the_upstream_call(self):
        self.greeter.cancelled.clear()
        before = upstream_stats(self.node, f"127.0.0.1:{self.greeter.port}").get("cancelled", "0")
        with self.assertRaises(grpc.RpcError) as caught:
            method(self.channel, "Slow")(StringValue(value="s"), timeout=DELAY + 0.4)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.DEADLINE_EXCEEDED)
        # The client's RST_STREAM went on upstream: the server saw its call cancelled.
        self.assertTrue(self.greeter.cancelled.wait(5))
        after = upstream_stats(self.node, f"127.0.0.1:{self.greeter.port}").get("cancelled", "0")
        self.assertGreater(int(after), int(before))

    def test_many_concurrent_calls_share_few_upstream_connections(self):
        pool = futures.ThreadPoolExecutor(max_workers=50)
        hello = method(self.channel, "SayHello")
        calls = [pool.submit(hello, StringValue(value=str(i)), timeout=20) for i in range(300)]
        self.assertEqual(sorted(int(c.result().value[len("Hello, "):]) for c in calls),
                         list(range(300)))
        pool.shutdown()
        upstream = upstream_stats(self.node, f"127.0.0.1:{self.greeter.port}")
        # Multiplexed: a connection per worker carries them, not one per call.
        self.assertLessEqual(int(upstream["connects"]), 8)
        self.assertGreaterEqual(int(upstream["requests"]), 300)

    def test_calls_are_counted_by_grpc_status(self):
        before = route_stats(self.node, f"/{SERVICE}/").get("grpc_status", {})
        method(self.channel, "SayHello")(StringValue(value="c"), timeout=10)
        with self.assertRaises(grpc.RpcError):
            method(self.channel, "Refuse")(StringValue(value="c"), timeout=10)
        after = route_stats(self.node, f"/{SERVICE}/").get("grpc_status", {})
        self.assertEqual(int(after.get("OK", 0)) - int(before.get("OK", 0)), 1)
        self.assertEqual(int(after.get("PERMISSION_DENIED", 0)) -
                         int(before.get("PERMISSION_DENIED", 0)), 1)
        metrics = self.node.metrics()
        self.assertRegex(metrics, r'proxynode_route_grpc_calls_total\{route="/helloworld\.'
                                  r'Greeter/",grpc_status="PERMISSION_DENIED"\} [1-9]')

    def test_h2load_posts_grpc_frames_through_the_node(self):
        # A gRPC message on the wire: flag 0, length 4 bytes, then StringValue("load").
        message = StringValue(value="load").SerializeToString()
        frame = b"\x00" + len(message).to_bytes(4, "big") + message
        path = os.path.join(self.node.dir, "frame.bin")
        with open(path, "wb") as out:
            out.write(frame)
        result = subprocess.run(
            ["h2load", "-n", "2000", "-c", "4", "-m", "10", "-d", path,
             "-H", "content-type: application/grpc", "-H", "te: trailers",
             f"http://127.0.0.1:{self.node.http_port}/{SERVICE}/SayHello"],
            capture_output=True, text=True, timeout=120)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertRegex(result.stdout, r"requests: 2000 total, 2000 started, 2000 done, "
                                        r"2000 succeeded")
        self.assertIn("status codes: 2000 2xx", result.stdout)

    def test_http11_on_an_h2c_route_is_refused_plainly(self):
        result = subprocess.run(
            ["curl", "-sS", "--http1.1", "-o", "-", "-w", "\n%{http_code}",
             f"http://127.0.0.1:{self.node.http_port}/{SERVICE}/SayHello"],
            capture_output=True, text=True, timeout=30)
        body, _, status = result.stdout.rpartition("\n")
        self.assertEqual(status, "501")
        self.assertIn("HTTP/2", body)
        # And the node goes on.
        self.assertEqual(method(self.channel, "SayHello")(StringValue(value="a"),
                                                          timeout=10).value, "Hello, a")


class GrpcAccessLogCheck(unittest.TestCase):
    def test_a_proxied_call_is_logged_with_its_protocol_and_upstream(self):
        greeter = Greeter()
        log_dir = tempfile.mkdtemp(prefix="grpc_access_")
        log_path = os.path.join(log_dir, "access.log")
        node = Node(ARGS.proxynode, ARGS.proxyctl, f"--upstream=127.0.0.1:{greeter.port}",
                    "--upstream_protocol=h2c", f"--access_log={log_path}")
        try:
            with grpc.insecure_channel(f"127.0.0.1:{node.http_port}") as channel:
                method(channel, "SayHello")(StringValue(value="log"), timeout=10)
            deadline = time.monotonic() + 10
            line = ""
            while time.monotonic() < deadline and "SayHello" not in line:
                time.sleep(0.1)
                with open(log_path) as log:
                    line = log.read()
            self.assertIn(f'"target":"/{SERVICE}/SayHello","protocol":"h2c","status":200,', line)
            self.assertIn(f'"upstream":"127.0.0.1:{greeter.port}"', line)
        finally:
            node.stop()
            greeter.stop()
            shutil.rmtree(log_dir, True)


class GrpcUpstreamDownCheck(unittest.TestCase):
    def test_an_unreachable_upstream_is_unavailable_with_a_clear_message(self):
        closed = free_port()
        node = Node(ARGS.proxynode, ARGS.proxyctl, f"--upstream=127.0.0.1:{closed}",
                    "--upstream_protocol=h2c")
        try:
            with grpc.insecure_channel(f"127.0.0.1:{node.http_port}") as channel:
                with self.assertRaises(grpc.RpcError) as caught:
                    method(channel, "SayHello")(StringValue(value="x"), timeout=10)
            self.assertEqual(caught.exception.code(), grpc.StatusCode.UNAVAILABLE)
            self.assertIn("could not be reached", caught.exception.details())
            route = route_stats(node, "/")
            self.assertGreaterEqual(int(route["grpc_status"]["UNAVAILABLE"]), 1)
            upstream = upstream_stats(node, f"127.0.0.1:{closed}")
            self.assertGreaterEqual(int(upstream["errors"]["connect_failed"]), 1)
        finally:
            node.stop()

    def test_a_wrong_upstream_protocol_flag_is_refused_at_start(self):
        result = subprocess.run([ARGS.proxynode, "--upstream=127.0.0.1:1",
                                 "--upstream_protocol=h3", "--check"],
                                capture_output=True, text=True, timeout=30)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn('--upstream_protocol: "h3" is not http1, https, h2c or h2', result.stderr)


class GrpcDrainCheck(unittest.TestCase):
    def test_a_stream_in_flight_finishes_when_the_node_drains(self):
        greeter = Greeter()
        node = Node(ARGS.proxynode, ARGS.proxyctl, f"--upstream=127.0.0.1:{greeter.port}",
                    "--upstream_protocol=h2c")
        try:
            with grpc.insecure_channel(f"127.0.0.1:{node.http_port}") as channel:
                replies = method(channel, "Count", "unary_stream")(StringValue(value="d"),
                                                                   timeout=10)
                first = next(replies)  # the call is under way
                node.process.terminate()  # SIGTERM: drain
                rest = list(replies)
            self.assertEqual([first.value] + [m.value for m in rest],
                             [f"d {i}" for i in range(5)])
            self.assertEqual(node.process.wait(timeout=30), 0)
        finally:
            node.stop()
            greeter.stop()


def main():
    global ARGS
    ARGS, rest = node_child.binaries_from_command_line()
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)


if __name__ == "__main__":
    main()
