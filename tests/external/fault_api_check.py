#!/usr/bin/python3
"""The fault engine (issue 18) checked from outside, as an integration test in a user's CI would.

Nothing here comes from the node's code or its C++ test helpers. The check starts the built
`proxynode`, configures faults only through `proxyctl` and the gRPC control API (Python stubs
generated at test time from proto/proxynode/v1/control.proto with Debian's protoc and
grpc_python_plugin), and sends requests over plain sockets and http.client.

Needs Debian's /usr/bin/python3 with python3-grpcio and python3-protobuf, protoc and
grpc_python_plugin (protobuf-compiler, protobuf-compiler-grpc). Loopback only; every node
started is stopped at the end of its test.

  /usr/bin/python3 tests/external/fault_api_check.py [--proxynode BIN] [--proxyctl BIN] [-v]

Binaries default to $PROXYNODE_BIN / $PROXYCTL_BIN, else build/controlplane/proxynode and
build/cli/proxyctl. The proto directory defaults to $PROXYNODE_PROTO_DIR, else proto/.
"""

import argparse
import http.client
import importlib
import json
import math
import os
import queue
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
PROXYNODE = os.environ.get("PROXYNODE_BIN", os.path.join(REPO, "build/controlplane/proxynode"))
PROXYCTL = os.environ.get("PROXYCTL_BIN", os.path.join(REPO, "build/cli/proxyctl"))
PROTO_DIR = os.environ.get("PROXYNODE_PROTO_DIR", os.path.join(REPO, "proto"))
PROTOC = os.environ.get("PROTOC", "/usr/bin/protoc")
GRPC_PYTHON_PLUGIN = os.environ.get("GRPC_PYTHON_PLUGIN", "/usr/bin/grpc_python_plugin")
WELL_KNOWN_PROTOS = "/usr/include"  # google/protobuf/*.proto (libprotobuf-dev)

# Filled by setUpModule: the generated modules and grpc itself.
grpc = None
pb = None
pb_grpc = None

RPC_TIMEOUT = 5.0  # seconds, every gRPC call


