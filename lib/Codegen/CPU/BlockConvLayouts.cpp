//===- BlockConvLayouts.cpp - nChw16c activations between layers ----------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
//
// Chooses, at compile time, which activations the convolution and pooling
// calls hand each other in oneDNN's nChw16c instead of NCHW (Passes.td has
// the rules). Decided on tensors, before bufferization, where a value's
// readers are its uses; the decision is carried by the calls themselves
// (their `_layout` callee and its layouts argument), which the ABI table
// checks like any other call, so no later pass needs to know of it.
//
//===----------------------------------------------------------------------===//

#include "nnc/Codegen/CPU/Passes.h"

#include "nnc/Codegen/Common/RuntimeABI.h"
#include "nnc/Dialect/NN/IR/NNOps.h"
#include "nnc/Runtime/CPU/CPURuntime.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/DenseSet.h"

namespace mlir::nnc {
#define GEN_PASS_DEF_BLOCKCONVLAYOUTS
#include "nnc/Codegen/CPU/Passes.h.inc"
} // namespace mlir::nnc

using namespace mlir;
using namespace mlir::nnc;

namespace {
/// nChw16c's channel block.
constexpr int64_t kBlock = 16;

/// MaxPoolIndices: the index form of max pooling (geometry only, no kind),
/// whose one-byte positions take the layout like an activation: written by
/// the forward call, read by the backward calls, [N, C, OH, OW].
enum class CallKind { ConvForward, ConvBackward, Pool, MaxPoolIndices };

/// A runtime function whose activations may be nChw16c.
struct LayoutCallee {
  StringLiteral name, layoutName;
  CallKind kind;
  bool bf16;
  /// Bit i: pointer argument i is an activation (not a weight or bias).
  unsigned activations;
};

constexpr LayoutCallee kLayoutCallees[] = {
    {"nncrt_conv2d_forward", "nncrt_conv2d_forward_layout",
     CallKind::ConvForward, false, 0b1001},
    {"nncrt_conv2d_backward_data", "nncrt_conv2d_backward_data_layout",
     CallKind::ConvBackward, false, 0b101},
    {"nncrt_conv2d_backward_weights", "nncrt_conv2d_backward_weights_layout",
     CallKind::ConvBackward, false, 0b011},
    {"nncrt_pool2d_forward", "nncrt_pool2d_forward_layout", CallKind::Pool,
     false, 0b11},
    {"nncrt_pool2d_backward", "nncrt_pool2d_backward_layout", CallKind::Pool,
     false, 0b111},
    {"nncrt_conv2d_forward_bf16", "nncrt_conv2d_forward_layout",
     CallKind::ConvForward, true, 0b1001},
    {"nncrt_conv2d_backward_data_bf16", "nncrt_conv2d_backward_data_layout",
     CallKind::ConvBackward, true, 0b101},
    {"nncrt_conv2d_backward_weights_bf16",
     "nncrt_conv2d_backward_weights_layout", CallKind::ConvBackward, true,
     0b011},
    {"nncrt_pool2d_forward_bf16", "nncrt_pool2d_forward_layout", CallKind::Pool,
     true, 0b11},
    {"nncrt_pool2d_backward_bf16", "nncrt_pool2d_backward_layout",
     CallKind::Pool, true, 0b111},
    // x, y, positions; positions, dy, dx.
    {"nncrt_maxpool2d_forward_indices",
     "nncrt_maxpool2d_forward_indices_layout", CallKind::MaxPoolIndices, false,
     0b111},
    {"nncrt_maxpool2d_backward_indices",
     "nncrt_maxpool2d_backward_indices_layout", CallKind::MaxPoolIndices, false,
     0b111},
    {"nncrt_maxpool2d_forward_indices_bf16",
     "nncrt_maxpool2d_forward_indices_layout", CallKind::MaxPoolIndices, true,
     0b111},
    {"nncrt_maxpool2d_backward_indices_bf16",
     "nncrt_maxpool2d_backward_indices_layout", CallKind::MaxPoolIndices, true,
     0b111},
};

const LayoutCallee *lookupLayoutCallee(RuntimeCallOp call) {
  for (const LayoutCallee &c : kLayoutCallees)
    if (call.getCallee() == c.name)
      return &c;
  return nullptr;
}

int64_t scalarInt(RuntimeCallOp call, unsigned i) {
  return cast<IntegerAttr>(call.getScalars()[i]).getInt();
}

/// Whether the call's geometry lets its activations be blocked: groups of 1
/// (a grouped convolution's channel groups need not fall on blocks), and
/// for an average pooling windows that do not overlap.
bool geometryAllows(RuntimeCallOp call, const LayoutCallee &c) {
  if (c.kind == CallKind::MaxPoolIndices)
    return true;
  if (c.kind != CallKind::Pool)
    return scalarInt(call, 17) == 1; // groups
  // kind, N, C, H, W, OH, OW, KH, KW, strideH, strideW, ...
  if (scalarInt(call, 0) == NNCRT_POOL_MAX)
    return true;
  return scalarInt(call, 9) >= scalarInt(call, 7) &&
         scalarInt(call, 10) >= scalarInt(call, 8);
}

/// A static [N, C, H, W] tensor with C a multiple of the block.
bool isBlockable(Value v) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  return type && type.hasStaticShape() && type.getRank() == 4 &&
         type.getDimSize(1) % kBlock == 0;
}

