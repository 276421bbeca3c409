//===- Pipeline.cpp - the GPU target's code generation --------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Codegen/GPU/Pipeline.h"

#include "nnc/Codegen/Common/Passes.h"
#include "nnc/Codegen/Common/Pipelines.h"
#include "nnc/Codegen/GPU/Passes.h"

#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "llvm/Support/FileSystem.h"

#include <cstdlib>

using namespace mlir;
using namespace mlir::nnc;
namespace cl = llvm::cl;

void GPUCodegenOptions::bind(::nnc::OptionsBinder &b) {
  b.opt("chip", chip, cl::desc("The NVPTX chip of the GPU target"));
  b.opt("cuda-path", cudaPath,
        cl::desc("CUDA toolkit whose libdevice the GPU target links and "
                 "whose ptxas checks its PTX (default: $CUDA_PATH, else "
                 "/usr/local/cuda)"));
}

llvm::Error GPUCodegenOptions::validate() const {
  if (!cudaPath.empty() && !llvm::sys::fs::is_directory(cudaPath))
    return llvm::createStringError("--cuda-path '" + cudaPath +
                                   "' is not a directory");
  return llvm::Error::success();
}

std::string GPUCodegenOptions::getToolkitPath() const {
  if (!cudaPath.empty())
    return cudaPath;
  if (const char *env = std::getenv("CUDA_PATH"); env && *env)
    return env;
  return "/usr/local/cuda";
}

void mlir::nnc::buildGPUCodegenPipeline(OpPassManager &pm,
                                        const GPUCodegenOptions &opts) {
  pm.addPass(createStripNNAttributes());
  // The gradient all-reduce of a data-parallel step: NCCL's, on the
  // runtime's stream (the MPI runtime's reads host memory).
  pm.addPass(createGPULowerAllReduce());
  // Every linalg op of a step: a kernel of one gpu.module and a launch on
  // the same buffers, so the arena is the CPU target's. Run-time calls the
  // GPU computes itself (the bf16 GEMM: tensor cores; the f32 convolutions
  // and pooling: implicit GEMMs and gathers) become kernels too.
  pm.addPass(createGPUBuildKernels());
  // Library primitives the GPU runtimes have (the NCCL all-reduce only: a
  // CPU primitive left, a bf16 convolution, is an error here, located,
  // rather than a host call on device memory).
  LowerRuntimeCallsOptions calls;
  calls.target = Target::NVPTX;
  pm.addPass(createLowerRuntimeCalls(calls));
  // Inside the kernels: scf, vector, memref and affine to LLVM first
  // (convert-gpu-to-nvvm lowers only gpu ops), bare pointers for 128-bit
  // loads and one parameter per buffer; math ops with libdevice functions
  // (exp, log, tanh, erf) become those, then the rest (fma) intrinsics.
  addTextualPipeline(
      pm, "gpu.module(convert-vector-to-scf,convert-scf-to-cf,lower-affine,"
          "expand-strided-metadata,convert-nvgpu-to-nvvm,"
          "convert-vector-to-llvm,"
          "convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1},"
          "convert-math-to-llvm,convert-arith-to-llvm,convert-index-to-llvm,"
          "canonicalize,cse,"
          "reconcile-unrealized-casts)");
  // To PTX for the chip (the driver compiles it when the module loads).
  addTextualPipeline(pm, "nvvm-attach-target{chip=" + opts.getChipName().str() +
                             " features=+ptx80 O=3}");
  // The toolkit's libdevice (nvvm/libdevice/libdevice.10.bc) is linked in
  // when present; without it the kernels' __nv_* calls stay unresolved and
  // nnc-gpu-lower-launches reports them. Built as an object, not text: the
  // path may hold characters the pipeline syntax reserves.
  GpuModuleToBinaryPassOptions binary;
  binary.toolkitPath = opts.getToolkitPath();
  binary.compilationTarget = "isa";
  pm.addPass(createGpuModuleToBinaryPass(binary));
  // Launches as calls of nnc's CUDA runtime, the PTX embedded as a string.
  GPULowerLaunchesOptions launches;
  launches.chip = opts.getChipName().str();
  pm.addPass(createGPULowerLaunches(launches));
  buildHostToLLVMPipeline(pm);
}
