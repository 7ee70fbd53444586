#!/usr/bin/python3
"""Real servers behind proxynode's TCP proxies (issue 19).

Redis (redis-server, redis-cli, redis-benchmark) and PostgreSQL (initdb, pg_ctl, psql,
pgbench), from Debian's packages as scripts/install-deps.sh installs them, run behind a TCP
proxy of a proxynode child process steered over its gRPC API (Python stubs generated at test
time from proto/). Their own clients must stay correct with each toxic, and each toxic's
effect is measured from the client's side: latency added per round trip, bandwidth within 5%,
resets and timeouts seen as such. The figures are printed (docs/tcp-proxies.md records them).

Usage: tcp_real_servers_check.py --proxynode BIN --proto_dir DIR [unittest args]
"""

import argparse
import importlib
import json
import os
import pwd
import queue
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

PROTOC = "/usr/bin/protoc"
GRPC_PYTHON_PLUGIN = "/usr/bin/grpc_python_plugin"
PG_BIN = "/usr/lib/postgresql/15/bin"
ARGS = None
grpc = pb = pb_grpc = None

# Timing slack on top of an injected delay (the sanitizer builds run this too).
SLACK = float(os.environ.get("TCP_CHECK_SLACK", "0.5"))


def setUpModule():
    global grpc, pb, pb_grpc
    gen = tempfile.mkdtemp(prefix="tcp_real_servers_stubs_")
    unittest.addModuleCleanup(shutil.rmtree, gen, True)
    proto = os.path.join(ARGS.proto_dir, "proxynode", "v1", "control.proto")
    result = subprocess.run(
        [PROTOC, f"--python_out={gen}", f"--grpc_out={gen}",
         f"--plugin=protoc-gen-grpc={GRPC_PYTHON_PLUGIN}", "-I", ARGS.proto_dir, "-I",
         "/usr/include", proto], capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise RuntimeError(f"protoc failed: {result.stderr}")
    sys.path.insert(0, gen)
    grpc = importlib.import_module("grpc")
    pb = importlib.import_module("proxynode.v1.control_pb2")
    pb_grpc = importlib.import_module("proxynode.v1.control_pb2_grpc")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port} after {seconds}s")


def millis(ms):
    d = importlib.import_module("google.protobuf.duration_pb2").Duration()
    d.FromNanoseconds(int(ms * 1_000_000))
    return d


class Node:
    """proxynode on port 0 with a stub to its control port."""

    def __init__(self, test, *flags):
        self.proc = subprocess.Popen(
            [ARGS.proxynode, "--http_listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0",
             "--control_listen=127.0.0.1:0", "--workers=2", "--delay=0s", "--drain_timeout=1s",
             *flags],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
        test.addCleanup(self.stop)
        lines = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in self.proc.stdout],
                         daemon=True).start()
        deadline = time.monotonic() + 15
        while True:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if "control" in record:
                break
        self.toxiproxy = record.get("toxiproxy")  # with --toxiproxy_listen
        self.channel = grpc.insecure_channel(record["control"],
                                             options=[("grpc.enable_http_proxy", 0)])
        self.stub = pb_grpc.ControlServiceStub(self.channel)

    def stop(self):
        self.channel.close()
        self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()

    def set_proxy(self, name, upstream_port, toxics=(), listen="127.0.0.1:0"):
        """One TCP proxy named `name` (replacing the list); returns its port."""
        config = pb.NodeConfig()
        proxy = config.tcp_proxies.add(name=name, listen=listen,
                                        upstream=f"127.0.0.1:{upstream_port}")
        for toxic in toxics:
            proxy.toxics.append(toxic)
        request = pb.UpdateConfigRequest(config=config)
        request.update_mask.paths.append("tcp_proxies")
        response = self.stub.UpdateConfig(request, timeout=10)
        return int(response.config.tcp_proxies[0].listen.rsplit(":", 1)[1])

    def proxy_stats(self, name):
        for proxy in self.stub.GetStats(pb.GetStatsRequest(), timeout=10).tcp_proxies:
            if proxy.name == name:
                return proxy
        return None


def latency(ms, stream="DOWNSTREAM"):
    toxic = pb.Toxic(name=f"latency_{stream.lower()}", stream=getattr(pb.Toxic, stream))
    toxic.latency.latency.CopyFrom(millis(ms))
    return toxic


def run(cmd, **kwargs):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kwargs)


def resp_command(*words):
    out = f"*{len(words)}\r\n"
    for word in words:
        out += f"${len(word.encode())}\r\n{word}\r\n"
    return out.encode()


