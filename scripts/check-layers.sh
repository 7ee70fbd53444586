#!/usr/bin/env bash
# Fails when a lower layer includes a higher one (docs/architecture.md, "Layers").
#   scripts/check-layers.sh [ROOT]      checks the tree at ROOT (default: this checkout)
#   scripts/check-layers.sh --self-test plants a bad include in a copy and expects a failure
#
# Each folder lists the folders its files may include from (besides itself and outside
# libraries). A file directly in dataplane/ is the data plane's public face and may include
# every layer of it.
set -euo pipefail

declare -A ALLOWED=(
  [dataplane/core]=""
  [dataplane/http]="dataplane/core"
  [dataplane/http2]="dataplane/core dataplane/http"
  [dataplane/config]="dataplane/core dataplane/http dataplane/fault"
  [dataplane/stats]="dataplane/core common"
  [dataplane/fault]="dataplane/core dataplane/http"
  [dataplane/transport]="dataplane/core dataplane/stats"
  [dataplane/relay]="dataplane/core dataplane/config dataplane/stats dataplane/fault dataplane/transport"
  [dataplane/proxy]="dataplane/core dataplane/http dataplane/http2 dataplane/config dataplane/stats dataplane/transport common"
  [dataplane/server]="common dataplane/core dataplane/http dataplane/http2 dataplane/config dataplane/stats dataplane/fault dataplane/transport dataplane/proxy dataplane/relay"
  [dataplane]="dataplane/core dataplane/http dataplane/http2 dataplane/config dataplane/stats dataplane/fault dataplane/transport dataplane/proxy dataplane/relay dataplane/server"
  [common]=""
  [controlplane]="common dataplane proto"
  [cli]="common proto"
)

# The folder an include path belongs to, in the terms of ALLOWED ("" when outside them).
folder_of() {
  local path=$1
  case $path in
    proxynode/v1/*) echo proto ;;  # generated from proto/
    dataplane/*/*) echo "${path%/*}" ;;
    dataplane/*) echo dataplane ;;
    common/* | controlplane/* | cli/*) echo "${path%%/*}" ;;
    *) echo "" ;;
  esac
}

# The deepest folder of ALLOWED holding `file`.
home_of() {
  local dir=${1%/*}
  while [ -n "$dir" ] && [ "$dir" != . ]; do
    if [ -n "${ALLOWED[$dir]+set}" ]; then
      echo "$dir"
      return
    fi
    [[ $dir == */* ]] || break
    dir=${dir%/*}
  done
  echo ""
}

check_tree() {
  local root=$1 violations=0 file home line target target_folder
  cd "$root"
  while IFS= read -r file; do
    home=$(home_of "$file")
    [ -n "$home" ] || continue
    while IFS= read -r line; do
      target=${line#*\"}
      target=${target%%\"*}
      target_folder=$(folder_of "$target")
      [ -n "$target_folder" ] || continue
      [ "$target_folder" = "$home" ] && continue
      # dataplane as a whole counts as one folder for the folders outside it.
      if [[ $home != dataplane* && $target_folder == dataplane/* ]]; then
        target_folder=dataplane
        [ "$home" = dataplane ] && continue
      fi
      if [[ " ${ALLOWED[$home]} " != *" $target_folder "* ]]; then
        echo "layering: $file includes \"$target\": $home may include only from: ${ALLOWED[$home]:-(nothing else)}" >&2
        violations=$((violations + 1))
      fi
    done < <(grep -E '^#include "[^"]+"' "$file" || true)
  done < <(find dataplane common controlplane cli -name '*.h' -o -name '*.cc' 2>/dev/null | sort)
  if [ "$violations" -ne 0 ]; then
    echo "layering: $violations include(s) against the layers" >&2
    return 1
  fi
  echo "layering: ok"
}

self_test() {
  local source=$1 scratch
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' RETURN
  (cd "$source" && git ls-files -z dataplane common controlplane cli | xargs -0 tar -cf -) |
    tar -xf - -C "$scratch"
  if ! (check_tree "$scratch" >/dev/null); then
    echo "self-test: the clean tree already fails" >&2
    return 1
  fi
  # A core header reaching up into the server layer.
  sed -i '0,/^#include "/s//#include "dataplane\/server\/worker.h"\n#include "/' \
    "$scratch/dataplane/core/event_loop.h"
  if (check_tree "$scratch" 2>/dev/null); then
    echo "self-test: a planted include of server/ from core/ was not caught" >&2
    return 1
  fi
  echo "self-test: ok (a planted bad include fails the check)"
}

here=$(cd "$(dirname "$0")/.." && pwd)
if [ "${1:-}" = --self-test ]; then
  self_test "$here"
else
  check_tree "${1:-$here}"
fi
