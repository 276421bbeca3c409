//===- LowerAllReduce.cpp - the gradient all-reduce over NCCL -------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// The target-independent lowering of nn.all_reduce_start/wait
// (convert-nn-to-linalg) names the MPI runtime's functions, whose C
// signature (bucket, count, number) the NCCL runtime's share: on the GPU
// target only the callee changes, and nnc-lower-runtime-calls checks the
// operands against the NCCL row of the ABI table as for any call.
//
//===----------------------------------------------------------------------===//

#include "nnc/Codegen/GPU/Passes.h"

#include "nnc/Codegen/Common/RuntimeABI.h"
#include "nnc/Dialect/NN/IR/NNOps.h"

namespace mlir::nnc {
#define GEN_PASS_DEF_GPULOWERALLREDUCE
#include "nnc/Codegen/GPU/Passes.h.inc"
} // namespace mlir::nnc

using namespace mlir;
using namespace mlir::nnc;

/// The NCCL counterpart of the data-parallel library's function `fn`.
static std::optional<RuntimeFunction> ncclCounterpart(RuntimeFunction fn) {
  switch (fn) {
  case RuntimeFunction::AllReduceStart:
    return RuntimeFunction::NCCLAllReduceStart;
  case RuntimeFunction::AllReduceWait:
    return RuntimeFunction::NCCLAllReduceWait;
  default:
    return std::nullopt;
  }
}

namespace {
struct GPULowerAllReducePass
    : public mlir::nnc::impl::GPULowerAllReduceBase<GPULowerAllReducePass> {
  void runOnOperation() override {
    WalkResult result = getOperation().walk([&](RuntimeCallOp call) {
      const RuntimeFunctionInfo *info = lookupRuntimeFunction(call.getCallee());
      std::optional<RuntimeFunction> nccl =
          info ? ncclCounterpart(info->id) : std::nullopt;
      if (!nccl)
        return WalkResult::advance();
      if (call.getNumResults() != 0) {
        call.emitOpError("must be bufferized before the all-reduce is "
                         "lowered: NCCL reduces a bucket the arena holds");
        return WalkResult::interrupt();
      }
      call.setCallee(getRuntimeFunctionInfo(*nccl).name);
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace
