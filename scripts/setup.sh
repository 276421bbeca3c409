#!/usr/bin/env bash
#===- scripts/setup.sh - install what nnc builds and tests with -----------===#
#
# Idempotent: installs the Debian packages the build, the tests and the
# benchmarks need. Safe to run on a machine that already has them.
#
#===----------------------------------------------------------------------===#
set -euo pipefail

PKGS=(
  # LLVM/MLIR 19 and the tools lit tests use (FileCheck, not, mlir-cpu-runner).
  llvm-19-dev llvm-19-tools libmlir-19-dev mlir-19-tools clang-19 lld-19
  # The sanitizer build's runtimes (ASan, UBSan, libFuzzer: scripts/sanitize.sh).
  libclang-rt-19-dev
  # Build.
  cmake ninja-build g++ libgtest-dev libgmock-dev
  # The CPU target's GEMM (oneDNN picks kernels by CPU features).
  libdnnl-dev
  # The ONNX importer: libonnx and protobuf (the C++ runtime; protoc for
  # ONNXConfig.cmake's find_dependency).
  libonnx-dev libprotobuf-dev protobuf-compiler
  # Data-parallel training (docs/Distributed.md): Open MPI and mpirun.
  openmpi-bin libopenmpi-dev
  # Oracles and peers: PyTorch autograd, ONNX; an optimized BLAS for the
  # PyTorch peer (without it Debian's torch runs the reference BLAS).
  python3-torch python3-onnx python3-numpy python3-threadpoolctl
  libopenblas0-pthread
  # The benchmarks' figures (benchmarks/train/large_batch.py).
  python3-matplotlib
  # The main job's data: Fashion-MNIST as gzipped IDX files under
  # /usr/share/datasets/fashion-mnist.
  dataset-fashion-mnist
  # lit itself is run from llvm-19-tools' lit.py; it needs these.
  python3-setuptools
  # Compiler-rt for zlib/zstd used by libLLVM's cmake exports.
  zlib1g-dev libzstd-dev libedit-dev libcurl4-openssl-dev libxml2-dev
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done

if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all packages present"
fi