/// The value at each pointer argument of `call` (null for -1): an input, or
/// the result of an output.
SmallVector<Value> pointerValues(RuntimeCallOp call) {
  SmallVector<Value> values;
  unsigned numInputs = call.getInputs().size();
  for (int64_t p : call.getPointers()) {
    if (p < 0)
      values.push_back(Value());
    else if (p < numInputs)
      values.push_back(call.getInputs()[p]);
    else
      values.push_back(call->getResult(p - numInputs));
  }
  return values;
}

/// An elementwise generic: 4-D, all parallel, identity maps on its 4-D
/// operands and constant maps on the rest (broadcast scalars), one result,
/// no use of the indices. Elementwise, it computes the same elements
/// whatever the order they lie in, as long as its 4-D operands share it.
bool isElementwise(linalg::GenericOp g) {
  if (g.getNumLoops() != 4 || g.getNumResults() != 1 ||
      g.getNumReductionLoops() != 0)
    return false;
  for (OpOperand &o : g->getOpOperands()) {
    AffineMap map = g.getMatchingIndexingMap(&o);
    if (!map.isIdentity() && map.getNumResults() != 0)
      return false;
  }
  bool usesIndex = false;
  g.getRegion().walk([&](linalg::IndexOp) { usesIndex = true; });
  return !usesIndex;
}

/// The 4-D values an elementwise generic's layout ties together: its 4-D
/// inputs, the output if the body reads it, and the result.
SmallVector<Value> tiedValues(linalg::GenericOp g) {
  SmallVector<Value> values;
  for (OpOperand *in : g.getDpsInputOperands())
    if (g.getMatchingIndexingMap(in).getNumResults() == 4)
      values.push_back(in->get());
  OpOperand *out = g.getDpsInitOperand(0);
  if (g.payloadUsesValueFromOperand(out))
    values.push_back(out->get());
  values.push_back(g->getResult(0));
  return values;
}

/// A sum over n, h, w per channel: out[c] += in[n, c, h, w].
bool isChannelSum(linalg::GenericOp g) {
  if (g.getNumDpsInputs() != 1 || g.getNumDpsInits() != 1 ||
      g.getNumLoops() != 4)
    return false;
  using utils::IteratorType;
  SmallVector<IteratorType> iterators = g.getIteratorTypesArray();
  if (iterators != SmallVector<IteratorType>{
                       IteratorType::reduction, IteratorType::parallel,
                       IteratorType::reduction, IteratorType::reduction})
    return false;
  MLIRContext *ctx = g.getContext();
  SmallVector<AffineMap> maps = g.getIndexingMapsArray();
  return maps[0].isIdentity() &&
         maps[1] == AffineMap::get(4, 0, getAffineDimExpr(1, ctx), ctx);
}

