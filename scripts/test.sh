#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs every test (unit tests and
# integration tests against the real binary), builds the Release configuration and runs its
# unit tests, then runs everything under AddressSanitizer+UBSan and under ThreadSanitizer,
# each in its own build directory. Fails when any test fails.
#   SANITIZERS="address thread" (default) | "" to skip the sanitizer passes
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
ulimit -n "$(ulimit -Hn)"

# clang-format is a check of its own: the tree must stay formatted.
if command -v clang-format >/dev/null; then
  git ls-files '*.cc' '*.h' | xargs clang-format --dry-run -Werror
fi
# The layers: no folder includes one above it (docs/architecture.md), and the check can fail.
scripts/check-layers.sh
scripts/check-layers.sh --self-test

# Any sanitizer report fails the test, including reports from the proxynode processes the
# integration tests start (they inherit this environment).
export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1
# tests/lsan.supp: leaks inside OpenSSL, which show no caller to attribute them to.
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp"
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
# tests/tsan.supp: reports from inside Debian's uninstrumented gRPC/Abseil/Protobuf libraries.
export TSAN_OPTIONS="halt_on_error=1:abort_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp"

run_suite() {  # run_suite BUILD_DIR [cmake options...]
  local dir=$1
  shift
  echo "== tests in $dir $*" >&2
  BUILD_DIR=$dir scripts/build.sh "$@"
  ctest --test-dir "$dir" --output-on-failure -j2 --timeout 300
}

run_suite build
# Release too: warnings are errors, and what GCC warns about depends on its optimizer (GCC 12's
# -Wrestrict false positive, bug 105329, fires at -O3 only, and stopped Release builds). The
# whole tree compiles and the unit tests run; the integration tests ran above. (Debug compiles
# in the sanitizer passes below.)
echo "== Release build and unit tests in build-release" >&2
BUILD_DIR=build-release scripts/build.sh -DCMAKE_BUILD_TYPE=Release
ctest --test-dir build-release --output-on-failure -j2 --timeout 300 \
  -L '^(common|dataplane|controlplane)$'
# The Kubernetes side: manifests valid against the API schemas (and the check able to fail),
# the image's runtime package list covering every library the binaries load.
scripts/check-manifests.sh
scripts/check-image-deps.sh
# A short soak: thousands of connections while the config changes every second; no failed
# request, no leaked fd, RSS back to its baseline, counters that agree with the client's.
SOAK_SECONDS=30 SOAK_CONNS=2000 bench/soak.sh
# The HTTP parser's fuzzer, briefly (docs/reliability.md records the 10-minute runs).
scripts/fuzz.sh 60
for sanitizer in ${SANITIZERS-address thread}; do
  run_suite "build-$sanitizer" -DPROXYNODE_SANITIZE="$sanitizer" -DCMAKE_BUILD_TYPE=Debug
done
