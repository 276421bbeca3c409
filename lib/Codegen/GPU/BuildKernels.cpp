//===- BuildKernels.cpp - linalg ops on buffers to kernels and launches ---===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Codegen/GPU/Passes.h"

#include "nnc/Codegen/Common/KernelSet.h"

#include "ConvolutionKernels.h"
#include "KernelBuilder.h"

#include "nnc/Dialect/NN/IR/NNOps.h"

#include "mlir/IR/Matchers.h"

namespace mlir::nnc {
#define GEN_PASS_DEF_GPUBUILDKERNELS
#include "nnc/Codegen/GPU/Passes.h.inc"
} // namespace mlir::nnc

using namespace mlir;
using namespace mlir::nnc;

static constexpr StringLiteral kKernelModule = "nnc_kernels";
/// The CPU's mixed-precision GEMM call, a tensor-core kernel here.
static constexpr StringLiteral kGemmBF16 = "nncrt_gemm_bf16";

/// True if `op` is a zero fill the matmul after it absorbs (beta = 0):
/// it stays until that matmul's kernel is built, which erases it.
static bool absorbedByNextMatmul(Operation *op) {
  auto next = dyn_cast_or_null<linalg::LinalgOp>(op->getNextNode());
  if (!next || !next.hasPureBufferSemantics())
    return false;
  std::optional<MatmulOperands> mm = matchMatmul(next, /*allowBF16=*/true);
  return mm && isZeroFillOf(op, mm->out);
}

/// Ops a host function keeps: they only compute addresses and sizes, or
/// call another host function or the runtime (the all-reduce, with the
/// address arithmetic of its arguments). Views of a buffer (an all-reduce
/// bucket's gradients: subviews, casts, reshapes) are addresses the
/// launches take.
static bool staysOnHost(Operation *op) {
  return isa<memref::ViewOp, func::ReturnOp, func::CallOp, memref::GetGlobalOp,
             memref::SubViewOp, memref::CastOp, memref::CollapseShapeOp,
             memref::ExpandShapeOp, memref::ExtractAlignedPointerAsIndexOp,
             arith::AddIOp, arith::IndexCastOp, LLVM::IntToPtrOp,
             LLVM::ZeroOp>(op) ||
         op->hasTrait<OpTrait::ConstantLike>() ||
         // Run-time calls without a kernel here (the NCCL all-reduce), for
         // nnc-lower-runtime-calls after this pass.
         (isa<RuntimeCallOp>(op) &&
          cast<RuntimeCallOp>(op).getCallee() != kGemmBF16 &&
          !gpu_codegen::hasLibraryKernel(cast<RuntimeCallOp>(op)));
}

