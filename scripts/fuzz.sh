#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/http_parser_fuzzer.cc for requests,
# fuzz/http_response_parser_fuzzer.cc for upstream responses, fuzz/http2_session_fuzzer.cc
# for HTTP/2 frames fed to the server session) with Clang, ASan and UBSan in build-fuzz/, then
# fuzzes each for its share of a bounded time (1/2 requests, 1/4 responses, 1/4 HTTP/2: the
# request parser faces every client, the response parser only the configured upstreams), one
# process per target, each starting from a copy of its own seed corpus (fuzz/corpus/<target>
# is never written). Prints a one-line summary per target. Exits non-zero if any target hit a
# crash, a broken invariant, a timeout or running out of memory, and prints the path of the
# input that caused it.
#
#   scripts/fuzz.sh [SECONDS]    default 600 in total; CI runs a short one, e.g. scripts/fuzz.sh 60
#
# Reproduce a finding: build-fuzz/fuzz/<target>_fuzzer build-fuzz/fuzz-artifacts/<target>-crash-...
set -euo pipefail

seconds=${1:-600}
if [[ ! "$seconds" =~ ^[1-9][0-9]*$ || $# -gt 1 ]]; then
  echo "usage: $0 [SECONDS]" >&2
  exit 2
fi
cd "$(dirname "$0")/.."

scripts/install-deps.sh --fuzz

build="build-fuzz"
# Only the fuzzer targets are built, so the rest of the tree never has to compile with Clang.
CC=clang CXX=clang++ cmake -S . -B "$build" -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPROXYNODE_FUZZ=ON -DPROXYNODE_BUILD_TESTS=OFF \
  -DPROXYNODE_BUILD_BENCHMARKS=OFF -DPROXYNODE_SANITIZE= >/dev/null
cmake --build "$build" --target http_parser_fuzzer http_response_parser_fuzzer \
  http2_session_fuzzer -j 2

artifacts=$build/fuzz-artifacts
mkdir -p "$artifacts"

# Fuzzes one target for $2 seconds; prints its summary line, and on failure the end of its log.
# Returns the fuzzer's exit status.
fuzz_target() {
  local name=$1 secs=$2
  local fuzzer=$build/fuzz/${name}_fuzzer
  local corpus=$build/fuzz-corpus/$name
  local log=$build/fuzz-$name.log
  # Every run starts from the seeds alone, so runs of the same length are comparable.
  rm -rf "$corpus"
  mkdir -p "$corpus"
  cp "fuzz/corpus/$name"/* "$corpus/"

  echo "fuzz: running $fuzzer for ${secs} s; log: $log" >&2
  local status=0
  UBSAN_OPTIONS=print_stacktrace=1 "$fuzzer" "$corpus" \
    -dict="fuzz/$name.dict" \
    -max_total_time="$secs" \
    -max_len=16384 \
    -timeout=10 \
    -rss_limit_mb=2048 \
    -print_final_stats=1 \
    -artifact_prefix="$artifacts/$name-" \
    >"$log" 2>&1 || status=$?

  # The last status line ("#N DONE cov: .. ft: .. corp: files/size ... exec/s: ..") and the
  # final stats give the numbers.
  local last
  last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
  field() { sed -nE "s/.*[[:space:]]$1:[[:space:]]*([^[:space:]]+).*/\1/p" <<<"$last"; }
  final_stat() { sed -nE "s/^stat::$1:[[:space:]]*([0-9]+).*/\1/p" "$log" | tail -n 1; }
  local runs exec_per_sec corpus_files crash
  runs=$(final_stat number_of_executed_units)
  exec_per_sec=$(final_stat average_exec_per_sec)
  corpus_files=$(find "$corpus" -type f | wc -l)
  crash=$(sed -nE 's/.*Test unit written to (.*)$/\1/p' "$log" | tail -n 1)

  echo "fuzz: $name ${secs}s runs=${runs:-?} exec/s=${exec_per_sec:-?}" \
    "corpus=${corpus_files} files (corp: $(field corp)) cov=$(field cov) ft=$(field ft)" \
    "peak_rss_mb=$(final_stat peak_rss_mb) exit=${status}"
  if ((status != 0)); then
    tail -n 60 "$log" >&2
    echo "fuzz: $name FAILED (exit ${status}); reproducer: ${crash:-none written, see $log}" >&2
  fi
  return "$status"
}

# Each target gets at least a second, so a 1 s run still fuzzes all three: half for the
# request parser, a quarter each for the response parser and the HTTP/2 session.
request_seconds=$((seconds / 2 > 0 ? seconds / 2 : 1))
response_seconds=$((seconds / 4 > 0 ? seconds / 4 : 1))
http2_seconds=$((seconds - request_seconds - response_seconds > 0 ? seconds - request_seconds - response_seconds : 1))

# Every target runs even when one before it fails, so one run reports all.
status=0
fuzz_target http_parser "$request_seconds" || status=$?
fuzz_target http_response_parser "$response_seconds" || status=$?
fuzz_target http2_session "$http2_seconds" || status=$?
exit "$status"
