//===- NNToLinalg.cpp - lower nn ops to linalg on tensors -----------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// Every pattern builds linalg.generic ops directly: one uniform form keeps
// the reduction order explicit (so results are reproducible bit for bit) and
// lets later linalg transforms (tiling, fusion, vectorization) see all work.
//
//===----------------------------------------------------------------------===//

#include "nnc/Conversion/NNToLinalg/NNToLinalg.h"

#include "RuntimeCalls.h"

#include "nnc/Conversion/Passes.h"
#include "nnc/Dialect/NN/IR/NNOps.h"
#include "nnc/Runtime/CPU/CPURuntime.h"

#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/Transforms/DialectConversion.h"

#include <cmath>

namespace mlir::nnc {
#define GEN_PASS_DEF_CONVERTNNTOLINALG
#include "nnc/Conversion/Passes.h.inc"
} // namespace mlir::nnc

using namespace mlir;
using namespace mlir::nnc;

namespace {

using utils::IteratorType;
using BodyFn = function_ref<Value(OpBuilder &, Location, ValueRange)>;

Value f32Const(OpBuilder &b, Location loc, double v) {
  return b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(v));
}

/// A tensor of `type` filled with `value`: the init of a reduction.
Value filled(OpBuilder &b, Location loc, RankedTensorType type, double value) {
  Value empty =
      b.create<tensor::EmptyOp>(loc, type.getShape(), type.getElementType());
  return b.create<linalg::FillOp>(loc, f32Const(b, loc, value), empty)
      .getResult(0);
}

/// A linalg.generic with one result; `body` receives the block arguments
/// (inputs, then the output) and returns the value to yield.
///
/// bf16 is a storage type (a mixed-precision step's): inputs stored in bf16
/// reach `body` widened to f32, and a bf16 output gets the f32 result
/// rounded to nearest even, so every body computes in f32.
Value generic(OpBuilder &b, Location loc, Value init, ValueRange inputs,
              ArrayRef<AffineMap> maps, ArrayRef<IteratorType> iterators,
              BodyFn body) {
  Type outElement = getElementTypeOrSelf(init.getType());
  auto op = b.create<linalg::GenericOp>(
      loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps, iterators,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        SmallVector<Value> wide(args);
        for (Value &arg : MutableArrayRef<Value>(wide).drop_back())
          if (isa<BFloat16Type, Float16Type>(arg.getType()))
            arg = nb.create<arith::ExtFOp>(nloc, nb.getF32Type(), arg);
        Value result = body(nb, nloc, wide);
        if (isa<BFloat16Type, Float16Type>(outElement) &&
            result.getType().isF32())
          result = nb.create<arith::TruncFOp>(nloc, outElement, result);
        nb.create<linalg::YieldOp>(nloc, result);
      });
  return op.getResult(0);
}

Value runtimeCall(OpBuilder &b, Location loc, StringRef callee,
                  ValueRange inputs, RankedTensorType type,
                  ArrayRef<int64_t> pointers, ArrayRef<Attribute> scalars);

/// The activation the single user of `producer` applies, which the
/// producer's library primitive then applies as a post-op: a convolution,
/// or a bf16-output product (nncrt_gemm_bf16), as an f32 linear layer's
/// GEMM does through LowerMatmulsToCalls. The pre-activation tensor is
/// never written; the backward reads only the activation's output.
Operation *fusedActivation(Operation *producer) {
  if (!producer->hasOneUse())
    return nullptr;
  Operation *user = *producer->getUsers().begin();
  return isa<ReluOp, LeakyReluOp>(user) ? user : nullptr;
}

/// A product with a bf16 result as one call of the runtime's
/// mixed-precision GEMM, which accumulates in f32 and rounds in its
/// epilogue (after the bias and the fused activation of `fuseFrom`'s user,
/// if any): no f32 accumulator exists for the memory plan to hold.
Value bf16Product(OpBuilder &b, Location loc, Operation *fuseFrom, Value lhs,
                  Value rhs, bool transposeLhs, bool transposeRhs, Value bias,
                  RankedTensorType type) {
  ArrayRef<int64_t> l = cast<RankedTensorType>(lhs.getType()).getShape();
  ArrayRef<int64_t> r = cast<RankedTensorType>(rhs.getType()).getShape();
  int32_t activation = NNCRT_ACTIVATION_NONE;
  float slope = 0.0f;
  Operation *act = fusedActivation(fuseFrom);
  if (auto leaky = dyn_cast_or_null<LeakyReluOp>(act)) {
    activation = NNCRT_ACTIVATION_LEAKY_RELU;
    slope = leaky.getAlpha().convertToFloat();
  } else if (act) {
    activation = NNCRT_ACTIVATION_RELU;
  }
  // The non-pointer arguments of nncrt_gemm_bf16, in its order.
  SmallVector<Attribute> scalars{
      b.getI32IntegerAttr(transposeLhs), b.getI32IntegerAttr(transposeRhs),
      b.getI64IntegerAttr(type.getDimSize(0)),
      b.getI64IntegerAttr(type.getDimSize(1)),
      b.getI64IntegerAttr(transposeLhs ? l[0] : l[1]), b.getF32FloatAttr(1.0),
      b.getI64IntegerAttr(l[1]), b.getI64IntegerAttr(r[1]),
      b.getF32FloatAttr(0.0), b.getI64IntegerAttr(type.getDimSize(1)),
      b.getI32IntegerAttr(NNCRT_TYPE_BF16), b.getI32IntegerAttr(activation),
      b.getF32FloatAttr(slope)};
  // A, B, C, bias: operand indices (inputs, then the output).
  SmallVector<Value> inputs{lhs, rhs};
  SmallVector<int64_t> pointers{0, 1, 2, -1};
  if (bias) {
    inputs.push_back(bias);
    pointers = {0, 1, 3, 2};
  }
  return runtimeCall(b, loc, "nncrt_gemm_bf16", inputs, type, pointers,
                     scalars);
}

/// Elementwise map over tensors of the same shape as `type`; rank-0
/// operands (a scalar loss gradient) are broadcast.
Value elementwise(OpBuilder &b, Location loc, RankedTensorType type,
                  ValueRange inputs, BodyFn body) {
  unsigned rank = type.getRank();
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineMap> maps;
  for (Value in : inputs)
    maps.push_back(cast<RankedTensorType>(in.getType()).getRank() == 0
                       ? AffineMap::get(rank, 0, ctx)
                       : b.getMultiDimIdentityMap(rank));
  maps.push_back(b.getMultiDimIdentityMap(rank));
  Value init =
      b.create<tensor::EmptyOp>(loc, type.getShape(), type.getElementType());
  return generic(b, loc, init, inputs, maps,
                 SmallVector<IteratorType>(rank, IteratorType::parallel), body);
}

/// Sums (or maximizes, with `isMax`) a [B, C] tensor over its rows into [B],
/// after applying `pre` to each element (given the row reduction inputs).
Value rowReduce(
    OpBuilder &b, Location loc, ValueRange inputs,
    ArrayRef<AffineMap> inputMaps, int64_t rows, double init,
    function_ref<Value(OpBuilder &, Location, ValueRange, Value)> combine) {
  MLIRContext *ctx = b.getContext();
  auto d0 = getAffineDimExpr(0, ctx);
  SmallVector<AffineMap> maps(inputMaps);
  maps.push_back(AffineMap::get(2, 0, {d0}, ctx));
  auto type = RankedTensorType::get({rows}, b.getF32Type());
  return generic(b, loc, filled(b, loc, type, init), inputs, maps,
                 {IteratorType::parallel, IteratorType::reduction},
                 [&](OpBuilder &nb, Location nloc, ValueRange args) {
                   return combine(nb, nloc, args.drop_back(), args.back());
                 });
}

/// Sum of all elements into a rank-0 tensor, then scaled by `scale`.
Value sumAllScaled(
    OpBuilder &b, Location loc, ValueRange inputs,
    ArrayRef<AffineMap> inputMaps, unsigned rank, double scale,
    function_ref<Value(OpBuilder &, Location, ValueRange)> term) {
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineMap> maps(inputMaps);
  maps.push_back(AffineMap::get(rank, 0, ctx));
  auto scalarType = RankedTensorType::get({}, b.getF32Type());
  Value sum =
      generic(b, loc, filled(b, loc, scalarType, 0.0), inputs, maps,
              SmallVector<IteratorType>(rank, IteratorType::reduction),
              [&](OpBuilder &nb, Location nloc, ValueRange args) {
                return nb.create<arith::AddFOp>(
                    nloc, args.back(), term(nb, nloc, args.drop_back()));
              });
  return elementwise(b, loc, scalarType, sum,
                     [&](OpBuilder &nb, Location nloc, ValueRange args) {
                       return nb.create<arith::MulFOp>(
                           nloc, args[0], f32Const(nb, nloc, scale));
                     });
}

/// [B, C] row maximum and row sum of exp(x - max): the stable softmax and
/// log-sum-exp both start from these.
std::pair<Value, Value> rowMaxAndExpSum(OpBuilder &b, Location loc, Value x) {
  auto type = cast<RankedTensorType>(x.getType());
  MLIRContext *ctx = b.getContext();
  AffineMap id = b.getMultiDimIdentityMap(2);
  AffineMap row = AffineMap::get(2, 0, {getAffineDimExpr(0, ctx)}, ctx);
  int64_t rows = type.getDimSize(0);
  Value max = rowReduce(
      b, loc, x, {id}, rows, -std::numeric_limits<double>::infinity(),
      [](OpBuilder &nb, Location nloc, ValueRange in, Value acc) -> Value {
        return nb.create<arith::MaximumFOp>(nloc, acc, in[0]);
      });
  Value sum = rowReduce(
      b, loc, ValueRange{x, max}, {id, row}, rows, 0.0,
      [](OpBuilder &nb, Location nloc, ValueRange in, Value acc) -> Value {
        Value e = nb.create<math::ExpOp>(
            nloc, nb.create<arith::SubFOp>(nloc, in[0], in[1]));
        return nb.create<arith::AddFOp>(nloc, acc, e);
      });
  return {max, sum};
}

/// Inline counter-based hash (a 32-bit integer finalizer) of the element's
/// row-major index and the op's seed: the dropout mask needs no state, so a
/// recomputation or the backward pass regenerates it exactly.
Value dropoutKeep(OpBuilder &b, Location loc, RankedTensorType type,
                  int64_t seed, double rate) {
  Value linear = b.create<arith::ConstantIndexOp>(loc, 0);
  for (int64_t d = 0; d < type.getRank(); ++d) {
    Value size = b.create<arith::ConstantIndexOp>(loc, type.getDimSize(d));
    linear =
        b.create<arith::AddIOp>(loc, b.create<arith::MulIOp>(loc, linear, size),
                                b.create<linalg::IndexOp>(loc, d));
  }
  auto i32 = b.getI32Type();
  auto c32 = [&](uint32_t v) {
    return b.create<arith::ConstantOp>(loc, b.getI32IntegerAttr(v));
  };
  // Mix the seed in first so nearby seeds give unrelated masks.
  uint32_t s = static_cast<uint32_t>(seed) ^ static_cast<uint32_t>(seed >> 32);
  s = (s ^ (s >> 16)) * 0x7feb352dU;
  s = (s ^ (s >> 15)) * 0x846ca68bU;
  s ^= s >> 16;
  Value h = b.create<arith::XOrIOp>(
      loc, b.create<arith::IndexCastUIOp>(loc, i32, linear), c32(s));
  auto mix = [&](uint32_t shift, uint32_t mul) {
    h = b.create<arith::XOrIOp>(loc, h,
                                b.create<arith::ShRUIOp>(loc, h, c32(shift)));
    if (mul)
      h = b.create<arith::MulIOp>(loc, h, c32(mul));
  };
  mix(16, 0x7feb352dU);
  mix(15, 0x846ca68bU);
  mix(16, 0);
  // Top 24 bits as a uniform float in [0, 1).
  Value u = b.create<arith::MulFOp>(
      loc,
      b.create<arith::UIToFPOp>(loc, b.getF32Type(),
                                b.create<arith::ShRUIOp>(loc, h, c32(8))),
      f32Const(b, loc, 1.0 / 16777216.0));
  return b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGE, u,
                                 f32Const(b, loc, rate));
}

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

template <typename Op> struct NNPattern : public OpConversionPattern<Op> {
  using OpConversionPattern<Op>::OpConversionPattern;
  using Adaptor = typename Op::Adaptor;
  LogicalResult
  matchAndRewrite(Op op, Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Value result = lower(op, adaptor, rewriter, op.getLoc());
    if (!result)
      return failure();
    // Keep the graph-level annotations (nn.stage, nn.recomputed) on the op
    // that writes the result, for the memory planner's picture.
    if (Operation *def = result.getDefiningOp())
      for (NamedAttribute attr : op->getDiscardableAttrs())
        def->setAttr(attr.getName(), attr.getValue());
    rewriter.replaceOp(op, result);
    return success();
  }
  virtual Value lower(Op op, Adaptor a, OpBuilder &b, Location loc) const = 0;
};

