//===- InsertAllReduce.cpp - bucketed gradient all-reduce in the step ----===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Dialect/NN/Transforms/Passes.h"

#include "llvm/ADT/SetVector.h"

namespace mlir::nnc {
#define GEN_PASS_DEF_INSERTALLREDUCE
#include "nnc/Dialect/NN/Transforms/Passes.h.inc"
} // namespace mlir::nnc

using namespace mlir;
using namespace mlir::nnc;

namespace {
struct InsertAllReducePass
    : public mlir::nnc::impl::InsertAllReduceBase<InsertAllReducePass> {
  using InsertAllReduceBase::InsertAllReduceBase;

  void runOnOperation() override {
    for (auto fn : getOperation().getOps<func::FuncOp>())
      if (!fn.isExternal() && getEntryRole(fn) == EntryRole::TrainStep)
        if (failed(runOnStep(fn)))
          return signalPassFailure();
  }

  LogicalResult runOnStep(func::FuncOp fn) {
    Block &body = fn.getBody().front();
    // The complete gradients: what the optimizer updates and the norms read.
    llvm::SetVector<Value> grads;
    for (Operation &op : body.without_terminator()) {
      if (auto fused = dyn_cast<SGDMatmulOp>(op))
        return fused.emitError()
               << "nnc-insert-allreduce: this update is fused into its "
                  "gradient's matmul, so there is no gradient to average "
                  "over the ranks; run the pass before nnc-fuse-updates";
      if (isa<OptimizerOpInterface>(op))
        grads.insert(op.getOperand(1));
      else if (auto norm = dyn_cast<NormOp>(op))
        grads.insert(norm.getInput());
    }
    if (grads.empty())
      return fn.emitError() << "nnc-insert-allreduce: '" << fn.getSymName()
                            << "' updates no parameter";
    for (Value g : grads)
      if (!g.getDefiningOp() || g.getDefiningOp()->getBlock() != &body)
        return fn.emitError()
               << "nnc-insert-allreduce: a gradient of '" << fn.getSymName()
               << "' is not computed in its body";

    // Everything that reads a gradient, and what reads that, moves after
    // the backward, in program order: an update must not read a gradient
    // before its bucket is reduced.
    llvm::SetVector<Operation *> tail;
    for (Operation &op : body.without_terminator())
      if (llvm::any_of(op.getOperands(), [&](Value v) {
            return grads.contains(v) ||
                   (v.getDefiningOp() && tail.contains(v.getDefiningOp()));
          }))
        tail.insert(&op);
    for (Operation *op : tail)
      op->moveBefore(body.getTerminator());

    // Buckets in the order the backward completes the gradients.
    SmallVector<Value> order(grads.begin(), grads.end());
    // A total order (results of one op by number), so the buckets do not
    // depend on the set's iteration order.
    llvm::sort(order, [](Value a, Value b) {
      Operation *x = a.getDefiningOp(), *y = b.getDefiningOp();
      if (x != y)
        return x->isBeforeInBlock(y);
      return cast<OpResult>(a).getResultNumber() <
             cast<OpResult>(b).getResultNumber();
    });
    SmallVector<SmallVector<Value>> buckets(1);
    uint64_t bytes = 0;
    for (Value g : order) {
      if (bytes >= bucketBytes && !buckets.back().empty()) {
        buckets.emplace_back();
        bytes = 0;
      }
      buckets.back().push_back(g);
      bytes += uint64_t(getSizeInBytes(g.getType()));
    }

    OpBuilder b(fn.getContext());
    for (auto numbered : llvm::enumerate(buckets)) {
      int64_t number = numbered.index();
      SmallVector<Value> &bucket = numbered.value();
      int64_t elements = 0;
      for (Value g : bucket)
        elements += cast<RankedTensorType>(g.getType()).getNumElements();
      auto bucketType = RankedTensorType::get({elements}, b.getF32Type());
      Location loc = bucket.back().getLoc();
      b.setInsertionPointAfter(bucket.back().getDefiningOp());
      auto start = b.create<AllReduceStartOp>(loc, bucketType, bucket,
                                              b.getI64IntegerAttr(number));
      // Right before the first op that reads one of the bucket's gradients.
      Operation *firstUse = body.getTerminator();
      for (Operation *op : tail)
        if (llvm::any_of(op->getOperands(), [&](Value v) {
              return llvm::is_contained(bucket, v);
            })) {
          firstUse = op;
          break;
        }
      b.setInsertionPoint(firstUse);
      auto wait = b.create<AllReduceWaitOp>(loc, ValueRange(bucket).getTypes(),
                                            start.getResult(),
                                            b.getI64IntegerAttr(number));
      for (auto [g, reduced] : llvm::zip(bucket, wait.getGrads()))
        g.replaceUsesWithIf(reduced, [&](OpOperand &use) {
          return tail.contains(use.getOwner());
        });
    }
    return success();
  }
};
} // namespace
