#!/usr/bin/env bash
#===- scripts/build.sh - set up, configure and build nnc ------------------===#
#
# One build directory (build/), clang-19 + lld, Ninja. Re-running only
# rebuilds what changed.
#
#===----------------------------------------------------------------------===#
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
if [ ! -f build/build.ninja ]; then
  cmake -G Ninja -S . -B build \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
    -DLLVM_USE_LINKER=lld \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-19/build/utils/lit/lit.py
fi
ninja -C build -j"${NNC_JOBS:-$(nproc)}" "$@"
