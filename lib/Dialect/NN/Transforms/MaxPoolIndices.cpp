//===- MaxPoolIndices.cpp - max pooling's backward from saved positions ---===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
//
// Gives a derived step's max poolings the index form (Passes.td): the
// forward records where each window's maximum is, one byte per output, and
// the backward reads that instead of the pooling's input.
//
//===----------------------------------------------------------------------===//

#include "nnc/Dialect/NN/Transforms/Passes.h"

namespace mlir::nnc {
#define GEN_PASS_DEF_MAXPOOLINDICES
#include "nnc/Dialect/NN/Transforms/Passes.h.inc"
} // namespace mlir::nnc

using namespace mlir;
using namespace mlir::nnc;

namespace {
/// What makes two poolings pick the same positions: the same input and
/// the same windows.
struct PoolKey {
  Value input;
  ArrayRef<int64_t> kernel, strides, padding;

  template <typename OpT> static PoolKey of(OpT op) {
    return {op.getInput(), op.getKernel(), op.getStrides(), op.getPadding()};
  }
  bool operator==(const PoolKey &o) const {
    return input == o.input && kernel == o.kernel && strides == o.strides &&
           padding == o.padding;
  }
};

struct MaxPoolIndicesPass
    : public mlir::nnc::impl::MaxPoolIndicesBase<MaxPoolIndicesPass> {
  using MaxPoolIndicesBase::MaxPoolIndicesBase;

  void runOnOperation() override {
    if (maxWindow > kMaxPoolIndexWindow) {
      getOperation().emitError()
          << "nnc-max-pool-indices: max-window " << unsigned(maxWindow)
          << " is over " << kMaxPoolIndexWindow
          << ", the largest window whose positions fit one byte";
      return signalPassFailure();
    }
    getOperation().walk([&](func::FuncOp fn) { rewrite(fn); });
  }

  void rewrite(func::FuncOp fn) {
    if (fn.isExternal() || !fn.getBody().hasOneBlock())
      return;
    // Only a derived step has a backward to serve: the model function
    // (inference, the predictor) keeps the plain pooling.
    llvm::DenseSet<Operation *> backward = findBackwardOps(fn);
    if (backward.empty())
      return;
    SmallVector<MaxPool2dOp> pools;
    SmallVector<MaxPool2dGradOp> grads;
    for (Operation &op : fn.getBody().front()) {
      if (auto pool = dyn_cast<MaxPool2dOp>(op); pool && !backward.count(&op))
        pools.push_back(pool);
      else if (auto grad = dyn_cast<MaxPool2dGradOp>(op))
        grads.push_back(grad);
    }
    // A forward pooling gets the index form where a gradient reads its
    // input under its windows (else the positions would be bytes for
    // nothing) and its window's positions fit.
    SmallVector<std::pair<PoolKey, Value>> indices;
    auto lookup = [&](const PoolKey &key) -> Value {
      for (auto &[k, v] : indices)
        if (k == key)
          return v;
      return {};
    };
    for (MaxPool2dOp pool : pools) {
      PoolKey key = PoolKey::of(pool);
      Pool2dGeometry g = getGeometry(pool);
      if (g.kh * g.kw > int64_t(maxWindow) ||
          llvm::none_of(grads, [&](MaxPool2dGradOp grad) {
            return PoolKey::of(grad) == key;
          }))
        continue;
      OpBuilder b(pool);
      Value positions = lookup(key);
      if (!positions) {
        auto type =
            cast<RankedTensorType>(pool.getType()).clone(b.getIntegerType(8));
        positions = b.create<MaxPool2dIndicesOp>(
            pool.getLoc(), type, pool.getInput(), pool.getKernelAttr(),
            pool.getStridesAttr(), pool.getPaddingAttr());
        indices.push_back({key, positions});
      }
      auto indexed = b.create<MaxPool2dIndexedOp>(
          pool.getLoc(), pool.getType(), pool.getInput(), positions,
          pool.getKernelAttr(), pool.getStridesAttr(), pool.getPaddingAttr());
      indexed->setDiscardableAttrs(pool->getDiscardableAttrDictionary());
      pool.replaceAllUsesWith(indexed.getResult());
      pool.erase();
    }
    for (MaxPool2dGradOp grad : grads) {
      Value positions = lookup(PoolKey::of(grad));
      if (!positions)
        continue;
      OpBuilder b(grad);
      auto fromIndices = b.create<MaxPool2dIndexedGradOp>(
          grad.getLoc(), grad.getType(), positions, grad.getGrad(),
          grad.getKernelAttr(), grad.getStridesAttr(), grad.getPaddingAttr());
      fromIndices->setDiscardableAttrs(grad->getDiscardableAttrDictionary());
      grad.replaceAllUsesWith(fromIndices.getResult());
      grad.erase();
    }
  }
};
} // namespace
