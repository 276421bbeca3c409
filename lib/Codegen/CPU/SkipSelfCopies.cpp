//===- SkipSelfCopies.cpp - no copy of an argument onto itself ------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Codegen/CPU/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace mlir::nnc {
#define GEN_PASS_DEF_SKIPSELFCOPIES
#include "nnc/Codegen/CPU/Passes.h.inc"
} // namespace mlir::nnc

using namespace mlir;

/// The (source, destination) argument numbers of a kernel that only copies
/// one of its arguments into another.
static std::optional<std::pair<unsigned, unsigned>>
getCopiedArguments(func::FuncOp kernel) {
  if (kernel.isExternal() || !kernel.getBody().hasOneBlock())
    return std::nullopt;
  Block &body = kernel.getBody().front();
  if (body.getOperations().size() != 2)
    return std::nullopt;
  auto copy = dyn_cast<linalg::CopyOp>(body.front());
  if (!copy || !copy.hasPureBufferSemantics())
    return std::nullopt;
  auto from = dyn_cast<BlockArgument>(copy.getInputs()[0]);
  auto to = dyn_cast<BlockArgument>(copy.getOutputs()[0]);
  if (!from || !to || from.getOwner() != &body || to.getOwner() != &body)
    return std::nullopt;
  return std::make_pair(from.getArgNumber(), to.getArgNumber());
}

/// True if `v` is an argument of the function that holds `call`.
static bool isCallerArgument(Value v, func::CallOp call) {
  auto arg = dyn_cast<BlockArgument>(v);
  auto caller = call->getParentOfType<func::FuncOp>();
  return arg && caller && arg.getOwner() == &caller.getBody().front();
}

namespace {
struct SkipSelfCopiesPass
    : public mlir::nnc::impl::SkipSelfCopiesBase<SkipSelfCopiesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    SmallVector<func::CallOp> calls;
    module.walk([&](func::CallOp call) { calls.push_back(call); });
    for (func::CallOp call : calls) {
      auto kernel = symbols.lookup<func::FuncOp>(call.getCallee());
      std::optional<std::pair<unsigned, unsigned>> copied =
          kernel ? getCopiedArguments(kernel) : std::nullopt;
      if (!copied)
        continue;
      Value from = call.getOperand(copied->first);
      Value to = call.getOperand(copied->second);
      if (!isCallerArgument(from, call) || !isCallerArgument(to, call))
        continue;
      OpBuilder b(call);
      Location loc = call.getLoc();
      Value fromAddress =
          b.create<memref::ExtractAlignedPointerAsIndexOp>(loc, from);
      Value toAddress =
          b.create<memref::ExtractAlignedPointerAsIndexOp>(loc, to);
      Value differ = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ne,
                                             fromAddress, toAddress);
      auto guard = b.create<scf::IfOp>(loc, differ, /*withElseRegion=*/false);
      call->moveBefore(guard.thenBlock()->getTerminator());
    }
  }
};
} // namespace
