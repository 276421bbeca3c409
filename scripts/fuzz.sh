#!/usr/bin/env bash
#===- scripts/fuzz.sh - run one of nnc's libFuzzer targets ----------------===#
#
#   scripts/fuzz.sh TARGET SECONDS [libFuzzer options...]
#   scripts/fuzz.sh TARGET --runs=N [libFuzzer options...]
#
# TARGET is ir, planner, onnx, files or capi (docs/Fuzzing.md). The target
# comes from the sanitizer build (build-asan/, made by scripts/sanitize.sh --build-only
# if missing): ASan + UBSan + libFuzzer. Its corpus lives in
# build-asan/fuzz/corpus/TARGET, seeded from the test inputs the first time
# and grown by every run; crashes, leaks and slow inputs are written to
# build-asan/fuzz/artifacts/TARGET/. Exits non-zero on any finding.
#
#===----------------------------------------------------------------------===#
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if [ $# -lt 2 ]; then
  echo "usage: scripts/fuzz.sh ir|planner|onnx|files|capi SECONDS|--runs=N [libFuzzer options]" >&2
  exit 2
fi
target="$1"; shift
limit="$1"; shift
case "$target" in
  ir) dict=fuzz/nn.dict; max_len=16384 ;;
  planner) dict=fuzz/chain.dict; max_len=16384 ;;
  onnx) dict=""; max_len=65536 ;;
  files) dict=""; max_len=65536 ;;
  capi) dict=""; max_len=4096 ;;
  *) echo "fuzz.sh: unknown target '$target' (expected ir, planner, onnx, files or capi)" >&2; exit 2 ;;
esac
case "$limit" in
  --runs=[0-9]*) budget=("-runs=${limit#--runs=}") ;;
  [0-9]*) budget=("-max_total_time=$limit") ;;
  *) echo "fuzz.sh: expected a number of seconds or --runs=N, got '$limit'" >&2; exit 2 ;;
esac

bin="build-asan/bin/nnc-$target-fuzzer"
[ -x "$bin" ] || bash scripts/sanitize.sh --build-only
work="build-asan/fuzz"
corpus="$work/corpus/$target"
artifacts="$work/artifacts/$target"
mkdir -p "$artifacts"
if [ ! -d "$corpus" ]; then
  python3 fuzz/make-corpus.py "$work/seeds" build-asan/bin
  mkdir -p "$corpus"
  cp "$work/seeds/$target"/* "$corpus"/
fi

# Leaks are findings; abort (not exit) on UBSan reports so libFuzzer keeps
# the input.
# allow_user_poisoning=0: LLVM's BumpPtrAllocator poisons its slabs when its
# header is compiled with ASan (our code), and libMLIR.so, which is not
# instrumented, then writes into them unpoisoned: a false use-after-poison.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1:allow_user_poisoning=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:abort_on_error=1}"
args=(-max_len="$max_len" -timeout=20 -rss_limit_mb=4096 -malloc_limit_mb=2048
      -print_final_stats=1 -artifact_prefix="$artifacts/")
[ -n "$dict" ] && args+=(-dict="$dict")
exec "$bin" "${args[@]}" "${budget[@]}" "$@" "$corpus"