/// The channel sum over the blocked view of its input: the input as
/// [N, C/16, H, W, 16] (its memory order), the sums as [C/16, 16]. Each
/// channel's terms still come in n, h, w order.
void blockChannelSum(linalg::GenericOp g) {
  OpBuilder b(g);
  Location loc = g.getLoc();
  Value in = g.getDpsInputOperand(0)->get();
  auto inType = cast<RankedTensorType>(in.getType());
  Type element = inType.getElementType();
  int64_t N = inType.getDimSize(0), C = inType.getDimSize(1),
          H = inType.getDimSize(2), W = inType.getDimSize(3);
  Value flat = b.create<tensor::CollapseShapeOp>(
      loc, in, ArrayRef<ReassociationIndices>{{0, 1, 2, 3}});
  Value in5 = b.create<tensor::ExpandShapeOp>(
      loc, RankedTensorType::get({N, C / kBlock, H, W, kBlock}, element), flat,
      ArrayRef<ReassociationIndices>{{0, 1, 2, 3, 4}});
  Value init = g.getDpsInitOperand(0)->get();
  auto outType = cast<RankedTensorType>(init.getType());
  Value init2 = b.create<tensor::ExpandShapeOp>(
      loc,
      RankedTensorType::get({C / kBlock, kBlock}, outType.getElementType()),
      init, ArrayRef<ReassociationIndices>{{0, 1}});
  MLIRContext *ctx = g.getContext();
  SmallVector<AffineMap> maps{
      b.getMultiDimIdentityMap(5),
      AffineMap::get(5, 0, {getAffineDimExpr(1, ctx), getAffineDimExpr(4, ctx)},
                     ctx)};
  using utils::IteratorType;
  SmallVector<IteratorType> iterators{
      IteratorType::reduction, IteratorType::parallel, IteratorType::reduction,
      IteratorType::reduction, IteratorType::parallel};
  auto blocked = b.create<linalg::GenericOp>(loc, init2.getType(), in5, init2,
                                             maps, iterators);
  blocked.getRegion().takeBody(g.getRegion());
  blocked->setDiscardableAttrs(g->getDiscardableAttrDictionary());
  Value sums =
      b.create<tensor::CollapseShapeOp>(loc, outType, blocked->getResult(0),
                                        ArrayRef<ReassociationIndices>{{0, 1}});
  g->getResult(0).replaceAllUsesWith(sums);
  g->erase();
}

struct BlockConvLayoutsPass
    : public mlir::nnc::impl::BlockConvLayoutsBase<BlockConvLayoutsPass> {
  void runOnOperation() override;

  /// Whether `user` can read `v` in nChw16c at operand `o`, provided its
  /// elementwise partners are blocked too.
  bool readsBlocked(OpOperand &o) const {
    Operation *user = o.getOwner();
    if (auto call = dyn_cast<RuntimeCallOp>(user)) {
      auto it = activationPointers.find(call);
      if (it == activationPointers.end())
        return false;
      // A DPS init is overwritten whole, not read.
      if (o.getOperandNumber() >= call.getOutputs().getBeginOperandIndex())
        return true;
      // Every pointer it is passed as must be an activation.
      unsigned index =
          o.getOperandNumber() - call.getInputs().getBeginOperandIndex();
      ArrayRef<int64_t> pointers = call.getPointers();
      for (unsigned i = 0; i < pointers.size(); ++i)
        if (pointers[i] == int64_t(index) && !(it->second >> i & 1))
          return false;
      return true;
    }
    if (auto g = dyn_cast<linalg::GenericOp>(user)) {
      // Its partners' layouts are the fixpoint's second rule.
      if (elementwise.contains(g))
        return true;
      return isChannelSum(g) && o.getOperandNumber() == 0;
    }
    return false;
  }

  /// Activation pointers (bits) of each call that may take nChw16c.
  DenseMap<Operation *, unsigned> activationPointers;
  DenseSet<Operation *> elementwise;
};
} // namespace

