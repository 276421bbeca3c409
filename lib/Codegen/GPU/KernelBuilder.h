//===- KernelBuilder.h - gpu.func kernels for linalg ops (private) -*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The kernels nnc-gpu-build-kernels emits, one builder per kind of work:
/// tiled matmuls (shared-memory tiles, a register tile of outputs per
/// thread, FMA), block reductions (warp shuffles, then shared memory) and
/// elementwise maps (one thread per element). Each builder writes a
/// `gpu.func` into a `gpu.module` and says how to launch it.
///
//===----------------------------------------------------------------------===//

#ifndef NNC_LIB_CODEGEN_GPU_KERNELBUILDER_H
#define NNC_LIB_CODEGEN_GPU_KERNELBUILDER_H

#include "nnc/Codegen/Common/ContractionMatcher.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"

#include <array>
#include <optional>

namespace mlir::nnc::gpu_codegen {

/// How to launch a built kernel: grid and block sizes, and the buffers it
/// takes in order (all memrefs of the host function).
struct Launch {
  gpu::GPUFuncOp kernel;
  std::array<int64_t, 3> grid{1, 1, 1}, block{1, 1, 1};
  SmallVector<Value> operands;
};

/// A kernel under construction: its gpu.func, a builder at the end of its
/// body and index/i32 constants made once at its entry (so every use is
/// dominated). It is also ConvolutionIndexing.h's `Ops`: index arithmetic
/// that emits IR.
struct KernelScope {
  using Int = Value;
  using Bool = Value;

  gpu::GPUFuncOp fn;
  OpBuilder b;
  OpBuilder entry;
  Location loc;
  llvm::DenseMap<int64_t, Value> indices;
  llvm::DenseMap<int64_t, Value> i32s;

  KernelScope(gpu::GPUFuncOp fn, Location loc);

  Value idx(int64_t v);
  Value i32(int64_t v);
  Value f32(double v);
  Value add(Value x, Value y) { return b.create<arith::AddIOp>(loc, x, y); }
  Value sub(Value x, Value y) { return b.create<arith::SubIOp>(loc, x, y); }
  Value mul(Value x, Value y) { return b.create<arith::MulIOp>(loc, x, y); }
  /// Unsigned: callers divide values >= 0 only.
  Value div(Value x, int64_t c);
  Value rem(Value x, int64_t c);
  Value max(Value x, Value y) { return b.create<arith::MaxSIOp>(loc, x, y); }
  Value min(Value x, Value y) { return b.create<arith::MinSIOp>(loc, x, y); }
  Value cmp(arith::CmpIPredicate p, Value x, Value y);
  Value lt(Value x, Value y) { return cmp(arith::CmpIPredicate::slt, x, y); }
  Value ge(Value x, Value y) { return cmp(arith::CmpIPredicate::sge, x, y); }
  Value eqc(Value x, int64_t c) {
    return cmp(arith::CmpIPredicate::eq, x, idx(c));
  }
  Value both(Value x, Value y) { return b.create<arith::AndIOp>(loc, x, y); }
  Value threadId() { return b.create<gpu::ThreadIdOp>(loc, gpu::Dimension::x); }
  Value blockId(gpu::Dimension d) { return b.create<gpu::BlockIdOp>(loc, d); }

