#!/usr/bin/env bash
#===- scripts/gpu-check.sh - the GPU target on a machine with a GPU --------===#
#
# Usage, with LLVM and nnc here and a GPU machine reachable as the device:
#   bash scripts/gpu-check.sh --prepare     # here: build nnc-compile and the
#                                           # CUDA runtime, compile the models
#                                           # into gpu-artifacts/ (the runtime
#                                           # is inside each .so), compute the
#                                           # CPU path's answers
#   bash scripts/gpu-check.sh --smoke       # there: the runtime's paths once
#                                           # each, in under a minute (graphs
#                                           # off/on, two buffer sets, a second
#                                           # thread); for compute-sanitizer
#   bash scripts/gpu-check.sh               # there: run gpu-artifacts/
# The run checks every GPU entry point against the CPU path (1e-5), that a
# step allocates nothing beyond the planned arena once warmed up and
# replays as a CUDA graph, prints that verdict, then nnc against PyTorch
# (CUDA, FP32): the deep MLP at batch 256 and 4096, its matmul against
# cuBLAS, dp at half memory against checkpoint_sequential, and last
# torch.compile. Under 5 minutes on an H200. Without a GPU it says why and
# exits 0. The GPU machine needs only gpu-artifacts/, benchmarks/gpu and
# test/Oracle/Inputs, Python with numpy (and PyTorch for the table).
#
#===----------------------------------------------------------------------===#
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
if [ "${1:-}" = "--prepare" ]; then
  if [ -f build/build.ninja ]; then
    # Up to date, not merely present: the artifacts embed the runtime.
    ninja -C build nnc-compile NNCRuntimeCUDA NNCRuntimeCUDAShared
  else
    bash scripts/build.sh
  fi
  rm -rf gpu-artifacts
  exec /usr/bin/python3 -u benchmarks/gpu/check.py --prepare gpu-artifacts \
    --build build "${@:2}"
fi
py=python3
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import torch' 2>/dev/null && py=/usr/bin/python3
if [ "${1:-}" = "--smoke" ]; then
  exec timeout 60 "$py" -u benchmarks/gpu/check.py --smoke gpu-artifacts "${@:2}"
fi
# -u: a timeout still leaves the verdicts printed before it.
exec timeout 300 "$py" -u benchmarks/gpu/check.py --run gpu-artifacts "$@"