/// Elementwise ops: only the scalar body differs.
template <typename Op> struct ElementwisePattern : public NNPattern<Op> {
  using NNPattern<Op>::NNPattern;
  using Adaptor = typename Op::Adaptor;
  Value lower(Op op, Adaptor a, OpBuilder &b, Location loc) const override {
    Value result =
        elementwise(b, loc, cast<RankedTensorType>(op.getType()),
                    a.getOperands(),
                    [&](OpBuilder &nb, Location nloc, ValueRange args) {
                      return body(op, nb, nloc, args);
                    });
    // What the generic computes, for a producer that can fuse it.
    if (EpilogueAttr e = epilogue(op))
      result.getDefiningOp()->setAttr(NNDialect::getEpilogueAttrName(), e);
    return result;
  }
  static Value body(Op op, OpBuilder &b, Location loc, ValueRange args);
  static EpilogueAttr epilogue(Op) { return {}; }
};

template <> EpilogueAttr ElementwisePattern<ReluOp>::epilogue(ReluOp op) {
  return EpilogueAttr::get(op.getContext(), EpilogueKind::Relu, FloatAttr());
}
template <>
EpilogueAttr ElementwisePattern<LeakyReluOp>::epilogue(LeakyReluOp op) {
  return EpilogueAttr::get(op.getContext(), EpilogueKind::LeakyRelu,
                           op.getAlphaAttr());
}

template <>
Value ElementwisePattern<AddOp>::body(AddOp, OpBuilder &b, Location loc,
                                      ValueRange args) {
  return b.create<arith::AddFOp>(loc, args[0], args[1]);
}
template <>
Value ElementwisePattern<MulOp>::body(MulOp, OpBuilder &b, Location loc,
                                      ValueRange args) {
  return b.create<arith::MulFOp>(loc, args[0], args[1]);
}
template <>
Value ElementwisePattern<ScaleOp>::body(ScaleOp op, OpBuilder &b, Location loc,
                                        ValueRange args) {
  return b.create<arith::MulFOp>(
      loc, args[0], f32Const(b, loc, op.getFactor().convertToDouble()));
}
template <>
Value ElementwisePattern<CastOp>::body(CastOp, OpBuilder &, Location,
                                       ValueRange args) {
  return args[0];
}
template <>
Value ElementwisePattern<ReluOp>::body(ReluOp, OpBuilder &b, Location loc,
                                       ValueRange args) {
  Value zero = f32Const(b, loc, 0.0);
  Value pos =
      b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGT, args[0], zero);
  return b.create<arith::SelectOp>(loc, pos, args[0], zero);
}
template <>
Value ElementwisePattern<SigmoidOp>::body(SigmoidOp, OpBuilder &b, Location loc,
                                          ValueRange args) {
  Value one = f32Const(b, loc, 1.0);
  Value e = b.create<math::ExpOp>(loc, b.create<arith::NegFOp>(loc, args[0]));
  return b.create<arith::DivFOp>(loc, one,
                                 b.create<arith::AddFOp>(loc, one, e));
}
template <>
Value ElementwisePattern<TanhOp>::body(TanhOp, OpBuilder &b, Location loc,
                                       ValueRange args) {
  return b.create<math::TanhOp>(loc, args[0]);
}
template <>
Value ElementwisePattern<LeakyReluOp>::body(LeakyReluOp op, OpBuilder &b,
                                            Location loc, ValueRange args) {
  Value pos = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGT, args[0],
                                      f32Const(b, loc, 0.0));
  Value scaled = b.create<arith::MulFOp>(
      loc, args[0], f32Const(b, loc, op.getAlpha().convertToDouble()));
  return b.create<arith::SelectOp>(loc, pos, args[0], scaled);
}
/// Φ(x) = (1 + erf(x / √2)) / 2, the standard normal distribution function.
static Value normalCDF(OpBuilder &b, Location loc, Value x) {
  Value erf = b.create<math::ErfOp>(
      loc, b.create<arith::MulFOp>(loc, x, f32Const(b, loc, M_SQRT1_2)));
  return b.create<arith::MulFOp>(
      loc, f32Const(b, loc, 0.5),
      b.create<arith::AddFOp>(loc, f32Const(b, loc, 1.0), erf));
}
template <>
Value ElementwisePattern<GeluOp>::body(GeluOp, OpBuilder &b, Location loc,
                                       ValueRange args) {
  return b.create<arith::MulFOp>(loc, args[0], normalCDF(b, loc, args[0]));
}
template <>
Value ElementwisePattern<DropoutOp>::body(DropoutOp op, OpBuilder &b,
                                          Location loc, ValueRange args) {
  double rate = op.getRate().convertToDouble();
  Value keep = dropoutKeep(b, loc, cast<RankedTensorType>(op.getType()),
                           op.getSeed(), rate);
  Value scaled = b.create<arith::MulFOp>(loc, args[0],
                                         f32Const(b, loc, 1.0 / (1.0 - rate)));
  return b.create<arith::SelectOp>(loc, keep, scaled, f32Const(b, loc, 0.0));
}
template <>
Value ElementwisePattern<ReluGradOp>::body(ReluGradOp, OpBuilder &b,
                                           Location loc, ValueRange args) {
  Value zero = f32Const(b, loc, 0.0);
  Value pos =
      b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGT, args[0], zero);
  return b.create<arith::SelectOp>(loc, pos, args[1], zero);
}
template <>
Value ElementwisePattern<LeakyReluGradOp>::body(LeakyReluGradOp op,
                                                OpBuilder &b, Location loc,
                                                ValueRange args) {
  Value pos = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGT, args[0],
                                      f32Const(b, loc, 0.0));
  Value scaled = b.create<arith::MulFOp>(
      loc, args[1], f32Const(b, loc, op.getAlpha().convertToDouble()));
  return b.create<arith::SelectOp>(loc, pos, args[1], scaled);
}
template <>
Value ElementwisePattern<GeluGradOp>::body(GeluGradOp, OpBuilder &b,
                                           Location loc, ValueRange args) {
  // d/dx x·Φ(x) = Φ(x) + x·φ(x), φ(x) = exp(-x²/2) / √(2π).
  Value x = args[0], dy = args[1];
  Value x2 = b.create<arith::MulFOp>(loc, x, x);
  Value pdf = b.create<arith::MulFOp>(
      loc, f32Const(b, loc, 0.5 * M_2_SQRTPI * M_SQRT1_2),
      b.create<math::ExpOp>(
          loc, b.create<arith::MulFOp>(loc, x2, f32Const(b, loc, -0.5))));
  Value slope = b.create<arith::AddFOp>(loc, normalCDF(b, loc, x),
                                        b.create<arith::MulFOp>(loc, x, pdf));
  return b.create<arith::MulFOp>(loc, dy, slope);
}
template <>
Value ElementwisePattern<SigmoidGradOp>::body(SigmoidGradOp, OpBuilder &b,
                                              Location loc, ValueRange args) {
  Value y = args[0], dy = args[1];
  Value oneMinusY = b.create<arith::SubFOp>(loc, f32Const(b, loc, 1.0), y);
  return b.create<arith::MulFOp>(loc, dy,
                                 b.create<arith::MulFOp>(loc, y, oneMinusY));
}
template <>
Value ElementwisePattern<TanhGradOp>::body(TanhGradOp, OpBuilder &b,
                                           Location loc, ValueRange args) {
  Value y = args[0], dy = args[1];
  Value oneMinusY2 = b.create<arith::SubFOp>(
      loc, f32Const(b, loc, 1.0), b.create<arith::MulFOp>(loc, y, y));
  return b.create<arith::MulFOp>(loc, dy, oneMinusY2);
}
/// g + λ·w (PyTorch's weight decay), or g itself when λ = 0 so that the
/// plain update stays bit-identical to w - lr·g.
Value decayed(OpBuilder &b, Location loc, Value g, Value w, APFloat lambda) {
  if (lambda.isZero())
    return g;
  return b.create<arith::AddFOp>(
      loc, g,
      b.create<arith::MulFOp>(loc, f32Const(b, loc, lambda.convertToDouble()),
                              w));
}

// SGD stays its own elementwise generic reading lr from a rank-0 tensor:
// w - lr·g in one pass (a GEMM epilogue can absorb it later).
template <>
Value ElementwisePattern<SGDOp>::body(SGDOp op, OpBuilder &b, Location loc,
                                      ValueRange args) {
  Value w = args[0], lr = args[2];
  Value g = decayed(b, loc, args[1], w, op.getWeightDecay());
  return b.create<arith::SubFOp>(loc, w, b.create<arith::MulFOp>(loc, lr, g));
}

/// out[m, n] = init[m, n] + Σ_k lhs[m|k, k|m] · rhs[k|n, n|k] · scale,
/// with `scale` a rank-0 tensor (no multiplication without one).
Value contract(OpBuilder &b, Location loc, Value lhs, Value rhs, Value init,
               bool transposeLhs, bool transposeRhs, Value scale = {}) {
  MLIRContext *ctx = b.getContext();
  // A batched product: the leading dimensions are outer parallel loops.
  unsigned batch = cast<RankedTensorType>(init.getType()).getRank() - 2;
  // Loops nest in the order of the iteration dimensions. When rhs is
  // row-major along n, iterate (m, k, n): the innermost loop then streams
  // rhs and out contiguously with no reduction in it, which LLVM vectorizes
  // without reassociating anything — every out[m, n] still accumulates over
  // k in increasing order, as in the (m, n, k) nest used otherwise.
  bool kMiddle = !transposeRhs;
  unsigned dims = batch + 3;
  AffineExpr m = getAffineDimExpr(batch, ctx),
             n = getAffineDimExpr(batch + (kMiddle ? 2 : 1), ctx),
             k = getAffineDimExpr(batch + (kMiddle ? 1 : 2), ctx);
  auto map = [&](AffineExpr a, AffineExpr c) {
    SmallVector<AffineExpr> exprs;
    for (unsigned d = 0; d < batch; ++d)
      exprs.push_back(getAffineDimExpr(d, ctx));
    exprs.append({a, c});
    return AffineMap::get(dims, 0, exprs, ctx);
  };
  SmallVector<AffineMap> maps{transposeLhs ? map(k, m) : map(m, k),
                              transposeRhs ? map(n, k) : map(k, n)};
  SmallVector<Value> inputs{lhs, rhs};
  if (scale) {
    maps.push_back(AffineMap::get(dims, 0, ctx));
    inputs.push_back(scale);
  }
  maps.push_back(map(m, n));
  SmallVector<IteratorType> iterators(dims, IteratorType::parallel);
  iterators[batch + (kMiddle ? 1 : 2)] = IteratorType::reduction;
  return generic(b, loc, init, inputs, maps, iterators,
                 [&](OpBuilder &nb, Location nloc, ValueRange args) {
                   Value p = nb.create<arith::MulFOp>(nloc, args[0], args[1]);
                   if (scale)
                     p = nb.create<arith::MulFOp>(nloc, p, args[2]);
                   return nb.create<arith::AddFOp>(nloc, args.back(), p);
                 });
}

struct LinearPattern : public NNPattern<LinearOp> {
  using NNPattern::NNPattern;
  Value lower(LinearOp op, Adaptor a, OpBuilder &b,
              Location loc) const override {
    auto type = cast<RankedTensorType>(op.getType());
    // (An f16 product, precision=fp16, is the same call: only the GPU
    // target, which builds its kernel from the call, accepts fp16.)
    if (isa<BFloat16Type, Float16Type>(type.getElementType()))
      return bf16Product(b, loc, op, a.getInput(), a.getWeight(), false, true,
                         a.getBias(), type);
    Value init;
    if (Value bias = a.getBias()) {
      // Start the accumulation from the broadcast bias.
      MLIRContext *ctx = b.getContext();
      Value empty = b.create<tensor::EmptyOp>(loc, type.getShape(),
                                              type.getElementType());
      init = generic(
          b, loc, empty, bias,
          {AffineMap::get(2, 0, {getAffineDimExpr(1, ctx)}, ctx),
           b.getMultiDimIdentityMap(2)},
          {IteratorType::parallel, IteratorType::parallel},
          [](OpBuilder &, Location, ValueRange args) { return args[0]; });
    } else {
      init = filled(b, loc, type, 0.0);
    }
    return contract(b, loc, a.getInput(), a.getWeight(), init, false, true);
  }
};

