#!/usr/bin/env bash
# Installs, from Debian 12's packages, whatever the build and the tests need and is missing.
# Idempotent and quick when everything is there. Needs root (or sudo) only to install.
set -euo pipefail

# Build: compiler, CMake, gRPC/Protobuf (code generation included), Abseil, GoogleTest.
BUILD_PACKAGES=(g++ cmake make pkg-config libabsl-dev libgtest-dev libgmock-dev libcli11-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler)
# Tests: curl for smoke checks, python3 for the test helpers.
TEST_PACKAGES=(curl python3)
# Benchmarks only (bench/run.sh): wrk and the peers measured beside proxynode.
BENCH_PACKAGES=(wrk nginx-light libnginx-mod-http-echo haproxy nodejs libbenchmark-dev)

want=("${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}")
if [[ "${1:-}" == "--bench" ]]; then
  want+=("${BENCH_PACKAGES[@]}")
fi

missing=()
for package in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  SUDO=sudo
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts nginx and haproxy on install; the benchmarks start their own instances.
if [[ " ${missing[*]} " == *" nginx-light "* || " ${missing[*]} " == *" haproxy "* ]]; then
  $SUDO service nginx stop >/dev/null 2>&1 || true
  $SUDO service haproxy stop >/dev/null 2>&1 || true
fi