  /// Row-major coordinates of `linear` in a box of `sizes`.
  SmallVector<Value> delinearize(Value linear, ArrayRef<int64_t> sizes);
  /// The operand indices `map` gives at loop coordinates `ivs`.
  SmallVector<Value> apply(AffineMap map, ValueRange ivs);
  /// mem[at] when `valid`, else 0 of its element type (the load never runs
  /// out of bounds).
  Value loadIf(Value valid, Value mem, ValueRange at);
  /// Runs `body` at the start of an scf.if on `cond`.
  template <typename Fn> void ifThen(Value cond, Fn body) {
    auto ifOp = b.create<scf::IfOp>(loc, cond, /*withElse=*/false);
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
    body();
  }
  void finish();
  /// Maps the values the body of `op` captures from the host function:
  /// constants are copied to the kernel's entry; anything else cannot be.
  LogicalResult mapCaptured(linalg::LinalgOp op, IRMapping &map);
};

inline int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// CUDA's limits on a launch's gridDim.x and on gridDim.y and z.
constexpr int64_t kMaxGridX = (int64_t(1) << 31) - 1, kMaxGridYZ = 65535;

/// A kernel taking `operands` with `shared` workgroup buffers (16-byte
/// aligned) and `blockSize` threads a block: what every builder starts from.
gpu::GPUFuncOp createKernel(OpBuilder &moduleBuilder, StringRef name,
                            Location loc, ArrayRef<Value> operands,
                            ArrayRef<Type> shared, int64_t blockSize);

/// A rows × cols f32 tile in workgroup (shared) memory.
MemRefType sharedTile(MLIRContext *ctx, int64_t rows, int64_t cols);

/// out = beta·out + alpha·op(lhs)·op(rhs). Shapes that are multiples of the
/// block tile get the register-tiled kernel (128×128 or 64×64 block tiles,
/// 8×8 or 4×4 outputs a thread, k tiles through shared memory, 128-bit
/// loads); others a guarded 16×16 shared-memory tile kernel.
FailureOr<Launch> buildMatmulKernel(OpBuilder &moduleBuilder, StringRef name,
                                    const MatmulOperands &mm, double beta,
                                    Location loc);

/// What a tensor-core matmul applies to each f32 accumulator before it
/// stores it in `out`'s element type (rounded once, to nearest even):
/// alpha·acc (+ beta·out) (+ bias[n]), then the activation.
struct MatmulEpilogue {
  enum class Activation { None, Relu, LeakyRelu };
  /// A rank-1 f32 buffer of N, or null.
  Value bias;
  Activation activation = Activation::None;
  float slope = 0.0f;
};

/// The same contraction with bf16 or f16 lhs and rhs on tensor cores:
/// `mma.sync.m16n8k16` with f32 accumulators, 64×64 block tiles of four
/// warps (32×32 each), k tiles of 32 through shared memory. Shapes off the
/// tile get the same kernel with bounds checks (zeros read outside, stores
/// guarded). Each output's k-sum runs in one fixed order (k tiles, then
/// the two k16 steps of each, one mma each), so a kernel gives identical
/// bits for identical inputs. Needs sm_80 or newer.
FailureOr<Launch> buildTensorCoreMatmulKernel(OpBuilder &moduleBuilder,
                                              StringRef name,
                                              const MatmulOperands &mm,
                                              double beta,
                                              const MatmulEpilogue &epilogue,
                                              Location loc);

/// The tensor-core kernels' block tile: 64×64 outputs of four warps
/// (32×32 each), k tiles of 32, 128 threads.
constexpr int64_t kTcBM = 64, kTcBN = 64, kTcBK = 32, kTcThreads = 128;

/// A workgroup tile of `rows` × kTcBK elements of `elem` (bf16 or f16), k
/// contiguous, rows padded against bank conflicts: what the stage of
/// emitTensorCoreProduct fills.
MemRefType tensorCoreTile(MLIRContext *ctx, Type elem, int64_t rows);

/// The main loop of the tensor-core kernels, for builders that gather their
/// own operands (the matmuls above, the bf16 convolutions' implicit GEMMs):
/// for each k tile k0 = 0, kTcBK, ... below K rounded up, `stage(k0)`
/// fills `As` [kTcBM][k] and `Bs` [kTcBN][k] (tensorCoreTile) with the
/// block's rows of A and columns of B at k0 + [0, kTcBK), zeros outside the
/// product; then each warp's mma.sync on them between barriers, in one
/// fixed order. Last `store(row, col, acc)` for each of the thread's f32
/// accumulators, at its row and column of the product (bm + [0, kTcBM),
/// bn + [0, kTcBN): the caller guards the edges).
void emitTensorCoreProduct(
    KernelScope &k, Type elem, int64_t K, Value bm, Value bn, Value As,
    Value Bs, function_ref<void(Value k0)> stage,
    function_ref<void(Value row, Value col, Value acc)> store);

/// An `nn.runtime_call` of `nncrt_gemm_bf16` on buffers (a product with a
/// bf16 result, its bias and ReLU/leaky ReLU fused, as oneDNN computes it
/// on the CPU) as a tensor-core kernel on the same buffers; failure for any
/// other op.
FailureOr<Launch> buildGemmCallKernel(OpBuilder &moduleBuilder, StringRef name,
                                      Operation *call);

/// A linalg op on buffers whose loops are all parallel (linalg.generic,
/// fill, copy): one thread per point of the iteration space.
FailureOr<Launch> buildElementwiseKernel(OpBuilder &moduleBuilder,
                                         StringRef name, linalg::LinalgOp op);

/// A linalg.generic with reduction loops whose body is
/// `yield combine(out, term(ins))` for combine one of addf, mulf, maximumf,
/// minimumf, maxnumf, minnumf: one block per point of the parallel loops,
/// its threads striding over the reduction loops, then a fixed tree (warp
/// shuffles, shared memory): deterministic for given shapes.
FailureOr<Launch> buildReductionKernel(OpBuilder &moduleBuilder,
                                       StringRef name, linalg::GenericOp op);

} // namespace mlir::nnc::gpu_codegen

#endif // NNC_LIB_CODEGEN_GPU_KERNELBUILDER_H
