#!/usr/bin/python3
"""TLS to upstreams (issue 20): gRPC over h2 and HTTPS, verified, refused plainly.

Upstreams no one here wrote: a greeter on Debian's python3-grpcio with TLS (and one asking
for a client certificate), and Python's own HTTPS server. Certificates come from the openssl
command line at test time: a CA, a valid server certificate, one that expired, one signed by
another CA. The node runs as a child process, steered by flags and proxyctl as a user would.
Each case checks what the client saw (replies, statuses, the reason named) and the counters.

Usage: upstream_tls_check.py --proxynode BIN --proxyctl BIN [unittest args]
"""

import http.server
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import unittest
from concurrent import futures

import grpc
from google.protobuf import wrappers_pb2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import node_child  # noqa: E402
from node_child import Node, free_port  # noqa: E402

ARGS = None
StringValue = wrappers_pb2.StringValue
SERVICE = "helloworld.Greeter"


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


class Certificates:
    """A CA and the certificates the cases need, in a temporary directory."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="upstream_tls_")
        for ca in ("ca", "other_ca"):
            openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout",
                    f"{ca}.key", "-out", f"{ca}.crt", "-subj", f"/CN={ca}", cwd=self.dir)
        with open(os.path.join(self.dir, "ext.cnf"), "w") as ext:
            ext.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        self.issue("server", "ca")
        self.issue("stranger", "other_ca")
        self.issue("client", "ca")
        self.issue_expired("expired", "ca")

    def path(self, name):
        return os.path.join(self.dir, name)

    def issue(self, name, ca):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out",
                f"{name}.csr", "-subj", "/CN=localhost", cwd=self.dir)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
                "-CAcreateserial", "-days", "2", "-extfile", "ext.cnf", "-out", f"{name}.crt",
                cwd=self.dir)

    def issue_expired(self, name, ca):
        # `openssl ca` sets the validity dates outright: a day in 2020.
        os.makedirs(os.path.join(self.dir, "ca_db"), exist_ok=True)
        open(os.path.join(self.dir, "ca_db", "index.txt"), "w").close()
        with open(os.path.join(self.dir, "ca_db", "serial"), "w") as serial:
            serial.write("1000\n")
        with open(os.path.join(self.dir, "ca.cnf"), "w") as cnf:
            cnf.write("[ca]\ndefault_ca=local\n[local]\ndir=ca_db\ndatabase=ca_db/index.txt\n"
                      "serial=ca_db/serial\nnew_certs_dir=ca_db\ndefault_md=sha256\n"
                      "policy=any\ncopy_extensions=copy\n[any]\ncommonName=supplied\n"
                      "[ext]\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n")
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out",
                f"{name}.csr", "-subj", "/CN=localhost", cwd=self.dir)
        openssl("ca", "-batch", "-config", "ca.cnf", "-extensions", "ext", "-cert", f"{ca}.crt",
                "-keyfile", f"{ca}.key", "-startdate", "20200101000000Z", "-enddate",
                "20200102000000Z", "-in", f"{name}.csr", "-out", f"{name}.crt", cwd=self.dir)

    def read(self, name):
        with open(self.path(name), "rb") as f:
            return f.read()

    def remove(self):
        shutil.rmtree(self.dir, True)


class TlsGreeter:
    """A gRPC greeter with TLS under `cert`; with `client_ca`, it asks for a client cert."""

    def __init__(self, certs, cert, client_ca=None):
        self.port = free_port()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        handler = grpc.unary_unary_rpc_method_handler(
            lambda request, context: StringValue(value="Hello, " + request.value),
            request_deserializer=StringValue.FromString,
            response_serializer=StringValue.SerializeToString)
        self.server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(SERVICE, {"SayHello": handler}),))
        credentials = grpc.ssl_server_credentials(
            [(certs.read(f"{cert}.key"), certs.read(f"{cert}.crt"))],
            root_certificates=certs.read(f"{client_ca}.crt") if client_ca else None,
            require_client_auth=client_ca is not None)
        self.server.add_secure_port(f"127.0.0.1:{self.port}", credentials)
        self.server.start()

    def stop(self):
        self.server.stop(grace=None)


class HttpsServer:
    """Python's HTTPS server: one answer per connection (HTTP/1.0), so each is a handshake."""

    def __init__(self, certs, cert):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = b"over https\n"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certs.path(f"{cert}.crt"), certs.path(f"{cert}.key"))
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def say_hello(port, name="tls", timeout=10):
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        return channel.unary_unary(f"/{SERVICE}/SayHello",
                                   request_serializer=StringValue.SerializeToString,
                                   response_deserializer=StringValue.FromString)(
            StringValue(value=name), timeout=timeout)


def upstream_stats(node, address):
    for upstream in node.stats().get("upstreams", []):
        if upstream.get("address") == address:
            return upstream
    return {}


def curl(port, path="/"):
    result = subprocess.run(["curl", "-sS", "--max-time", "10", "-o", "-", "-w", "\n%{http_code}",
                             f"http://127.0.0.1:{port}{path}"],
                            capture_output=True, text=True, timeout=30)
    body, _, status = result.stdout.rpartition("\n")
    return status, body


