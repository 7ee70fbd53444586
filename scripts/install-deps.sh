#!/usr/bin/env bash
# Installs, from Debian 12's packages, whatever the build and the tests need and is missing.
# Idempotent and quick when everything is there. Needs root (or sudo) only to install.
#
#   scripts/install-deps.sh             build + tests (what scripts/test.sh needs)
#   scripts/install-deps.sh --bench     build + tests + benchmarks
#   scripts/install-deps.sh --build     the build alone (the Dockerfile's build stage)
#   scripts/install-deps.sh --runtime   only the shared libraries the binaries load (the
#                                       Dockerfile's runtime stage)
#   scripts/install-deps.sh --fuzz      build + Clang and libFuzzer (scripts/fuzz.sh)
#   ... --list                          print the selected packages, one a line; install nothing
set -euo pipefail

# Build: compiler, CMake, gRPC/Protobuf (code generation included), Abseil, GoogleTest,
# libnghttp2 (the data plane's HTTP/2 framing, HPACK and flow control), OpenSSL 3 (its TLS).
BUILD_PACKAGES=(g++ cmake make pkg-config libabsl-dev libgtest-dev libgmock-dev libcli11-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libnghttp2-dev libssl-dev)
# Tests: curl for smoke checks, python3 for the test helpers, Node.js and npm for the
# manifest check (scripts/check-manifests.sh), openssl for the control-port TLS test's CA,
# wrk for the short soak run (bench/soak.sh), python3-grpcio and python3-protobuf for the
# external check of the gRPC API (tests/external/fault_api_check.py, a client apart from the
# node's code), prometheus for its promtool, which lints /metrics (tests/integration/
# metrics_test.cc), redis-server (with redis-tools' redis-cli and redis-benchmark) and
# postgresql (initdb, pg_ctl, psql, pgbench), the real servers behind the TCP proxy tests
# (tests/external/tcp_real_servers_check.py), nghttp2-client (h2load and nghttp, HTTP/2
# clients no one here wrote) and python3-h2 (hyper-h2: frames a normal client never sends,
# for the abuse cases), for tests/external/http2_clients_check.py.
TEST_PACKAGES=(curl python3 nodejs npm openssl wrk python3-grpcio python3-protobuf prometheus
  redis-server postgresql nghttp2-client python3-h2)
# Benchmarks only (bench/run.sh): wrk and the peers measured beside proxynode; for the TCP
# relay (bench/tcp_relay.sh) iperf3 (one bulk stream) and nginx's stream module as a peer.
BENCH_PACKAGES=(wrk nginx-light libnginx-mod-http-echo libnginx-mod-stream haproxy nodejs
  libbenchmark-dev iperf3)
# Runtime: the packages of the shared libraries proxynode and proxyctl load (`ldd`), apart
# from those every Debian image has (libc6, libgcc-s1, zlib1g: Priority required) and those
# these pull in (libstdc++6, libssl3, libc-ares2, libre2-9). libgrpc++1.51 holds libgrpc++
# and libgrpc++_reflection. scripts/check-image-deps.sh checks this list against `ldd`.
RUNTIME_PACKAGES=(libgrpc++1.51 libgrpc29 libprotobuf32 libabsl20220623 libnghttp2-14
  ca-certificates)
# Fuzzing only (scripts/fuzz.sh): Debian 12's default Clang (14) and its compiler-rt, which
# holds libFuzzer and the sanitizer runtimes; libclang-common-14-dev only recommends it.
FUZZ_PACKAGES=(clang libclang-rt-14-dev)

mode=default
list=false
for arg in "$@"; do
  case "$arg" in
    --bench | --build | --runtime | --fuzz) mode=${arg#--} ;;
    --list) list=true ;;
    *)
      echo "usage: $0 [--bench | --build | --runtime | --fuzz] [--list]" >&2
      exit 2
      ;;
  esac
done
case "$mode" in
  default) want=("${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}") ;;
  bench) want=("${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}" "${BENCH_PACKAGES[@]}") ;;
  build) want=("${BUILD_PACKAGES[@]}") ;;
  runtime) want=("${RUNTIME_PACKAGES[@]}") ;;
  fuzz) want=("${BUILD_PACKAGES[@]}" "${FUZZ_PACKAGES[@]}") ;;
esac
if $list; then
  printf '%s\n' "${want[@]}" | awk '!seen[$0]++'
  exit 0
fi

# Installed: the package itself, or an installed package that provides it (a Node.js from
# another source provides npm, and Debian's npm would conflict with it).
installed_or_provided=$(dpkg-query -W -f='${db:Status-Abbrev}|${Package}|${Provides}\n' 2>/dev/null |
  awk -F'|' '$1 ~ /^ii/ {
    print $2
    n = split($3, provided, ",")
    for (i = 1; i <= n; i++) {
      name = provided[i]
      sub(/^ +/, "", name)
      sub(/[ (].*$/, "", name)
      if (name != "") print name
    }
  }')
missing=()
for package in "${want[@]}"; do
  grep -qxF -- "$package" <<<"$installed_or_provided" || missing+=("$package")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | awk '!seen[$0]++')
echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  SUDO=sudo
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts nginx, haproxy and prometheus on install; the benchmarks start their own
# instances, and the tests want only prometheus's promtool.
if [[ " ${missing[*]} " == *" nginx-light "* || " ${missing[*]} " == *" haproxy "* ]]; then
  $SUDO service nginx stop >/dev/null 2>&1 || true
  $SUDO service haproxy stop >/dev/null 2>&1 || true
fi
if [[ " ${missing[*]} " == *" prometheus "* ]]; then
  $SUDO service prometheus stop >/dev/null 2>&1 || true
fi
