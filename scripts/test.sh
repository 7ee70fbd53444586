#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs every test (unit and
# integration against the real binary). Fails when any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
ulimit -n "$(ulimit -Hn)"
# clang-format is a check of its own: the tree must stay formatted.
if command -v clang-format >/dev/null; then
  git ls-files '*.cc' '*.h' | xargs clang-format --dry-run -Werror
fi
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure -j2 --timeout 300
