#!/usr/bin/env bash
# Checks the Kubernetes manifests: builds every kustomization under k8s/ (the base and each
# overlay) with `kubectl kustomize` and validates the output against the Kubernetes API
# schemas, unknown fields included (tools/manifest-check/validate.mjs). Then a self-test
# feeds the validator the base with typos injected and requires it to fail on each, so a
# check that cannot fail does not pass. Last, when the node is built, it must start with
# each config file under k8s/.
#
# Needs Node.js 18+ with npm (scripts/install-deps.sh installs them) and kubectl with
# kustomize v5 (Kubernetes 1.27+); installs the validator's npm packages on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOL=tools/manifest-check

fail() {
  echo "check-manifests: $*" >&2
  exit 1
}

command -v node >/dev/null || fail "node not found: run scripts/install-deps.sh (Debian's nodejs and npm)"
command -v npm >/dev/null || fail "npm not found: run scripts/install-deps.sh (Debian's nodejs and npm)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
((node_major >= 18)) || fail "Node.js 18 or later needed, found $(node --version)"

# kubectl is not in Debian 12's own archive in a usable version: its kubernetes-client
# package is kubectl 1.20, whose built-in kustomize (v2) cannot build these kustomizations.
if ! command -v kubectl >/dev/null; then
  fail "kubectl not found. It builds the kustomizations (kubectl kustomize) and must embed" \
    "kustomize v5 (kubectl 1.27 or later). Debian 12 has none that recent (kubernetes-client" \
    "is kubectl 1.20): install kubectl from the Kubernetes project's own apt repository."
fi
# kubectl reports its kustomize version since 1.24; an older one does not print it.
kustomize_major=$(kubectl version --client 2>/dev/null | sed -n 's/^Kustomize Version: v\{0,1\}\([0-9][0-9]*\).*/\1/p')
if [[ -z $kustomize_major || $kustomize_major -lt 5 ]]; then
  found=${kustomize_major:+v$kustomize_major}
  fail "$(command -v kubectl) embeds kustomize ${found:-older than v4.5}:" \
    "these kustomizations need v5 (kubectl 1.27 or later)."
fi

# The validator's packages (kubernetes-models, js-yaml), pinned by package-lock.json.
if [[ ! -f $TOOL/node_modules/.package-lock.json || $TOOL/package-lock.json -nt $TOOL/node_modules/.package-lock.json ]]; then
  echo "check-manifests: installing $TOOL's npm packages" >&2
  npm ci --prefix "$TOOL" --no-audit --no-fund --loglevel=error >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

# 1. Every kustomization under k8s/.
mapfile -t dirs < <(find k8s -name kustomization.yaml -printf '%h\n' | sort)
((${#dirs[@]} > 0)) || fail "no kustomization.yaml under k8s/"
for dir in "${dirs[@]}"; do
  out="$work/$(echo "$dir" | tr / _).yaml"
  if ! kubectl kustomize "$dir" >"$out" 2>"$work/kustomize.err"; then
    echo "FAIL $dir: kubectl kustomize failed:" >&2
    sed 's/^/  /' "$work/kustomize.err" >&2
    failures=$((failures + 1))
    continue
  fi
  if node "$TOOL/validate.mjs" --source "$dir" <"$out"; then
    echo "ok   $dir"
  else
    echo "FAIL $dir" >&2
    failures=$((failures + 1))
  fi
done

# 2. Self-test: each mutation of the base must be refused, with the expected problem named.
base="$work/k8s_base.yaml"
if [[ -s $base ]]; then
  self_test() {  # self_test NAME SED_SCRIPT EXPECTED_OUTPUT_SUBSTRING
    local name=$1 script=$2 expected=$3 mutated="$work/mutated.yaml" result
    sed "$script" "$base" >"$mutated"
    if cmp -s "$base" "$mutated"; then
      echo "FAIL self-test $name: the mutation changed nothing (did the base change?)" >&2
      failures=$((failures + 1))
      return
    fi
    if result=$(node "$TOOL/validate.mjs" --source self-test <"$mutated"); then
      echo "FAIL self-test $name: the validator accepted it" >&2
      failures=$((failures + 1))
    elif [[ $result != *"$expected"* ]]; then
      echo "FAIL self-test $name: refused, but without \"$expected\":" >&2
      printf '  %s\n' "${result//$'\n'/$'\n'  }" >&2
      failures=$((failures + 1))
    else
      echo "ok   self-test $name: refused ($(grep -F -m1 "$expected" <<<"$result"))"
    fi
  }
  # An unknown field in the Deployment's spec, then one inside the container.
  self_test "Deployment spec typo" 's/^  revisionHistoryLimit:/  replicass: 3\n&/' \
    "Deployment/proxynode: .spec.replicass: unknown field"
  self_test "container field typo" 's/^\( *\)readinessProbe:/\1readinesProbe:/' \
    ".spec.template.spec.containers[0].readinesProbe: unknown field"
  # A value the schema refuses, and an API version no longer served.
  self_test "bad enum value" 's/^  type: ClusterIP$/  type: ClusterIp/' \
    "Service/proxynode: .spec.type: must be equal to one of the allowed values"
  self_test "removed apiVersion" 's|^apiVersion: policy/v1$|apiVersion: policy/v1beta1|' \
    "no longer served"
else
  echo "FAIL self-test: no base output to mutate (k8s/base did not build)" >&2
  failures=$((failures + 1))
fi

# 3. The config files the ConfigMaps carry: the real node must start with each (it exits 2
#    on a file that does not parse or holds a value out of range). Needs a build. Cluster
#    Service names become localhost and TCP proxies' fixed ports free ones (see below).
node_bin=${BUILD_DIR:-build}/controlplane/proxynode
mapfile -t configs < <(find k8s -name '*.textproto' | sort)
if [[ ! -x $node_bin ]]; then
  echo "skip config files: no $node_bin (scripts/build.sh builds it)"
else
  for config in "${configs[@]}"; do
    # What only a cluster has, made local: a Service's name (resolved when the config is
    # applied) becomes localhost, and a TCP proxy's fixed port a free one.
    sed -e 's/"[a-z0-9.-]*\.svc\.cluster\.local:/"localhost:/g' \
      -e 's/listen: "0\.0\.0\.0:[0-9]*"/listen: "127.0.0.1:0"/g' "$config" >"$work/config.textproto"
    "$node_bin" --config="$work/config.textproto" --http_listen=127.0.0.1:0 --admin_listen=127.0.0.1:0 \
      --control_listen=127.0.0.1:0 >"$work/node.out" 2>&1 &
    pid=$!
    # Up to 10 s for the start-up record (a text line or a JSON log record, whichever this
    # build prints); a config error ends the process (exit 2) before it.
    for _ in $(seq 100); do
      grep -q 'proxynode listening' "$work/node.out" && break
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if grep -q 'proxynode listening' "$work/node.out"; then
      echo "ok   $config: $node_bin starts with it"
      kill -TERM "$pid" 2>/dev/null || true
      wait "$pid" || true
    else
      kill -KILL "$pid" 2>/dev/null || true
      wait "$pid" || true
      echo "FAIL $config: $node_bin does not start with it:" >&2
      sed 's/^/  /' "$work/node.out" >&2
      failures=$((failures + 1))
    fi
  done
fi

if ((failures > 0)); then
  echo "check-manifests: $failures failure(s)" >&2
  exit 1
fi
configs_checked="${#configs[@]} config files start the node"
[[ -x $node_bin ]] || configs_checked="config files not checked (no build)"
echo "check-manifests: ${#dirs[@]} kustomizations valid, self-test refused all 4 mutations, $configs_checked"