def setUpModule():
    global grpc, pb, pb_grpc
    gen = tempfile.mkdtemp(prefix="fault_api_check_stubs_")
    unittest.addModuleCleanup(shutil.rmtree, gen, True)
    proto = os.path.join(PROTO_DIR, "proxynode", "v1", "control.proto")
    result = subprocess.run(
        [PROTOC, f"--python_out={gen}", f"--grpc_out={gen}",
         f"--plugin=protoc-gen-grpc={GRPC_PYTHON_PLUGIN}", "-I", PROTO_DIR, "-I",
         WELL_KNOWN_PROTOS, proto],
        capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise RuntimeError(f"protoc failed ({result.returncode}): {result.stderr}")
    sys.path.insert(0, gen)
    grpc = importlib.import_module("grpc")
    pb = importlib.import_module("proxynode.v1.control_pb2")
    pb_grpc = importlib.import_module("proxynode.v1.control_pb2_grpc")
    for binary in (PROXYNODE, PROXYCTL):
        if not os.access(binary, os.X_OK):
            raise RuntimeError(f"not an executable: {binary}")


def clean_env():
    """The environment for the binaries: no HTTP proxy between them and loopback."""
    env = dict(os.environ)
    for name in ("http_proxy", "https_proxy", "all_proxy", "grpc_proxy", "no_proxy"):
        env.pop(name, None)
        env.pop(name.upper(), None)
    return env


def duration(seconds):
    d = importlib.import_module("google.protobuf.duration_pb2").Duration()
    d.FromNanoseconds(round(seconds * 1e9))
    return d


class Node:
    """A proxynode child process on port 0, with a gRPC stub to its control port."""

    def __init__(self, test, *flags):
        cmd = [PROXYNODE, "--http_listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0",
               "--control_listen=127.0.0.1:0", "--workers=2", "--delay=0s",
               "--drain_timeout=1s", *flags]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, text=True, env=clean_env())
        test.addCleanup(self.stop)
        self.log = []  # stdout lines (JSON log records)
        self.errors = []  # stderr lines
        self._lines = queue.Queue()
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self.log, True),
                             daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, self.errors, False),
                             daemon=True),
        ]
        for reader in self._readers:
            reader.start()
        listening = None
        deadline = time.monotonic() + 15
        while listening is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"proxynode printed no addresses; stderr: {self.errors}")
            try:
                line = self._lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(
                    f"proxynode exited ({self.proc.wait()}) before listening; stderr: "
                    f"{''.join(self.errors)}")
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if all(key in record for key in ("http", "admin", "control")):
                listening = record
        host, port = listening["http"].rsplit(":", 1)
        self.http = (host, int(port))
        self.control = listening["control"]
        self.channel = grpc.insecure_channel(self.control,
                                             options=[("grpc.enable_http_proxy", 0)])
        test.addCleanup(self.channel.close)
        self.stub = pb_grpc.ControlServiceStub(self.channel)

    def _read(self, stream, into, is_stdout):
        for line in stream:
            into.append(line)
            if is_stdout:
                self._lines.put(line)
        if is_stdout:
            self._lines.put(None)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("proxynode did not exit within 10 s of SIGTERM")
        for reader in self._readers:
            reader.join(timeout=5)
        self.proc.stdout.close()
        self.proc.stderr.close()
        if self.proc.returncode != 0:
            raise AssertionError(f"proxynode exited with {self.proc.returncode}; stderr: "
                                 f"{''.join(self.errors)[-2000:]}")

    # Control plane.

    def config(self):
        return self.stub.GetConfig(pb.GetConfigRequest(), timeout=RPC_TIMEOUT).config

    def update(self, paths, expected_version=0, **fields):
        request = pb.UpdateConfigRequest(config=pb.NodeConfig(**fields),
                                         expected_version=expected_version)
        request.update_mask.paths.extend(paths)
        return self.stub.UpdateConfig(request, timeout=RPC_TIMEOUT).config

    def set_faults(self, rules, **fields):
        return self.update(["faults", *fields.keys()], faults=rules, **fields)

    def fault_stats(self):
        stats = self.stub.GetStats(pb.GetStatsRequest(), timeout=RPC_TIMEOUT)
        return {rule.name: rule for rule in stats.faults}

    def proxyctl(self, *args, timeout=15):
        return subprocess.run([PROXYCTL, f"--addr={self.control}", *args], capture_output=True,
                              text=True, timeout=timeout, env=clean_env(),
                              stdin=subprocess.DEVNULL)

    # Data plane.

    def get(self, path, headers=None, timeout=5.0):
        """GET over a fresh connection: (status, headers, body, seconds)."""
        conn = http.client.HTTPConnection(*self.http, timeout=timeout)
        try:
            start = time.monotonic()
            conn.request("GET", path, headers=headers or {})
            response = conn.getresponse()
            body = response.read()
            return response.status, response.headers, body, time.monotonic() - start
        finally:
            conn.close()

    def raw(self, path, timeout):
        """Sends a GET on a raw socket and reads until EOF, reset or `timeout` of silence.

        Returns (bytes received, how it ended: "eof", "reset" or "timeout").
        """
        sock = socket.create_connection(self.http, timeout=5)
        try:
            sock.settimeout(timeout)
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: check\r\n\r\n".encode())
            data = b""
            while True:
                try:
                    chunk = sock.recv(65536)
                except ConnectionResetError:
                    return data, "reset"
                except socket.timeout:
                    return data, "timeout"
                if not chunk:
                    return data, "eof"
                data += chunk
        finally:
            sock.close()


def run_ok(test, result):
    test.assertEqual(result.returncode, 0,
                     f"proxyctl {result.args[1:]} failed: {result.stdout}{result.stderr}")
    return result.stdout