struct MatmulPattern : public NNPattern<MatmulOp> {
  using NNPattern::NNPattern;
  Value lower(MatmulOp op, Adaptor a, OpBuilder &b,
              Location loc) const override {
    auto type = cast<RankedTensorType>(op.getType());
    if (isa<BFloat16Type, Float16Type>(type.getElementType()) &&
        type.getRank() == 2)
      return bf16Product(b, loc, op, a.getLhs(), a.getRhs(),
                         op.getTransposeLhs(), op.getTransposeRhs(), Value(),
                         type);
    return contract(b, loc, a.getLhs(), a.getRhs(), filled(b, loc, type, 0.0),
                    op.getTransposeLhs(), op.getTransposeRhs());
  }
};

/// w - lr · op(lhs) · op(rhs): the contraction accumulates -lr times the
/// product onto a copy of w, so no gradient tensor exists.
struct SGDMatmulPattern : public NNPattern<SGDMatmulOp> {
  using NNPattern::NNPattern;
  Value lower(SGDMatmulOp op, Adaptor a, OpBuilder &b,
              Location loc) const override {
    auto type = cast<RankedTensorType>(op.getType());
    Value empty = b.create<tensor::EmptyOp>(loc, type.getShape(),
                                            type.getElementType());
    Value init =
        b.create<linalg::CopyOp>(loc, a.getParam(), empty).getResult(0);
    // -lr, once (a rank-0 tensor the contraction scales every product by).
    auto scalar = RankedTensorType::get({}, b.getF32Type());
    Value negLr = elementwise(b, loc, scalar, a.getLr(),
                              [](OpBuilder &nb, Location nloc, ValueRange args) {
                                return nb.create<arith::NegFOp>(nloc, args[0]);
                              });
    return contract(b, loc, a.getLhs(), a.getRhs(), init, op.getTransposeLhs(),
                    op.getTransposeRhs(), negLr);
  }
};

struct ReduceSumPattern : public NNPattern<ReduceSumOp> {
  using NNPattern::NNPattern;
  Value lower(ReduceSumOp op, Adaptor a, OpBuilder &b,
              Location loc) const override {
    auto inType = cast<RankedTensorType>(op.getInput().getType());
    unsigned rank = inType.getRank();
    int64_t dim = op.getDim();
    SmallVector<AffineExpr> kept;
    SmallVector<IteratorType> iterators;
    for (unsigned d = 0; d < rank; ++d) {
      iterators.push_back(d == dim ? IteratorType::reduction
                                   : IteratorType::parallel);
      if (d != dim)
        kept.push_back(b.getAffineDimExpr(d));
    }
    return generic(
        b, loc, filled(b, loc, cast<RankedTensorType>(op.getType()), 0.0),
        a.getInput(),
        {b.getMultiDimIdentityMap(rank),
         AffineMap::get(rank, 0, kept, b.getContext())},
        iterators, [](OpBuilder &nb, Location nloc, ValueRange args) {
          return nb.create<arith::AddFOp>(nloc, args[1], args[0]);
        });
  }
};

AffineMap rowMap(OpBuilder &b) {
  return AffineMap::get(2, 0, {b.getAffineDimExpr(0)}, b.getContext());
}

struct SoftmaxPattern : public NNPattern<SoftmaxOp> {
  using NNPattern::NNPattern;
  Value lower(SoftmaxOp op, Adaptor a, OpBuilder &b,
              Location loc) const override {
    auto type = cast<RankedTensorType>(op.getType());
    auto [max, sum] = rowMaxAndExpSum(b, loc, a.getInput());
    Value x = a.getInput();
    MLIRContext *ctx = b.getContext();
    AffineMap id = b.getMultiDimIdentityMap(2), row = rowMap(b);
    (void)ctx;
    Value empty =
        b.create<tensor::EmptyOp>(loc, type.getShape(), type.getElementType());
    return generic(b, loc, empty, ValueRange{x, max, sum}, {id, row, row, id},
                   {IteratorType::parallel, IteratorType::parallel},
                   [](OpBuilder &nb, Location nloc, ValueRange args) {
                     Value e = nb.create<math::ExpOp>(
                         nloc,
                         nb.create<arith::SubFOp>(nloc, args[0], args[1]));
                     return nb.create<arith::DivFOp>(nloc, e, args[2]);
                   });
  }
};

struct SoftmaxGradPattern : public NNPattern<SoftmaxGradOp> {
  using NNPattern::NNPattern;
  Value lower(SoftmaxGradOp op, Adaptor a, OpBuilder &b,
              Location loc) const override {
    auto type = cast<RankedTensorType>(op.getType());
    AffineMap id = b.getMultiDimIdentityMap(2), row = rowMap(b);
    Value y = a.getSaved(), dy = a.getGrad();
    Value dot = rowReduce(
        b, loc, ValueRange{y, dy}, {id, id}, type.getDimSize(0), 0.0,
        [](OpBuilder &nb, Location nloc, ValueRange in, Value acc) -> Value {
          return nb.create<arith::AddFOp>(
              nloc, acc, nb.create<arith::MulFOp>(nloc, in[0], in[1]));
        });
    Value empty =
        b.create<tensor::EmptyOp>(loc, type.getShape(), type.getElementType());
    return generic(b, loc, empty, ValueRange{y, dy, dot}, {id, id, row, id},
                   {IteratorType::parallel, IteratorType::parallel},
                   [](OpBuilder &nb, Location nloc, ValueRange args) {
                     Value d = nb.create<arith::SubFOp>(nloc, args[1], args[2]);
                     return nb.create<arith::MulFOp>(nloc, args[0], d);
                   });
  }
};

struct MSELossPattern : public NNPattern<MSELossOp> {
  using NNPattern::NNPattern;
  Value lower(MSELossOp op, Adaptor a, OpBuilder &b,
              Location loc) const override {
    auto type = cast<RankedTensorType>(op.getInput().getType());
    unsigned rank = type.getRank();
    AffineMap id = b.getMultiDimIdentityMap(rank);
    return sumAllScaled(b, loc, ValueRange{a.getInput(), a.getTarget()},
                        {id, id}, rank, 1.0 / type.getNumElements(),
                        [](OpBuilder &nb, Location nloc, ValueRange args) {
                          Value d =
                              nb.create<arith::SubFOp>(nloc, args[0], args[1]);
                          return nb.create<arith::MulFOp>(nloc, d, d);
                        });
  }
};

struct MSELossGradPattern : public NNPattern<MSELossGradOp> {
  using NNPattern::NNPattern;
  Value lower(MSELossGradOp op, Adaptor a, OpBuilder &b,
              Location loc) const override {
    auto type = cast<RankedTensorType>(op.getType());
    double scale = 2.0 / type.getNumElements();
    return elementwise(
        b, loc, type, ValueRange{a.getInput(), a.getTarget(), a.getGrad()},
        [&](OpBuilder &nb, Location nloc, ValueRange args) {
          Value d = nb.create<arith::SubFOp>(nloc, args[0], args[1]);
          Value s = nb.create<arith::MulFOp>(nloc, args[2],
                                             f32Const(nb, nloc, scale));
          return nb.create<arith::MulFOp>(nloc, d, s);
        });
  }
};

/// 1.0 where column index == label of the row, else 0.0.
Value oneHot(OpBuilder &b, Location loc, Value label) {
  Value col = b.create<linalg::IndexOp>(loc, 1);
  Value l = b.create<arith::IndexCastOp>(loc, b.getIndexType(), label);
  Value hit = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, col, l);
  return b.create<arith::SelectOp>(loc, hit, f32Const(b, loc, 1.0),
                                   f32Const(b, loc, 0.0));
}

/// Whether `label` (i32 or i64) is a class index in [0, classes).
Value isClass(OpBuilder &b, Location loc, Value label, int64_t classes) {
  Type t = label.getType();
  Value zero = b.create<arith::ConstantOp>(loc, b.getIntegerAttr(t, 0));
  Value n = b.create<arith::ConstantOp>(loc, b.getIntegerAttr(t, classes));
  return b.create<arith::AndIOp>(
      loc, b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::sge, label, zero),
      b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, label, n));
}

struct CrossEntropyPattern : public NNPattern<CrossEntropyOp> {
  using NNPattern::NNPattern;
  Value lower(CrossEntropyOp op, Adaptor a, OpBuilder &b,
              Location loc) const override {
    auto type = cast<RankedTensorType>(op.getLogits().getType());
    int64_t rows = type.getDimSize(0);
    AffineMap id = b.getMultiDimIdentityMap(2), row = rowMap(b);
    Value z = a.getLogits(), labels = a.getLabels();
    auto [max, sum] = rowMaxAndExpSum(b, loc, z);
    // The logit of the labelled class, picked by a masked row sum.
    Value picked = rowReduce(
        b, loc, ValueRange{z, labels}, {id, row}, rows, 0.0,
        [](OpBuilder &nb, Location nloc, ValueRange in, Value acc) -> Value {
          return nb.create<arith::AddFOp>(
              nloc, acc,
              nb.create<arith::MulFOp>(nloc, in[0], oneHot(nb, nloc, in[1])));
        });
    // loss = mean_b(max_b + log(sum_b) - picked_b). A label that is no
    // class makes its term, and so the loss, NaN: the step reports the bad
    // batch through its loss rather than return a finite wrong one.
    AffineMap vec = b.getMultiDimIdentityMap(1);
    int64_t classes = type.getDimSize(1);
    return sumAllScaled(
        b, loc, ValueRange{max, sum, picked, labels}, {vec, vec, vec, vec}, 1,
        1.0 / rows, [&](OpBuilder &nb, Location nloc, ValueRange args) {
          Value lse = nb.create<arith::AddFOp>(
              nloc, args[0], nb.create<math::LogOp>(nloc, args[1]));
          return nb.create<arith::SelectOp>(
              nloc, isClass(nb, nloc, args[3], classes),
              nb.create<arith::SubFOp>(nloc, lse, args[2]),
              f32Const(nb, nloc, std::numeric_limits<double>::quiet_NaN()));
        });
  }
};

struct CrossEntropyGradPattern : public NNPattern<CrossEntropyGradOp> {
  using NNPattern::NNPattern;
  Value lower(CrossEntropyGradOp op, Adaptor a, OpBuilder &b,
              Location loc) const override {
    auto type = cast<RankedTensorType>(op.getType());
    MLIRContext *ctx = b.getContext();
    AffineMap id = b.getMultiDimIdentityMap(2), row = rowMap(b);
    AffineMap scalar = AffineMap::get(2, 0, ctx);
    Value z = a.getLogits();
    auto [max, sum] = rowMaxAndExpSum(b, loc, z);
    double invRows = 1.0 / type.getDimSize(0);
    Value empty =
        b.create<tensor::EmptyOp>(loc, type.getShape(), type.getElementType());
    // dz = (softmax(z) - onehot(label)) · dloss / batch; a row whose label
    // is no class (the loss is NaN) contributes nothing.
    int64_t classes = type.getDimSize(1);
    return generic(
        b, loc, empty, ValueRange{z, max, sum, a.getLabels(), a.getGrad()},
        {id, row, row, row, scalar, id},
        {IteratorType::parallel, IteratorType::parallel},
        [&](OpBuilder &nb, Location nloc, ValueRange args) {
          Value e = nb.create<math::ExpOp>(
              nloc, nb.create<arith::SubFOp>(nloc, args[0], args[1]));
          Value p = nb.create<arith::DivFOp>(nloc, e, args[2]);
          Value d =
              nb.create<arith::SubFOp>(nloc, p, oneHot(nb, nloc, args[3]));
          Value s = nb.create<arith::MulFOp>(nloc, args[4],
                                             f32Const(nb, nloc, invRows));
          return nb.create<arith::SelectOp>(
              nloc, isClass(nb, nloc, args[3], classes),
              nb.create<arith::MulFOp>(nloc, d, s), f32Const(nb, nloc, 0.0));
        });
  }
};

/// A linalg.generic over `type`'s shape with one output per entry of
/// `outputs` (each of `type`); rank-0 inputs are broadcast.
SmallVector<Value> elementwiseMulti(
    OpBuilder &b, Location loc, RankedTensorType type, ValueRange inputs,
    unsigned numOutputs,
    function_ref<SmallVector<Value>(OpBuilder &, Location, ValueRange)> body) {
  unsigned rank = type.getRank();
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineMap> maps;
  for (Value in : inputs)
    maps.push_back(cast<RankedTensorType>(in.getType()).getRank() == 0
                       ? AffineMap::get(rank, 0, ctx)
                       : b.getMultiDimIdentityMap(rank));
  SmallVector<Value> inits;
  for (unsigned i = 0; i < numOutputs; ++i) {
    inits.push_back(
        b.create<tensor::EmptyOp>(loc, type.getShape(), type.getElementType()));
    maps.push_back(b.getMultiDimIdentityMap(rank));
  }
  auto op = b.create<linalg::GenericOp>(
      loc, TypeRange(ValueRange(inits)), inputs, inits, maps,
      SmallVector<IteratorType>(rank, IteratorType::parallel),
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        nb.create<linalg::YieldOp>(nloc,
                                   body(nb, nloc, args.drop_back(numOutputs)));
      });
  return op.getResults();
}