class UpstreamTlsCheck(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.certs = Certificates()

    @classmethod
    def tearDownClass(cls):
        cls.certs.remove()

    def h2_node(self, greeter, ca="ca"):
        return Node(ARGS.proxynode, ARGS.proxyctl, f"--upstream=127.0.0.1:{greeter.port}",
                    "--upstream_protocol=h2", f"--upstream_ca={self.certs.path(ca + '.crt')}")

    def test_grpc_calls_pass_over_h2_to_a_verified_upstream(self):
        greeter = TlsGreeter(self.certs, "server")
        node = self.h2_node(greeter)
        try:
            self.assertEqual(say_hello(node.http_port).value, "Hello, tls")
            upstream = upstream_stats(node, f"127.0.0.1:{greeter.port}")
            self.assertGreaterEqual(int(upstream["tls_handshakes"]), 1)
            self.assertEqual(int(upstream["errors"]["tls"]), 0)
        finally:
            node.stop()
            greeter.stop()

    def assert_refused(self, greeter_cert, reason, ca="ca", server_name=None):
        greeter = TlsGreeter(self.certs, greeter_cert)
        node = self.h2_node(greeter, ca)
        try:
            if server_name:
                node.ctl_ok("config", "set",
                            f"routes=/ proxy 127.0.0.1:{greeter.port} upstream_protocol=h2 "
                            f"tls_ca={self.certs.path(ca + '.crt')} "
                            f"tls_server_name={server_name}")
            with self.assertRaises(grpc.RpcError) as caught:
                say_hello(node.http_port)
            self.assertEqual(caught.exception.code(), grpc.StatusCode.UNAVAILABLE)
            self.assertIn("TLS with the upstream failed: " + reason, caught.exception.details())
            upstream = upstream_stats(node, f"127.0.0.1:{greeter.port}")
            self.assertGreaterEqual(int(upstream["errors"]["tls"]), 1)
            self.assertEqual(int(upstream.get("tls_handshakes", 0)), 0)
        finally:
            node.stop()
            greeter.stop()

    def test_an_expired_certificate_is_refused_naming_why(self):
        self.assert_refused("expired", "certificate has expired")

    def test_a_certificate_from_an_untrusted_ca_is_refused(self):
        self.assert_refused("stranger", "unable to get local issuer certificate")

    def test_a_certificate_for_another_name_is_refused(self):
        self.assert_refused("server", "hostname mismatch", server_name="other.example")

    def test_an_upstream_that_asks_for_a_client_certificate_gets_one(self):
        greeter = TlsGreeter(self.certs, "server", client_ca="ca")
        node = self.h2_node(greeter)
        try:
            with self.assertRaises(grpc.RpcError) as caught:
                say_hello(node.http_port)  # no client certificate yet
            self.assertEqual(caught.exception.code(), grpc.StatusCode.UNAVAILABLE)
            node.ctl_ok("config", "set",
                        f"routes=/ proxy 127.0.0.1:{greeter.port} upstream_protocol=h2 "
                        f"tls_ca={self.certs.path('ca.crt')} "
                        f"tls_cert={self.certs.path('client.crt')} "
                        f"tls_key={self.certs.path('client.key')}")
            self.assertEqual(say_hello(node.http_port, "mtls").value, "Hello, mtls")
        finally:
            node.stop()
            greeter.stop()

    def test_https_upstreams_are_verified_and_their_sessions_resumed(self):
        server = HttpsServer(self.certs, "server")
        node = Node(ARGS.proxynode, ARGS.proxyctl, f"--upstream=127.0.0.1:{server.port}",
                    "--upstream_protocol=https", f"--upstream_ca={self.certs.path('ca.crt')}",
                    workers=1)
        try:
            for _ in range(4):  # a connection each: the server closes after its answer
                self.assertEqual(curl(node.http_port), ("200", "over https\n"))
            upstream = upstream_stats(node, f"127.0.0.1:{server.port}")
            self.assertGreaterEqual(int(upstream["tls_handshakes"]), 4)
            self.assertGreaterEqual(int(upstream["tls_resumed"]), 1)
        finally:
            node.stop()
            server.stop()

    def test_an_expired_https_upstream_gets_a_502_that_says_why(self):
        server = HttpsServer(self.certs, "expired")
        node = Node(ARGS.proxynode, ARGS.proxyctl, f"--upstream=127.0.0.1:{server.port}",
                    "--upstream_protocol=https", f"--upstream_ca={self.certs.path('ca.crt')}")
        try:
            status, body = curl(node.http_port)
            self.assertEqual(status, "502")
            self.assertEqual(body, "Bad Gateway: TLS with the upstream failed: "
                                   "certificate has expired\n")
            self.assertEqual(curl(node.http_port)[0], "502")  # and the node goes on
        finally:
            node.stop()
            server.stop()

    def test_unusable_tls_files_are_refused_naming_the_field(self):
        node = Node(ARGS.proxynode, ARGS.proxyctl)
        try:
            result = node.ctl("config", "set",
                              "routes=/ proxy 127.0.0.1:1 upstream_protocol=h2 "
                              f"tls_ca={self.certs.dir}/missing.crt")
            self.assertNotEqual(result.returncode, 0)
            self.assertIn(f"routes[0].upstream_tls.ca_file {self.certs.dir}/missing.crt",
                          result.stderr)
            result = node.ctl("config", "set",
                              "routes=/ proxy 127.0.0.1:1 upstream_protocol=h2c tls=on")
            self.assertNotEqual(result.returncode, 0)
            self.assertIn("routes[0].upstream_tls: H2C is HTTP/2 in clear", result.stderr)
            result = node.ctl("config", "set",
                              "routes=/ proxy 127.0.0.1:1 "
                              f"tls_cert={self.certs.path('client.crt')}")
            self.assertNotEqual(result.returncode, 0)
            self.assertIn("cert_file and key_file go together", result.stderr)
            self.assertEqual(curl(node.http_port)[0], "200")  # refused whole: nothing changed
        finally:
            node.stop()


def main():
    global ARGS
    ARGS, rest = node_child.binaries_from_command_line()
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)


if __name__ == "__main__":
    main()
