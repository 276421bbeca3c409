#!/usr/bin/env bash
#===- scripts/gpu-check.sh - the GPU target on a machine with a GPU --------===#
#
# Usage, with LLVM and nnc here and a GPU machine reachable as the device:
#   bash scripts/gpu-check.sh --prepare     # here: build, compile the models
#                                           # into gpu-artifacts/, compute the
#                                           # CPU path's answers
#   bash scripts/gpu-check.sh               # there: run gpu-artifacts/
# The run checks every GPU entry point against the CPU path (1e-5), that a
# step allocates nothing beyond the planned arena and replays as a CUDA
# graph, then prints nnc against PyTorch (CUDA, FP32): the deep MLP at batch
# 256 and 4096, its matmul against cuBLAS, and dp at half memory against
# checkpoint_sequential. Under 5 minutes on an H200. Without a GPU it says
# why and exits 0.
#
#===----------------------------------------------------------------------===#
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
if [ "${1:-}" = "--prepare" ]; then
  [ -x build/bin/nnc-compile ] || bash scripts/build.sh
  rm -rf gpu-artifacts
  exec /usr/bin/python3 benchmarks/gpu/check.py --prepare gpu-artifacts \
    --build build "${@:2}"
fi
py=python3
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import torch' 2>/dev/null && py=/usr/bin/python3
exec timeout 300 "$py" benchmarks/gpu/check.py --run gpu-artifacts "$@"
