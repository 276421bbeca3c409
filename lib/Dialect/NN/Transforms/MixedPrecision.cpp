//===- MixedPrecision.cpp - bf16 contraction operands and activations -----===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// Types are assigned on the forward, before autodiff and checkpoint planning:
// the planner prices what is stored, and a recomputed forward op is a clone
// of a typed op, so it rounds exactly where the original did (gradients stay
// bitwise identical across checkpoint strategies). Each decision depends on
// the op's kind and its operands' types, as PyTorch's autocast does: the
// contractions (products and convolutions) read bf16, elementwise ops,
// poolings and reshapes keep the type they are given, and everything else
// (normalizations among them: their statistics stay f32) reads f32.
//
//===----------------------------------------------------------------------===//

#include "nnc/Dialect/NN/Transforms/Passes.h"

#include "nnc/Dialect/NN/Transforms/Checkpointing.h"

#include "llvm/ADT/TypeSwitch.h"

namespace mlir::nnc {
#define GEN_PASS_DEF_MIXEDPRECISION
#define GEN_PASS_DEF_RECASTFORBACKWARD
#include "nnc/Dialect/NN/Transforms/Passes.h.inc"
} // namespace mlir::nnc

using namespace mlir;
using namespace mlir::nnc;

namespace {

/// How an op reads bf16 operands.
enum class Reads {
  /// Computes in bf16 × bf16 → f32 (the library GEMM or convolution):
  /// operands narrowed.
  Contraction,
  /// Computes in f32 per element, stores in its operands' type.
  Elementwise,
  /// Widens bf16 operands as it reads them and computes in f32 (losses,
  /// their gradients, reductions).
  Widening,
  /// Everything else: f32 operands only.
  F32,
};

Reads readsOf(Operation *op) {
  return TypeSwitch<Operation *, Reads>(op)
      .Case<LinearOp, SGDMatmulOp, Conv2dOp>(
          [](auto) { return Reads::Contraction; })
      .Case<MatmulOp>([](MatmulOp mm) {
        // Batched products run as compiled loops in f32.
        return mm.getType().getRank() == 2 ? Reads::Contraction : Reads::F32;
      })
      .Case<AddOp, MulOp, ScaleOp, ReluOp, SigmoidOp, TanhOp, LeakyReluOp,
            GeluOp, DropoutOp, ReluGradOp, SigmoidGradOp, TanhGradOp,
            GeluGradOp, LeakyReluGradOp>([](auto) { return Reads::Elementwise; })
      // Exact in bf16 (max pooling picks an element, a reshape moves none),
      // or, for average pooling, autocast's choice: it runs in its input's
      // type. Keeping them bf16 saves a widening before and a narrowing
      // after each one between two convolutions.
      .Case<MaxPool2dOp, AvgPool2dOp, ReshapeOp>(
          [](auto) { return Reads::Elementwise; })
      .Case<CastOp, MSELossOp, MSELossGradOp, CrossEntropyOp, CrossEntropyGradOp,
            ReduceSumOp>([](auto) { return Reads::Widening; })
      .Default([](Operation *) { return Reads::F32; });
}

/// `bf16`: a tensor of the step's 16-bit type (bf16 or f16: one per step).
bool isFloatTensor(Value v, bool bf16) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  return type && type.getRank() > 0 &&
         (bf16 ? isa<BFloat16Type, Float16Type>(type.getElementType())
               : type.getElementType().isF32());
}

RankedTensorType withElement(Value v, Type element) {
  return cast<RankedTensorType>(v.getType()).clone(element);
}

