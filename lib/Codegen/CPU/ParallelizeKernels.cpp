//===- ParallelizeKernels.cpp - kernels over a range of one loop ----------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Codegen/CPU/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::nnc {
#define GEN_PASS_DEF_PARALLELIZEKERNELS
#include "nnc/Codegen/CPU/Passes.h.inc"
} // namespace mlir::nnc

using namespace mlir;

/// The kernel's one linalg op, if its body is that op and a return.
static linalg::LinalgOp getSoleOp(func::FuncOp kernel) {
  if (kernel.isExternal() || !kernel.getBody().hasOneBlock())
    return {};
  linalg::LinalgOp sole;
  for (Operation &op : kernel.getBody().front()) {
    if (isa<func::ReturnOp>(op) || op.hasTrait<OpTrait::ConstantLike>())
      continue;
    auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
    if (!linalgOp || sole)
      return {};
    sole = linalgOp;
  }
  return sole;
}

/// The first loop dimension whose distinct values write distinct elements
/// (it is parallel and a whole result of every output's indexing map) and
/// that has at least two iterations, if any: the dimension to split. d0 for
/// elementwise ops; the column of a reduction over rows (a bias gradient),
/// whose rows then stay the outer loop and keep their order.
static std::optional<unsigned> getSplitDim(linalg::LinalgOp op,
                                           ArrayRef<int64_t> ranges) {
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  for (unsigned d = 0; d < iterators.size(); ++d) {
    AffineExpr dim = getAffineDimExpr(d, op.getContext());
    if (iterators[d] == utils::IteratorType::parallel && ranges[d] >= 2 &&
        llvm::all_of(op.getDpsInitsMutable(), [&](OpOperand &init) {
          return llvm::is_contained(
              op.getMatchingIndexingMap(&init).getResults(), dim);
        }))
      return d;
  }
  return std::nullopt;
}

namespace {
struct ParallelizeKernelsPass
    : public mlir::nnc::impl::ParallelizeKernelsBase<ParallelizeKernelsPass> {
  using ParallelizeKernelsBase::ParallelizeKernelsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (minElements < 1 || grainElements < 1) {
      module.emitError("nnc-parallelize-kernels: min-elements and "
                       "grain-elements must be positive");
      return signalPassFailure();
    }
    if (failed(mlir::nnc::checkReductionLanes(module, reductionLanes)))
      return signalPassFailure();
    IRRewriter rewriter(&getContext());
    for (auto kernel :
         llvm::make_early_inc_range(module.getOps<func::FuncOp>())) {
      if (!kernel.isPrivate() || kernel->hasAttr(kAttr))
        continue;
      linalg::LinalgOp op = getSoleOp(kernel);
      if (!op || !op.hasPureBufferSemantics())
        continue;
      SmallVector<int64_t> ranges = op.getStaticLoopRanges();
      if (llvm::any_of(ranges, ShapedType::isDynamic))
        continue;
      std::optional<unsigned> dim = getSplitDim(op, ranges);
      if (!dim)
        continue;
      // The product saturates: a space this large is split anyway.
      int64_t points = 1;
      for (int64_t r : ranges)
        points = r == 0 ? 0 : (points > INT64_MAX / r ? INT64_MAX : points * r);
      int64_t extent = ranges[*dim];
      if (points < minElements)
        continue;
      std::optional<SymbolTable::UseRange> uses =
          SymbolTable::getSymbolUses(kernel, module);
      if (!uses || llvm::any_of(*uses, [](const SymbolTable::SymbolUse &u) {
            return !isa<func::CallOp>(u.getUser());
          }))
        continue; // only direct calls can pass the range

      // The kernel takes the values [lo, hi) of the split dimension.
      Location loc = op.getLoc();
      Type index = rewriter.getIndexType();
      unsigned n = kernel.getNumArguments();
      kernel.insertArguments({n, n}, {index, index}, {{}, {}}, {loc, loc});
      rewriter.setInsertionPoint(op);
      // One scf.for per loop dimension, outermost first; an f64 sum keeps
      // its trailing reduction loops vectorised inside (never the split
      // dimension, which is parallel).
      FailureOr<SmallVector<Operation *>> loops =
          mlir::nnc::lowerLaneReductionToLoops(rewriter, op, reductionLanes);
      if (failed(loops)) {
        FailureOr<linalg::LinalgLoops> plain =
            linalg::linalgOpToLoops(rewriter, op);
        if (succeeded(plain) && plain->size() == ranges.size()) {
          loops = SmallVector<Operation *>(plain->begin(), plain->end());
          rewriter.eraseOp(op);
        }
      }
      if (failed(loops) || *dim >= loops->size() ||
          !isa<scf::ForOp>((*loops)[*dim])) {
        kernel.emitError("nnc-parallelize-kernels: could not lower to loops");
        return signalPassFailure();
      }
      auto split = cast<scf::ForOp>((*loops)[*dim]);
      split.setLowerBound(kernel.getArgument(n));
      split.setUpperBound(kernel.getArgument(n + 1));
      // ceil(grain-elements / points per value), without overflow for any
      // option value.
      int64_t perValue = std::max<int64_t>(points / extent, 1);
      int64_t grain = std::max<int64_t>(1, grainElements / perValue +
                                               (grainElements % perValue != 0));
      kernel->setAttr(kAttr, rewriter.getI64IntegerAttr(grain));

      for (const SymbolTable::SymbolUse &use : *uses) {
        auto call = cast<func::CallOp>(use.getUser());
        rewriter.setInsertionPoint(call);
        Value lo = rewriter.create<arith::ConstantIndexOp>(call.getLoc(), 0);
        Value hi =
            rewriter.create<arith::ConstantIndexOp>(call.getLoc(), extent);
        call->insertOperands(call->getNumOperands(), {lo, hi});
      }
    }
  }

  static constexpr StringLiteral kAttr = "nnc.parallel_grain";
};
} // namespace
