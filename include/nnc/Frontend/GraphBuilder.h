//===- GraphBuilder.h - C++ frontend for nn models --------------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// Builds model functions in the nn dialect from C++: either op by op with
// GraphBuilder, or a whole multi-layer perceptron from an MLPSpec (a list of
// widths, an activation and a loss: NN(w, x) = σ_L∘w_L∘…∘σ_1∘w_1∘x).
//
//===----------------------------------------------------------------------===//

#ifndef NNC_FRONTEND_GRAPHBUILDER_H
#define NNC_FRONTEND_GRAPHBUILDER_H

#include "nnc/Support/Vocabularies.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mlir::nnc {

/// Builds one model function. Arguments are added in call order; `param`
/// marks the argument `nn.param`; a non-empty `name` becomes its `nn.name`.
/// Result types come from each op's type inference: operands that do not
/// fit an op (a shape mismatch, a wrong element type) produce a located
/// error, a null Value, and make `finish` fail, never a crash.
class GraphBuilder {
public:
  GraphBuilder(ModuleOp module, StringRef name,
               std::optional<Location> loc = std::nullopt);

  /// Appends an input (at `index` among the arguments, if given).
  Value input(ArrayRef<int64_t> shape, Type elementType = {},
              StringRef name = {}, std::optional<unsigned> index = {});
  Value param(ArrayRef<int64_t> shape, StringRef name = {});

  /// Argument attributes while the function is built (the function's own
  /// take them in finish()).
  void setArgAttr(Value arg, StringRef name, Attribute value);
  bool isParam(Value arg) const;

  Value linear(Value x, Value w, Value b = {});
  Value matmul(Value a, Value b, bool transposeA = false,
               bool transposeB = false);
  Value add(Value a, Value b);
  Value relu(Value x);
  Value sigmoid(Value x);
  Value tanh(Value x);
  Value leakyRelu(Value x, double alpha);
  Value gelu(Value x);
  Value softmax(Value x);
  Value dropout(Value x, double rate, int64_t seed);
  Value mseLoss(Value prediction, Value target);
  Value crossEntropy(Value logits, Value labels);
  /// Convolution and pooling; `padding` is [top, left, bottom, right].
  Value conv2d(Value x, Value w, Value bias, ArrayRef<int64_t> strides,
               ArrayRef<int64_t> padding, ArrayRef<int64_t> dilations,
               int64_t groups);
  Value maxPool2d(Value x, ArrayRef<int64_t> kernel, ArrayRef<int64_t> strides,
                  ArrayRef<int64_t> padding);
  Value avgPool2d(Value x, ArrayRef<int64_t> kernel, ArrayRef<int64_t> strides,
                  ArrayRef<int64_t> padding, bool countIncludePad);
  /// Batch normalization over the channels (dimension 1) of `x`.
  Value batchNorm(Value x, Value weight, Value bias, Value runningMean,
                  Value runningVar, double eps, double momentum,
                  bool training);
  /// The same elements under `shape` (a view: no data moves).
  Value reshape(Value x, ArrayRef<int64_t> shape);
  /// Transformer layers: see the ops' documentation (nn.embedding, ...).
  /// `mask` may be null.
  Value mul(Value a, Value b);
  /// `x` copied along new leading dimensions: `shape` ends with x's.
  Value broadcast(Value x, ArrayRef<int64_t> shape);
  Value scale(Value x, double factor);
  Value embedding(Value table, Value indices);
  Value layerNorm(Value x, Value weight, Value bias, double eps);
  Value attention(Value q, Value k, Value v, Value mask, double scale,
                  bool causal);
  Value transpose(Value x, ArrayRef<int64_t> permutation);
  Value slice(Value x, ArrayRef<int64_t> offsets, ArrayRef<int64_t> sizes,
              ArrayRef<int64_t> strides);

  /// Locates the ops built from now on (an importer's current node).
  void setLocation(Location l) { loc = l; }

  /// Gives the input `arg`, not used yet, the shape `shape` of as many
  /// elements: a row-major reshape of an input moves no data, so the buffer
  /// the caller passes is the same. Fails (reported) otherwise.
  LogicalResult reshapeInput(Value arg, ArrayRef<int64_t> shape);

  /// Returns `results` and completes the function type; fails if any op
  /// could not be built (the error was reported where it happened).
  FailureOr<func::FuncOp> finish(ValueRange results);

  /// The function being built. Its type and argument attributes are set by
  /// finish(); until then the entry block holds the arguments.
  func::FuncOp getFunction() { return func; }

private:
  Value addArgument(Type type, bool isParam, StringRef name,
                    std::optional<unsigned> index = {});
  /// Creates OpT with the result types its inference gives; on failure
  /// records it and returns null (the diagnostic is already emitted).
  template <typename OpT, typename... Args> Value create(Args &&...args);

  bool failed = false;

  func::FuncOp func;
  /// One list per argument, in order. Growing the function's own type and
  /// attribute array argument by argument would make a new uniqued (never
  /// freed) FunctionType and ArrayAttr each time: quadratic time and memory
  /// in the arguments (2.5 GB for a 4000-layer MLP).
  SmallVector<NamedAttrList> argAttrs;
  OpBuilder b;
  Location loc;
};

/// A multi-layer perceptron: widths[0] inputs, widths.back() outputs.
/// Hidden layers apply `activation`; the last layer is linear (its outputs
/// are logits for cross-entropy, predictions for MSE), as in PyTorch models.
struct MLPSpec {
  std::vector<int64_t> widths{784, 100, 10};
  Activation activation = Activation::ReLU;
  Loss loss = Loss::CrossEntropy;
  int64_t batch = 128;
  /// Dropout after each hidden activation when > 0 (seeds 1, 2, ...).
  double dropout = 0.0;
  Init init = Init::Kaiming;
  /// σ of Init::Gaussian and c of Init::Constant.
  double initStd = 0.01, initValue = 0.0;
  uint64_t seed = 0;

  int64_t numLayers() const { return widths.size() - 1; }
  int64_t numParameters() const;
};

/// An MLP of widths "784,100,10" and this batch, the rest defaults
/// (activation, loss and init are vocabularies: nnc/Support/Vocabularies.h).
llvm::Expected<MLPSpec> parseMLPSpec(StringRef widths, int64_t batch);

/// Emits `@<name>(x, labels|targets, W1, b1, ..., WL, bL) -> tensor<f32>`
/// and `@<name>_predict(x, W1, b1, ...) -> tensor<batch x out>` (role
/// `#nn.entry<predict>`) into a new module; every argument carries its name
/// as `nn.name`. Labels are i32 class indices for cross-entropy, f32 targets
/// of the output shape for MSE.
OwningOpRef<ModuleOp> buildMLP(MLIRContext &ctx, const MLPSpec &spec,
                               StringRef name = "mlp");

/// Initial parameters in argument order (layer order, W [out, in] then b
/// [out]) by `spec.init`. Deterministic for a given seed.
std::vector<std::vector<float>> initParameters(const MLPSpec &spec);

/// The same rule for any parameter shapes (a model file's): tensors of rank
/// 2 or more are weights with fan_out = shape[0] and fan_in = the product
/// of the other dimensions; rank 0 and 1 (biases) start at zero. One
/// generator seeded with `seed` draws the weights in order.
std::vector<std::vector<float>>
initParameters(ArrayRef<std::vector<int64_t>> shapes, Init init, double initStd,
               double initValue, uint64_t seed);

} // namespace mlir::nnc

#endif // NNC_FRONTEND_GRAPHBUILDER_H