/// Ops with several results: the patterns return them all.
template <typename Op>
struct MultiResultPattern : public OpConversionPattern<Op> {
  using OpConversionPattern<Op>::OpConversionPattern;
  using Adaptor = typename Op::Adaptor;
  LogicalResult
  matchAndRewrite(Op op, Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    SmallVector<Value> results = lower(op, adaptor, rewriter, op.getLoc());
    for (Value r : results)
      if (Operation *def = r.getDefiningOp())
        for (NamedAttribute attr : op->getDiscardableAttrs())
          def->setAttr(attr.getName(), attr.getValue());
    rewriter.replaceOp(op, results);
    return success();
  }
  virtual SmallVector<Value> lower(Op op, Adaptor a, OpBuilder &b,
                                   Location loc) const = 0;
};

/// PyTorch's SGD momentum step on one element, in its order: d = g + λw;
/// v' = μv + d; w' = w - rate·(nesterov ? d + μv' : v'). Returns {w', v'}.
/// LARS takes it with the layer's trust-scaled rate.
SmallVector<Value> momentumStep(OpBuilder &b, Location loc, Value w, Value g,
                                Value v, Value rate, double mu, bool nesterov,
                                const APFloat &lambda) {
  Value d = decayed(b, loc, g, w, lambda);
  Value m = f32Const(b, loc, mu);
  Value v2 =
      b.create<arith::AddFOp>(loc, b.create<arith::MulFOp>(loc, m, v), d);
  Value step = nesterov ? b.create<arith::AddFOp>(
                              loc, d, b.create<arith::MulFOp>(loc, m, v2))
                        : v2;
  Value w2 = b.create<arith::SubFOp>(loc, w,
                                     b.create<arith::MulFOp>(loc, rate, step));
  return {w2, v2};
}

struct MomentumUpdatePattern : public MultiResultPattern<MomentumUpdateOp> {
  using MultiResultPattern::MultiResultPattern;
  SmallVector<Value> lower(MomentumUpdateOp op, Adaptor a, OpBuilder &b,
                           Location loc) const override {
    return elementwiseMulti(
        b, loc, cast<RankedTensorType>(op.getParam().getType()),
        ValueRange{a.getParam(), a.getGrad(), a.getVelocity(), a.getLr()}, 2,
        [&](OpBuilder &nb, Location nloc, ValueRange args) {
          return momentumStep(nb, nloc, args[0], args[1], args[2], args[3],
                              op.getMomentum().convertToDouble(),
                              op.getNesterov(), op.getWeightDecay());
        });
  }
};

struct AdamUpdatePattern : public MultiResultPattern<AdamUpdateOp> {
  using MultiResultPattern::MultiResultPattern;
  SmallVector<Value> lower(AdamUpdateOp op, Adaptor a, OpBuilder &b,
                           Location loc) const override {
    double beta1 = op.getBeta1().convertToDouble(),
           beta2 = op.getBeta2().convertToDouble(),
           eps = op.getEps().convertToDouble();
    APFloat lambda = op.getWeightDecay();
    // AdamW's shrink factor, when it is not 1.
    bool shrink = op.getDecoupled() && !lambda.isZero();
    // Once per step, in f64 as PyTorch does in Python floats:
    // step_size = lr / (1 - β1^t), sqrt(1 - β2^t) and AdamW's shrink
    // factor 1 - lr·λ, each rounded to f32.
    auto scalar = RankedTensorType::get({}, b.getF32Type());
    SmallVector<Value> coeffs = elementwiseMulti(
        b, loc, scalar, ValueRange{a.getLr(), a.getStep()}, shrink ? 3 : 2,
        [&](OpBuilder &nb, Location nloc, ValueRange args) {
          auto f64 = nb.getF64Type();
          auto c64 = [&](double v) -> Value {
            return nb.create<arith::ConstantOp>(nloc, nb.getF64FloatAttr(v));
          };
          Value lr = nb.create<arith::ExtFOp>(nloc, f64, args[0]);
          Value t = nb.create<arith::ExtFOp>(nloc, f64, args[1]);
          Value bc1 = nb.create<arith::SubFOp>(
              nloc, c64(1.0), nb.create<math::PowFOp>(nloc, c64(beta1), t));
          Value bc2 = nb.create<arith::SubFOp>(
              nloc, c64(1.0), nb.create<math::PowFOp>(nloc, c64(beta2), t));
          auto f32 = nb.getF32Type();
          SmallVector<Value> c{
              nb.create<arith::TruncFOp>(
                  nloc, f32, nb.create<arith::DivFOp>(nloc, lr, bc1)),
              nb.create<arith::TruncFOp>(nloc, f32,
                                         nb.create<math::SqrtOp>(nloc, bc2))};
          if (shrink)
            c.push_back(nb.create<arith::TruncFOp>(
                nloc, f32,
                nb.create<arith::SubFOp>(
                    nloc, c64(1.0),
                    nb.create<arith::MulFOp>(nloc, lr,
                                             c64(lambda.convertToDouble())))));
          return c;
        });
    SmallVector<Value> inputs{a.getParam(), a.getGrad(), a.getM(), a.getV()};
    inputs.append(coeffs);
    return elementwiseMulti(
        b, loc, cast<RankedTensorType>(op.getParam().getType()),
        inputs, 3, [&](OpBuilder &nb, Location nloc, ValueRange args) {
          Value w = args[0], m = args[2], v = args[3], stepSize = args[4],
                bc2Sqrt = args[5];
          // AdamW shrinks the weight and leaves the gradient alone (λ = 0
          // keeps w itself, so the step stays bit-identical to Adam's).
          Value d = args[1];
          if (shrink)
            w = nb.create<arith::MulFOp>(nloc, w, args[6]);
          else if (!op.getDecoupled())
            d = decayed(nb, nloc, d, w, lambda);
          auto mul = [&](Value x, Value y) -> Value {
            return nb.create<arith::MulFOp>(nloc, x, y);
          };
          auto add = [&](Value x, Value y) -> Value {
            return nb.create<arith::AddFOp>(nloc, x, y);
          };
          // 1 - β is taken in f64, then rounded, like PyTorch's alpha.
          Value m2 = add(mul(f32Const(nb, nloc, beta1), m),
                         mul(f32Const(nb, nloc, 1.0 - beta1), d));
          Value v2 = add(mul(f32Const(nb, nloc, beta2), v),
                         mul(mul(f32Const(nb, nloc, 1.0 - beta2), d), d));
          Value denom =
              add(nb.create<arith::DivFOp>(
                      nloc, nb.create<math::SqrtOp>(nloc, v2), bc2Sqrt),
                  f32Const(nb, nloc, eps));
          Value w2 = nb.create<arith::SubFOp>(
              nloc, w,
              mul(stepSize, nb.create<arith::DivFOp>(nloc, m2, denom)));
          return SmallVector<Value>{w2, m2, v2};
        });
  }
};

/// Σ t² over every element of `type`'s shape, where `term` computes t (in
/// f32) from the elements of `inputs` (rank-0 inputs are broadcast): an f64
/// accumulator, all dimensions reduced with the loops nested in dimension
/// order, so the sum runs in row-major element order and is deterministic.
/// Returns a rank-0 f64 tensor.
Value sumOfSquares(OpBuilder &b, Location loc, RankedTensorType type,
                   ValueRange inputs, BodyFn term) {
  unsigned rank = type.getRank();
  MLIRContext *ctx = b.getContext();
  auto f64 = b.getF64Type();
  Value empty = b.create<tensor::EmptyOp>(loc, ArrayRef<int64_t>{}, f64);
  Value zero =
      b.create<linalg::FillOp>(loc,
                               ValueRange{b.create<arith::ConstantOp>(
                                   loc, b.getF64FloatAttr(0.0))},
                               ValueRange{empty})
          .getResult(0);
  SmallVector<AffineMap> maps;
  for (Value in : inputs)
    maps.push_back(cast<RankedTensorType>(in.getType()).getRank() == 0
                       ? AffineMap::get(rank, 0, ctx)
                       : b.getMultiDimIdentityMap(rank));
  maps.push_back(AffineMap::get(rank, 0, ctx));
  return generic(b, loc, zero, inputs, maps,
                 SmallVector<IteratorType>(rank, IteratorType::reduction),
                 [&](OpBuilder &nb, Location nloc, ValueRange args) {
                   Value t = term(nb, nloc, args.drop_back());
                   Value x = nb.create<arith::ExtFOp>(nloc, f64, t);
                   return nb.create<arith::AddFOp>(
                       nloc, args.back(), nb.create<arith::MulFOp>(nloc, x, x));
                 });
}

/// A layer-wise trust ratio as LARS and LAMB define it, from two f64 sums
/// of squares: `scale`·‖w‖ / (‖u‖ + λ·‖w‖), or 1 when either norm is 0
/// (a zero-initialized bias, a parameter the loss does not reach). Computed
/// in f64, rounded to f32 once, then multiplied by the run-time `lr` in f32:
/// the result is the step's rate for this parameter, a rank-0 f32 tensor.
Value trustRate(OpBuilder &b, Location loc, Value wSquares, Value uSquares,
                Value lr, double scale, double lambda) {
  auto scalar = RankedTensorType::get({}, b.getF32Type());
  return elementwise(
      b, loc, scalar, ValueRange{wSquares, uSquares, lr},
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        auto c64 = [&](double v) -> Value {
          return nb.create<arith::ConstantOp>(nloc, nb.getF64FloatAttr(v));
        };
        Value wn = nb.create<math::SqrtOp>(nloc, args[0]);
        Value un = nb.create<math::SqrtOp>(nloc, args[1]);
        Value ratio = nb.create<arith::DivFOp>(
            nloc, nb.create<arith::MulFOp>(nloc, c64(scale), wn),
            nb.create<arith::AddFOp>(
                nloc, un, nb.create<arith::MulFOp>(nloc, c64(lambda), wn)));
        auto positive = [&](Value x) -> Value {
          return nb.create<arith::CmpFOp>(nloc, arith::CmpFPredicate::OGT, x,
                                          c64(0.0));
        };
        Value trust = nb.create<arith::SelectOp>(
            nloc,
            nb.create<arith::AndIOp>(nloc, positive(wn), positive(un)), ratio,
            c64(1.0));
        Value trust32 =
            nb.create<arith::TruncFOp>(nloc, nb.getF32Type(), trust);
        return nb.create<arith::MulFOp>(nloc, args[2], trust32);
      });
}

struct LarsUpdatePattern : public MultiResultPattern<LarsUpdateOp> {
  using MultiResultPattern::MultiResultPattern;
  SmallVector<Value> lower(LarsUpdateOp op, Adaptor a, OpBuilder &b,
                           Location loc) const override {
    auto type = cast<RankedTensorType>(op.getParam().getType());
    APFloat lambda = op.getWeightDecay();
    auto first = [](OpBuilder &, Location, ValueRange args) {
      return args[0];
    };
    Value rate = trustRate(
        b, loc, sumOfSquares(b, loc, type, a.getParam(), first),
        sumOfSquares(b, loc, type, a.getGrad(), first), a.getLr(),
        op.getTrustCoefficient().convertToDouble(), lambda.convertToDouble());
    // The heavy-ball step at rate lr·trust. Scaling the rate instead of d
    // is the same step up to rounding and keeps the velocity in the
    // gradient's units, as momentum_update's.
    return elementwiseMulti(
        b, loc, type,
        ValueRange{a.getParam(), a.getGrad(), a.getVelocity(), rate}, 2,
        [&](OpBuilder &nb, Location nloc, ValueRange args) {
          return momentumStep(nb, nloc, args[0], args[1], args[2], args[3],
                              op.getMomentum().convertToDouble(),
                              /*nesterov=*/false, lambda);
        });
  }
};

