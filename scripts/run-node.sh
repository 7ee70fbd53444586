#!/usr/bin/env bash
# Installs what is missing, builds, and runs the node with its defaults (flags pass through).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
ulimit -n "$(ulimit -Hn)"
exec build/controlplane/proxynode "$@"