def read_exactly(sock, size):
    data = b""
    while len(data) < size:
        chunk = sock.recv(min(1 << 16, size - len(data)))
        if not chunk:
            break
        data += chunk
    return data


class RedisServer(unittest.TestCase):
    """A redis-server of the test class's own on a free port."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tcp_check_redis_")
        cls.redis_port = free_port()
        cls.redis = subprocess.Popen(
            ["redis-server", "--port", str(cls.redis_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", cls.dir, "--protected-mode", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(cls.redis_port)

    @classmethod
    def tearDownClass(cls):
        cls.redis.kill()
        cls.redis.wait()
        shutil.rmtree(cls.dir, True)


class RedisBehindProxy(RedisServer):
    def setUp(self):
        self.node = Node(self)

    def cli(self, port, *args, stdin=None):
        return run(["redis-cli", "-h", "127.0.0.1", "-p", str(port), *args], input=stdin)

    def ping_rtt(self, port, count=5):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            times = []
            for _ in range(count):
                start = time.monotonic()
                sock.sendall(b"PING\r\n")
                self.assertEqual(read_exactly(sock, 7), b"+PONG\r\n")
                times.append(time.monotonic() - start)
            return times

    def test_clients_are_correct_through_a_clean_proxy(self):
        port = self.node.set_proxy("redis", self.redis_port)
        self.assertEqual(self.cli(port, "SET", "k", "v").stdout.strip(), "OK")
        self.assertEqual(self.cli(port, "GET", "k").stdout.strip(), "v")
        bench = run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-t", "ping,set,get",
                     "-n", "20000", "-c", "20", "-q"])
        self.assertEqual(bench.returncode, 0, bench.stderr)
        self.assertEqual(bench.stdout.count("requests per second"), 4, bench.stdout)
        # Small requests and replies are copied; a 4 MiB value moves by splice.
        big = "".join(f"{i:08d}" for i in range(512 * 1024))
        self.assertEqual(self.cli(port, "-x", "SET", "big", stdin=big).stdout.strip(), "OK")
        self.assertEqual(self.cli(port, "GET", "big").stdout.strip(), big)
        stats = self.node.proxy_stats("redis")
        self.assertGreater(stats.bytes_spliced, len(big))
        self.assertGreater(stats.bytes_upstream, len(big))
        self.assertGreater(stats.bytes_downstream, len(big))
        print(f"\nredis-benchmark through the proxy:\n{bench.stdout.strip()}", file=sys.stderr)

    def test_latency_is_added_to_each_round_trip(self):
        direct = min(self.ping_rtt(self.redis_port))
        port = self.node.set_proxy("redis", self.redis_port, [latency(50)])
        times = self.ping_rtt(port)
        for rtt in times:
            self.assertGreaterEqual(rtt, 0.050)
            self.assertLess(rtt, 0.050 + SLACK)
        added = sorted(times)[len(times) // 2] - direct
        print(f"\nlatency 50 ms: median round trip {added * 1000:.2f} ms above direct", file=sys.stderr)
        self.assertEqual(self.cli(port, "SET", "lk", "lv").stdout.strip(), "OK")
        self.assertEqual(self.cli(port, "GET", "lk").stdout.strip(), "lv")
        bench = run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-t", "ping",
                     "-n", "200", "-c", "10", "-q"])
        self.assertEqual(bench.returncode, 0, bench.stderr)
        p50 = float(re.search(r"p50=([0-9.]+) msec", bench.stdout).group(1))
        self.assertGreaterEqual(p50, 50.0, bench.stdout)

    def test_bandwidth_holds_within_five_percent(self):
        value = "x" * 1_000_000
        # -x: the value from stdin (too long for an argument list); no newline after it.
        self.assertEqual(self.cli(self.redis_port, "-x", "SET", "big", stdin=value).stdout.strip(),
                         "OK")
        toxic = pb.Toxic(name="narrow")
        toxic.bandwidth.rate = 400  # KB/s
        port = self.node.set_proxy("redis", self.redis_port, [toxic])
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(resp_command("GET", "big"))
            first = read_exactly(sock, 1)
            start = time.monotonic()
            rest = read_exactly(sock, len("$1000000\r\n") + 1_000_000 + 2 - 1)
            elapsed = time.monotonic() - start
        self.assertEqual((first + rest)[-1_000_002:-2], value.encode())
        rate = len(rest) / elapsed / 1000
        print(f"\nbandwidth 400 KB/s: measured {rate:.1f} KB/s", file=sys.stderr)
        self.assertAlmostEqual(rate, 400, delta=20)

    def test_slicer_keeps_replies_intact(self):
        value = "s" * 100_000
        self.cli(self.redis_port, "-x", "SET", "sliced", stdin=value)
        toxic = pb.Toxic(name="slices")
        toxic.slicer.average_size = 1000
        toxic.slicer.size_variation = 500
        toxic.slicer.delay.CopyFrom(millis(0.2))
        port = self.node.set_proxy("redis", self.redis_port, [toxic])
        self.assertEqual(self.cli(port, "GET", "sliced").stdout.strip(), value)

    def test_limit_data_cuts_the_connection_at_the_limit(self):
        toxic = pb.Toxic(name="cap")
        toxic.limit_data.bytes = 10
        port = self.node.set_proxy("redis", self.redis_port, [toxic])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"PING\r\nPING\r\n")
            got = b""
            while True:
                chunk = sock.recv(100)
                if not chunk:
                    break
                got += chunk
        self.assertEqual(got, b"+PONG\r\n+PO")

    def test_reset_peer_is_seen_as_a_reset(self):
        toxic = pb.Toxic(name="rst", stream=pb.Toxic.UPSTREAM)
        toxic.reset_peer.timeout.CopyFrom(millis(100))
        port = self.node.set_proxy("redis", self.redis_port, [toxic])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"PING\r\n")
            with self.assertRaises(ConnectionResetError):
                sock.recv(100)
        cli = self.cli(port, "PING")
        self.assertIn("reset", (cli.stdout + cli.stderr).lower())
        self.assertEqual(self.node.proxy_stats("redis").resets_injected, 2)

    def test_timeout_is_seen_as_a_silent_server_then_a_close(self):
        toxic = pb.Toxic(name="stall")
        toxic.timeout.timeout.CopyFrom(millis(300))
        port = self.node.set_proxy("redis", self.redis_port, [toxic])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            start = time.monotonic()
            sock.sendall(b"PING\r\n")
            self.assertEqual(sock.recv(100), b"")
            elapsed = time.monotonic() - start
        print(f"\ntimeout 300 ms: closed after {elapsed * 1000:.0f} ms, no reply", file=sys.stderr)
        self.assertGreaterEqual(elapsed, 0.29)
        self.assertLess(elapsed, 0.3 + SLACK)


class ToxiproxyApiUnderLoad(RedisServer):
    """The compatible API stays quick while 1,000 connections relay (Toxiproxy's API hangs
    when a toxic is removed under load: its issues 159, 412, 558)."""

    CONNECTIONS = 1000

    def setUp(self):
        self.node = Node(self, "--toxiproxy_listen=127.0.0.1:0")

    def api(self, connection, method, path, body=None):
        start = time.monotonic()
        connection.request(method, path, body=None if body is None else json.dumps(body))
        response = connection.getresponse()
        response.read()
        return response.status, time.monotonic() - start

    def test_toxic_changes_do_not_stall_the_api_while_1000_connections_relay(self):
        import http.client
        host, port = self.node.toxiproxy.rsplit(":", 1)
        api = http.client.HTTPConnection(host, int(port), timeout=10)
        status, _ = self.api(api, "POST", "/proxies", {
            "name": "redis", "listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{self.redis_port}"})
        self.assertEqual(status, 201)
        listen = self.node.stub.GetConfig(pb.GetConfigRequest(), timeout=10).config.tcp_proxies[0].listen
        proxy_port = int(listen.rsplit(":", 1)[1])
        # The load runs in its own process: every connection keeps one PING in flight. (A
        # thread here would share the GIL with the timed calls and add its switch interval,
        # 5 ms, to what they measure.)
        load = subprocess.Popen(
            [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                          "ping_load.py"),
             "127.0.0.1", str(proxy_port), str(self.CONNECTIONS)],
            stdout=subprocess.PIPE, text=True)
        self.addCleanup(load.wait)
        self.addCleanup(load.kill)
        self.assertEqual(load.stdout.readline().strip(), "ready")

        def relayed():
            return self.node.proxy_stats("redis").bytes_downstream

        deadline = time.monotonic() + 30
        while (self.node.proxy_stats("redis").active < self.CONNECTIONS or
               relayed() < 7 * 5 * self.CONNECTIONS) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.node.proxy_stats("redis").active, self.CONNECTIONS)
        self.assertGreaterEqual(relayed(), 7 * 5 * self.CONNECTIONS, "the load did not start")
        times = []
        for i in range(20):
            status, took = self.api(api, "POST", "/proxies/redis/toxics", {
                "name": "lag", "type": "latency", "attributes": {"latency": 5 + i}})
            self.assertEqual(status, 200)
            times.append(took)
            status, took = self.api(api, "DELETE", "/proxies/redis/toxics/lag")
            self.assertEqual(status, 204)
            times.append(took)
        before = relayed()
        time.sleep(0.3)
        self.assertGreater(relayed(), before, "the relays stalled")
        self.assertIsNone(load.poll(), "a relayed connection closed")
        times.sort()
        median, worst = times[len(times) // 2], times[-1]
        print(f"\nAPI under {self.CONNECTIONS} relaying connections: add/remove toxic median "
              f"{median * 1000:.2f} ms, worst {worst * 1000:.2f} ms over {len(times)} calls",
              file=sys.stderr)
        # Not a speed test: a stall (Toxiproxy's hang) is seconds, a call here milliseconds.
        self.assertLess(worst, 2.0)


class PostgresBehindProxy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tcp_check_pg_")
        cls.port = free_port()
        # PostgreSQL refuses to run as root: as root, run it as the postgres user.
        cls.prefix = []
        if os.geteuid() == 0:
            cls.prefix = ["runuser", "-u", "postgres", "--"]
            uid = pwd.getpwnam("postgres")
            os.chown(cls.dir, uid.pw_uid, uid.pw_gid)
        data = os.path.join(cls.dir, "data")
        init = run(cls.prefix + [f"{PG_BIN}/initdb", "-D", data, "-U", "postgres",
                                 "--auth=trust", "-E", "UTF8"])
        assert init.returncode == 0, init.stderr
        start = run(cls.prefix + [f"{PG_BIN}/pg_ctl", "-D", data, "-l",
                                  os.path.join(cls.dir, "log"), "-w", "-o",
                                  f"-p {cls.port} -k {cls.dir} -c listen_addresses=127.0.0.1",
                                  "start"])
        assert start.returncode == 0, start.stdout + start.stderr
        cls.data = data

    @classmethod
    def tearDownClass(cls):
        run(cls.prefix + [f"{PG_BIN}/pg_ctl", "-D", cls.data, "-m", "immediate", "stop"])
        shutil.rmtree(cls.dir, True)

    def setUp(self):
        self.node = Node(self)

    def psql(self, port, sql):
        return run(["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-At", "-c", sql])

    def pgbench(self, port, *args):
        return run(["pgbench", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", *args,
                    "postgres"])

    def test_psql_and_pgbench_are_correct_through_a_clean_proxy(self):
        port = self.node.set_proxy("pg", self.port)
        self.assertEqual(self.psql(port, "select 6 * 7").stdout.strip(), "42")
        init = self.pgbench(port, "-i", "-s", "1", "-q")
        self.assertEqual(init.returncode, 0, init.stderr)
        bench = self.pgbench(port, "-c", "4", "-j", "2", "-t", "100")
        self.assertEqual(bench.returncode, 0, bench.stderr)
        self.assertIn("number of failed transactions: 0", bench.stdout)
        tps = re.search(r"tps = ([0-9.]+)", bench.stdout).group(1)
        print(f"\npgbench through the proxy: {tps} tps", file=sys.stderr)

    def test_latency_is_added_to_every_statement(self):
        self.assertEqual(self.pgbench(self.port, "-i", "-s", "1", "-q").returncode, 0)
        port = self.node.set_proxy("pg", self.port, [latency(10, "UPSTREAM")])
        bench = self.pgbench(port, "-c", "2", "-j", "2", "-t", "20")
        self.assertEqual(bench.returncode, 0, bench.stderr)
        self.assertIn("number of failed transactions: 0", bench.stdout)
        average = float(re.search(r"latency average = ([0-9.]+) ms", bench.stdout).group(1))
        print(f"\npgbench with 10 ms upstream latency: {average} ms per transaction "
              "(7 statements)", file=sys.stderr)
        self.assertGreaterEqual(average, 70)

    def test_reset_peer_fails_the_query_as_a_lost_connection(self):
        toxic = pb.Toxic(name="rst", stream=pb.Toxic.UPSTREAM)
        toxic.reset_peer.timeout.CopyFrom(millis(0))
        port = self.node.set_proxy("pg", self.port, [toxic])
        result = self.psql(port, "select 1")
        self.assertNotEqual(result.returncode, 0)
        self.assertRegex(result.stderr, "reset by peer|closed the connection|terminated")


def main():
    global ARGS
    # 1,000 relayed connections from this process (ToxiproxyApiUnderLoad).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    parser = argparse.ArgumentParser()
    parser.add_argument("--proxynode", required=True)
    parser.add_argument("--proto_dir", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