struct LambUpdatePattern : public MultiResultPattern<LambUpdateOp> {
  using MultiResultPattern::MultiResultPattern;
  SmallVector<Value> lower(LambUpdateOp op, Adaptor a, OpBuilder &b,
                           Location loc) const override {
    auto type = cast<RankedTensorType>(op.getParam().getType());
    double beta1 = op.getBeta1().convertToDouble(),
           beta2 = op.getBeta2().convertToDouble(),
           eps = op.getEps().convertToDouble();
    APFloat lambda = op.getWeightDecay();
    auto scalar = RankedTensorType::get({}, b.getF32Type());
    // The bias corrections 1 - β1^t and sqrt(1 - β2^t), in f64 rounded to
    // f32 once per step, as adam_update's.
    SmallVector<Value> bc = elementwiseMulti(
        b, loc, scalar, ValueRange{a.getStep()}, 2,
        [&](OpBuilder &nb, Location nloc, ValueRange args) {
          auto c64 = [&](double v) -> Value {
            return nb.create<arith::ConstantOp>(nloc, nb.getF64FloatAttr(v));
          };
          Value t = nb.create<arith::ExtFOp>(nloc, nb.getF64Type(), args[0]);
          auto oneMinusPow = [&](double beta) -> Value {
            return nb.create<arith::SubFOp>(
                nloc, c64(1.0), nb.create<math::PowFOp>(nloc, c64(beta), t));
          };
          auto f32 = nb.getF32Type();
          return SmallVector<Value>{
              nb.create<arith::TruncFOp>(nloc, f32, oneMinusPow(beta1)),
              nb.create<arith::TruncFOp>(
                  nloc, f32, nb.create<math::SqrtOp>(nloc, oneMinusPow(beta2)))};
        });
    SmallVector<Value> moments = elementwiseMulti(
        b, loc, type, ValueRange{a.getGrad(), a.getM(), a.getV()}, 2,
        [&](OpBuilder &nb, Location nloc, ValueRange args) {
          Value g = args[0];
          auto mul = [&](Value x, Value y) -> Value {
            return nb.create<arith::MulFOp>(nloc, x, y);
          };
          Value m2 = nb.create<arith::AddFOp>(
              nloc, mul(f32Const(nb, nloc, beta1), args[1]),
              mul(f32Const(nb, nloc, 1.0 - beta1), g));
          Value v2 = nb.create<arith::AddFOp>(
              nloc, mul(f32Const(nb, nloc, beta2), args[2]),
              mul(mul(f32Const(nb, nloc, 1.0 - beta2), g), g));
          return SmallVector<Value>{m2, v2};
        });
    // r = (m'/bc1) / (sqrt(v')/sqrt(bc2) + ε) + λw, from (w, m', v', bc1,
    // sqrt(bc2)): built twice with the same operations, for ‖r‖ and for the
    // update, so no buffer holds it.
    SmallVector<Value> rInputs{a.getParam(), moments[0], moments[1], bc[0],
                               bc[1]};
    auto direction = [&](OpBuilder &nb, Location nloc,
                         ValueRange args) -> Value {
      Value mHat = nb.create<arith::DivFOp>(nloc, args[1], args[3]);
      Value denom = nb.create<arith::AddFOp>(
          nloc,
          nb.create<arith::DivFOp>(
              nloc, nb.create<math::SqrtOp>(nloc, args[2]), args[4]),
          f32Const(nb, nloc, eps));
      return decayed(nb, nloc, nb.create<arith::DivFOp>(nloc, mHat, denom),
                     args[0], lambda);
    };
    Value rate = trustRate(
        b, loc,
        sumOfSquares(b, loc, type, a.getParam(),
                     [](OpBuilder &, Location, ValueRange args) {
                       return args[0];
                     }),
        sumOfSquares(b, loc, type, rInputs, direction), a.getLr(), 1.0, 0.0);
    rInputs.push_back(rate);
    Value w2 = elementwise(
        b, loc, type, rInputs,
        [&](OpBuilder &nb, Location nloc, ValueRange args) -> Value {
          return nb.create<arith::SubFOp>(
              nloc, args[0],
              nb.create<arith::MulFOp>(nloc, args[5],
                                       direction(nb, nloc, args)));
        });
    return {w2, moments[0], moments[1]};
  }
};

struct NormPattern : public NNPattern<NormOp> {
  using NNPattern::NNPattern;
  Value lower(NormOp op, Adaptor a, OpBuilder &b, Location loc) const override {
    Value sum = sumOfSquares(
        b, loc, cast<RankedTensorType>(op.getInput().getType()), a.getInput(),
        [](OpBuilder &, Location, ValueRange args) { return args[0]; });
    auto scalar = RankedTensorType::get({}, b.getF32Type());
    return elementwise(
        b, loc, scalar, sum, [](OpBuilder &nb, Location nloc, ValueRange args) {
          return nb.create<arith::TruncFOp>(
              nloc, nb.getF32Type(), nb.create<math::SqrtOp>(nloc, args[0]));
        });
  }
};


//===----------------------------------------------------------------------===//
// Convolutional layers: calls of the runtime's library primitives
//===----------------------------------------------------------------------===//

} // namespace

SmallVector<Value> mlir::nnc::runtimeCallMulti(OpBuilder &b, Location loc,
                                    StringRef callee, ValueRange inputs,
                                    TypeRange types,
                                    ArrayRef<int64_t> pointers,
                                    ArrayRef<Attribute> scalars) {
  SmallVector<Value> inits;
  for (Type t : types) {
    auto type = cast<RankedTensorType>(t);
    inits.push_back(
        b.create<tensor::EmptyOp>(loc, type.getShape(), type.getElementType()));
  }
  return b
      .create<RuntimeCallOp>(loc, types, b.getStringAttr(callee), inputs,
                             inits, b.getDenseI64ArrayAttr(pointers),
                             b.getArrayAttr(scalars))
      .getResults();
}

bool mlir::nnc::isHalf(Value v) {
  return isa<BFloat16Type, Float16Type>(
      cast<ShapedType>(v.getType()).getElementType());
}

namespace {

Value runtimeCall(OpBuilder &b, Location loc, StringRef callee,
                  ValueRange inputs, RankedTensorType type,
                  ArrayRef<int64_t> pointers, ArrayRef<Attribute> scalars) {
  return runtimeCallMulti(b, loc, callee, inputs, type, pointers, scalars)[0];
}

SmallVector<Attribute> i64Attrs(OpBuilder &b, ArrayRef<int64_t> values) {
  return llvm::map_to_vector(
      values, [&](int64_t v) -> Attribute { return b.getI64IntegerAttr(v); });
}

/// The NNCRT_TYPE_* of `v`'s elements: a 16-bit call's result type argument
/// (NNCRT_TYPE_BF16: the operands' 16-bit type).
Attribute runtimeType(OpBuilder &b, Value v) {
  return b.getI32IntegerAttr(isHalf(v) ? NNCRT_TYPE_BF16 : NNCRT_TYPE_F32);
}

/// A convolution is one call of the runtime's, on bf16 operands (with f32
/// accumulation, the result rounded once in the primitive's epilogue) in a
/// mixed-precision step.
struct Conv2dPattern : public NNPattern<Conv2dOp> {
  using NNPattern::NNPattern;
  Value lower(Conv2dOp op, Adaptor a, OpBuilder &b,
              Location loc) const override {
    bool bf16 = isHalf(op.getInput());
    SmallVector<Attribute> scalars = i64Attrs(b, getGeometry(op).values());
    int32_t activation = NNCRT_ACTIVATION_NONE;
    float slope = 0.0f;
    Operation *act = fusedActivation(op);
    if (auto leaky = dyn_cast_or_null<LeakyReluOp>(act)) {
      activation = NNCRT_ACTIVATION_LEAKY_RELU;
      slope = leaky.getAlpha().convertToFloat();
    } else if (act) {
      activation = NNCRT_ACTIVATION_RELU;
    }
    scalars.push_back(b.getI32IntegerAttr(activation));
    scalars.push_back(b.getF32FloatAttr(slope));
    if (bf16)
      scalars.push_back(runtimeType(b, op.getResult()));
    SmallVector<Value> inputs{a.getInput(), a.getWeight()};
    SmallVector<int64_t> pointers{0, 1, -1, 2};
    if (Value bias = a.getBias()) {
      inputs.push_back(bias);
      pointers = {0, 1, 2, 3};
    }
    return runtimeCall(
        b, loc, bf16 ? "nncrt_conv2d_forward_bf16" : "nncrt_conv2d_forward",
        inputs, cast<RankedTensorType>(op.getType()), pointers, scalars);
  }
};

/// An activation the library call before it applied already: a
/// convolution's, or a bf16 product's.
template <typename Op> struct FusedActivationPattern : public NNPattern<Op> {
  FusedActivationPattern(MLIRContext *ctx)
      : NNPattern<Op>(ctx, /*benefit=*/2) {}
  using Adaptor = typename Op::Adaptor;
  Value lower(Op op, Adaptor a, OpBuilder &, Location) const override {
    Operation *producer = op.getInput().getDefiningOp();
    bool fuses =
        isa_and_nonnull<Conv2dOp>(producer) ||
        (isa_and_nonnull<LinearOp, MatmulOp>(producer) &&
         isHalf(op.getResult()) &&
         cast<RankedTensorType>(op.getType()).getRank() == 2);
    if (!fuses || fusedActivation(producer) != op)
      return {};
    return a.getInput();
  }
};

/// A convolution's input or weight gradient: one call on the op's two
/// operands, in order, with its geometry.
template <typename Op> struct Conv2dGradPattern : public NNPattern<Op> {
  using NNPattern<Op>::NNPattern;
  using Adaptor = typename Op::Adaptor;
  Value lower(Op op, Adaptor a, OpBuilder &b, Location loc) const override {
    constexpr bool input = std::is_same_v<Op, Conv2dGradInputOp>;
    SmallVector<Attribute> scalars = i64Attrs(b, getGeometry(op).values());
    // bf16 operands (the result f32 or bf16: the verifier's rule).
    if (isHalf(op->getOperand(0))) {
      scalars.push_back(runtimeType(b, op.getResult()));
      return runtimeCall(b, loc,
                         input ? "nncrt_conv2d_backward_data_bf16"
                               : "nncrt_conv2d_backward_weights_bf16",
                         a.getOperands(), cast<RankedTensorType>(op.getType()),
                         {0, 1, 2}, scalars);
    }
    return runtimeCall(b, loc,
                       input ? "nncrt_conv2d_backward_data"
                             : "nncrt_conv2d_backward_weights",
                       a.getOperands(), cast<RankedTensorType>(op.getType()),
                       {0, 1, 2}, scalars);
  }
};

/// Σ over n, h, w per channel, in row-major order.
struct ChannelSumPattern : public NNPattern<ChannelSumOp> {
  using NNPattern::NNPattern;
  Value lower(ChannelSumOp op, Adaptor a, OpBuilder &b,
              Location loc) const override {
    unsigned rank = cast<RankedTensorType>(op.getInput().getType()).getRank();
    SmallVector<IteratorType> iterators(rank, IteratorType::reduction);
    iterators[1] = IteratorType::parallel;
    return generic(
        b, loc, filled(b, loc, cast<RankedTensorType>(op.getType()), 0.0),
        a.getInput(),
        {b.getMultiDimIdentityMap(rank),
         AffineMap::get(rank, 0, {b.getAffineDimExpr(1)}, b.getContext())},
        iterators,
        [](OpBuilder &nb, Location nloc, ValueRange args) {
          return nb.create<arith::AddFOp>(nloc, args[1], args[0]);
        });
  }
};

template <typename Op> int32_t poolKind(Op op) {
  if constexpr (std::is_same_v<Op, MaxPool2dOp> ||
                std::is_same_v<Op, MaxPool2dGradOp>)
    return NNCRT_POOL_MAX;
  else
    return op.getCountIncludePad() ? NNCRT_POOL_AVG_INCLUDE_PAD
                                   : NNCRT_POOL_AVG_EXCLUDE_PAD;
}

template <typename Op>
SmallVector<Attribute> poolScalars(OpBuilder &b, Op op) {
  SmallVector<Attribute> scalars{b.getI32IntegerAttr(poolKind(op))};
  scalars.append(i64Attrs(b, getGeometry(op).values()));
  return scalars;
}

template <typename Op> struct Pool2dPattern : public NNPattern<Op> {
  using NNPattern<Op>::NNPattern;
  using Adaptor = typename Op::Adaptor;
  Value lower(Op op, Adaptor a, OpBuilder &b, Location loc) const override {
    // A bf16 pooling (the same type in and out) has its own entry point.
    return runtimeCall(b, loc,
                       isHalf(op.getInput()) ? "nncrt_pool2d_forward_bf16"
                                             : "nncrt_pool2d_forward",
                       a.getInput(), cast<RankedTensorType>(op.getType()),
                       {0, 1}, poolScalars(b, op));
  }
};

struct MaxPool2dGradPattern : public NNPattern<MaxPool2dGradOp> {
  using NNPattern::NNPattern;
  Value lower(MaxPool2dGradOp op, Adaptor a, OpBuilder &b,
              Location loc) const override {
    return runtimeCall(b, loc,
                       isHalf(op.getGrad()) ? "nncrt_pool2d_backward_bf16"
                                            : "nncrt_pool2d_backward",
                       {a.getInput(), a.getGrad()},
                       cast<RankedTensorType>(op.getType()), {0, 1, 2},
                       poolScalars(b, op));
  }
};

struct AvgPool2dGradPattern : public NNPattern<AvgPool2dGradOp> {
  using NNPattern::NNPattern;
  Value lower(AvgPool2dGradOp op, Adaptor a, OpBuilder &b,
              Location loc) const override {
    // Average pooling's backward does not read the forward input.
    return runtimeCall(b, loc,
                       isHalf(op.getGrad()) ? "nncrt_pool2d_backward_bf16"
                                            : "nncrt_pool2d_backward",
                       a.getGrad(), cast<RankedTensorType>(op.getType()),
                       {-1, 0, 1}, poolScalars(b, op));
  }
};

/// A reshape is a view: collapse to one dimension, expand to the result's
/// (each a no-copy view once bufferized).
struct ReshapePattern : public NNPattern<ReshapeOp> {
  using NNPattern::NNPattern;
  Value lower(ReshapeOp op, Adaptor a, OpBuilder &b,
              Location loc) const override {
    auto type = cast<RankedTensorType>(op.getType());
    Value v = a.getInput();
    auto all = [](int64_t rank) {
      ReassociationIndices r;
      for (int64_t d = 0; d < rank; ++d)
        r.push_back(d);
      return SmallVector<ReassociationIndices>{r};
    };
    auto inType = cast<RankedTensorType>(v.getType());
    if (inType.getShape() == type.getShape())
      return v;
    // A scalar and its [1, ..., 1] shapes: one reshape, no dimension groups.
    if (inType.getRank() == 0)
      return b.create<tensor::ExpandShapeOp>(
          loc, type, v, ArrayRef<ReassociationIndices>{});
    if (type.getRank() == 0)
      return b.create<tensor::CollapseShapeOp>(
          loc, type, v, ArrayRef<ReassociationIndices>{});
    if (inType.getRank() > 1)
      v = b.create<tensor::CollapseShapeOp>(loc, v, all(inType.getRank()));
    if (type.getRank() > 1)
      v = b.create<tensor::ExpandShapeOp>(loc, type, v, all(type.getRank()));
    return v;
  }
};


//===----------------------------------------------------------------------===//
// Transformer layers
//===----------------------------------------------------------------------===//

/// nncrt_embedding_*'s sizes: the index width, N indices, V rows of D.
SmallVector<Attribute> embeddingScalars(OpBuilder &b, Value indices,
                                        RankedTensorType table) {
  auto type = cast<RankedTensorType>(indices.getType());
  return {b.getI32IntegerAttr(type.getElementTypeBitWidth()),
          b.getI64IntegerAttr(type.getNumElements()),
          b.getI64IntegerAttr(table.getDimSize(0)),
          b.getI64IntegerAttr(table.getDimSize(1))};
}

struct EmbeddingPattern : public NNPattern<EmbeddingOp> {
  using NNPattern::NNPattern;
  Value lower(EmbeddingOp op, Adaptor a, OpBuilder &b,
              Location loc) const override {
    return runtimeCall(
        b, loc, "nncrt_embedding_forward", {a.getTable(), a.getIndices()},
        cast<RankedTensorType>(op.getType()), {0, 1, 2},
        embeddingScalars(b, op.getIndices(),
                         cast<RankedTensorType>(op.getTable().getType())));
  }
};

struct EmbeddingGradPattern : public NNPattern<EmbeddingGradOp> {
  using NNPattern::NNPattern;
  Value lower(EmbeddingGradOp op, Adaptor a, OpBuilder &b,
              Location loc) const override {
    auto type = cast<RankedTensorType>(op.getType());
    return runtimeCall(b, loc, "nncrt_embedding_backward",
                       {a.getIndices(), a.getGrad()}, type, {0, 1, 2},
                       embeddingScalars(b, op.getIndices(), type));
  }
};

template <typename Op>
SmallVector<Attribute> attentionScalars(OpBuilder &b, Op op) {
  SmallVector<Attribute> scalars = i64Attrs(b, getGeometry(op).values());
  scalars.push_back(b.getF32FloatAttr(op.getScale().convertToDouble()));
  scalars.push_back(b.getI32IntegerAttr(op.getCausal() ? 1 : 0));
  return scalars;
}

struct AttentionPattern : public NNPattern<AttentionOp> {
  using NNPattern::NNPattern;
  Value lower(AttentionOp op, Adaptor a, OpBuilder &b,
              Location loc) const override {
    SmallVector<Value> inputs{a.getQuery(), a.getKey(), a.getValue()};
    SmallVector<int64_t> pointers{0, 1, 2, -1, 3};
    if (Value mask = a.getMask()) {
      inputs.push_back(mask);
      pointers = {0, 1, 2, 3, 4};
    }
    return runtimeCall(b, loc, "nncrt_attention_forward", inputs,
                       cast<RankedTensorType>(op.getType()), pointers,
                       attentionScalars(b, op));
  }
};

struct AttentionGradPattern : public OpConversionPattern<AttentionGradOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(AttentionGradOp op, OpAdaptor a,
                  ConversionPatternRewriter &rewriter) const override {
    SmallVector<Value> inputs{a.getQuery(), a.getKey(), a.getValue(),
                              a.getOutput(), a.getGrad()};
    int64_t mask = -1;
    if (a.getMask()) {
      mask = inputs.size();
      inputs.push_back(a.getMask());
    }
    int64_t out = inputs.size();
    rewriter.replaceOp(
        op, runtimeCallMulti(rewriter, op.getLoc(), "nncrt_attention_backward",
                             inputs, op.getResultTypes(),
                             {0, 1, 2, mask, 3, 4, out, out + 1, out + 2},
                             attentionScalars(rewriter, op)));
    return success();
  }
};

