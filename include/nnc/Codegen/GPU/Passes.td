//===- Passes.td - GPU code generation passes --------------*- tablegen -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// The NVPTX target: after memory planning, every linalg op of a step becomes
// a kernel in one gpu.module and a launch in the host function; the kernels
// go to PTX, the launches to calls of the CUDA runtime.
//
//===----------------------------------------------------------------------===//

#ifndef NNC_CODEGEN_GPU_PASSES_TD
#define NNC_CODEGEN_GPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def GPULowerAllReduce : Pass<"nnc-gpu-lower-all-reduce", "::mlir::ModuleOp"> {
  let summary = "Make the gradient all-reduce NCCL's, on the step's stream";
  let description = [{
    Runs on buffers, before `nnc-lower-runtime-calls`. The data-parallel
    step's `nn.all_reduce_start`/`wait` reach the target as run-time calls
    of the MPI library (`nncrt_allreduce_start`/`wait`, see
    convert-nn-to-linalg), which work on host memory; on the GPU target the
    bucket is device memory, so each becomes the call of the NCCL runtime
    with the same operands (the bucket, its length, its number):
    `nncrt_nccl_allreduce_start` enqueues `ncclAllReduce` (sum, in place)
    on the CUDA runtime's stream, `nncrt_nccl_allreduce_wait` the division
    by the number of ranks (include/nnc/Runtime/NCCL/NCCLRuntime.h). Both
    run between the step's kernel launches, so a step captured as a CUDA
    graph contains its all-reduces. The packing copies and the gradients'
    views of the bucket stay as they are (kernels and host views).

    ```mlir
    nn.runtime_call "nncrt_allreduce_start" outs(%b : memref<1010xf32>)
        {pointers = array<i64: 0>, scalars = [1010, 0]}
    // becomes
    nn.runtime_call "nncrt_nccl_allreduce_start" outs(%b : memref<1010xf32>)
        {pointers = array<i64: 0>, scalars = [1010, 0]}
    ```

    A call still on tensors is an error: the bucket must be a buffer the
    arena holds.
  }];
}

def GPUBuildKernels : Pass<"nnc-gpu-build-kernels", "::mlir::ModuleOp"> {
  let summary = "Turn every linalg op on buffers into a kernel and a launch";
  let description = [{
    Runs on the host functions after nnc-plan-memory: each linalg op (and
    memref.copy) becomes a `gpu.func` in `gpu.module @nnc_kernels` and a
    `gpu.launch_func` where it was, on the same buffers (arena views and
    caller-owned device buffers), so the memory plan is the CPU target's.

    - Matmuls (the forward x·Wᵀ, the backward δ·W and δᵀ·x, the fused
      update's scaled accumulation) get a tiled kernel: 128×128 or 64×64
      block tiles, 8×8 or 4×4 outputs a thread in vector registers, k tiles
      staged through shared memory (workgroup attributions), 128-bit
      global loads, `vector.fma`; other shapes a guarded 16×16 tile kernel.
      A zero fill right before a matmul is dropped (beta = 0).
    - Reductions (softmax and cross-entropy rows, losses, bias gradients)
      get one block per output element: threads stride over the reduced
      elements, then warp shuffles and shared memory, a fixed tree.
    - Everything else (elementwise maps, fills, copies) one thread an
      element.
    - The CPU runtime's f32 convolution and pooling calls
      (`nn.runtime_call` on buffers): convolutions forward and backward as
      implicit GEMMs on the tiled matmul's structure, the im2col gather in
      guarded loads; pooling as gathers with PyTorch's max-pool tie rule.
      Their geometry comes from the call's scalars; a mismatch with the
      buffers, or a grid beyond CUDA's limits, is a located error.

    Identical ops share one kernel (a recomputation launches the kernel of
    the first forward), so results are bit-identical across checkpoint
    plans. A function that is not straight-line, or an op no builder takes,
    is an error naming it.

    A module pass: it builds the module's gpu.module of kernels, shared by
    every function.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::affine::AffineDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect",
                           // The tensor-core matmuls' nvvm.mma.sync.
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::NVVM::NVVMDialect"];
}

def GPULowerLaunches : Pass<"nnc-gpu-lower-launches", "::mlir::ModuleOp"> {
  let summary = "Replace kernel launches by calls of nnc's CUDA runtime";
  let description = [{
    Runs after `gpu-module-to-binary{format=isa}`: the PTX of `chip` is kept
    as a constant string of the host module and every `gpu.launch_func`
    becomes a call of `nncrt_cuda_launch(ptx, kernel index, kernel name,
    grid, block, parameters)` (include/nnc/Runtime/CUDA/CUDARuntime.h),
    whose parameters are the buffers' device addresses. The runtime loads
    the module, and resolves all its kernels, once, on first use. MLIR's own
    `gpu-to-llvm` host code loads, JIT-compiles and unloads the module
    around every launch in LLVM 19, so nnc does not use it. Each function
    that launches and returns nothing (every entry point after
    buffer-results-to-out-params) is bracketed by
    `nncrt_cuda_step_begin(ptx, function index, buffer addresses, count)`
    and `nncrt_cuda_step_end(ptx, function index)`: when step_begin
    replayed a CUDA graph captured for these buffers, the function's
    launches are skipped; otherwise the runtime captures them. No other
    function is added.

    A module pass: it reads the module's gpu.binary and declares the
    runtime's functions in the module.
  }];
  let options = [
    Option<"chip", "chip", "std::string", /*default=*/"\"sm_90\"",
           "The target whose PTX is embedded">,
  ];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect"];
}

#endif // NNC_CODEGEN_GPU_PASSES_TD
