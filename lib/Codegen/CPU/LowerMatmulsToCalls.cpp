//===- LowerMatmulsToCalls.cpp - contractions as runtime GEMM calls -------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Codegen/CPU/Passes.h"

#include "nnc/Codegen/Common/ContractionMatcher.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Matchers.h"

namespace mlir::nnc {
#define GEN_PASS_DEF_LOWERMATMULSTOCALLS
#include "nnc/Codegen/CPU/Passes.h.inc"
} // namespace mlir::nnc

using namespace mlir;

static constexpr StringLiteral kSgemm = "nncrt_sgemm";

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

/// True if `op` (just before the contraction) fills `out` with +0.0: the
/// call can then overwrite instead of accumulate.
static bool zeroFills(Operation *op, Value out) {
  auto fill = dyn_cast_or_null<linalg::FillOp>(op);
  FloatAttr value;
  return fill && fill.hasPureBufferSemantics() &&
         fill.getDpsInits()[0] == out &&
         matchPattern(fill.getInputs()[0], m_Constant(&value)) &&
         value.getValue().isPosZero();
}

namespace {
struct LowerMatmulsToCallsPass
    : public nnc::impl::LowerMatmulsToCallsBase<LowerMatmulsToCallsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<std::pair<linalg::LinalgOp, nnc::MatmulOperands>> matches;
    module.walk([&](linalg::LinalgOp op) {
      if (auto mm = nnc::matchMatmul(op); mm && leadingDimension(mm->lhs) &&
                                          leadingDimension(mm->rhs) &&
                                          leadingDimension(mm->out))
        matches.push_back({op, *mm});
    });
    if (matches.empty())
      return;

    MLIRContext *ctx = &getContext();
    OpBuilder b(ctx);
    Type i32 = b.getI32Type(), i64 = b.getI64Type(), f32 = b.getF32Type();
    Type ptr = LLVM::LLVMPointerType::get(ctx);
    auto sgemm = module.lookupSymbol<func::FuncOp>(kSgemm);
    if (!sgemm) {
      b.setInsertionPointToStart(module.getBody());
      sgemm = b.create<func::FuncOp>(
          module.getLoc(), kSgemm,
          b.getFunctionType(
              {i32, i32, i64, i64, i64, f32, ptr, i64, ptr, i64, f32, ptr, i64},
              {}));
      sgemm.setPrivate();
    }

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
      // The address of element 0. An arena view's byte shift is not part of
      // the aligned pointer MLIR extracts (that is the underlying
      // allocation's), so it is added here.
      auto pointer = [&](Value memref) -> Value {
        Value shift;
        if (auto view = memref.getDefiningOp<memref::ViewOp>()) {
          shift = view.getByteShift();
          memref = view.getSource();
        }
        Value index =
            b.create<memref::ExtractAlignedPointerAsIndexOp>(loc, memref);
        if (shift)
          index = b.create<arith::AddIOp>(loc, index, shift);
        Value i = b.create<arith::IndexCastOp>(loc, i64, index);
        return b.create<LLVM::IntToPtrOp>(loc, ptr, i);
      };
      // Before anything is inserted: the op's predecessor may be its fill.
      double beta = 1.0;
      if (Operation *prev = op->getPrevNode(); zeroFills(prev, mm.out)) {
        prev->erase();
        beta = 0.0;
      }
      Value alpha = f32c(mm.alpha);
      if (mm.alphaScalar) { // a run-time scale (the fused update's -lr)
        Value s = b.create<memref::LoadOp>(loc, mm.alphaScalar);
        alpha = mm.alpha == 1.0 ? s : b.create<arith::MulFOp>(loc, s, alpha);
      }
      b.create<func::CallOp>(
          loc, sgemm,
          ValueRange{i32c(mm.lhsTransposed), i32c(mm.rhsTransposed),
                     i64c(mm.M), i64c(mm.N), i64c(mm.K), alpha,
                     pointer(mm.lhs), i64c(*leadingDimension(mm.lhs)),
                     pointer(mm.rhs), i64c(*leadingDimension(mm.rhs)),
                     f32c(beta), pointer(mm.out),
                     i64c(*leadingDimension(mm.out))});
      op->erase();
    }
  }
};
} // namespace
