#!/usr/bin/python3
"""Toxiproxy's HTTP API checked from outside, as a Toxiproxy client's user sees it (issue 19).

Runs the same cases against anything that claims Toxiproxy 2.x's API, so that a difference
between proxynode and the real Toxiproxy shows up as a failing case, not as a guess: create,
populate, add/update/remove toxics, reset, with the status codes and JSON bodies Toxiproxy
2.8.0 documents and answers. Python 3's standard library only; one keep-alive connection.

  toxiproxy_api_check.py http://127.0.0.1:8474            # a running server (real Toxiproxy)
  toxiproxy_api_check.py --proxynode build/controlplane/proxynode
                                                          # starts the node on free ports
  --allow-known-differences   cases listed in KNOWN_DIFFERENCES report and pass (ctest)

Exit 0 when every case matches, 1 when one does not (each mismatch is printed), 2 on usage.
It creates proxies named "apicheck_*" and calls POST /reset, which strips every proxy's
toxics: point it at a test server.
"""

import argparse
import http.client
import json
import re
import subprocess
import sys
import threading
import time
import urllib.parse

# Where proxynode knowingly answers otherwise (docs/tcp-proxies.md, "What differs").
KNOWN_DIFFERENCES = {}

PREFIX = "apicheck_"


class Api:
    def __init__(self, base):
        url = urllib.parse.urlsplit(base)
        self.connection = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=10)

    def call(self, method, path, body=None):
        data = None if body is None else (body if isinstance(body, str) else json.dumps(body))
        headers = {"Content-Type": "application/json"} if data is not None else {}
        self.connection.request(method, path, body=data, headers=headers)
        response = self.connection.getresponse()
        text = response.read().decode()
        try:
            parsed = json.loads(text) if text.strip() else None
        except ValueError:
            parsed = text
        return response.status, parsed, response.getheader("Content-Type", "")


class Check:
    def __init__(self, api, allow_known):
        self.api = api
        self.allow_known = allow_known
        self.failures = []
        self.known = []
        self.passed = 0

    def case(self, name, condition, detail=""):
        if condition:
            self.passed += 1
        elif self.allow_known and name in KNOWN_DIFFERENCES:
            self.known.append(name)
            print(f"known difference: {name}: {KNOWN_DIFFERENCES[name]} ({detail})")
        else:
            self.failures.append(name)
            print(f"MISMATCH: {name}: {detail}")

    def expect(self, name, method, path, body, status, want=None, shape=None):
        """One call: its status, and its JSON equal to `want` or holding `shape`'s keys."""
        got_status, got, content_type = self.api.call(method, path, body)
        ok = got_status == status
        if ok and want is not None:
            ok = got == want
        if ok and shape is not None:
            ok = isinstance(got, dict) and all(got.get(k) == v for k, v in shape.items())
        if ok and status in (200, 201):
            ok = "application/json" in content_type
        if ok and status == 204:
            ok = got is None
        self.case(name, ok, f"{method} {path} -> {got_status} {got!r}")
        return got


def toxic(name, kind, stream, attributes, toxicity=1):
    return {"name": name, "type": kind, "stream": stream, "toxicity": toxicity,
            "attributes": attributes}


def error(message, status):
    return {"error": message, "status": status}


def check_proxies(c):
    name = PREFIX + "redis"
    created = c.expect("create proxy answers 201 with the proxy", "POST", "/proxies",
                       {"name": name, "listen": "127.0.0.1:0", "upstream": "127.0.0.1:6379"},
                       201, shape={"name": name, "upstream": "127.0.0.1:6379", "enabled": True,
                                   "toxics": []})
    listen = created.get("listen", "") if isinstance(created, dict) else ""
    c.case("listen port 0 answers the bound port",
           listen.startswith("127.0.0.1:") and not listen.endswith(":0"), f"listen {listen!r}")
    c.expect("duplicate proxy is 409", "POST", "/proxies",
             {"name": name, "listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"}, 409,
             want=error("proxy already exists", 409))
    c.expect("proxy without name is 400", "POST", "/proxies", {"upstream": "127.0.0.1:1"}, 400,
             want=error("missing required field: name", 400))
    c.expect("proxy without upstream is 400", "POST", "/proxies", {"name": PREFIX + "x"}, 400,
             want=error("missing required field: upstream", 400))
    c.expect("proxy body not JSON is 400", "POST", "/proxies", "{nonsense", 400)
    c.expect("show proxy", "GET", f"/proxies/{name}", None, 200, shape={"name": name})
    c.expect("show missing proxy is 404", "GET", f"/proxies/{PREFIX}none", None, 404,
             want=error("proxy not found", 404))
    status, index, _ = c.api.call("GET", "/proxies")
    c.case("proxy index is an object keyed by name",
           status == 200 and isinstance(index, dict) and index.get(name, {}).get("name") == name,
           f"{status} {index!r}")
    c.expect("disable proxy", "POST", f"/proxies/{name}", {"enabled": False}, 200,
             shape={"name": name, "enabled": False})
    c.expect("change upstream", "POST", f"/proxies/{name}", {"upstream": "127.0.0.1:6380"}, 200,
             shape={"upstream": "127.0.0.1:6380", "enabled": False})
    c.expect("update missing proxy is 404", "POST", f"/proxies/{PREFIX}none", {"enabled": True},
             404, want=error("proxy not found", 404))
    return name