namespace {
struct GPUBuildKernelsPass
    : public mlir::nnc::impl::GPUBuildKernelsBase<GPUBuildKernelsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                    UnitAttr::get(ctx));
    OpBuilder top = OpBuilder::atBlockEnd(module.getBody());
    auto kernels = top.create<gpu::GPUModuleOp>(module.getLoc(), kKernelModule);
    SymbolTable symbols(kernels);
    OpBuilder mb = OpBuilder::atBlockBegin(kernels.getBody());
    // Identical ops (a layer and its recomputations) share one kernel.
    KernelSet kernelSet;
    unsigned count = 0;

    for (auto fn : llvm::to_vector(module.getOps<func::FuncOp>())) {
      if (fn.isExternal())
        continue;
      if (!fn.getBody().hasOneBlock()) {
        fn.emitError("the GPU target needs straight-line functions");
        return signalPassFailure();
      }
      for (Operation &op : llvm::make_early_inc_range(fn.getBody().front())) {
        if (staysOnHost(&op) || absorbedByNextMatmul(&op))
          continue;
        FailureOr<gpu_codegen::Launch> launch = build(mb, &op, count);
        // A library call's builder says itself why it has no kernel.
        if (failed(launch) && isa<RuntimeCallOp>(op) &&
            gpu_codegen::hasLibraryKernel(cast<RuntimeCallOp>(op)))
          return signalPassFailure();
        if (failed(launch)) {
          op.emitOpError("has no GPU kernel: the GPU target runs linalg "
                         "ops on buffers (matmuls, reductions, elementwise "
                         "maps) and memref.copy");
          return signalPassFailure();
        }
        // The driver refuses a launch beyond CUDA's grid limits, at run
        // time and on the GPU only: refuse it here, at the op.
        using gpu_codegen::kMaxGridX, gpu_codegen::kMaxGridYZ;
        if (launch->grid[0] > kMaxGridX || launch->grid[1] > kMaxGridYZ ||
            launch->grid[2] > kMaxGridYZ) {
          op.emitOpError("needs a grid of ")
              << launch->grid[0] << "×" << launch->grid[1] << "×"
              << launch->grid[2] << " blocks, beyond CUDA's limits ("
              << kMaxGridX << "×" << kMaxGridYZ << "×" << kMaxGridYZ << ")";
          return signalPassFailure();
        }
        // Constant globals (the gradient seed, say) are host memory: the
        // kernel reads a copy of the global in the gpu.module instead.
        localizeGlobals(module, kernels, *launch);
        gpu::GPUFuncOp kernel = launch->kernel;
        auto shared = cast<gpu::GPUFuncOp>(kernelSet.lookupOrInsert(kernel));
        if (shared == kernel) {
          symbols.insert(kernel);
          ++count;
        } else {
          kernel.erase();
          kernel = shared;
        }
        OpBuilder b(&op);
        Location loc = op.getLoc();
        auto dim = [&](const std::array<int64_t, 3> &d) {
          return gpu::KernelDim3{b.create<arith::ConstantIndexOp>(loc, d[0]),
                                 b.create<arith::ConstantIndexOp>(loc, d[1]),
                                 b.create<arith::ConstantIndexOp>(loc, d[2])};
        };
        b.create<gpu::LaunchFuncOp>(loc, kernel, dim(launch->grid),
                                    dim(launch->block), Value(),
                                    launch->operands);
        op.erase();
      }
    }
    if (count == 0)
      kernels.erase();
  }

  /// Replaces kernel arguments that are constant globals of the host
  /// module by reads of the same global copied into `kernels`.
  void localizeGlobals(ModuleOp module, gpu::GPUModuleOp kernels,
                       gpu_codegen::Launch &launch) {
    gpu::GPUFuncOp kernel = launch.kernel;
    for (int64_t i = launch.operands.size() - 1; i >= 0; --i) {
      auto get = launch.operands[i].getDefiningOp<memref::GetGlobalOp>();
      if (!get)
        continue;
      if (!kernels.lookupSymbol(get.getName())) {
        auto global = module.lookupSymbol<memref::GlobalOp>(get.getName());
        OpBuilder::atBlockBegin(kernels.getBody()).clone(*global);
      }
      OpBuilder b = OpBuilder::atBlockBegin(&kernel.getBody().front());
      Value local = b.create<memref::GetGlobalOp>(get.getLoc(), get.getType(),
                                                  get.getName());
      kernel.getArgument(i).replaceAllUsesWith(local);
      kernel.eraseArgument(i);
      launch.operands.erase(launch.operands.begin() + i);
    }
  }

  /// Builds the kernel for `op` (the zero fill a matmul absorbs goes too).
  FailureOr<gpu_codegen::Launch> build(OpBuilder &mb, Operation *op,
                                       unsigned count) {
    std::string name;
    auto named = [&](StringRef kind) {
      name = (kind + "_" + Twine(count)).str();
      return StringRef(name);
    };
    if (auto copy = dyn_cast<memref::CopyOp>(op)) {
      // The same semantics as linalg.copy on identity layouts.
      OpBuilder b(op);
      auto lcopy = b.create<linalg::CopyOp>(op->getLoc(), copy.getSource(),
                                            copy.getTarget());
      auto launch =
          gpu_codegen::buildElementwiseKernel(mb, named("copy"), lcopy);
      lcopy.erase();
      return launch;
    }
    // The CPU runtime's convolutions and pooling, on the same buffers.
    if (auto call = dyn_cast<RuntimeCallOp>(op);
        call && gpu_codegen::hasLibraryKernel(call))
      return gpu_codegen::buildLibraryKernel(
          mb, named(call.getCallee().contains("conv") ? "conv" : "pool"),
          call);
    if (isa<RuntimeCallOp>(op))
      return gpu_codegen::buildGemmCallKernel(mb, named("matmul"), op);
    auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
    if (!linalgOp || !linalgOp.hasPureBufferSemantics())
      return failure();
    if (auto mm = matchMatmul(linalgOp, /*allowBF16=*/true)) {
      double beta = 1.0;
      if (Operation *prev = op->getPrevNode(); isZeroFillOf(prev, mm->out)) {
        prev->erase();
        beta = 0.0;
      }
      return gpu_codegen::buildMatmulKernel(mb, named("matmul"), *mm, beta,
                                            op->getLoc());
    }
    if (linalgOp.getNumReductionLoops() > 0) {
      auto generic = dyn_cast<linalg::GenericOp>(op);
      if (!generic)
        return failure();
      return gpu_codegen::buildReductionKernel(mb, named("reduce"), generic);
    }
    return gpu_codegen::buildElementwiseKernel(mb, named("map"), linalgOp);
  }
};
} // namespace