/// [..., D] as [R, D] (R the product of the rest; [1, D] for a vector), and
/// back: views, no copy.
Value collapseToRows(OpBuilder &b, Location loc, Value v) {
  auto type = cast<RankedTensorType>(v.getType());
  int64_t rank = type.getRank();
  if (rank == 2)
    return v;
  if (rank == 1)
    return b.create<tensor::ExpandShapeOp>(
        loc, RankedTensorType::get({1, type.getDimSize(0)}, type.getElementType()),
        v, ArrayRef<ReassociationIndices>{{0, 1}});
  ReassociationIndices rows;
  for (int64_t d = 0; d + 1 < rank; ++d)
    rows.push_back(d);
  return b.create<tensor::CollapseShapeOp>(
      loc, v, ArrayRef<ReassociationIndices>{rows, {rank - 1}});
}
Value expandFromRows(OpBuilder &b, Location loc, Value v,
                     RankedTensorType type) {
  int64_t rank = type.getRank();
  if (rank == 2)
    return v;
  if (rank == 1)
    return b.create<tensor::CollapseShapeOp>(
        loc, type, v, ArrayRef<ReassociationIndices>{{0, 1}});
  ReassociationIndices rows;
  for (int64_t d = 0; d + 1 < rank; ++d)
    rows.push_back(d);
  return b.create<tensor::ExpandShapeOp>(
      loc, type, v, ArrayRef<ReassociationIndices>{rows, {rank - 1}});
}

/// The feature map of [R, D]: (r, d) -> (d).
AffineMap columnMap(OpBuilder &b) {
  return AffineMap::get(2, 0, {b.getAffineDimExpr(1)}, b.getContext());
}

/// A row-wise map over [R] vectors.
Value rowMap1(OpBuilder &b, Location loc, ValueRange inputs, BodyFn body) {
  auto type = cast<RankedTensorType>(inputs[0].getType());
  return elementwise(b, loc, type, inputs, body);
}

/// How an operand of rowSum is read: [R, D], a per-row [R] or a per-feature
/// [D] vector.
enum class RowOperand { Full, Row, Column };

/// Σ_d term(operands at (r, d)) for each row r of [R, D]. A sum along the
/// row is a chain of dependent additions that LLVM may not reorder; this
/// one is split into lanes instead: d = j·L + l, L partial sums per row
/// accumulated with l innermost (a parallel loop: vector lanes), then the
/// L partials added in order. The order is fixed by the shapes, so a
/// recomputation gives the same bits.
Value rowSum(OpBuilder &b, Location loc, ValueRange operands,
             ArrayRef<RowOperand> kinds, int64_t rows, int64_t width,
             function_ref<Value(OpBuilder &, Location, ValueRange)> term) {
  int64_t lanes = 1;
  for (int64_t l : {16, 8, 4, 2})
    if (width % l == 0 && width > l) {
      lanes = l;
      break;
    }
  MLIRContext *ctx = b.getContext();
  AffineExpr r = b.getAffineDimExpr(0), j = b.getAffineDimExpr(1),
             l = b.getAffineDimExpr(2);
  SmallVector<Value> views;
  SmallVector<AffineMap> maps;
  for (auto [v, kind] : llvm::zip(operands, kinds)) {
    switch (kind) {
    case RowOperand::Full:
      views.push_back(b.create<tensor::ExpandShapeOp>(
          loc, RankedTensorType::get({rows, width / lanes, lanes},
                                     b.getF32Type()),
          v, ArrayRef<ReassociationIndices>{{0}, {1, 2}}));
      maps.push_back(b.getMultiDimIdentityMap(3));
      break;
    case RowOperand::Row:
      views.push_back(v);
      maps.push_back(AffineMap::get(3, 0, {r}, ctx));
      break;
    case RowOperand::Column:
      views.push_back(b.create<tensor::ExpandShapeOp>(
          loc, RankedTensorType::get({width / lanes, lanes}, b.getF32Type()),
          v, ArrayRef<ReassociationIndices>{{0, 1}}));
      maps.push_back(AffineMap::get(3, 0, {j, l}, ctx));
      break;
    }
  }
  maps.push_back(AffineMap::get(3, 0, {r, l}, ctx));
  Value partial = generic(
      b, loc,
      filled(b, loc, RankedTensorType::get({rows, lanes}, b.getF32Type()), 0.0),
      views, maps,
      {IteratorType::parallel, IteratorType::reduction, IteratorType::parallel},
      [&](OpBuilder &nb, Location nloc, ValueRange args) -> Value {
        return nb.create<arith::AddFOp>(nloc, args.back(),
                                        term(nb, nloc, args.drop_back()));
      });
  return rowReduce(
      b, loc, partial, {b.getMultiDimIdentityMap(2)}, rows, 0.0,
      [](OpBuilder &nb, Location nloc, ValueRange in, Value acc) -> Value {
        return nb.create<arith::AddFOp>(nloc, acc, in[0]);
      });
}

/// Each row's mean and 1 / sqrt(biased variance + eps) of x [R, D], in f32,
/// two passes (as the backward recomputes them: the same bits).
std::pair<Value, Value> layerNormStats(OpBuilder &b, Location loc, Value x,
                                       double eps) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rows = type.getDimSize(0);
  double width = type.getDimSize(1);
  using K = RowOperand;
  int64_t features = type.getDimSize(1);
  Value sum = rowSum(b, loc, x, {K::Full}, rows, features,
                     [](OpBuilder &, Location, ValueRange in) { return in[0]; });
  Value mean = rowMap1(b, loc, sum, [&](OpBuilder &nb, Location nloc,
                                        ValueRange args) -> Value {
    return nb.create<arith::DivFOp>(nloc, args[0], f32Const(nb, nloc, width));
  });
  Value sq = rowSum(b, loc, ValueRange{x, mean}, {K::Full, K::Row}, rows,
                    features,
                    [](OpBuilder &nb, Location nloc, ValueRange in) -> Value {
                      Value d = nb.create<arith::SubFOp>(nloc, in[0], in[1]);
                      return nb.create<arith::MulFOp>(nloc, d, d);
                    });
  Value rstd = rowMap1(b, loc, sq, [&](OpBuilder &nb, Location nloc,
                                       ValueRange args) -> Value {
    Value var =
        nb.create<arith::DivFOp>(nloc, args[0], f32Const(nb, nloc, width));
    // 1 / sqrt, each correctly rounded, as PyTorch's kernel computes it.
    return nb.create<arith::DivFOp>(
        nloc, f32Const(nb, nloc, 1.0),
        nb.create<math::SqrtOp>(
            nloc,
            nb.create<arith::AddFOp>(nloc, var, f32Const(nb, nloc, eps))));
  });
  return {mean, rstd};
}

/// (x - mean) · rstd, the normalized value.
Value normalized(OpBuilder &b, Location loc, Value x, Value mean, Value rstd) {
  return b.create<arith::MulFOp>(loc, b.create<arith::SubFOp>(loc, x, mean),
                                 rstd);
}

