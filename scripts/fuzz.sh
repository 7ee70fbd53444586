#!/usr/bin/env bash
# Builds the HTTP parser's libFuzzer target (fuzz/http_parser_fuzzer.cc) with Clang, ASan and
# UBSan in build-fuzz/, then fuzzes it for a bounded time in one process, starting from a copy
# of the seed corpus (fuzz/corpus/http_parser is never written). Prints a one-line summary.
# Exits non-zero on a crash, a broken invariant, a timeout or running out of memory, and
# prints the path of the input that caused it.
#
#   scripts/fuzz.sh [SECONDS]    default 600; CI runs a short one, e.g. scripts/fuzz.sh 60
#
# Reproduce a finding: build-fuzz/fuzz/http_parser_fuzzer build-fuzz/fuzz-artifacts/crash-...
set -euo pipefail

seconds=${1:-600}
if [[ ! "$seconds" =~ ^[1-9][0-9]*$ || $# -gt 1 ]]; then
  echo "usage: $0 [SECONDS]" >&2
  exit 2
fi
cd "$(dirname "$0")/.."

scripts/install-deps.sh --fuzz

build="build-fuzz"
# Only the fuzzer target is built, so the rest of the tree never has to compile with Clang.
CC=clang CXX=clang++ cmake -S . -B "$build" -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPROXYNODE_FUZZ=ON -DPROXYNODE_BUILD_TESTS=OFF \
  -DPROXYNODE_BUILD_BENCHMARKS=OFF -DPROXYNODE_SANITIZE= >/dev/null
cmake --build "$build" --target http_parser_fuzzer -j 1

fuzzer=$build/fuzz/http_parser_fuzzer
corpus=$build/fuzz-corpus/http_parser
artifacts=$build/fuzz-artifacts
log=$build/fuzz-http_parser.log
# Every run starts from the seeds alone, so runs of the same length are comparable.
rm -rf "$corpus"
mkdir -p "$corpus" "$artifacts"
cp fuzz/corpus/http_parser/* "$corpus/"

echo "fuzz: running $fuzzer for ${seconds} s; log: $log" >&2
status=0
UBSAN_OPTIONS=print_stacktrace=1 "$fuzzer" "$corpus" \
  -dict=fuzz/http_parser.dict \
  -max_total_time="$seconds" \
  -max_len=16384 \
  -timeout=10 \
  -rss_limit_mb=2048 \
  -print_final_stats=1 \
  -artifact_prefix="$artifacts/" \
  >"$log" 2>&1 || status=$?

# The last status line ("#N DONE cov: .. ft: .. corp: files/size ... exec/s: ..") and the
# final stats give the numbers.
last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
field() { sed -nE "s/.*[[:space:]]$1:[[:space:]]*([^[:space:]]+).*/\1/p" <<<"$last"; }
final_stat() { sed -nE "s/^stat::$1:[[:space:]]*([0-9]+).*/\1/p" "$log" | tail -n 1; }
runs=$(final_stat number_of_executed_units)
exec_per_sec=$(final_stat average_exec_per_sec)
corpus_files=$(find "$corpus" -type f | wc -l)
crash=$(sed -nE 's/.*Test unit written to (.*)$/\1/p' "$log" | tail -n 1)

echo "fuzz: http_parser ${seconds}s runs=${runs:-?} exec/s=${exec_per_sec:-?}" \
  "corpus=${corpus_files} files (corp: $(field corp)) cov=$(field cov) ft=$(field ft)" \
  "peak_rss_mb=$(final_stat peak_rss_mb) exit=${status}"
if ((status != 0)); then
  tail -n 60 "$log" >&2
  echo "fuzz: FAILED (exit ${status}); reproducer: ${crash:-none written, see $log}" >&2
  exit "$status"
fi
