//===- LowerMatmulsToCalls.cpp - contractions as runtime GEMM calls -------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Codegen/CPU/Passes.h"

#include "nnc/Codegen/Common/BufferAddress.h"
#include "nnc/Codegen/Common/ContractionMatcher.h"
#include "nnc/Codegen/Common/RuntimeABI.h"
#include "nnc/Dialect/NN/IR/NNAttrs.h"
#include "nnc/Dialect/NN/IR/NNDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Matchers.h"

namespace mlir::nnc {
#define GEN_PASS_DEF_LOWERMATMULSTOCALLS
#include "nnc/Codegen/CPU/Passes.h.inc"
} // namespace mlir::nnc

using namespace mlir;

// include/nnc/Runtime/CPU/CPURuntime.h's NNCRT_ACTIVATION_*.
enum class Activation : int32_t { None = 0, Relu = 1, LeakyRelu = 2 };
// Its NNCRT_TYPE_F32: nncrt_gemm_bf16 writing an f32 C.
constexpr int32_t kTypeF32 = 0;

/// The row stride of a 2-D memref with unit-stride rows and no offset, or
/// none (a view the runtime cannot take as a plain pointer).
static std::optional<int64_t> leadingDimension(Value v) {
  auto type = cast<MemRefType>(v.getType());
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(getStridesAndOffset(type, strides, offset)) || offset != 0 ||
      ShapedType::isDynamic(strides[0]) || strides[1] != 1)
    return std::nullopt;
  return strides[0];
}

/// A generic on buffers with one input and one init, all-parallel, whose
/// body yields a function of its input alone.
static linalg::GenericOp unaryGeneric(Operation *op) {
  auto g = dyn_cast_or_null<linalg::GenericOp>(op);
  if (!g || !g.hasPureBufferSemantics() || g.getNumDpsInputs() != 1 ||
      g.getNumDpsInits() != 1 ||
      g.getNumParallelLoops() != g.getNumLoops() || g.getNumLoops() != 2)
    return {};
  return g;
}

/// True if `v` is a contiguous 1-D f32 buffer the runtime can take as a
/// pointer.
static bool isContiguousVector(Value v) {
  auto type = dyn_cast<MemRefType>(v.getType());
  SmallVector<int64_t> strides;
  int64_t offset;
  return type && type.getRank() == 1 && type.getElementType().isF32() &&
         succeeded(getStridesAndOffset(type, strides, offset)) &&
         offset == 0 && strides[0] == 1;
}

/// The bias `op` broadcasts over the rows of `out` (a linear layer's, just
/// before the contraction accumulates onto it), or null.
static Value broadcastBias(Operation *op, Value out) {
  linalg::GenericOp g = unaryGeneric(op);
  if (!g || g.getDpsInits()[0] != out)
    return {};
  MLIRContext *ctx = op->getContext();
  AffineExpr d1 = getAffineDimExpr(1, ctx);
  SmallVector<AffineMap> maps = g.getIndexingMapsArray();
  auto yield = cast<linalg::YieldOp>(g.getBody()->getTerminator());
  Value bias = g.getDpsInputs()[0];
  if (maps[0] != AffineMap::get(2, 0, d1) || !maps[1].isIdentity() ||
      g.getBody()->getOperations().size() != 1 ||
      yield.getValues()[0] != g.getBody()->getArgument(0) ||
      !isContiguousVector(bias))
    return {};
  return bias;
}

/// The relu or leaky relu `op` applies to `out` in place (just after the
/// contraction wrote it), with leaky relu's slope: what its `nn.epilogue`
/// says (convert-nn-to-linalg records it from the nn op).
static std::optional<std::pair<Activation, float>>
inPlaceActivation(Operation *op, Value out) {
  linalg::GenericOp g = unaryGeneric(op);
  if (!g || g.getDpsInputs()[0] != out || g.getDpsInits()[0] != out ||
      !llvm::all_of(g.getIndexingMapsArray(),
                    [](AffineMap m) { return m.isIdentity(); }))
    return std::nullopt;
  auto epilogue = g->getAttrOfType<mlir::nnc::EpilogueAttr>(
      mlir::nnc::NNDialect::getEpilogueAttrName());
  if (!epilogue)
    return std::nullopt;
  switch (epilogue.getKind()) {
  case mlir::nnc::EpilogueKind::Relu:
    return std::pair(Activation::Relu, 0.0f);
  case mlir::nnc::EpilogueKind::LeakyRelu:
    return std::pair(Activation::LeakyRelu,
                     epilogue.getSlope().getValue().convertToFloat());
  }
  llvm_unreachable("unknown epilogue");
}

