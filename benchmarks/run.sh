#!/usr/bin/env bash
#===- benchmarks/run.sh - nnc against its peers, one table ----------------===#
#
# Builds nnc if needed, then prints the CPU table (benchmarks/cpu/bench.py):
# training steps, checkpointing at PyTorch's best memory point, matmuls
# against every BLAS here, and the planner's predicted step times. Pass
# --quick for a short smoke run. Not part of the tests: timings are read,
# never asserted.
#
#===----------------------------------------------------------------------===#
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
[ -x build/bin/nnc-compile ] || bash scripts/build.sh
exec /usr/bin/python3 benchmarks/cpu/bench.py --build build "$@"
