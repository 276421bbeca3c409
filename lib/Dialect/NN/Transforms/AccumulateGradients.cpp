//===- AccumulateGradients.cpp - micro-batches in one training step -------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information. See docs/MicroBatches.md.
//
//===----------------------------------------------------------------------===//
//
// A step planned for M samples becomes a step over k·M samples: the planned
// forward and backward run once per micro-batch, in straight-line code, so
// the arena planner sees each micro-batch's buffers die before the next
// one's are born and reuses them; only the gradient accumulators (and the
// micro-batch's input copy) stay live across micro-batches. Straight-line
// code rather than a loop keeps every later pass as it is (the arena is
// planned over one block); the price is code size linear in k.
//
//===----------------------------------------------------------------------===//

#include "nnc/Dialect/NN/Transforms/Passes.h"
#include "nnc/Support/Limits.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::nnc {
#define GEN_PASS_DEF_ACCUMULATEGRADIENTS
#include "nnc/Dialect/NN/Transforms/Passes.h.inc"
} // namespace mlir::nnc

using namespace mlir;
using namespace mlir::nnc;

/// Whether argument `i` of `fn` is data the batch dimension runs through
/// (not a parameter, optimizer state, running statistic or scalar).
static bool isDataArgument(func::FuncOp fn, unsigned i) {
  auto type = dyn_cast<RankedTensorType>(fn.getArgument(i).getType());
  return type && type.getRank() > 0 &&
         !fn.getArgAttr(i, NNDialect::getParamAttrName()) &&
         !fn.getArgAttr(i, NNDialect::getStateAttrName()) &&
         !fn.getArgAttr(i, NNDialect::getRunningStatAttrName());
}

int64_t mlir::nnc::microBatchReservedBytes(func::FuncOp fn) {
  int64_t bytes = 0;
  for (unsigned i = 0, e = fn.getNumArguments(); i < e; ++i)
    if (fn.getArgAttr(i, NNDialect::getParamAttrName()) ||
        isDataArgument(fn, i))
      bytes += getSizeInBytes(fn.getArgument(i).getType());
  return bytes;
}

/// The box of rows [first, first + rows) of `v` along dimension 0.
static SmallVector<OpFoldResult> rowOffsets(OpBuilder &b, int64_t rank,
                                            int64_t first) {
  SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0));
  offsets[0] = b.getIndexAttr(first);
  return offsets;
}

static SmallVector<OpFoldResult> rowSizes(OpBuilder &b, ArrayRef<int64_t> shape,
                                          int64_t rows) {
  SmallVector<OpFoldResult> sizes;
  for (int64_t d : shape)
    sizes.push_back(b.getIndexAttr(d));
  sizes[0] = b.getIndexAttr(rows);
  return sizes;
}

/// A dense copy of rows [first, first + rows) of `v`: every nn value is a
/// dense row-major tensor (a strided view would reach the runtime's calls).
static Value copyRows(OpBuilder &b, Location loc, Value v, int64_t first,
                      int64_t rows) {
  auto type = cast<RankedTensorType>(v.getType());
  SmallVector<int64_t> shape(type.getShape());
  shape[0] = rows;
  auto sliceType = RankedTensorType::get(shape, type.getElementType());
  SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
  Value box = b.create<tensor::ExtractSliceOp>(
      loc, sliceType, v, rowOffsets(b, type.getRank(), first),
      rowSizes(b, shape, rows), strides);
  Value empty = b.create<tensor::EmptyOp>(loc, shape, type.getElementType());
  return b.create<linalg::CopyOp>(loc, box, empty).getResult(0);
}

/// `whole` with `part` copied into rows [first, first + rows) by a linalg
/// op, so bufferization writes the box in place (a plain insert_slice would
/// become a strided memref.copy).
static Value insertRows(OpBuilder &b, Location loc, Value part, Value whole,
                        int64_t first) {
  auto partType = cast<RankedTensorType>(part.getType());
  int64_t rank = partType.getRank();
  SmallVector<OpFoldResult> offsets = rowOffsets(b, rank, first);
  SmallVector<OpFoldResult> sizes =
      rowSizes(b, partType.getShape(), partType.getDimSize(0));
  SmallVector<OpFoldResult> strides(rank, b.getIndexAttr(1));
  Value box = b.create<tensor::ExtractSliceOp>(loc, partType, whole, offsets,
                                               sizes, strides);
  Value copied = b.create<linalg::CopyOp>(loc, part, box).getResult(0);
  return b.create<tensor::InsertSliceOp>(loc, copied, whole, offsets, sizes,
                                         strides);
}

