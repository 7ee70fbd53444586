#!/usr/bin/env bash
# Checks, without Docker, that the Dockerfile's runtime stage has every shared library that
# proxynode and proxyctl load. That stage is debian:12-slim plus `install-deps.sh --runtime`
# (RUNTIME_PACKAGES, installed with --no-install-recommends), so a library is covered when
# the Debian package that owns it (dpkg -S) is
#   - in RUNTIME_PACKAGES, or
#   - in debian:12-slim: the Priority "required" packages and their dependencies (the image
#     is a debootstrap minbase; in Debian 12 even libc6 is "optional", pulled in that way), or
#   - a dependency, however indirect, of a RUNTIME_PACKAGES entry.
# Dependencies are followed through Depends and Pre-Depends, taking only the first choice of
# an "a | b" alternative and no virtual package: where apt could pick otherwise, this check
# errs towards a failure, never towards a missing library.
#
#   scripts/check-image-deps.sh [BINARY...]   (default: $BUILD_DIR/controlplane/proxynode and
#                                             $BUILD_DIR/cli/proxyctl; BUILD_DIR=build)
# Exits 1 naming each library that is not covered (or not found at all).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
if (($# > 0)); then
  binaries=("$@")
else
  binaries=("$BUILD_DIR/controlplane/proxynode" "$BUILD_DIR/cli/proxyctl")
fi
for binary in "${binaries[@]}"; do
  [[ -x $binary ]] || {
    echo "check-image-deps: $binary: no such executable (build first: scripts/build.sh)" >&2
    exit 1
  }
done

mapfile -t runtime < <(scripts/install-deps.sh --runtime --list)
mapfile -t required < <(dpkg-query -W -f='${Package} ${Priority}\n' | awk '$2 == "required" { print $1 }')

# Package closure: [runtime|base] NAME per line.
closure() {  # closure LABEL SEED...
  local label=$1
  shift
  apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances "$@" 2>/dev/null |
    awk -v label="$label" -v seeds="$*" '
      /^[^ ]/ { current = $1; next }                  # a package block begins
      /^ [ |](Pre)?Depends: / {
        alternative_follows = ($0 ~ /^ \|/)           # "a | b": this line is not the last choice
        dep = $2
        if (!in_group && dep !~ /^</) deps[current] = deps[current] " " dep
        in_group = alternative_follows
        next
      }
      END {
        n = split(seeds, queue, " ")
        for (i = 1; i <= n; i++) seen[queue[i]] = 1
        for (head = 1; head <= n; head++) {
          m = split(deps[queue[head]], next_deps, " ")
          for (j = 1; j <= m; j++) {
            if (!(next_deps[j] in seen)) { seen[next_deps[j]] = 1; queue[++n] = next_deps[j] }
          }
        }
        for (p in seen) print label, p
      }'
}
covered=$( (closure runtime "${runtime[@]}"; closure base "${required[@]}") | sort -u)

# Every library the loader resolves, by path (the vDSO has none: it is the kernel's).
declare -A users=()
missing_libs=()
for binary in "${binaries[@]}"; do
  while read -r name arrow path _; do
    if [[ $arrow == "=>" && $path == "not" ]]; then
      missing_libs+=("$name (needed by $binary: not found on this machine)")
    elif [[ $arrow == "=>" && $path == /* ]]; then
      users[$path]+="${users[$path]:+, }$(basename "$binary")"
    elif [[ $name == /* ]]; then
      users[$name]+="${users[$name]:+, }$(basename "$binary")"
    fi
  done < <(ldd "$binary")
done

# Owning package of each library: as ldd names it, or as its real path (usrmerge: dpkg may
# know /usr/lib/... where ldd says /lib/...).
declare -A owner=()
candidates=()
for lib in "${!users[@]}"; do
  candidates+=("$lib" "$(readlink -f "$lib")")
done
while IFS= read -r line; do
  packages=${line%%: /*}
  path=/${line#*: /}
  owner[$path]=${packages%%:*}  # libc6:amd64 -> libc6 (a library has one owner)
done < <(dpkg -S "${candidates[@]}" 2>/dev/null | grep -v '^diversion' || true)

problems=("${missing_libs[@]}")
declare -A count=([listed]=0 [base]=0 [dependency]=0)
for lib in $(printf '%s\n' "${!users[@]}" | sort); do
  package=${owner[$lib]:-${owner[$(readlink -f "$lib")]:-}}
  if [[ -z $package ]]; then
    problems+=("$lib (needed by ${users[$lib]}): no Debian package owns it")
    continue
  fi
  if printf '%s\n' "${runtime[@]}" | grep -qxF "$package"; then
    count[listed]=$((count[listed] + 1))
  elif grep -qxF "base $package" <<<"$covered"; then
    count[base]=$((count[base] + 1))
  elif grep -qxF "runtime $package" <<<"$covered"; then
    count[dependency]=$((count[dependency] + 1))
  else
    problems+=("$lib (needed by ${users[$lib]}): its package $package is not in RUNTIME_PACKAGES (scripts/install-deps.sh), not a dependency of one and not in debian:12-slim")
  fi
done

if ((${#problems[@]} > 0)); then
  for problem in "${problems[@]}"; do
    echo "check-image-deps: $problem" >&2
  done
  echo "check-image-deps: ${#problems[@]} of the binaries' libraries would be missing from the runtime image" >&2
  exit 1
fi
echo "check-image-deps: all ${#users[@]} libraries of ${binaries[*]} are in the runtime image:" \
  "${count[listed]} from RUNTIME_PACKAGES (${runtime[*]}), ${count[base]} from debian:12-slim," \
  "${count[dependency]} from dependencies of RUNTIME_PACKAGES"