def check_toxics(c, proxy):
    base = f"/proxies/{proxy}/toxics"
    c.expect("latency toxic with defaults", "POST", base,
             {"type": "latency", "attributes": {"latency": 100}}, 200,
             want=toxic("latency_downstream", "latency", "downstream",
                        {"latency": 100, "jitter": 0}))
    each = [
        ("bandwidth", {"rate": 512}),
        ("slow_close", {"delay": 250}),
        ("timeout", {"timeout": 1500}),
        ("reset_peer", {"timeout": 20}),
        ("slicer", {"average_size": 64, "size_variation": 8, "delay": 300}),
        ("limit_data", {"bytes": 4096}),
    ]
    for kind, attributes in each:
        c.expect(f"{kind} toxic upstream with its attributes", "POST", base,
                 {"type": kind, "stream": "upstream", "toxicity": 0.5,
                  "attributes": attributes}, 200,
                 want=toxic(f"{kind}_upstream", kind, "upstream", attributes, 0.5))
    c.expect("named toxic", "POST", base,
             {"name": "lag", "type": "latency", "attributes": {"latency": 5, "jitter": 1}}, 200,
             want=toxic("lag", "latency", "downstream", {"latency": 5, "jitter": 1}))
    c.expect("duplicate toxic is 409", "POST", base, {"type": "latency"}, 409,
             want=error("toxic already exists", 409))
    c.expect("unknown toxic type is 400", "POST", base, {"type": "gremlin"}, 400,
             want=error("invalid toxic type", 400))
    c.expect("bad stream is 400", "POST", base, {"type": "latency", "stream": "sideways"}, 400,
             want=error("stream was invalid, can be either upstream or downstream", 400))
    status, got, _ = c.api.call("POST", base, {"type": "latency", "name": "frac",
                                               "attributes": {"latency": 1.5}})
    c.case("fractional attribute is a bad request body",
           status == 400 and str(got.get("error", "")).startswith("bad request body"),
           f"{status} {got!r}")
    c.expect("toxic on missing proxy is 404", "POST", f"/proxies/{PREFIX}none/toxics",
             {"type": "latency"}, 404, want=error("proxy not found", 404))
    c.expect("bandwidth rate 0 is accepted", "POST", base,
             {"name": "unlimited", "type": "bandwidth", "attributes": {"rate": 0}}, 200)
    c.expect("toxicity above 1 is accepted", "POST", base,
             {"name": "over", "type": "timeout", "toxicity": 2}, 200)
    for extra in ("unlimited", "over"):
        c.api.call("DELETE", f"{base}/{extra}")

    status, listed, _ = c.api.call("GET", base)
    names = sorted(t.get("name") for t in listed) if isinstance(listed, list) else listed
    want = sorted(["latency_downstream", "lag"] + [f"{kind}_upstream" for kind, _ in each])
    c.case("toxic index lists them all", status == 200 and names == want, f"{status} {names!r}")
    c.case("toxic index lists upstream before downstream (Toxiproxy's chains)",
           isinstance(listed, list) and listed[0].get("stream") == "upstream",
           f"{[t.get('name') for t in listed] if isinstance(listed, list) else listed}")

    c.expect("update toxic merges attributes", "POST", f"{base}/latency_downstream",
             {"attributes": {"jitter": 10}, "toxicity": 0.25}, 200,
             want=toxic("latency_downstream", "latency", "downstream",
                        {"latency": 100, "jitter": 10}, 0.25))
    c.expect("show toxic", "GET", f"{base}/latency_downstream", None, 200,
             shape={"name": "latency_downstream", "toxicity": 0.25})
    c.expect("update missing toxic is 404", "POST", f"{base}/none", {"toxicity": 1}, 404,
             want=error("toxic not found", 404))
    c.expect("delete toxic is 204", "DELETE", f"{base}/lag", None, 204)
    c.expect("deleted toxic is 404", "GET", f"{base}/lag", None, 404,
             want=error("toxic not found", 404))
    c.expect("delete missing toxic is 404", "DELETE", f"{base}/lag", None, 404,
             want=error("toxic not found", 404))