void BlockConvLayoutsPass::runOnOperation() {
  func::FuncOp fn = getOperation();
  // The candidates: what the layout-aware ops write.
  llvm::SetVector<Value> blocked;
  SmallVector<RuntimeCallOp> calls;
  bool failedCall = false;
  fn.walk([&](RuntimeCallOp call) {
    const LayoutCallee *c = lookupLayoutCallee(call);
    if (!c)
      return;
    // The call must have its callee's scalars (the pass appends to them).
    const RuntimeFunctionInfo *info = lookupRuntimeFunction(call.getCallee());
    size_t pointers = call.getPointers().size();
    if (!info || info->args.size() < pointers ||
        call.getScalars().size() != info->args.size() - pointers) {
      call.emitOpError() << "calls '" << call.getCallee() << "' with "
                         << call.getScalars().size() << " scalars, not the "
                         << (info ? int64_t(info->args.size()) -
                                        int64_t(pointers)
                                  : -1)
                         << " its signature takes";
      failedCall = true;
      return;
    }
    if (!geometryAllows(call, *c))
      return;
    unsigned allowed = 0;
    SmallVector<Value> values = pointerValues(call);
    for (unsigned i = 0; i < values.size(); ++i)
      if (c->activations >> i & 1 && values[i] && isBlockable(values[i]))
        allowed |= 1u << i;
    activationPointers[call] = allowed;
    calls.push_back(call);
    for (unsigned i = 0; i < values.size(); ++i)
      if (allowed >> i & 1 && isa<OpResult>(values[i]) &&
          values[i].getDefiningOp() == call)
        blocked.insert(values[i]);
  });
  if (failedCall)
    return signalPassFailure();
  if (calls.empty())
    return;
  SmallVector<linalg::GenericOp> generics, sums;
  fn.walk([&](linalg::GenericOp g) {
    if (isChannelSum(g))
      sums.push_back(g);
    if (!isElementwise(g) || !isBlockable(g->getResult(0)))
      return;
    elementwise.insert(g);
    generics.push_back(g);
    blocked.insert(g->getResult(0));
  });

  // The fixpoint: drop a value some reader cannot take blocked, and an
  // elementwise op's values unless they are all blocked.
  for (bool changed = true; changed;) {
    changed = false;
    for (Value v : SmallVector<Value>(blocked.begin(), blocked.end()))
      if (llvm::any_of(v.getUses(),
                       [&](OpOperand &o) { return !readsBlocked(o); })) {
        blocked.remove(v);
        changed = true;
      }
    for (linalg::GenericOp g : generics) {
      SmallVector<Value> tied = tiedValues(g);
      if (llvm::all_of(tied, [&](Value v) { return blocked.contains(v); }) ||
          llvm::none_of(tied, [&](Value v) { return blocked.contains(v); }))
        continue;
      for (Value v : tied)
        changed |= blocked.remove(v);
    }
  }

  // Each call with a blocked activation becomes its _layout entry point.
  Builder b(fn.getContext());
  for (RuntimeCallOp call : calls) {
    SmallVector<Value> values = pointerValues(call);
    int32_t layouts = 0;
    for (unsigned i = 0; i < values.size(); ++i)
      if (activationPointers[call] >> i & 1 && blocked.contains(values[i]))
        layouts |= NNCRT_LAYOUT_NCHW16C << i;
    if (!layouts)
      continue;
    const LayoutCallee &c = *lookupLayoutCallee(call);
    SmallVector<Attribute> scalars(call.getScalars().begin(),
                                   call.getScalars().end());
    Attribute f32 = b.getI32IntegerAttr(NNCRT_TYPE_F32),
              bf16 = b.getI32IntegerAttr(NNCRT_TYPE_BF16);
    if (c.kind == CallKind::Pool || c.kind == CallKind::MaxPoolIndices) {
      scalars.push_back(c.bf16 ? bf16 : f32);
    } else if (c.bf16) { // bf16 operands before the result's type
      scalars.insert(scalars.end() - 1, bf16);
    } else {
      scalars.push_back(f32);
      scalars.push_back(f32);
    }
    scalars.push_back(b.getI32IntegerAttr(layouts));
    call.setCallee(c.layoutName);
    call.setScalarsAttr(b.getArrayAttr(scalars));
  }
  for (linalg::GenericOp g : sums)
    if (blocked.contains(g.getDpsInputOperand(0)->get()))
      blockChannelSum(g);
}