class ProxyctlFaultTest(unittest.TestCase):
    """Faults set, listed and removed with proxyctl, their effect seen over HTTP."""

    def setUp(self):
        self.node = Node(self)

    def test_abort_by_header(self):
        out = run_ok(self, self.node.proxyctl("fault", "add", "flaky", "--header", "x-user=test",
                                              "--abort", "503", "--percent", "100"))
        self.assertIn("flaky", out)
        for _ in range(5):
            status, _, _, _ = self.node.get("/", {"x-user": "test"})
            self.assertEqual(status, 503)
            status, _, body, _ = self.node.get("/")
            self.assertEqual(status, 200)
            self.assertEqual(body, b"Hello World\n")
            status, _, _, _ = self.node.get("/", {"x-user": "prod"})
            self.assertEqual(status, 200)
        stats = self.node.fault_stats()["flaky"]
        self.assertEqual((stats.matched, stats.fired, stats.aborted["status"]), (5, 5, 5))

    def test_delay_on_path(self):
        run_ok(self, self.node.proxyctl("fault", "add", "slow", "--path", "/slow", "--delay",
                                        "200ms"))
        for _ in range(3):
            status, _, _, seconds = self.node.get("/slow/x")
            self.assertEqual(status, 200)
            self.assertGreaterEqual(seconds, 0.200)
            self.assertLess(seconds, 1.0)
            status, _, _, seconds = self.node.get("/fast")
            self.assertEqual(status, 200)
            self.assertLess(seconds, 0.200)
        stats = self.node.fault_stats()["slow"]
        self.assertEqual((stats.matched, stats.fired, stats.delayed), (3, 3, 3))
        self.assertEqual(stats.injected_delay.count, 3)
        self.assertAlmostEqual(stats.injected_delay.p50.ToNanoseconds() / 1e9, 0.200,
                               delta=0.005)

    def test_list_remove_clear(self):
        run_ok(self, self.node.proxyctl("fault", "add", "one", "--path", "/one", "--abort", "502"))
        run_ok(self, self.node.proxyctl("fault", "add", "two", "--exact-path", "/two",
                                        "--delay", "uniform:10ms-20ms", "--percent", "50"))
        run_ok(self, self.node.proxyctl("fault", "add", "three", "--method", "POST",
                                        "--abort", "reset"))
        self.assertEqual(self.node.get("/one")[0], 502)

        table = run_ok(self, self.node.proxyctl("fault", "list"))
        lines = table.strip().splitlines()
        self.assertEqual([line.split()[0] for line in lines[1:]], ["one", "two", "three"], table)

        for args in (("-o", "json", "fault", "list"), ("fault", "list", "-o", "json")):
            listed = json.loads(run_ok(self, self.node.proxyctl(*args)))
            self.assertEqual([r["rule"]["name"] for r in listed["rules"]],
                             ["one", "two", "three"])
            one = listed["rules"][0]
            self.assertEqual(one["rule"]["match"]["path_prefix"], "/one")
            self.assertEqual(one["rule"]["abort"]["kind"], "STATUS")
            self.assertEqual(one["rule"]["abort"]["status"], 502)
            self.assertEqual(int(one["stats"]["matched"]), 1)
            self.assertEqual(int(one["stats"]["fired"]), 1)
            self.assertEqual(listed["rules"][1]["rule"]["percent"], 50)
            self.assertEqual(listed["config_version"], self.node.config().version)

        config = self.node.config()
        self.assertEqual([r.name for r in config.faults], ["one", "two", "three"])
        self.assertEqual(config.faults[1].match.path_exact, "/two")
        self.assertEqual(config.faults[1].delay.distribution.WhichOneof("shape"), "uniform")
        self.assertEqual(list(config.faults[2].match.methods), ["POST"])
        self.assertEqual(config.faults[2].abort.kind, pb.AbortFault.RESET)

        run_ok(self, self.node.proxyctl("fault", "remove", "one"))
        self.assertEqual([r.name for r in self.node.config().faults], ["two", "three"])
        self.assertEqual(self.node.get("/one")[0], 200)

        out = run_ok(self, self.node.proxyctl("fault", "clear"))
        self.assertIn("two", out)
        self.assertEqual(len(self.node.config().faults), 0)
        listed = json.loads(run_ok(self, self.node.proxyctl("-o", "json", "fault", "list")))
        self.assertEqual(listed.get("rules", []), [])

    def test_for_expires_by_itself(self):
        before_add = time.time()
        run_ok(self, self.node.proxyctl("fault", "add", "brief", "--path", "/brief", "--abort",
                                        "502", "--tag", "--for", "1s"))
        after_add = time.time()
        # proxyctl has exited: nothing but the node itself is left to remove the rule.
        config = self.node.config()
        self.assertEqual([r.name for r in config.faults], ["brief"])
        expires_at = config.faults[0].expires_at.ToNanoseconds() / 1e9
        self.assertGreaterEqual(expires_at, before_add + 1.0 - 0.01)
        self.assertLessEqual(expires_at, after_add + 1.0 + 0.01)
        version = config.version

        status, headers, _, _ = self.node.get("/brief")
        self.assertEqual(status, 502)
        self.assertEqual(headers.get("x-proxynode-fault"), "brief")
        listed = run_ok(self, self.node.proxyctl("fault", "list"))
        self.assertIn("brief", listed)

        # Poll from shortly before the time: the first answer without the rule bounds the
        # removal from above, and no answer received before the time may lack it.
        time.sleep(max(0.0, expires_at - 0.15 - time.time()))
        gone = None
        deadline = expires_at + 5
        while time.time() < deadline:
            sent = time.time()
            config = self.node.config()
            received = time.time()
            if not any(r.name == "brief" for r in config.faults):
                gone = (sent, received, config)
                break
            self.assertLess(sent, expires_at + 0.25,
                            "rule still in force 250 ms after its expires_at")
            time.sleep(0.001)
        self.assertIsNotNone(gone, "the node did not remove the expired rule")
        sent, received, config = gone
        lag = received - expires_at
        print(f"\nexpiry: the rule was gone {lag * 1000:.1f} ms after its expires_at "
              f"(bounded from above by the first GetConfig without it)", file=sys.stderr)
        self.assertGreaterEqual(received, expires_at - 0.002, "removed before its time")
        self.assertLessEqual(lag, 0.250)
        self.assertEqual(config.version, version + 1, "the removal is a config version")

        self.assertEqual(self.node.get("/brief")[0], 200)
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and not any(
                "brief" in line and "expire" in line for line in self.node.log):
            time.sleep(0.01)
        self.assertTrue(any("brief" in line and "expire" in line for line in self.node.log),
                        "no log line about the expired rule")
        self.assertNotIn("brief", run_ok(self, self.node.proxyctl("fault", "list")))

    def test_bad_calls_exit_non_zero(self):
        run_ok(self, self.node.proxyctl("fault", "add", "kept", "--path", "/kept", "--abort",
                                        "503"))
        version = self.node.config().version

        bad = self.node.proxyctl("fault", "add", "bad", "--abort", "99")
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("--abort", bad.stderr)

        refused = self.node.proxyctl("fault", "add", "high", "--path", "/h", "--abort", "600")
        self.assertEqual(refused.returncode, 1, refused.stderr)  # refused by the node
        self.assertIn("faults[1].abort.status", refused.stderr)

        refused = self.node.proxyctl("fault", "add", "pct", "--abort", "503", "--percent", "150")
        self.assertEqual(refused.returncode, 1, refused.stderr)
        self.assertIn("percent", refused.stderr)

        duplicate = self.node.proxyctl("fault", "add", "kept", "--abort", "500")
        self.assertNotEqual(duplicate.returncode, 0)
        self.assertIn("kept", duplicate.stderr)

        unknown = self.node.proxyctl("fault", "remove", "nosuch")
        self.assertNotEqual(unknown.returncode, 0)
        self.assertIn("nosuch", unknown.stderr)

        empty = self.node.proxyctl("fault", "add", "nothing", "--path", "/n")
        self.assertNotEqual(empty.returncode, 0)
        self.assertTrue(empty.stderr.strip())

        unreachable = subprocess.run(
            [PROXYCTL, "--addr=127.0.0.1:1", "--timeout=1s", "fault", "list"],
            capture_output=True, text=True, timeout=15, env=clean_env())
        self.assertEqual(unreachable.returncode, 3, unreachable.stderr)
        self.assertTrue(unreachable.stderr.strip())

        config = self.node.config()
        self.assertEqual(config.version, version, "a refused call changed the config")
        self.assertEqual([r.name for r in config.faults], ["kept"])