def check_reset(c, proxy):
    c.expect("reset is 204", "POST", "/reset", None, 204)
    c.expect("reset keeps the proxy, enabled and without toxics", "GET", f"/proxies/{proxy}",
             None, 200, shape={"name": proxy, "enabled": True, "toxics": []})


def check_populate(c):
    a, b = PREFIX + "pop_a", PREFIX + "pop_b"
    got = c.expect("populate answers 201 with the proxies", "POST", "/populate",
                   [{"name": a, "listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"},
                    {"name": b, "listen": "127.0.0.1:0", "upstream": "127.0.0.1:2",
                     "enabled": False}], 201)
    proxies = got.get("proxies") if isinstance(got, dict) else None
    c.case("populate lists each proxy in order",
           isinstance(proxies, list) and [p.get("name") for p in proxies] == [a, b]
           and proxies[1].get("enabled") is False and proxies[0].get("toxics") == [],
           f"{got!r}")
    c.expect("populate without upstream is 400 and adds none", "POST", "/populate",
             [{"name": PREFIX + "pop_c", "upstream": "127.0.0.1:3"}, {"name": PREFIX + "pop_d"}],
             400, want={"error": "missing required field: upstream at proxy 2", "status": 400,
                        "proxies": None})
    c.expect("nothing of a refused populate is there", "GET", f"/proxies/{PREFIX}pop_c", None, 404)
    status, got, _ = c.api.call("POST", "/populate", {"name": a})
    c.case("populate with an object is a bad request body",
           status == 400 and str(got.get("error", "")).startswith("bad request body"),
           f"{status} {got!r}")
    for name in (a, b):
        c.expect(f"delete {name} is 204", "DELETE", f"/proxies/{name}", None, 204)


def run(base, allow_known):
    c = Check(Api(base), allow_known)
    status, version, _ = c.api.call("GET", "/version")
    c.case("version is JSON with a version string",
           status == 200 and isinstance(version, dict) and isinstance(version.get("version"), str),
           f"{status} {version!r}")
    _, index, _ = c.api.call("GET", "/proxies")
    for leftover in (index or {}) if isinstance(index, dict) else {}:
        if leftover.startswith(PREFIX):
            c.api.call("DELETE", f"/proxies/{leftover}")
    proxy = check_proxies(c)
    check_toxics(c, proxy)
    check_reset(c, proxy)
    check_populate(c)
    c.expect("delete proxy is 204", "DELETE", f"/proxies/{proxy}", None, 204)
    c.expect("deleted proxy is 404", "DELETE", f"/proxies/{proxy}", None, 404,
             want=error("proxy not found", 404))
    status, _, _ = c.api.call("GET", "/no/such/path")
    c.case("unknown path is 404", status == 404, str(status))
    print(f"{c.passed} cases match, {len(c.known)} known differences, "
          f"{len(c.failures)} mismatches")
    return 1 if c.failures else 0


def start_proxynode(binary):
    node = subprocess.Popen(
        [binary, "--http_listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0",
         "--control_listen=127.0.0.1:0", "--toxiproxy_listen=127.0.0.1:0", "--workers=1"],
        stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        line = node.stdout.readline()
        if not line:
            break
        found = re.search(r'"toxiproxy":"([^"]+)"', line)
        if found:
            # The audit log keeps coming: read on, so a full pipe never stalls the node.
            threading.Thread(target=node.stdout.read, daemon=True).start()
            return node, "http://" + found.group(1)
    node.kill()
    sys.exit("proxynode did not announce its Toxiproxy API")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", nargs="?", help="the API's base URL, e.g. http://127.0.0.1:8474")
    parser.add_argument("--proxynode", help="start this proxynode binary and check it")
    parser.add_argument("--allow-known-differences", action="store_true")
    args = parser.parse_args()
    if bool(args.base) == bool(args.proxynode):
        parser.error("give a base URL or --proxynode, not both")
    if args.base:
        return run(args.base, args.allow_known_differences)
    node, base = start_proxynode(args.proxynode)
    try:
        result = run(base, args.allow_known_differences)
    finally:
        node.terminate()
        code = node.wait(timeout=30)
    if code != 0:  # e.g. a sanitizer build that found something
        print(f"MISMATCH: proxynode exited {code} on SIGTERM")
        return 1
    return result


if __name__ == "__main__":
    sys.exit(main())