struct LayerNormPattern : public NNPattern<LayerNormOp> {
  using NNPattern::NNPattern;
  Value lower(LayerNormOp op, Adaptor a, OpBuilder &b,
              Location loc) const override {
    auto type = cast<RankedTensorType>(op.getType());
    Value x = collapseToRows(b, loc, a.getInput());
    auto [mean, rstd] = layerNormStats(b, loc, x, op.getEps().convertToDouble());
    auto rowsType = cast<RankedTensorType>(x.getType());
    AffineMap id = b.getMultiDimIdentityMap(2), row = rowMap(b),
              col = columnMap(b);
    Value empty = b.create<tensor::EmptyOp>(loc, rowsType.getShape(),
                                            rowsType.getElementType());
    Value y = generic(
        b, loc, empty, ValueRange{x, mean, rstd, a.getWeight(), a.getBias()},
        {id, row, row, col, col, id},
        {IteratorType::parallel, IteratorType::parallel},
        [](OpBuilder &nb, Location nloc, ValueRange args) -> Value {
          Value xhat = normalized(nb, nloc, args[0], args[1], args[2]);
          return nb.create<arith::AddFOp>(
              nloc, nb.create<arith::MulFOp>(nloc, xhat, args[3]), args[4]);
        });
    return expandFromRows(b, loc, y, type);
  }
};

struct LayerNormGradPattern : public NNPattern<LayerNormGradOp> {
  using NNPattern::NNPattern;
  Value lower(LayerNormGradOp op, Adaptor a, OpBuilder &b,
              Location loc) const override {
    auto type = cast<RankedTensorType>(op.getType());
    Value x = collapseToRows(b, loc, a.getInput());
    Value dy = collapseToRows(b, loc, a.getGrad());
    auto [mean, rstd] = layerNormStats(b, loc, x, op.getEps().convertToDouble());
    auto rowsType = cast<RankedTensorType>(x.getType());
    int64_t rows = rowsType.getDimSize(0);
    double width = rowsType.getDimSize(1);
    AffineMap id = b.getMultiDimIdentityMap(2), row = rowMap(b),
              col = columnMap(b);
    Value w = a.getWeight();
    // Σ g and Σ g·x̂ per row, g = dy · weight.
    using K = RowOperand;
    int64_t features = rowsType.getDimSize(1);
    Value sumG = rowSum(b, loc, ValueRange{dy, w}, {K::Full, K::Column}, rows,
                        features,
                        [](OpBuilder &nb, Location nloc, ValueRange in) {
                          return nb.create<arith::MulFOp>(nloc, in[0], in[1]);
                        });
    Value sumGX = rowSum(
        b, loc, ValueRange{dy, w, x, mean, rstd},
        {K::Full, K::Column, K::Full, K::Row, K::Row}, rows, features,
        [](OpBuilder &nb, Location nloc, ValueRange in) -> Value {
          Value g = nb.create<arith::MulFOp>(nloc, in[0], in[1]);
          Value xhat = normalized(nb, nloc, in[2], in[3], in[4]);
          return nb.create<arith::MulFOp>(nloc, g, xhat);
        });
    Value empty = b.create<tensor::EmptyOp>(loc, rowsType.getShape(),
                                            rowsType.getElementType());
    Value dx = generic(
        b, loc, empty, ValueRange{dy, w, x, mean, rstd, sumG, sumGX},
        {id, col, id, row, row, row, row, id},
        {IteratorType::parallel, IteratorType::parallel},
        [&](OpBuilder &nb, Location nloc, ValueRange args) -> Value {
          Value g = nb.create<arith::MulFOp>(nloc, args[0], args[1]);
          Value xhat = normalized(nb, nloc, args[2], args[3], args[4]);
          Value inv = f32Const(nb, nloc, width);
          Value meanG = nb.create<arith::DivFOp>(nloc, args[5], inv);
          Value meanGX = nb.create<arith::DivFOp>(nloc, args[6], inv);
          Value t = nb.create<arith::SubFOp>(
              nloc, nb.create<arith::SubFOp>(nloc, g, meanG),
              nb.create<arith::MulFOp>(nloc, xhat, meanGX));
          return nb.create<arith::MulFOp>(nloc, args[4], t);
        });
    return expandFromRows(b, loc, dx, type);
  }
};

struct LayerNormGradWeightPattern : public NNPattern<LayerNormGradWeightOp> {
  using NNPattern::NNPattern;
  Value lower(LayerNormGradWeightOp op, Adaptor a, OpBuilder &b,
              Location loc) const override {
    Value x = collapseToRows(b, loc, a.getInput());
    Value dy = collapseToRows(b, loc, a.getGrad());
    auto [mean, rstd] = layerNormStats(b, loc, x, op.getEps().convertToDouble());
    AffineMap id = b.getMultiDimIdentityMap(2), row = rowMap(b),
              col = columnMap(b);
    // Rows are the reduction: (r, d) with r the outer loop, so each
    // feature's sum runs in row order.
    return generic(
        b, loc, filled(b, loc, cast<RankedTensorType>(op.getType()), 0.0),
        ValueRange{dy, x, mean, rstd}, {id, id, row, row, col},
        {IteratorType::reduction, IteratorType::parallel},
        [](OpBuilder &nb, Location nloc, ValueRange args) -> Value {
          Value xhat = normalized(nb, nloc, args[1], args[2], args[3]);
          return nb.create<arith::AddFOp>(
              nloc, args[4], nb.create<arith::MulFOp>(nloc, args[0], xhat));
        });
  }
};

struct BroadcastPattern : public NNPattern<BroadcastOp> {
  using NNPattern::NNPattern;
  Value lower(BroadcastOp op, Adaptor a, OpBuilder &b,
              Location loc) const override {
    auto type = cast<RankedTensorType>(op.getType());
    int64_t rank = type.getRank();
    int64_t added =
        rank - cast<RankedTensorType>(op.getInput().getType()).getRank();
    SmallVector<AffineExpr> kept;
    for (int64_t d = added; d < rank; ++d)
      kept.push_back(b.getAffineDimExpr(d));
    Value empty =
        b.create<tensor::EmptyOp>(loc, type.getShape(), type.getElementType());
    return generic(b, loc, empty, a.getInput(),
                   {AffineMap::get(rank, 0, kept, b.getContext()),
                    b.getMultiDimIdentityMap(rank)},
                   SmallVector<IteratorType>(rank, IteratorType::parallel),
                   [](OpBuilder &, Location, ValueRange args) {
                     return args[0];
                   });
  }
};

struct TransposePattern : public NNPattern<TransposeOp> {
  using NNPattern::NNPattern;
  Value lower(TransposeOp op, Adaptor a, OpBuilder &b,
              Location loc) const override {
    auto type = cast<RankedTensorType>(op.getType());
    Value empty =
        b.create<tensor::EmptyOp>(loc, type.getShape(), type.getElementType());
    return b
        .create<linalg::TransposeOp>(loc, a.getInput(), empty,
                                     op.getPermutation())
        .getResult()[0];
  }
};

struct SlicePattern : public NNPattern<SliceOp> {
  using NNPattern::NNPattern;
  Value lower(SliceOp op, Adaptor a, OpBuilder &b,
              Location loc) const override {
    // A copy of the box, not a view: the result is dense row-major like
    // every nn value (a strided view would reach the runtime's calls).
    auto type = cast<RankedTensorType>(op.getType());
    Value box = b.create<tensor::ExtractSliceOp>(
        loc, type, a.getInput(), ValueRange{}, ValueRange{}, ValueRange{},
        op.getOffsets(), op.getSizes(), op.getStrides());
    Value empty =
        b.create<tensor::EmptyOp>(loc, type.getShape(), type.getElementType());
    return b.create<linalg::CopyOp>(loc, box, empty).getResult(0);
  }
};

struct SliceGradPattern : public NNPattern<SliceGradOp> {
  using NNPattern::NNPattern;
  Value lower(SliceGradOp op, Adaptor a, OpBuilder &b,
              Location loc) const override {
    // Zeros, then the gradient copied into the box of them by a linalg op:
    // bufferization then writes the box in place (a plain insert_slice
    // would become a strided memref.copy, a call of a runtime nnc does not
    // link).
    auto type = cast<RankedTensorType>(op.getType());
    Value zeros = filled(b, loc, type, 0.0);
    auto box = [&](Value dest) {
      return b.create<tensor::ExtractSliceOp>(
          loc, cast<RankedTensorType>(op.getGrad().getType()), dest,
          ValueRange{}, ValueRange{}, ValueRange{}, op.getOffsets(),
          op.getSizes(), op.getStrides());
    };
    Value copied =
        b.create<linalg::CopyOp>(loc, a.getGrad(), box(zeros).getResult())
            .getResult(0);
    return b.create<tensor::InsertSliceOp>(
        loc, copied, zeros, ValueRange{}, ValueRange{}, ValueRange{},
        op.getOffsets(), op.getSizes(), op.getStrides());
  }
};

//===----------------------------------------------------------------------===//
// Batch normalization: per-channel reductions and maps of [N, C, ...]
//===----------------------------------------------------------------------===//

/// The per-channel view of [N, C, ...]: (d0, ..., dr-1) -> (d1).
AffineMap channelMap(OpBuilder &b, unsigned rank) {
  return AffineMap::get(rank, 0, {b.getAffineDimExpr(1)}, b.getContext());
}

/// Sums `term` over every dimension but the channels into an f64 [C]: the
/// statistics accumulate in double, as PyTorch's CPU kernels do.
Value channelSum64(OpBuilder &b, Location loc, ValueRange inputs,
                   ArrayRef<AffineMap> inputMaps, unsigned rank,
                   int64_t channels, BodyFn term) {
  auto type = RankedTensorType::get({channels}, b.getF64Type());
  Value zero = b.create<arith::ConstantOp>(loc, b.getF64FloatAttr(0.0));
  Value init = b.create<linalg::FillOp>(
                    loc, zero,
                    b.create<tensor::EmptyOp>(loc, type.getShape(),
                                              b.getF64Type())
                        .getResult())
                   .getResult(0);
  SmallVector<AffineMap> maps(inputMaps);
  maps.push_back(channelMap(b, rank));
  SmallVector<IteratorType> iterators(rank, IteratorType::reduction);
  iterators[1] = IteratorType::parallel;
  return generic(b, loc, init, inputs, maps, iterators,
                 [&](OpBuilder &nb, Location nloc, ValueRange args) {
                   return nb.create<arith::AddFOp>(
                       nloc, args.back(), term(nb, nloc, args.drop_back()));
                 });
}

/// An elementwise map over [C] vectors giving a [C] tensor of `elt`.
Value channelMapOf(OpBuilder &b, Location loc, ValueRange inputs, Type elt,
                   int64_t channels, BodyFn body) {
  Value init = b.create<tensor::EmptyOp>(loc, ArrayRef<int64_t>{channels}, elt);
  SmallVector<AffineMap> maps(inputs.size() + 1, b.getMultiDimIdentityMap(1));
  return generic(b, loc, init, inputs, maps, {IteratorType::parallel}, body);
}

Value f64Const(OpBuilder &b, Location loc, double v) {
  return b.create<arith::ConstantOp>(loc, b.getF64FloatAttr(v));
}

/// A training-mode batch norm's statistics of `x`: the f64 mean and the
/// f64 sum of squared deviations per channel.
struct BatchStats {
  Value mean64, squares64;
  int64_t count; // elements per channel
};

BatchStats batchStats(OpBuilder &b, Location loc, Value x) {
  auto type = cast<RankedTensorType>(x.getType());
  unsigned rank = type.getRank();
  int64_t channels = type.getDimSize(1);
  int64_t count = type.getNumElements() / channels;
  AffineMap id = b.getMultiDimIdentityMap(rank);
  Type f64 = b.getF64Type();
  Value sum = channelSum64(b, loc, x, {id}, rank, channels,
                           [&](OpBuilder &nb, Location nloc, ValueRange a) {
                             return nb.create<arith::ExtFOp>(nloc, f64, a[0]);
                           });
  Value mean = channelMapOf(
      b, loc, sum, f64, channels,
      [&](OpBuilder &nb, Location nloc, ValueRange a) {
        return nb.create<arith::DivFOp>(nloc, a[0],
                                        f64Const(nb, nloc, double(count)));
      });
  Value squares = channelSum64(
      b, loc, ValueRange{x, mean}, {id, channelMap(b, rank)}, rank, channels,
      [&](OpBuilder &nb, Location nloc, ValueRange a) {
        Value d = nb.create<arith::SubFOp>(
            nloc, nb.create<arith::ExtFOp>(nloc, f64, a[0]), a[1]);
        return nb.create<arith::MulFOp>(nloc, d, d);
      });
  return {mean, squares, count};
}

