//===- OutlineKernels.cpp - one private function per distinct linalg op ---===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Codegen/CPU/Passes.h"

#include "nnc/Codegen/Common/KernelSet.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/RegionUtils.h"

namespace mlir::nnc {
#define GEN_PASS_DEF_OUTLINEKERNELS
#include "nnc/Codegen/CPU/Passes.h.inc"
} // namespace mlir::nnc

using namespace mlir;

/// What the bare-pointer calling convention can pass: identity-layout,
/// static memrefs, and scalars.
static bool passable(Type type) {
  if (auto memref = dyn_cast<MemRefType>(type))
    return memref.hasStaticShape() && memref.getLayout().isIdentity();
  return type.isIntOrIndexOrFloat();
}

namespace {
struct OutlineKernelsPass
    : public mlir::nnc::impl::OutlineKernelsBase<OutlineKernelsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<linalg::LinalgOp> ops;
    for (auto fn : module.getOps<func::FuncOp>())
      fn.walk([&](linalg::LinalgOp op) {
        if (op.hasPureBufferSemantics() &&
            llvm::all_of(op->getOperandTypes(), passable))
          ops.push_back(op);
      });

    MLIRContext *ctx = module.getContext();
    SymbolTable symbols(module);
    // Identical ops (a layer and its recomputations) share one kernel.
    mlir::nnc::KernelSet kernels;
    unsigned count = 0;
    for (linalg::LinalgOp op : ops) {
      Location loc = op.getLoc();
      // Values the op's body reads from outside: constants are copied in
      // (they are part of what the kernel computes), the rest are passed.
      llvm::SetVector<Value> captured;
      getUsedValuesDefinedAbove(op->getRegions(), captured);
      SmallVector<Value> args(op->getOperands());
      SmallVector<Operation *> constants;
      bool outlinable = true;
      for (Value v : captured) {
        Operation *def = v.getDefiningOp();
        if (def && def->hasTrait<OpTrait::ConstantLike>())
          constants.push_back(def);
        else if (passable(v.getType()))
          args.push_back(v);
        else
          outlinable = false; // cannot be passed: leave the op in place
      }
      if (!outlinable)
        continue;

      OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
      SmallVector<Type> types;
      for (Value v : args)
        types.push_back(v.getType());
      auto kernel = b.create<func::FuncOp>(loc, "__nnc_kernel",
                                           b.getFunctionType(types, {}));
      kernel.setPrivate();
      Block *entry = kernel.addEntryBlock();
      b.setInsertionPointToEnd(entry);
      IRMapping map;
      map.map(args, entry->getArguments());
      for (Operation *c : constants)
        b.clone(*c, map);
      b.clone(*op, map);
      b.create<func::ReturnOp>(loc);

      // Internal: not part of the library's interface. noinline: LLVM
      // would otherwise inline the small ones back into the step.
      kernel->setAttr("llvm.linkage",
                      LLVM::LinkageAttr::get(ctx, LLVM::Linkage::Internal));
      kernel->setAttr("passthrough",
                      b.getArrayAttr({b.getStringAttr("noinline")}));
      auto shared = cast<func::FuncOp>(kernels.lookupOrInsert(kernel));
      if (shared == kernel) {
        kernel.setName(("__nnc_kernel_" + Twine(count++)).str());
        symbols.insert(kernel);
      } else {
        kernel.erase();
      }
      OpBuilder at(op);
      at.create<func::CallOp>(loc, shared, args);
      op->erase();
    }
  }
};
} // namespace
