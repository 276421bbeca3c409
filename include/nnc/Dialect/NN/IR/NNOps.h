//===- NNOps.h - nn dialect operations --------------------------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#ifndef NNC_DIALECT_NN_IR_NNOPS_H
#define NNC_DIALECT_NN_IR_NNOPS_H

#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "nnc/Dialect/NN/IR/NNAttrs.h"
#include "nnc/Dialect/NN/IR/NNDialect.h"

#include "nnc/Dialect/NN/IR/NNInterfaces.h.inc"

namespace mlir::nnc::NNTrait {
/// The op's vector-Jacobian product reads its result, not its operand
/// (activations); see NN_GradientFromResult in NNOps.td.
template <typename ConcreteType>
class GradientFromResult
    : public ::mlir::OpTrait::TraitBase<ConcreteType, GradientFromResult> {};

/// The op computes a training loss; see NN_Loss in NNOps.td.
template <typename ConcreteType>
class Loss : public ::mlir::OpTrait::TraitBase<ConcreteType, Loss> {};
} // namespace mlir::nnc::NNTrait

#define GET_OP_CLASSES
#include "nnc/Dialect/NN/IR/NNOps.h.inc"

namespace mlir::nnc {
/// A 2-D convolution's sizes and attributes: what the conv ops verify and
/// what their lowering hands the runtime (nncrt_conv2d_*).
struct Conv2dGeometry {
  int64_t n, c, h, w, k, kh, kw, oh, ow;
  int64_t strideH, strideW, padTop, padLeft, padBottom, padRight;
  int64_t dilationH, dilationW, groups;
  /// The 18 values in nncrt_conv2d_*'s order.
  SmallVector<int64_t> values() const;
  /// FLOPs of the forward (and of each gradient): 2 per multiply-add.
  int64_t macFlops() const;
};

/// The geometry of a convolution of an `input` [N, C, H, W] with a `weight`
/// [K, C / groups, KH, KW], or failure with `why` set: bad attributes (a
/// stride or dilation not positive, negative padding, absurd values),
/// channels not divisible by the groups, a weight not matching, or a kernel
/// larger than the padded input.
FailureOr<Conv2dGeometry>
getConv2dGeometry(ArrayRef<int64_t> input, ArrayRef<int64_t> weight,
                  ArrayRef<int64_t> strides, ArrayRef<int64_t> padding,
                  ArrayRef<int64_t> dilations, int64_t groups,
                  std::string &why);

/// A 2-D pooling's sizes and attributes (nncrt_pool2d_*).
struct Pool2dGeometry {
  int64_t n, c, h, w, oh, ow, kh, kw;
  int64_t strideH, strideW, padTop, padLeft, padBottom, padRight;
  /// The 14 values in nncrt_pool2d_*'s order.
  SmallVector<int64_t> values() const;
};

/// The geometry of a pooling of `input` [N, C, H, W], or failure with `why`
/// set (PyTorch's rules: positive kernel and strides, padding at most half
/// the kernel, a window that fits the padded input).
FailureOr<Pool2dGeometry> getPool2dGeometry(ArrayRef<int64_t> input,
                                            ArrayRef<int64_t> kernel,
                                            ArrayRef<int64_t> strides,
                                            ArrayRef<int64_t> padding,
                                            std::string &why);

/// The geometry of a verified convolution or pooling op.
Conv2dGeometry getGeometry(Conv2dOp op);
Conv2dGeometry getGeometry(Conv2dGradInputOp op);
Conv2dGeometry getGeometry(Conv2dGradWeightOp op);
Pool2dGeometry getGeometry(MaxPool2dOp op);
Pool2dGeometry getGeometry(MaxPool2dGradOp op);
Pool2dGeometry getGeometry(AvgPool2dOp op);
Pool2dGeometry getGeometry(AvgPool2dGradOp op);
Pool2dGeometry getGeometry(MaxPool2dIndicesOp op);
Pool2dGeometry getGeometry(MaxPool2dIndexedOp op);
Pool2dGeometry getGeometry(MaxPool2dIndexedGradOp op);

/// The most elements a window of the index form of max pooling may have:
/// its positions are one byte (nn.max_pool2d_indices).
constexpr int64_t kMaxPoolIndexWindow = 256;

/// An attention's sizes: q [B, H, Tq, Dk], k [B, H, Tk, Dk], v [B, H, Tk,
/// Dv] (nncrt_attention_*).
struct AttentionGeometry {
  int64_t b, h, tq, tk, dk, dv;
  /// The 6 values in nncrt_attention_*'s order.
  SmallVector<int64_t> values() const { return {b, h, tq, tk, dk, dv}; }
  /// FLOPs of the forward (two products); the backward recomputes the
  /// scores and the log-sum-exp and takes four more products.
  int64_t forwardFlops() const;
  int64_t backwardFlops() const;
};

/// The geometry of an attention of `query`, `key`, `value` and an optional
/// `mask` [Tq, Tk], or failure with `why` set.
FailureOr<AttentionGeometry>
getAttentionGeometry(ArrayRef<int64_t> query, ArrayRef<int64_t> key,
                     ArrayRef<int64_t> value,
                     std::optional<ArrayRef<int64_t>> mask, std::string &why);
AttentionGeometry getGeometry(AttentionOp op);
AttentionGeometry getGeometry(AttentionGradOp op);

/// Number of elements of a statically shaped type.
int64_t getNumElements(Type type);
/// Bytes of a statically shaped type of scalars or vectors of scalars
/// (a vector element counts all its lanes). Callers have checked the type
/// with checkSizeLimits (or know it is small).
int64_t getSizeInBytes(Type type);

/// The bytes of `type` computed with overflow checks, or a message saying
/// why it has no acceptable size: not a statically shaped type of numbers,
/// or more than limits::kMaxTensorBytes (1 TiB). An empty shape is 0 bytes.
FailureOr<int64_t> getCheckedSizeInBytes(Type type, std::string &why);

/// Checks every block argument and result of `fn` and of the ops in it
/// (recursively) with getCheckedSizeInBytes, that none is empty (a model
/// of empty tensors is a mistake: batch 0, 0 classes), and the number of ops
/// against `maxOps`; reports the first violation at its location. Every pass
/// that sizes buffers or counts FLOPs runs this first, so their arithmetic
/// cannot overflow whatever IR it is given.
LogicalResult checkSizeLimits(func::FuncOp fn, int64_t maxOps);

/// True if `fn` is a model function: it has a body and some argument
/// carries `nn.param`.
bool isModelFunction(func::FuncOp fn);

/// The role of `fn`: its `nn.entry` attribute, else `loss` for a model
/// function, else none.
std::optional<EntryRole> getEntryRole(func::FuncOp fn);

/// `shape` as diagnostics print it: "[2, 3, 4]".
std::string formatShape(ArrayRef<int64_t> shape);

/// The `nn.name` of argument `index` of `fn`, or "" if it has none.
StringRef getArgName(func::FuncOp fn, unsigned index);

/// The `nn.source_name` of argument `index` of `fn` (the name it had in an
/// imported model file), else its `nn.name`, else "".
StringRef getArgSourceName(func::FuncOp fn, unsigned index);
} // namespace mlir::nnc

#endif // NNC_DIALECT_NN_IR_NNOPS_H