/// The f32 mean and 1 / sqrt(variance + eps) per channel: from the batch
/// (biased variance) or from running statistics.
std::pair<Value, Value> normalizer(OpBuilder &b, Location loc, Value x,
                                   double eps, Value runningMean = {},
                                   Value runningVar = {}) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t channels = type.getDimSize(1);
  Type f32 = b.getF32Type(), f64 = b.getF64Type();
  if (runningMean) {
    Value invstd = channelMapOf(
        b, loc, runningVar, f32, channels,
        [&](OpBuilder &nb, Location nloc, ValueRange a) -> Value {
          Value v = nb.create<arith::AddFOp>(
              nloc, nb.create<arith::ExtFOp>(nloc, f64, a[0]),
              f64Const(nb, nloc, eps));
          return nb.create<arith::TruncFOp>(
              nloc, f32,
              nb.create<arith::DivFOp>(nloc, f64Const(nb, nloc, 1.0),
                                       nb.create<math::SqrtOp>(nloc, v)));
        });
    return {runningMean, invstd};
  }
  BatchStats s = batchStats(b, loc, x);
  Value mean = channelMapOf(b, loc, s.mean64, f32, channels,
                            [&](OpBuilder &nb, Location nloc, ValueRange a) {
                              return nb.create<arith::TruncFOp>(nloc, f32,
                                                                a[0]);
                            });
  Value invstd = channelMapOf(
      b, loc, s.squares64, f32, channels,
      [&](OpBuilder &nb, Location nloc, ValueRange a) -> Value {
        Value var = nb.create<arith::DivFOp>(
            nloc, a[0], f64Const(nb, nloc, double(s.count)));
        Value v = nb.create<arith::AddFOp>(nloc, var, f64Const(nb, nloc, eps));
        return nb.create<arith::TruncFOp>(
            nloc, f32,
            nb.create<arith::DivFOp>(nloc, f64Const(nb, nloc, 1.0),
                                     nb.create<math::SqrtOp>(nloc, v)));
      });
  return {mean, invstd};
}

/// Σ dy and Σ dy · (x - mean) per channel (f64), the backward's sums.
std::pair<Value, Value> gradSums(OpBuilder &b, Location loc, Value x,
                                 Value dy, Value mean) {
  auto type = cast<RankedTensorType>(x.getType());
  unsigned rank = type.getRank();
  int64_t channels = type.getDimSize(1);
  AffineMap id = b.getMultiDimIdentityMap(rank), ch = channelMap(b, rank);
  Type f64 = b.getF64Type();
  Value sumDy = channelSum64(b, loc, dy, {id}, rank, channels,
                             [&](OpBuilder &nb, Location nloc, ValueRange a) {
                               return nb.create<arith::ExtFOp>(nloc, f64,
                                                               a[0]);
                             });
  Value dot = channelSum64(
      b, loc, ValueRange{x, dy, mean}, {id, id, ch}, rank, channels,
      [&](OpBuilder &nb, Location nloc, ValueRange a) {
        Value d = nb.create<arith::SubFOp>(nloc, a[0], a[2]);
        return nb.create<arith::MulFOp>(
            nloc, nb.create<arith::ExtFOp>(nloc, f64, d),
            nb.create<arith::ExtFOp>(nloc, f64, a[1]));
      });
  return {sumDy, dot};
}

struct BatchNormPattern : public NNPattern<BatchNormOp> {
  using NNPattern::NNPattern;
  Value lower(BatchNormOp op, Adaptor a, OpBuilder &b,
              Location loc) const override {
    auto type = cast<RankedTensorType>(op.getType());
    unsigned rank = type.getRank();
    double eps = op.getEps().convertToDouble();
    auto [mean, invstd] =
        op.getTraining()
            ? normalizer(b, loc, a.getInput(), eps)
            : normalizer(b, loc, a.getInput(), eps, a.getRunningMean(),
                         a.getRunningVar());
    AffineMap id = b.getMultiDimIdentityMap(rank), ch = channelMap(b, rank);
    // (x - mean) · invstd · weight + bias.
    return generic(
        b, loc,
        b.create<tensor::EmptyOp>(loc, type.getShape(), type.getElementType()),
        ValueRange{a.getInput(), mean, invstd, a.getWeight(), a.getBias()},
        {id, ch, ch, ch, ch, id},
        SmallVector<IteratorType>(rank, IteratorType::parallel),
        [](OpBuilder &nb, Location nloc, ValueRange v) -> Value {
          Value n = nb.create<arith::MulFOp>(
              nloc, nb.create<arith::SubFOp>(nloc, v[0], v[1]), v[2]);
          return nb.create<arith::AddFOp>(
              nloc, nb.create<arith::MulFOp>(nloc, n, v[3]), v[4]);
        });
  }
};

struct BatchNormGradPattern : public NNPattern<BatchNormGradOp> {
  using NNPattern::NNPattern;
  Value lower(BatchNormGradOp op, Adaptor a, OpBuilder &b,
              Location loc) const override {
    auto type = cast<RankedTensorType>(op.getType());
    unsigned rank = type.getRank();
    int64_t channels = type.getDimSize(1);
    double count = double(type.getNumElements() / channels);
    auto [mean, invstd] =
        normalizer(b, loc, a.getInput(), op.getEps().convertToDouble());
    auto [sumDy, dot] = gradSums(b, loc, a.getInput(), a.getGrad(), mean);
    Type f32 = b.getF32Type(), f64 = b.getF64Type();
    // PyTorch's: k = Σdy(x - mean) · invstd² / M, the mean gradient Σdy / M.
    Value k = channelMapOf(
        b, loc, ValueRange{dot, invstd}, f32, channels,
        [&](OpBuilder &nb, Location nloc, ValueRange v) -> Value {
          Value s = nb.create<arith::ExtFOp>(nloc, f64, v[1]);
          Value r = nb.create<arith::MulFOp>(
              nloc, v[0], nb.create<arith::MulFOp>(nloc, s, s));
          return nb.create<arith::TruncFOp>(
              nloc, f32,
              nb.create<arith::DivFOp>(nloc, r, f64Const(nb, nloc, count)));
        });
    Value gradMean = channelMapOf(
        b, loc, sumDy, f32, channels,
        [&](OpBuilder &nb, Location nloc, ValueRange v) -> Value {
          return nb.create<arith::TruncFOp>(
              nloc, f32,
              nb.create<arith::DivFOp>(nloc, v[0],
                                       f64Const(nb, nloc, count)));
        });
    AffineMap id = b.getMultiDimIdentityMap(rank), ch = channelMap(b, rank);
    // (dy - gradMean - (x - mean) · k) · invstd · weight.
    return generic(
        b, loc,
        b.create<tensor::EmptyOp>(loc, type.getShape(), type.getElementType()),
        ValueRange{a.getInput(), a.getGrad(), mean, k, gradMean, invstd,
                   a.getWeight()},
        {id, id, ch, ch, ch, ch, ch, id},
        SmallVector<IteratorType>(rank, IteratorType::parallel),
        [](OpBuilder &nb, Location nloc, ValueRange v) -> Value {
          Value xm = nb.create<arith::SubFOp>(nloc, v[0], v[2]);
          Value d = nb.create<arith::SubFOp>(
              nloc, nb.create<arith::SubFOp>(nloc, v[1], v[4]),
              nb.create<arith::MulFOp>(nloc, xm, v[3]));
          return nb.create<arith::MulFOp>(
              nloc, nb.create<arith::MulFOp>(nloc, d, v[5]), v[6]);
        });
  }
};

struct BatchNormGradWeightPattern : public NNPattern<BatchNormGradWeightOp> {
  using NNPattern::NNPattern;
  Value lower(BatchNormGradWeightOp op, Adaptor a, OpBuilder &b,
              Location loc) const override {
    int64_t channels = cast<RankedTensorType>(op.getType()).getDimSize(0);
    auto [mean, invstd] =
        normalizer(b, loc, a.getInput(), op.getEps().convertToDouble());
    Value dot = gradSums(b, loc, a.getInput(), a.getGrad(), mean).second;
    Type f32 = b.getF32Type(), f64 = b.getF64Type();
    // Σ dy · x̂ = Σ dy (x - mean) · invstd.
    return channelMapOf(
        b, loc, ValueRange{dot, invstd}, f32, channels,
        [&](OpBuilder &nb, Location nloc, ValueRange v) -> Value {
          return nb.create<arith::TruncFOp>(
              nloc, f32,
              nb.create<arith::MulFOp>(
                  nloc, v[0], nb.create<arith::ExtFOp>(nloc, f64, v[1])));
        });
  }
};

struct RunningStatUpdatePattern : public NNPattern<RunningStatUpdateOp> {
  using NNPattern::NNPattern;
  Value lower(RunningStatUpdateOp op, Adaptor a, OpBuilder &b,
              Location loc) const override {
    int64_t channels = cast<RankedTensorType>(op.getType()).getDimSize(0);
    BatchStats s = batchStats(b, loc, a.getInput());
    double m = op.getMomentum().convertToDouble();
    bool variance = op.getVariance();
    Type f32 = b.getF32Type(), f64 = b.getF64Type();
    // (1 - m) · stat + m · batch value, the variance unbiased (PyTorch's).
    return channelMapOf(
        b, loc, ValueRange{variance ? s.squares64 : s.mean64, a.getStat()},
        f32, channels,
        [&](OpBuilder &nb, Location nloc, ValueRange v) -> Value {
          Value batch =
              variance ? nb.create<arith::DivFOp>(
                             nloc, v[0], f64Const(nb, nloc, double(s.count - 1)))
                       : v[0];
          Value old = nb.create<arith::ExtFOp>(nloc, f64, v[1]);
          Value r = nb.create<arith::AddFOp>(
              nloc,
              nb.create<arith::MulFOp>(nloc, old, f64Const(nb, nloc, 1 - m)),
              nb.create<arith::MulFOp>(nloc, batch, f64Const(nb, nloc, m)));
          return nb.create<arith::TruncFOp>(nloc, f32, r);
        });
  }
};

} // namespace

void mlir::nnc::populateNNToLinalgConversionPatterns(
    RewritePatternSet &patterns) {
  patterns
      .add<ElementwisePattern<AddOp>, ElementwisePattern<ReluOp>,
           ElementwisePattern<SigmoidOp>, ElementwisePattern<TanhOp>,
           ElementwisePattern<LeakyReluOp>, ElementwisePattern<GeluOp>,
           ElementwisePattern<DropoutOp>, ElementwisePattern<ReluGradOp>,
           ElementwisePattern<SigmoidGradOp>, ElementwisePattern<TanhGradOp>,
           ElementwisePattern<LeakyReluGradOp>, ElementwisePattern<GeluGradOp>,
           ElementwisePattern<SGDOp>, ElementwisePattern<CastOp>,
           LinearPattern, MatmulPattern,
           SGDMatmulPattern, ReduceSumPattern, SoftmaxPattern, SoftmaxGradPattern, MSELossPattern,
           MSELossGradPattern, CrossEntropyPattern, CrossEntropyGradPattern,
           MomentumUpdatePattern, AdamUpdatePattern, LarsUpdatePattern,
           LambUpdatePattern, NormPattern,
           Conv2dPattern, FusedActivationPattern<ReluOp>,
           FusedActivationPattern<LeakyReluOp>,
           Conv2dGradPattern<Conv2dGradInputOp>,
           Conv2dGradPattern<Conv2dGradWeightOp>, ChannelSumPattern,
           Pool2dPattern<MaxPool2dOp>, Pool2dPattern<AvgPool2dOp>,
           MaxPool2dGradPattern, AvgPool2dGradPattern, ReshapePattern,
           BatchNormPattern, BatchNormGradPattern, BatchNormGradWeightPattern,
           RunningStatUpdatePattern, ElementwisePattern<MulOp>,
           ElementwisePattern<ScaleOp>, EmbeddingPattern, EmbeddingGradPattern,
           AttentionPattern, AttentionGradPattern, LayerNormPattern,
           LayerNormGradPattern, LayerNormGradWeightPattern, TransposePattern,
           SlicePattern, SliceGradPattern, BroadcastPattern>(
          patterns.getContext());
  populateNNAllReduceToRuntimePatterns(patterns);
  populateNNLossScalingToLinalgPatterns(patterns);
  populateNNMaxPoolIndicesToRuntimePatterns(patterns);
}

void mlir::nnc::configureNNToLinalgConversionTarget(ConversionTarget &target) {
  target.addIllegalDialect<NNDialect>();
  // What library primitives compute stays a call until the target lowers it.
  target.addLegalOp<RuntimeCallOp>();
  // A profile mark is a call from the start; the target lowers it.
  target.addLegalOp<ProfileMarkOp>();
  target.addLegalDialect<arith::ArithDialect, linalg::LinalgDialect,
                         math::MathDialect, tensor::TensorDialect>();
  target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
}

namespace {
struct ConvertNNToLinalgPass
    : public mlir::nnc::impl::ConvertNNToLinalgBase<ConvertNNToLinalgPass> {
  void runOnOperation() override {
    ConversionTarget target(getContext());
    configureNNToLinalgConversionTarget(target);
    RewritePatternSet patterns(&getContext());
    populateNNToLinalgConversionPatterns(patterns);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