class GrpcFaultApiTest(unittest.TestCase):
    """Fault rules through the gRPC API directly."""

    def setUp(self):
        self.node = Node(self)

    def test_get_config_defaults(self):
        config = self.node.config()
        self.assertGreaterEqual(config.version, 1)
        self.assertEqual(len(config.faults), 0)
        self.assertTrue(config.HasField("max_active_faults"))
        self.assertEqual(config.max_active_faults, 0)

    def test_rules_applied_and_counted(self):
        version = self.node.config().version
        rules = [
            pb.FaultRule(
                name="lognormal", match=pb.FaultMatch(path_prefix="/ln"),
                delay=pb.DelayFault(distribution=pb.DelayDistribution(
                    lognormal=pb.DelayDistribution.LogNormal(median=duration(0.020),
                                                             p99=duration(0.060))))),
            pb.FaultRule(name="reset", match=pb.FaultMatch(path_prefix="/reset"),
                         abort=pb.AbortFault(kind=pb.AbortFault.RESET)),
            pb.FaultRule(
                name="teapot", tag_response=True,
                match=pb.FaultMatch(path_exact="/teapot", methods=["GET"]),
                abort=pb.AbortFault(
                    kind=pb.AbortFault.STATUS, status=418, body="short and stout\n",
                    headers=[pb.AbortFault.Header(name="x-brewed-by", value="fault")])),
        ]
        applied = self.node.set_faults(rules)
        self.assertEqual(applied.version, version + 1)
        self.assertEqual([r.name for r in applied.faults], ["lognormal", "reset", "teapot"])
        read = self.node.config()
        self.assertEqual(read.version, version + 1)
        self.assertEqual(list(read.faults), list(applied.faults))
        self.assertEqual(read.faults[2].abort.body, "short and stout\n")
        self.assertEqual(read.faults[0].delay.distribution.lognormal.p99.ToNanoseconds(),
                         60_000_000)

        status, headers, body, _ = self.node.get("/teapot?q=1")
        self.assertEqual(status, 418)
        self.assertEqual(body, b"short and stout\n")
        self.assertEqual(headers.get("x-brewed-by"), "fault")
        self.assertEqual(headers.get("x-proxynode-fault"), "teapot")
        # path_exact and methods: other paths and methods pass.
        self.assertEqual(self.node.get("/teapot/more")[0], 200)
        conn = http.client.HTTPConnection(*self.node.http, timeout=5)
        conn.request("HEAD", "/teapot")
        head = conn.getresponse()
        head.read()
        conn.close()
        self.assertEqual(head.status, 200)
        self.assertIsNone(head.headers.get("x-proxynode-fault"))

        with self.assertRaises(ConnectionResetError):
            self.node.get("/reset")

        seconds = []
        for _ in range(30):
            status, _, _, elapsed = self.node.get("/ln")
            self.assertEqual(status, 200)
            seconds.append(elapsed)
        median = statistics.median(seconds)
        self.assertGreater(median, 0.012, seconds)
        self.assertLess(median, 0.040, seconds)

        stats = self.node.fault_stats()
        self.assertEqual((stats["lognormal"].matched, stats["lognormal"].fired,
                          stats["lognormal"].delayed), (30, 30, 30))
        self.assertEqual(stats["lognormal"].injected_delay.count, 30)
        p50 = stats["lognormal"].injected_delay.p50.ToNanoseconds() / 1e9
        self.assertGreater(p50, 0.010)
        self.assertLess(p50, 0.035)
        self.assertEqual((stats["reset"].fired, stats["reset"].aborted["reset"]), (1, 1))
        self.assertEqual((stats["teapot"].matched, stats["teapot"].fired,
                          stats["teapot"].aborted["status"]), (1, 1, 1))

    def test_expected_version_cas(self):
        version = self.node.config().version
        rule = pb.FaultRule(name="cas", abort=pb.AbortFault(kind=pb.AbortFault.STATUS))
        with self.assertRaises(grpc.RpcError) as caught:
            self.node.update(["faults"], expected_version=version + 7, faults=[rule])
        self.assertEqual(caught.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        self.assertEqual(self.node.config().version, version)
        self.assertEqual(len(self.node.config().faults), 0)

        applied = self.node.update(["faults"], expected_version=version, faults=[rule])
        self.assertEqual(applied.version, version + 1)
        self.assertEqual(self.node.get("/")[0], 503)

        # A second writer that read `version` too is refused: the first one won.
        with self.assertRaises(grpc.RpcError) as caught:
            self.node.update(["faults"], expected_version=version, faults=[])
        self.assertEqual(caught.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        self.assertEqual([r.name for r in self.node.config().faults], ["cas"])

        cleared = self.node.update(["faults"], expected_version=version + 1, faults=[])
        self.assertEqual((cleared.version, len(cleared.faults)), (version + 2, 0))
        self.assertEqual(self.node.get("/")[0], 200)

    def test_invalid_rules_name_the_field(self):
        version = self.node.config().version
        ok = pb.FaultRule(name="ok", abort=pb.AbortFault(kind=pb.AbortFault.CLOSE))
        cases = [
            ([pb.FaultRule(name="s", abort=pb.AbortFault(kind=pb.AbortFault.STATUS, status=99))],
             "faults[0].abort.status"),
            ([ok, pb.FaultRule(name="p", percent=150,
                               abort=pb.AbortFault(kind=pb.AbortFault.CLOSE))],
             "faults[1].percent"),
            ([pb.FaultRule(name="bad name!", abort=pb.AbortFault(kind=pb.AbortFault.CLOSE))],
             "faults[0].name"),
            ([ok, pb.FaultRule(name="ok", abort=pb.AbortFault(kind=pb.AbortFault.CLOSE))],
             "faults[1].name"),
            ([pb.FaultRule(name="c", match=pb.FaultMatch(clients=["10.0.0.0/99"]),
                           abort=pb.AbortFault(kind=pb.AbortFault.CLOSE))],
             "faults[0].match.clients"),
        ]
        for rules, field in cases:
            with self.subTest(field=field):
                with self.assertRaises(grpc.RpcError) as caught:
                    self.node.set_faults(rules)
                self.assertEqual(caught.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
                self.assertIn(field, caught.exception.details())
        config = self.node.config()
        self.assertEqual(config.version, version, "a refused update changed the config")
        self.assertEqual(len(config.faults), 0)

    def test_expires_after_with_setter_gone(self):
        # Set over a channel of its own, closed at once: the node alone removes the rule.
        setter = grpc.insecure_channel(self.node.control, options=[("grpc.enable_http_proxy", 0)])
        request = pb.UpdateConfigRequest(config=pb.NodeConfig(faults=[pb.FaultRule(
            name="timed", match=pb.FaultMatch(path_prefix="/timed"),
            abort=pb.AbortFault(kind=pb.AbortFault.STATUS, status=500),
            expires_after=duration(0.4))]))
        request.update_mask.paths.append("faults")
        before = time.time()
        applied = pb_grpc.ControlServiceStub(setter).UpdateConfig(request,
                                                                  timeout=RPC_TIMEOUT).config
        after = time.time()
        setter.close()
        rule = applied.faults[0]
        self.assertFalse(rule.HasField("expires_after"), "expires_after is never returned")
        expires_at = rule.expires_at.ToNanoseconds() / 1e9
        self.assertGreaterEqual(expires_at, before + 0.4 - 0.01)
        self.assertLessEqual(expires_at, after + 0.4 + 0.01)
        self.assertEqual(self.node.get("/timed")[0], 500)
        deadline = expires_at + 5
        while time.time() < deadline:
            config = self.node.config()
            received = time.time()
            if not config.faults:
                break
            time.sleep(0.002)
        self.assertEqual(len(config.faults), 0, "the node did not remove the expired rule")
        print(f"\nexpiry (setter gone): the rule was gone {(received - expires_at) * 1000:.1f} ms "
              f"after its expires_at", file=sys.stderr)
        self.assertGreaterEqual(received, expires_at - 0.002, "removed before its time")
        self.assertLessEqual(received - expires_at, 0.250)
        self.assertEqual(config.version, applied.version + 1)
        self.assertEqual(self.node.get("/timed")[0], 200)

    def test_percentage_with_seed_within_binomial_bounds(self):
        # The first rule hits 25% of /coin; the ones it misses fall through to the second.
        rules = [
            pb.FaultRule(name="coin", percent=25, match=pb.FaultMatch(path_prefix="/coin"),
                         abort=pb.AbortFault(kind=pb.AbortFault.STATUS, status=503)),
            pb.FaultRule(name="rest", match=pb.FaultMatch(path_prefix="/coin"),
                         abort=pb.AbortFault(kind=pb.AbortFault.STATUS, status=504)),
        ]
        applied = self.node.set_faults(rules, fault_seed=20240607)
        self.assertEqual(applied.fault_seed, 20240607)
        n, p = 400, 0.25
        counts = {}
        for _ in range(n):
            status = self.node.get("/coin")[0]
            counts[status] = counts.get(status, 0) + 1
        self.assertEqual(set(counts) - {503, 504}, set(), counts)
        hits = counts.get(503, 0)
        sd = math.sqrt(n * p * (1 - p))
        print(f"\npercentage: {hits}/{n} hit at 25% (expected {n * p:.0f} +- {sd:.1f})",
              file=sys.stderr)
        self.assertLessEqual(abs(hits - n * p), 4 * sd, counts)
        stats = self.node.fault_stats()
        self.assertEqual((stats["coin"].matched, stats["coin"].fired), (n, hits))
        self.assertEqual(stats["coin"].aborted["status"], hits)
        self.assertEqual(stats["rest"].fired, n - hits)

    def test_header_triggers(self):
        rules = [
            pb.FaultRule(name="triggered", match=pb.FaultMatch(path_prefix="/trig"),
                         header_triggers=pb.HeaderTriggers(enabled=True,
                                                           max_delay=duration(0.3))),
            pb.FaultRule(name="not-triggered", match=pb.FaultMatch(path_prefix="/off"),
                         delay=pb.DelayFault(distribution=pb.DelayDistribution(
                             fixed=duration(0)))),
        ]
        self.node.set_faults(rules)
        self.assertEqual(self.node.get("/trig")[0], 200)
        self.assertEqual(self.node.get("/trig", {"x-proxynode-fault-abort": "504"})[0], 504)
        status, _, _, seconds = self.node.get("/trig", {"x-proxynode-fault-delay": "150ms"})
        self.assertEqual(status, 200)
        self.assertGreaterEqual(seconds, 0.150)
        # Beyond the rule's max_delay: ignored and counted.
        status, _, _, seconds = self.node.get("/trig", {"x-proxynode-fault-delay": "5s"})
        self.assertEqual(status, 200)
        self.assertLess(seconds, 1.0)
        # Without triggers enabled, or without a rule, the headers do nothing.
        self.assertEqual(self.node.get("/off", {"x-proxynode-fault-abort": "504"})[0], 200)
        self.assertEqual(self.node.get("/none", {"x-proxynode-fault-abort": "504"})[0], 200)
        stats = self.node.fault_stats()
        self.assertEqual(stats["triggered"].aborted["status"], 1)
        self.assertEqual(stats["triggered"].delayed, 1)
        self.assertEqual(stats["triggered"].trigger_ignored, 1)
        self.assertEqual(stats["not-triggered"].aborted["status"], 0)

    def test_max_active_faults_overflow(self):
        rule = pb.FaultRule(name="hold", match=pb.FaultMatch(path_prefix="/hold"),
                            delay=pb.DelayFault(distribution=pb.DelayDistribution(
                                fixed=duration(0.6))))
        self.node.set_faults([rule], max_active_faults=1)
        results = {}

        def fetch(key):
            results[key] = self.node.get("/hold")

        first = threading.Thread(target=fetch, args=("first",))
        first.start()
        time.sleep(0.15)  # the first one holds the only slot
        others = [threading.Thread(target=fetch, args=(k,)) for k in ("second", "third")]
        for thread in others:
            thread.start()
        for thread in [first, *others]:
            thread.join(timeout=10)
        self.assertEqual(len(results), 3)
        self.assertTrue(all(r[0] == 200 for r in results.values()), results)
        self.assertGreaterEqual(results["first"][3], 0.6)
        self.assertLess(results["second"][3], 0.4)
        self.assertLess(results["third"][3], 0.4)
        stats = self.node.fault_stats()["hold"]
        self.assertEqual((stats.delayed, stats.overflowed), (1, 2))

    def test_bandwidth(self):
        size, rate = 64 * 1024, 128 * 1024
        rule = pb.FaultRule(name="narrow", match=pb.FaultMatch(path_prefix="/bw"),
                            bandwidth=pb.BandwidthFault(bytes_per_second=rate))
        self.node.update(["faults", "body"], faults=[rule], body="x" * size)
        status, _, body, seconds = self.node.get("/bw")
        self.assertEqual((status, len(body)), (200, size))
        # At most a 1/50 s burst ahead of the rate; a loaded machine may be slower.
        self.assertGreaterEqual(seconds, size / rate - 0.05)
        self.assertLess(seconds, size / rate + 1.0)
        status, _, body, seconds = self.node.get("/wide")
        self.assertEqual((status, len(body)), (200, size))
        self.assertLess(seconds, 0.25)
        self.assertEqual(self.node.fault_stats()["narrow"].throttled, 1)


class AbortKindsTest(unittest.TestCase):
    """What an HTTP client sees for each connection-level abort."""

    def setUp(self):
        self.node = Node(self)
        kinds = pb.AbortFault
        self.node.set_faults([
            pb.FaultRule(name="reset", match=pb.FaultMatch(path_exact="/reset"),
                         abort=kinds(kind=kinds.RESET)),
            pb.FaultRule(name="reset-after", match=pb.FaultMatch(path_exact="/reset-after"),
                         abort=kinds(kind=kinds.RESET, after_bytes=20)),
            pb.FaultRule(name="close", match=pb.FaultMatch(path_exact="/close"),
                         abort=kinds(kind=kinds.CLOSE)),
            pb.FaultRule(name="cut", match=pb.FaultMatch(path_exact="/cut"),
                         abort=kinds(kind=kinds.CUT, after_bytes=5)),
            pb.FaultRule(name="silent", match=pb.FaultMatch(path_exact="/silent"),
                         abort=kinds(kind=kinds.SILENT)),
        ])

    def aborted(self, rule):
        """The rule's abort counters by kind, zeros left out."""
        return {kind: n for kind, n in self.node.fault_stats()[rule].aborted.items() if n}

    def test_reset(self):
        data, end = self.node.raw("/reset", timeout=2)
        self.assertEqual((data, end), (b"", "reset"))
        with self.assertRaises(ConnectionResetError):
            self.node.get("/reset")
        self.assertEqual(self.aborted("reset"), {"reset": 2})

    def test_reset_after_bytes(self):
        data, end = self.node.raw("/reset-after", timeout=2)
        self.assertEqual(end, "reset")
        self.assertEqual(len(data), 20, data)
        self.assertTrue(data.startswith(b"HTTP/1.1 200"), data)
        self.assertEqual(self.aborted("reset-after"), {"reset": 1})

    def test_close(self):
        data, end = self.node.raw("/close", timeout=2)
        self.assertEqual((data, end), (b"", "eof"))
        with self.assertRaises(http.client.RemoteDisconnected):
            self.node.get("/close")
        self.assertEqual(self.aborted("close"), {"close": 2})

    def test_cut(self):
        data, end = self.node.raw("/cut", timeout=2)
        self.assertEqual(end, "eof")
        head, _, body = data.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), data)
        length = [int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:")]
        self.assertEqual(length, [len(b"Hello World\n")], head)
        self.assertEqual(body, b"Hello")
        with self.assertRaises(http.client.IncompleteRead) as caught:
            self.node.get("/cut")
        self.assertEqual(caught.exception.partial, b"Hello")
        self.assertEqual(self.aborted("cut"), {"cut": 2})

    def test_silent(self):
        start = time.monotonic()
        data, end = self.node.raw("/silent", timeout=0.5)
        self.assertEqual((data, end), (b"", "timeout"))
        self.assertGreaterEqual(time.monotonic() - start, 0.5)
        with self.assertRaises(socket.timeout):
            self.node.get("/silent", timeout=0.5)
        self.assertEqual(self.aborted("silent"), {"silent": 2})
        # The node serves other requests meanwhile.
        self.assertEqual(self.node.get("/")[0], 200)


def main():
    global PROXYNODE, PROXYCTL, PROTO_DIR
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--proxynode")
    parser.add_argument("--proxyctl")
    parser.add_argument("--proto_dir")
    args, rest = parser.parse_known_args()
    PROXYNODE = args.proxynode or PROXYNODE
    PROXYCTL = args.proxyctl or PROXYCTL
    PROTO_DIR = args.proto_dir or PROTO_DIR
    unittest.main(argv=[sys.argv[0], *rest])


if __name__ == "__main__":
    main()