namespace {
struct LowerMatmulsToCallsPass
    : public mlir::nnc::impl::LowerMatmulsToCallsBase<LowerMatmulsToCallsPass> {
  using LowerMatmulsToCallsBase::LowerMatmulsToCallsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<std::pair<linalg::LinalgOp, mlir::nnc::MatmulOperands>> matches;
    module.walk([&](linalg::LinalgOp op) {
      if (auto mm = mlir::nnc::matchMatmul(op, /*allowBF16=*/true);
          mm && leadingDimension(mm->lhs) && leadingDimension(mm->rhs) &&
          leadingDimension(mm->out))
        matches.push_back({op, *mm});
    });
    if (matches.empty())
      return;

    MLIRContext *ctx = &getContext();
    OpBuilder b(ctx);
    Type ptr = LLVM::LLVMPointerType::get(ctx);

    for (auto &[op, mm] : matches) {
      Location loc = op.getLoc();
      b.setInsertionPoint(op);
      auto i32c = [&](int64_t v) {
        return b.create<arith::ConstantOp>(loc, b.getI32IntegerAttr(v));
      };
      auto i64c = [&](int64_t v) {
        return b.create<arith::ConstantOp>(loc, b.getI64IntegerAttr(v));
      };
      auto f32c = [&](double v) {
        return b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(v));
      };
      // The address of element 0 (an arena view's shift included).
      auto pointer = [&](Value memref) -> Value {
        return b.create<LLVM::IntToPtrOp>(
            loc, ptr, mlir::nnc::createBufferAddress(b, loc, memref));
      };
      // Before anything is inserted: the op's predecessor may be its fill
      // or its bias, its successor its activation.
      double beta = 1.0;
      Value bias;
      std::optional<std::pair<Activation, float>> activation;
      Operation *prev = op->getPrevNode();
      bool epilogue = fuseEpilogues && mm.alpha == 1.0 && !mm.alphaScalar;
      if (mlir::nnc::isZeroFillOf(prev, mm.out)) {
        prev->erase();
        beta = 0.0;
      } else if (epilogue && (bias = broadcastBias(prev, mm.out))) {
        prev->erase();
        beta = 0.0;
      }
      if (epilogue)
        if ((activation = inPlaceActivation(op->getNextNode(), mm.out)))
          op->getNextNode()->erase();
      Value alpha = f32c(mm.alpha);
      if (mm.alphaScalar) { // a run-time scale (the fused update's -lr)
        Value s = b.create<memref::LoadOp>(loc, mm.alphaScalar);
        alpha = mm.alpha == 1.0 ? s : b.create<arith::MulFOp>(loc, s, alpha);
      }
      auto [kind, slope] =
          activation.value_or(std::pair(Activation::None, 0.0f));
      // bf16 operands onto an f32 result (a mixed-precision weight gradient
      // or its fused update; convert-nn-to-linalg calls nncrt_gemm_bf16
      // itself for bf16 results).
      if (mm.bf16) {
        FailureOr<func::FuncOp> gemm = mlir::nnc::declareRuntimeFunction(
            module, mlir::nnc::RuntimeFunction::GemmBF16);
        if (failed(gemm))
          return signalPassFailure();
        Value biasPointer = bias ? pointer(bias)
                                 : b.create<LLVM::ZeroOp>(loc, ptr).getResult();
        b.create<func::CallOp>(
            loc, *gemm,
            ValueRange{i32c(mm.lhsTransposed), i32c(mm.rhsTransposed),
                       i64c(mm.M), i64c(mm.N), i64c(mm.K), alpha,
                       pointer(mm.lhs), i64c(*leadingDimension(mm.lhs)),
                       pointer(mm.rhs), i64c(*leadingDimension(mm.rhs)),
                       f32c(beta), pointer(mm.out),
                       i64c(*leadingDimension(mm.out)), i32c(kTypeF32),
                       biasPointer, i32c(static_cast<int32_t>(kind)),
                       f32c(slope)});
        op->erase();
        continue;
      }
      // The runtime's declarations (nnc/Codegen/Common/RuntimeABI.h), added
      // once when first needed.
      FailureOr<func::FuncOp> callee = mlir::nnc::declareRuntimeFunction(
          module, !bias && !activation
                      ? mlir::nnc::RuntimeFunction::Sgemm
                      : mlir::nnc::RuntimeFunction::SgemmEpilogue);
      if (failed(callee))
        return signalPassFailure();
      if (!bias && !activation) {
        b.create<func::CallOp>(
            loc, *callee,
            ValueRange{i32c(mm.lhsTransposed), i32c(mm.rhsTransposed),
                       i64c(mm.M), i64c(mm.N), i64c(mm.K), alpha,
                       pointer(mm.lhs), i64c(*leadingDimension(mm.lhs)),
                       pointer(mm.rhs), i64c(*leadingDimension(mm.rhs)),
                       f32c(beta), pointer(mm.out),
                       i64c(*leadingDimension(mm.out))});
      } else {
        Value biasPointer = bias ? pointer(bias)
                                 : b.create<LLVM::ZeroOp>(loc, ptr).getResult();
        b.create<func::CallOp>(
            loc, *callee,
            ValueRange{i32c(mm.lhsTransposed), i32c(mm.rhsTransposed),
                       i64c(mm.M), i64c(mm.N), i64c(mm.K), pointer(mm.lhs),
                       i64c(*leadingDimension(mm.lhs)), pointer(mm.rhs),
                       i64c(*leadingDimension(mm.rhs)), f32c(beta),
                       pointer(mm.out), i64c(*leadingDimension(mm.out)),
                       biasPointer, i32c(static_cast<int32_t>(kind)),
                       f32c(slope)});
      }
      op->erase();
    }
  }
};
} // namespace
