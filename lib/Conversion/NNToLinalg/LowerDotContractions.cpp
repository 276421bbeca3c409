//===- LowerDotContractions.cpp - dot-product loops for x·Wᵀ --------------===//
//
// Part of nnc.
//
//===----------------------------------------------------------------------===//

#include "nnc/Conversion/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::nnc {
#define GEN_PASS_DEF_LOWERDOTCONTRACTIONS
#include "nnc/Conversion/Passes.h.inc"
} // namespace mlir::nnc

using namespace mlir;

/// Matches out[m, n] += a[m, k] * b[n, k] on memrefs: iterators (par, par,
/// red), maps (d0, d2), (d1, d2), (d0, d1), body mulf then addf.
static bool isDotContraction(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || op.getNumLoops() != 3)
    return false;
  auto iters = op.getIteratorTypesArray();
  if (iters[0] != utils::IteratorType::parallel ||
      iters[1] != utils::IteratorType::parallel ||
      iters[2] != utils::IteratorType::reduction)
    return false;
  MLIRContext *ctx = op.getContext();
  auto map = [&](unsigned a, unsigned b) {
    return AffineMap::get(3, 0,
                          {getAffineDimExpr(a, ctx), getAffineDimExpr(b, ctx)},
                          ctx);
  };
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  if (maps[0] != map(0, 2) || maps[1] != map(1, 2) || maps[2] != map(0, 1))
    return false;
  Block &body = op.getRegion().front();
  if (body.getOperations().size() != 3)
    return false;
  auto mul = dyn_cast<arith::MulFOp>(&body.front());
  auto add = dyn_cast<arith::AddFOp>(mul ? mul->getNextNode() : nullptr);
  return mul && add && mul.getLhs() == body.getArgument(0) &&
         mul.getRhs() == body.getArgument(1) &&
         add.getLhs() == body.getArgument(2) && add.getRhs() == mul;
}

namespace {
struct LowerDotContractionsPass
    : public mlir::nnc::impl::LowerDotContractionsBase<
          LowerDotContractionsPass> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> matches;
    getOperation().walk([&](linalg::GenericOp op) {
      if (isDotContraction(op))
        matches.push_back(op);
    });
    for (linalg::GenericOp op : matches) {
      OpBuilder b(op);
      Location loc = op.getLoc();
      Value a = op.getDpsInputs()[0], w = op.getDpsInputs()[1],
            out = op.getDpsInits()[0];
      auto outType = cast<MemRefType>(out.getType());
      int64_t kSize = cast<MemRefType>(a.getType()).getDimSize(1);
      Value c0 = b.create<arith::ConstantIndexOp>(loc, 0);
      Value c1 = b.create<arith::ConstantIndexOp>(loc, 1);
      auto bound = [&](int64_t v) {
        return b.create<arith::ConstantIndexOp>(loc, v);
      };
      auto fm = arith::FastMathFlags::reassoc | arith::FastMathFlags::contract;
      b.create<scf::ForOp>(
          loc, c0, bound(outType.getDimSize(0)), c1, ValueRange{},
          [&](OpBuilder &bm, Location lm, Value m, ValueRange) {
            bm.create<scf::ForOp>(
                lm, c0, bound(outType.getDimSize(1)), c1, ValueRange{},
                [&](OpBuilder &bn, Location ln, Value n, ValueRange) {
                  Value init = bn.create<memref::LoadOp>(ln, out,
                                                         ValueRange{m, n});
                  auto sum = bn.create<scf::ForOp>(
                      ln, c0, bound(kSize), c1, ValueRange{init},
                      [&](OpBuilder &bk, Location lk, Value k,
                          ValueRange acc) {
                        Value x = bk.create<memref::LoadOp>(
                            lk, a, ValueRange{m, k});
                        Value y = bk.create<memref::LoadOp>(
                            lk, w, ValueRange{n, k});
                        Value p = bk.create<arith::MulFOp>(lk, x, y, fm);
                        Value s = bk.create<arith::AddFOp>(lk, acc[0], p, fm);
                        bk.create<scf::YieldOp>(lk, s);
                      });
                  bn.create<memref::StoreOp>(ln, sum.getResult(0), out,
                                             ValueRange{m, n});
                  bn.create<scf::YieldOp>(ln);
                });
            bm.create<scf::YieldOp>(lm);
          });
      op.erase();
    }
  }
};
} // namespace