namespace {
struct AccumulateGradientsPass
    : public mlir::nnc::impl::AccumulateGradientsBase<AccumulateGradientsPass> {
  using AccumulateGradientsBase::AccumulateGradientsBase;

  void runOnOperation() override {
    if (microBatches == 0) {
      getOperation().emitError()
          << "nnc-accumulate-gradients: micro-batches must be at least 1";
      return signalPassFailure();
    }
    if (microBatches > ::nnc::limits::kMaxMicroBatches) {
      getOperation().emitError()
          << "nnc-accumulate-gradients: " << unsigned(microBatches)
          << " micro-batches is over nnc's limit of "
          << ::nnc::limits::kMaxMicroBatches << " per step";
      return signalPassFailure();
    }
    if (microBatches == 1)
      return;
    for (auto fn : getOperation().getOps<func::FuncOp>())
      if (!fn.isExternal() && getEntryRole(fn) == EntryRole::TrainStep)
        if (failed(runOnStep(fn)))
          return signalPassFailure();
  }

  LogicalResult runOnStep(func::FuncOp fn) {
    const int64_t k = microBatches;
    Block &body = fn.getBody().front();
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    StringRef name = fn.getSymName();

    // The complete gradients, as nnc-insert-allreduce finds them: what the
    // optimizer updates and the norms read.
    llvm::SetVector<Value> grads;
    for (Operation &op : body.without_terminator()) {
      if (isa<SGDMatmulOp>(op))
        return op.emitError()
               << "nnc-accumulate-gradients: this update is fused into its "
                  "gradient's matmul, so there is no gradient to accumulate; "
                  "run the pass before nnc-fuse-updates";
      if (isa<AllReduceStartOp, AllReduceWaitOp>(op))
        return op.emitError()
               << "nnc-accumulate-gradients: run the pass before "
                  "nnc-insert-allreduce (the accumulated gradient is what "
                  "the ranks average)";
      if (isa<DropoutOp>(op))
        return op.emitError()
               << "nnc-accumulate-gradients: dropout's mask hashes the "
                  "element index, which would repeat in every micro-batch; "
                  "micro-batches of a model with dropout are not supported";
      if (isa<OptimizerOpInterface>(op))
        grads.insert(op.getOperand(1));
      else if (auto norm = dyn_cast<NormOp>(op))
        grads.insert(norm.getInput());
    }
    if (grads.empty())
      return fn.emitError() << "nnc-accumulate-gradients: '" << name
                            << "' updates no parameter";
    for (Value g : grads)
      if (!g.getDefiningOp() || g.getDefiningOp()->getBlock() != &body)
        return fn.emitError()
               << "nnc-accumulate-gradients: a gradient of '" << name
               << "' is not computed in its body";

    // What reads a gradient, and what reads that: it runs once, after the
    // last micro-batch. Everything else runs once per micro-batch.
    llvm::SetVector<Operation *> tail;
    SmallVector<Operation *> micro;
    for (Operation &op : body.without_terminator()) {
      if (llvm::any_of(op.getOperands(), [&](Value v) {
            return grads.contains(v) ||
                   (v.getDefiningOp() && tail.contains(v.getDefiningOp()));
          }))
        tail.insert(&op);
      else
        micro.push_back(&op);
    }

    // The data inputs: every one has the micro-batch's rows.
    SmallVector<BlockArgument> data;
    int64_t rows = -1;
    for (BlockArgument arg : fn.getArguments()) {
      unsigned i = arg.getArgNumber();
      if (fn.getArgAttr(i, NNDialect::getRunningStatAttrName()))
        return fn.emitError()
               << "nnc-accumulate-gradients: '" << name
               << "' updates batch norm running statistics, which would be "
                  "updated once per micro-batch; micro-batches of a model "
                  "with batch norm are not supported";
      if (!isDataArgument(fn, i))
        continue;
      int64_t d = cast<RankedTensorType>(arg.getType()).getDimSize(0);
      if (rows >= 0 && d != rows)
        return fn.emitError()
               << "nnc-accumulate-gradients: the data inputs of '" << name
               << "' disagree on the batch (" << rows << " and " << d
               << " rows)";
      rows = d;
      data.push_back(arg);
    }
    if (data.empty())
      return fn.emitError() << "nnc-accumulate-gradients: '" << name
                            << "' has no data input to split";

    // The results: the loss is averaged, the output's rows concatenated,
    // what the updates produce returned once. Nothing else may come from
    // one micro-batch.
    enum class Kind { Once, Loss, Output };
    SmallVector<Kind> kinds;
    for (auto [j, v] : llvm::enumerate(ret.getOperands())) {
      auto resultName =
          fn.getResultAttrOfType<StringAttr>(j, NNDialect::getNameAttrName());
      Operation *def = v.getDefiningOp();
      bool perMicroBatch = def ? !tail.contains(def)
                               : llvm::is_contained(data, v);
      if (!perMicroBatch)
        kinds.push_back(Kind::Once);
      else if (resultName && resultName.getValue() == "loss" &&
               cast<RankedTensorType>(v.getType()).getRank() == 0)
        kinds.push_back(Kind::Loss);
      else if (resultName && resultName.getValue() == "output" &&
               cast<RankedTensorType>(v.getType()).getRank() > 0 &&
               cast<RankedTensorType>(v.getType()).getDimSize(0) == rows)
        kinds.push_back(Kind::Output);
      else
        return fn.emitError()
               << "nnc-accumulate-gradients: result #" << j << " of '"
               << name << "'"
               << (resultName ? " ('" + resultName.getValue().str() + "')"
                              : std::string())
               << " is computed per micro-batch and is neither the loss "
                  "nor the output";
    }

    // The step now takes k micro-batches of every data input.
    for (BlockArgument arg : data) {
      auto type = cast<RankedTensorType>(arg.getType());
      SmallVector<int64_t> shape(type.getShape());
      shape[0] = k * rows;
      arg.setType(RankedTensorType::get(shape, type.getElementType()));
    }

    OpBuilder b(&body.front());
    Location loc = fn.getLoc();
    // The seed 1/k makes every micro-batch's gradient a k-th of its mean,
    // so their sum is the mean over all samples (exact for k a power of
    // two: a power-of-two scale commutes with every rounding).
    auto seed = [&](RankedTensorType type) {
      return DenseElementsAttr::get(
          type, b.getFloatAttr(type.getElementType(), 1.0 / double(k)));
    };
    llvm::DenseMap<Value, Value> accumulated;
    SmallVector<Value> results(ret.getOperands());
    // The loss summed and the output's rows copied out right after each
    // micro-batch, so nothing of one micro-batch outlives it but its
    // gradients' share of the accumulators.
    SmallVector<Value> assembled(results.size());
    for (auto [j, kind] : llvm::enumerate(kinds))
      if (kind == Kind::Output) {
        auto type = cast<RankedTensorType>(results[j].getType());
        SmallVector<int64_t> shape(type.getShape());
        shape[0] = k * rows;
        assembled[j] =
            b.create<tensor::EmptyOp>(loc, shape, type.getElementType());
      }
    IRMapping map;
    for (int64_t i = 0; i < k; ++i) {
      map.clear();
      for (BlockArgument arg : data)
        map.map(arg, copyRows(b, arg.getLoc(), arg, i * rows, rows));
      for (Operation *op : micro) {
        Operation *clone = b.clone(*op, map);
        if (op->hasAttr(NNDialect::getGradSeedAttrName()))
          if (auto constant = dyn_cast<arith::ConstantOp>(clone))
            if (auto type = dyn_cast<RankedTensorType>(constant.getType()))
              constant.setValueAttr(seed(type));
        // Summed as soon as the backward completes it, in micro-batch
        // order: the micro-batch's gradient dies right away.
        for (Value r : op->getResults())
          if (grads.contains(r)) {
            Value g = map.lookup(r);
            Value &sum = accumulated[r];
            sum = i == 0 ? g : b.create<AddOp>(r.getLoc(), sum, g);
          }
      }
      for (auto [j, kind] : llvm::enumerate(kinds)) {
        Value v = map.lookup(results[j]);
        if (kind == Kind::Loss)
          assembled[j] = i == 0 ? v : b.create<AddOp>(loc, assembled[j], v);
        else if (kind == Kind::Output)
          assembled[j] = insertRows(b, loc, v, assembled[j], i * rows);
      }
    }

    // The updates read the accumulated gradients; the constants they read
    // (a compiled learning rate) are the last micro-batch's copies.
    for (Operation *op : tail)
      for (OpOperand &use : op->getOpOperands()) {
        Value v = use.get();
        if (grads.contains(v)) {
          use.set(accumulated.lookup(v));
          continue;
        }
        Operation *def = v.getDefiningOp();
        if (!def) {
          if (llvm::is_contained(data, v))
            return op->emitError() << "nnc-accumulate-gradients: an update "
                                      "of '"
                                   << name << "' reads a data input";
          continue;
        }
        if (tail.contains(def))
          continue;
        if (def->getNumOperands() != 0)
          return op->emitError()
                 << "nnc-accumulate-gradients: an update of '" << name
                 << "' reads a value of one micro-batch's forward or "
                    "backward, not only complete gradients";
        use.set(map.lookup(v));
      }

    // The tail now follows the last micro-batch (the clones went before
    // the first original op); the mean loss is taken there.
    b.setInsertionPoint(ret);
    for (auto [j, kind] : llvm::enumerate(kinds))
      if (kind == Kind::Loss)
        results[j] =
            b.create<ScaleOp>(loc, assembled[j], b.getF64FloatAttr(1.0 / k));
      else if (kind == Kind::Output)
        results[j] = assembled[j];
    ret->setOperands(results);

    for (Operation *op : llvm::reverse(micro)) {
      if (!op->use_empty())
        return op->emitError() << "nnc-accumulate-gradients: internal "
                                  "error: a per-micro-batch value of '"
                               << name << "' is still read";
      op->erase();
    }
    fn.setType(FunctionType::get(fn.getContext(), body.getArgumentTypes(),
                                 ValueRange(results).getTypes()));
    return success();
  }
};
} // namespace