struct MixedPrecisionPass
    : public mlir::nnc::impl::MixedPrecisionBase<MixedPrecisionPass> {
  using MixedPrecisionBase::MixedPrecisionBase;

  void runOnOperation() override {
    if (precision == Precision::F32)
      return;
    getOperation().walk([&](func::FuncOp fn) { assign(fn); });
  }

  /// `v` converted to `element` for `user`, one cast per value and type.
  /// Users are visited in program order, so the cast goes just before the
  /// first one: it dominates the later ones, and it lands in the stage of
  /// the layer that reads it (a weight's copy is made where the layer
  /// runs, not at the top of the step where it would live throughout).
  Value converted(Value v, Type element, Operation *user) {
    auto [it, inserted] = casts.try_emplace({v, element}, Value());
    if (!inserted)
      return it->second;
    OpBuilder b(user);
    it->second =
        b.create<CastOp>(v.getLoc(), withElement(v, element), v).getResult();
    return it->second;
  }

  void assign(func::FuncOp fn) {
    MLIRContext *ctx = fn.getContext();
    // The 16-bit type: bf16, or f16 with precision=fp16 (named bf16 below).
    Type bf16 = precision == Precision::F16 ? Type(Float16Type::get(ctx))
                                            : Type(BFloat16Type::get(ctx));
    Type f32 = Float32Type::get(ctx);
    casts.clear();
    // The graph is one block; the casts made here are not revisited.
    SmallVector<Operation *> ops;
    for (Block &block : fn.getBody())
      for (Operation &op : block)
        ops.push_back(&op);
    for (Operation *op : ops) {
      switch (readsOf(op)) {
      case Reads::Contraction: {
        // Operands 0 and 1 of linear, matmul and conv2d (a bias stays
        // f32), 1 and 2 of sgd_matmul (its parameter and learning rate stay
        // f32).
        unsigned first = isa<SGDMatmulOp>(op) ? 1 : 0;
        for (unsigned i = first; i < first + 2; ++i)
          if (Value v = op->getOperand(i); isFloatTensor(v, /*bf16=*/false))
            op->setOperand(i, converted(v, bf16, op));
        if (isa<SGDMatmulOp>(op))
          break;
        Value result = op->getResult(0);
        bool allReadBF16 =
            !result.use_empty() &&
            llvm::all_of(result.getUsers(), [](Operation *user) {
              return readsOf(user) != Reads::F32;
            });
        result.setType(withElement(result, allReadBF16 ? bf16 : f32));
        break;
      }
      case Reads::Elementwise: {
        bool anyBF16 = false, allBF16 = true;
        for (Value v : op->getOperands()) {
          if (isFloatTensor(v, /*bf16=*/true))
            anyBF16 = true;
          else if (isFloatTensor(v, /*bf16=*/false))
            allBF16 = false;
        }
        if (!anyBF16)
          break;
        if (allBF16) {
          for (Value r : op->getResults())
            r.setType(withElement(r, bf16));
          break;
        }
        widenOperands(op, f32);
        break;
      }
      case Reads::Widening:
        // A loss gradient has its prediction's type (the gradient of the
        // widening the loss does as it reads).
        if (isa<MSELossGradOp, CrossEntropyGradOp>(op))
          op->getResult(0).setType(withElement(
              op->getResult(0),
              cast<ShapedType>(op->getOperand(0).getType()).getElementType()));
        break;
      case Reads::F32:
        widenOperands(op, f32);
        break;
      }
    }
  }

  void widenOperands(Operation *op, Type f32) {
    for (OpOperand &use : op->getOpOperands())
      if (isFloatTensor(use.get(), /*bf16=*/true))
        use.set(converted(use.get(), f32, op));
  }

  DenseMap<std::pair<Value, Type>, Value> casts;
};

} // namespace

namespace {
struct RecastForBackwardPass
    : public mlir::nnc::impl::RecastForBackwardBase<RecastForBackwardPass> {
  void runOnOperation() override {
    getOperation().walk([&](func::FuncOp fn) {
      // The backward: what depends on the gradient seed (wherever the
      // rematerializer placed the seed itself).
      DenseSet<Operation *> backward;
      for (Block &block : fn.getBody())
        for (Operation &op : block) {
          bool fromSeed = op.hasAttr(NNDialect::getGradSeedAttrName());
          for (Value v : op.getOperands())
            if (Operation *def = v.getDefiningOp())
              fromSeed |= backward.contains(def);
          if (fromSeed)
            backward.insert(&op);
        }
      if (backward.empty())
        return;
      SmallVector<CastOp> casts;
      for (CastOp c : fn.getOps<CastOp>())
        if (isArgumentCopy(c) && !backward.contains(c))
          casts.push_back(c);
      for (CastOp c : casts) {
        SmallVector<OpOperand *> late;
        Operation *first = nullptr;
        bool forwardUse = false;
        for (OpOperand &use : c->getUses()) {
          Operation *user = use.getOwner();
          if (!backward.contains(user) ||
              user->getBlock() != c->getBlock()) {
            forwardUse = true;
            continue;
          }
          late.push_back(&use);
          if (!first || user->isBeforeInBlock(first))
            first = user;
        }
        // A cast only the backward reads is already where it belongs.
        if (!first || !forwardUse)
          continue;
        OpBuilder b(first);
        Operation *again = b.clone(*c);
        for (OpOperand *use : late)
          use->set(again->getResult(0));
      }
    });
  }
};
} // namespace
