#!/usr/bin/env bash
#===- scripts/sanitize.sh - the ASan + UBSan build and what CI runs in it -===#
#
#   scripts/sanitize.sh [--build-only]
#
# A second build directory, build-asan/, with AddressSanitizer,
# UndefinedBehaviorSanitizer and libFuzzer's coverage (LLVM's own
# LLVM_USE_SANITIZER / LLVM_USE_SANITIZE_COVERAGE). It builds the tools,
# the unit tests and the fuzz targets, then runs
#   1. every unit test and the lit tests that drive the tools in-process
#      (the directories below: IR passes, pipelines, importers, the
#      planner's and compiler's command lines) under the sanitizers;
#   2. each fuzz target for a fixed number of executions over its corpus
#      (NNC_FUZZ_RUNS, default 20000), so a regression shows up in CI.
# Tests that link compiled models into a program or load them into Python
# stay in the main build: their runtime library here is instrumented. So
# does nnc-compile.test, whose measured cost model times code: the
# sanitizers' overhead makes those times too noisy to compare.
# Budget on the 2-core CI machine: docs/Fuzzing.md.
#
#===----------------------------------------------------------------------===#
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
if [ ! -f build-asan/build.ninja ]; then
  cmake -G Ninja -S . -B build-asan \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
    -DLLVM_USE_LINKER=lld \
    -DLLVM_USE_SANITIZER="Address;Undefined" \
    -DLLVM_USE_SANITIZE_COVERAGE=ON \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-19/build/utils/lit/lit.py
fi
ninja -C build-asan -j"${NNC_JOBS:-$(nproc)}" \
  nnc-opt nnc-plan nnc-compile nnc-translate \
  PlannerTests MemoryTests FrontendTests ExecutionEngineTests RuntimeTests \
  CAPITests \
  nnc-ir-fuzzer nnc-planner-fuzzer nnc-onnx-fuzzer nnc-files-fuzzer \
  nnc-capi-fuzzer
[ "${1:-}" = "--build-only" ] && exit 0

# allow_user_poisoning=0: see scripts/fuzz.sh.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:allow_user_poisoning=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
python3 /usr/lib/llvm-19/build/utils/lit/lit.py -sv \
  build-asan/test/Unit build-asan/test/Dialect build-asan/test/Transforms \
  build-asan/test/Conversion build-asan/test/Codegen \
  build-asan/test/Pipeline build-asan/test/Frontend \
  build-asan/test/Tools/nnc-plan build-asan/test/Tools/nnc-compile-limits.test \
  build-asan/test/Tools/nnc-opt.test build-asan/test/Fuzz

for target in ir planner onnx files capi; do
  echo "sanitize: fuzzing $target for ${NNC_FUZZ_RUNS:-20000} executions"
  log="build-asan/fuzz/$target.log"
  mkdir -p build-asan/fuzz
  if ! bash scripts/fuzz.sh "$target" --runs="${NNC_FUZZ_RUNS:-20000}" -seed=1 >"$log" 2>&1; then
    tail -60 "$log"
    echo "sanitize: fuzz target $target failed (artifacts in build-asan/fuzz/artifacts/$target)"
    exit 1
  fi
  grep -E "^(Done|stat::)" "$log" || tail -5 "$log"
done
echo "sanitize: clean"
