//===- GraphBuilder.cpp - C++ frontend for nn models ----------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Frontend/GraphBuilder.h"

#include "nnc/Dialect/NN/IR/NNOps.h"
#include "nnc/Support/Limits.h"

#include "llvm/ADT/StringExtras.h"

#include <cmath>
#include <random>

using namespace mlir;
using namespace mlir::nnc;

GraphBuilder::GraphBuilder(ModuleOp module, StringRef name,
                           std::optional<Location> loc)
    : b(module.getContext()),
      // Diagnostics about a built model name the function it belongs to,
      // unless the frontend knows better (an importer's file and node).
      loc(loc ? *loc : FileLineColLoc::get(b.getStringAttr(name), 1, 1)) {
  module.getContext()->getOrLoadDialect<NNDialect>();
  b.setInsertionPointToEnd(module.getBody());
  func = b.create<func::FuncOp>(this->loc, name, b.getFunctionType({}, {}));
  b.setInsertionPointToStart(func.addEntryBlock());
}

Value GraphBuilder::addArgument(Type type, bool isParam, StringRef name,
                                std::optional<unsigned> index) {
  Block &entry = func.front();
  unsigned i = index ? *index : entry.getNumArguments();
  Value arg = entry.insertArgument(i, type, loc);
  NamedAttrList attrs;
  if (isParam)
    attrs.set(NNDialect::getParamAttrName(), b.getUnitAttr());
  if (!name.empty())
    attrs.set(NNDialect::getNameAttrName(), b.getStringAttr(name));
  argAttrs.insert(argAttrs.begin() + i, attrs);
  return arg;
}

void GraphBuilder::setArgAttr(Value arg, StringRef name, Attribute value) {
  argAttrs[cast<BlockArgument>(arg).getArgNumber()].set(name, value);
}

bool GraphBuilder::isParam(Value arg) const {
  auto blockArg = dyn_cast<BlockArgument>(arg);
  return blockArg && blockArg.getOwner()->getParentOp() == func &&
         argAttrs[blockArg.getArgNumber()].get(NNDialect::getParamAttrName());
}

Value GraphBuilder::input(ArrayRef<int64_t> shape, Type elementType,
                          StringRef name, std::optional<unsigned> index) {
  Type elt = elementType ? elementType : b.getF32Type();
  return addArgument(RankedTensorType::get(shape, elt), false, name, index);
}

Value GraphBuilder::param(ArrayRef<int64_t> shape, StringRef name) {
  return addArgument(RankedTensorType::get(shape, b.getF32Type()), true, name);
}

LogicalResult GraphBuilder::reshapeInput(Value arg, ArrayRef<int64_t> shape) {
  auto blockArg = dyn_cast<BlockArgument>(arg);
  auto type = cast<RankedTensorType>(arg.getType());
  auto reshaped = RankedTensorType::get(shape, type.getElementType());
  if (!blockArg || blockArg.getOwner()->getParentOp() != func ||
      !arg.use_empty() || reshaped.getNumElements() != type.getNumElements())
    return failed = true, emitError(loc)
                              << "cannot reshape " << type << " to " << reshaped
                              << ": only an unused input of as many elements";
  arg.setType(reshaped); // the function type follows in finish()
  return success();
}

template <typename OpT, typename... Args>
Value GraphBuilder::create(Args &&...args) {
  // Build with a placeholder result type, then ask the op what it is: the
  // inferring builders would abort on operands that do not fit.
  OperationState state(loc, OpT::getOperationName());
  OpT::build(b, state, Type(), std::forward<Args>(args)...);
  state.types.clear();
  if (mlir::failed(OpT::inferReturnTypes(
          b.getContext(), loc, state.operands,
          state.attributes.getDictionary(b.getContext()),
          state.getRawProperties(), state.regions, state.types)))
    return failed = true, Value();
  return b.create(state)->getResult(0);
}

// A null operand is an earlier failure, already reported: propagate it.
#define NNC_REQUIRE(...)                                                       \
  if (llvm::any_of(std::initializer_list<Value>{__VA_ARGS__},                  \
                   [](Value v) { return !v; }))                                \
    return failed = true, Value();

Value GraphBuilder::linear(Value x, Value w, Value bias) {
  NNC_REQUIRE(x, w);
  return create<LinearOp>(x, w, bias);
}
Value GraphBuilder::matmul(Value l, Value r, bool ta, bool tb) {
  NNC_REQUIRE(l, r);
  return create<MatmulOp>(l, r, ta, tb);
}
Value GraphBuilder::add(Value l, Value r) {
  NNC_REQUIRE(l, r);
  return create<AddOp>(l, r);
}
Value GraphBuilder::relu(Value x) {
  NNC_REQUIRE(x);
  return create<ReluOp>(x);
}
Value GraphBuilder::sigmoid(Value x) {
  NNC_REQUIRE(x);
  return create<SigmoidOp>(x);
}
Value GraphBuilder::tanh(Value x) {
  NNC_REQUIRE(x);
  return create<TanhOp>(x);
}
Value GraphBuilder::leakyRelu(Value x, double alpha) {
  NNC_REQUIRE(x);
  return create<LeakyReluOp>(x, b.getF32FloatAttr(alpha));
}
Value GraphBuilder::gelu(Value x) {
  NNC_REQUIRE(x);
  return create<GeluOp>(x);
}
Value GraphBuilder::softmax(Value x) {
  NNC_REQUIRE(x);
  return create<SoftmaxOp>(x);
}
Value GraphBuilder::dropout(Value x, double rate, int64_t seed) {
  NNC_REQUIRE(x);
  return create<DropoutOp>(x, b.getF32FloatAttr(rate),
                           b.getI64IntegerAttr(seed));
}
Value GraphBuilder::mseLoss(Value p, Value t) {
  NNC_REQUIRE(p, t);
  return create<MSELossOp>(p, t);
}
Value GraphBuilder::crossEntropy(Value z, Value labels) {
  NNC_REQUIRE(z, labels);
  return create<CrossEntropyOp>(z, labels);
}
Value GraphBuilder::conv2d(Value x, Value w, Value bias,
                           ArrayRef<int64_t> strides,
                           ArrayRef<int64_t> padding,
                           ArrayRef<int64_t> dilations, int64_t groups) {
  NNC_REQUIRE(x, w);
  return create<Conv2dOp>(x, w, bias, b.getDenseI64ArrayAttr(strides),
                          b.getDenseI64ArrayAttr(padding),
                          b.getDenseI64ArrayAttr(dilations),
                          b.getI64IntegerAttr(groups));
}
Value GraphBuilder::maxPool2d(Value x, ArrayRef<int64_t> kernel,
                              ArrayRef<int64_t> strides,
                              ArrayRef<int64_t> padding) {
  NNC_REQUIRE(x);
  return create<MaxPool2dOp>(x, b.getDenseI64ArrayAttr(kernel),
                             b.getDenseI64ArrayAttr(strides),
                             b.getDenseI64ArrayAttr(padding));
}
Value GraphBuilder::avgPool2d(Value x, ArrayRef<int64_t> kernel,
                              ArrayRef<int64_t> strides,
                              ArrayRef<int64_t> padding, bool countIncludePad) {
  NNC_REQUIRE(x);
  return create<AvgPool2dOp>(
      x, b.getDenseI64ArrayAttr(kernel), b.getDenseI64ArrayAttr(strides),
      b.getDenseI64ArrayAttr(padding),
      countIncludePad ? b.getUnitAttr() : UnitAttr());
}
Value GraphBuilder::batchNorm(Value x, Value weight, Value bias,
                              Value runningMean, Value runningVar, double eps,
                              double momentum, bool training) {
  NNC_REQUIRE(x, weight, bias, runningMean, runningVar);
  return create<BatchNormOp>(x, weight, bias, runningMean, runningVar,
                             b.getF64FloatAttr(eps), b.getF64FloatAttr(momentum),
                             training ? b.getUnitAttr() : UnitAttr());
}
Value GraphBuilder::mul(Value l, Value r) {
  NNC_REQUIRE(l, r);
  return create<MulOp>(l, r);
}
Value GraphBuilder::scale(Value x, double factor) {
  NNC_REQUIRE(x);
  return create<ScaleOp>(x, b.getF64FloatAttr(factor));
}
Value GraphBuilder::embedding(Value table, Value indices) {
  NNC_REQUIRE(table, indices);
  return create<EmbeddingOp>(table, indices);
}
Value GraphBuilder::layerNorm(Value x, Value weight, Value bias, double eps) {
  NNC_REQUIRE(x, weight, bias);
  return create<LayerNormOp>(x, weight, bias, b.getF64FloatAttr(eps));
}
Value GraphBuilder::attention(Value q, Value k, Value v, Value mask,
                              double scale, bool causal) {
  NNC_REQUIRE(q, k, v);
  return create<AttentionOp>(q, k, v, mask, b.getF64FloatAttr(scale),
                             causal ? b.getUnitAttr() : UnitAttr());
}
Value GraphBuilder::transpose(Value x, ArrayRef<int64_t> permutation) {
  NNC_REQUIRE(x);
  return create<TransposeOp>(x, b.getDenseI64ArrayAttr(permutation));
}
Value GraphBuilder::slice(Value x, ArrayRef<int64_t> offsets,
                          ArrayRef<int64_t> sizes, ArrayRef<int64_t> strides) {
  NNC_REQUIRE(x);
  return create<SliceOp>(x, b.getDenseI64ArrayAttr(offsets),
                         b.getDenseI64ArrayAttr(sizes),
                         b.getDenseI64ArrayAttr(strides));
}
Value GraphBuilder::broadcast(Value x, ArrayRef<int64_t> shape) {
  NNC_REQUIRE(x);
  auto type = cast<RankedTensorType>(x.getType());
  if (shape.size() < size_t(type.getRank()) ||
      shape.take_back(type.getRank()) != type.getShape() ||
      llvm::any_of(shape, [](int64_t d) { return d < 1; })) {
    failed = true;
    emitError(loc) << "cannot broadcast " << type << " to ["
                   << llvm::make_range(shape.begin(), shape.end())
                   << "]: the shape must end with the input's";
    return Value();
  }
  return b.create<BroadcastOp>(
      loc, RankedTensorType::get(shape, type.getElementType()), x);
}
Value GraphBuilder::reshape(Value x, ArrayRef<int64_t> shape) {
  NNC_REQUIRE(x);
  auto type = cast<RankedTensorType>(x.getType());
  auto reshaped = RankedTensorType::get(shape, type.getElementType());
  // The op's verifier checks this too; built here it must not be invalid.
  if (llvm::any_of(shape, [](int64_t d) { return d < 1; }) ||
      reshaped.getNumElements() != type.getNumElements()) {
    failed = true;
    emitError(loc) << "cannot reshape " << type << " to " << reshaped
                   << ": the element counts differ";
    return Value();
  }
  return b.create<ReshapeOp>(loc, reshaped, x);
}
#undef NNC_REQUIRE

FailureOr<func::FuncOp> GraphBuilder::finish(ValueRange results) {
  if (failed || llvm::any_of(results, [](Value v) { return !v; }))
    return failure();
  b.create<func::ReturnOp>(loc, results);
  func.setFunctionType(b.getFunctionType(func.front().getArgumentTypes(),
                                         ValueRange(results).getTypes()));
  SmallVector<DictionaryAttr> dicts;
  for (NamedAttrList &attrs : argAttrs)
    dicts.push_back(attrs.getDictionary(b.getContext()));
  func.setAllArgAttrs(dicts);
  return func;
}

//===----------------------------------------------------------------------===//
// MLPs
//===----------------------------------------------------------------------===//

int64_t MLPSpec::numParameters() const {
  int64_t n = 0;
  for (size_t i = 0; i + 1 < widths.size(); ++i)
    n += widths[i] * widths[i + 1] + widths[i + 1];
  return n;
}

llvm::Expected<MLPSpec> mlir::nnc::parseMLPSpec(StringRef widths,
                                                int64_t batch) {
  MLPSpec spec;
  spec.widths.clear();
  SmallVector<StringRef> parts;
  widths.split(parts, ',');
  for (StringRef p : parts) {
    int64_t w;
    if (p.trim().getAsInteger(10, w) || w <= 0)
      return llvm::createStringError(
          "bad MLP width '%s' in '%s': expected positive integers separated "
          "by commas, e.g. 784,100,10",
          p.str().c_str(), widths.str().c_str());
    spec.widths.push_back(w);
  }
  if (spec.widths.size() < 2)
    return llvm::createStringError(
        "MLP spec '%s' needs at least an input and an output width",
        widths.str().c_str());
  // Each layer is at least one checkpoint stage; say so before building.
  if (spec.widths.size() - 1 > ::nnc::limits::kMaxStages)
    return llvm::createStringError(
        "MLP spec has %zu layers, over nnc's limit of %u (docs/Limits.md)",
        spec.widths.size() - 1, ::nnc::limits::kMaxStages);
  if (batch <= 0)
    return llvm::createStringError("batch must be positive, got %lld",
                                   static_cast<long long>(batch));
  spec.batch = batch;
  return spec;
}

/// Hidden layers and the final linear layer, shared by the loss and the
/// predict functions so both compute exactly the same forward.
static Value buildLayers(GraphBuilder &g, const MLPSpec &spec, Value x,
                         ArrayRef<Value> params) {
  Value h = x;
  for (int64_t l = 0; l < spec.numLayers(); ++l) {
    h = g.linear(h, params[2 * l], params[2 * l + 1]);
    if (l + 1 == spec.numLayers())
      break;
    switch (spec.activation) {
    case Activation::ReLU:
      h = g.relu(h);
      break;
    case Activation::Sigmoid:
      h = g.sigmoid(h);
      break;
    case Activation::Tanh:
      h = g.tanh(h);
      break;
    }
    if (spec.dropout > 0)
      h = g.dropout(h, spec.dropout, l + 1);
  }
  return h;
}

OwningOpRef<ModuleOp> mlir::nnc::buildMLP(MLIRContext &ctx, const MLPSpec &spec,
                                          StringRef name) {
  ctx.getOrLoadDialect<NNDialect>();
  ctx.getOrLoadDialect<func::FuncDialect>();
  OwningOpRef<ModuleOp> module = ModuleOp::create(UnknownLoc::get(&ctx));
  Builder b(&ctx);
  int64_t in = spec.widths.front(), out = spec.widths.back();

  // Parameters in PyTorch's order: W1 [out, in], b1 [out], W2, ...
  auto addParams = [&](GraphBuilder &g, bool trainable) {
    SmallVector<Value> params;
    for (int64_t l = 0; l < spec.numLayers(); ++l) {
      std::string w = "W" + std::to_string(l + 1),
                  bias = "b" + std::to_string(l + 1);
      SmallVector<int64_t> wShape{spec.widths[l + 1], spec.widths[l]};
      params.push_back(trainable ? g.param(wShape, w) : g.input(wShape, {}, w));
      params.push_back(trainable ? g.param({spec.widths[l + 1]}, bias)
                                 : g.input({spec.widths[l + 1]}, {}, bias));
    }
    return params;
  };

  // An MLP ends in a linear layer: its outputs are logits, never the
  // log-probabilities a negative log-likelihood reads.
  if (spec.loss == Loss::NLL) {
    emitError(module->getLoc())
        << "loss 'nll' needs a model whose output is log-probabilities (an "
           "ONNX graph ending in LogSoftmax); an MLP's output is logits: use "
           "'cross-entropy'";
    return nullptr;
  }
  {
    GraphBuilder g(*module, name);
    Value x = g.input({spec.batch, in}, {}, "x");
    Value target = spec.loss == Loss::CrossEntropy
                       ? g.input({spec.batch}, b.getI32Type(), "labels")
                       : g.input({spec.batch, out}, {}, "targets");
    SmallVector<Value> params = addParams(g, /*trainable=*/true);
    Value y = buildLayers(g, spec, x, params);
    if (failed(g.finish(spec.loss == Loss::CrossEntropy
                            ? g.crossEntropy(y, target)
                            : g.mseLoss(y, target))))
      return nullptr;
  }
  {
    // Inference: same layers, no loss and no dropout. Its parameters are
    // inputs, not trainables: autodiff must not treat it as a model.
    MLPSpec inference = spec;
    inference.dropout = 0;
    GraphBuilder g(*module, (name + "_predict").str());
    Value x = g.input({spec.batch, in}, {}, "x");
    SmallVector<Value> params = addParams(g, /*trainable=*/false);
    FailureOr<func::FuncOp> f = g.finish(buildLayers(g, inference, x, params));
    if (failed(f))
      return nullptr;
    (*f)->setAttr(NNDialect::getEntryAttrName(),
                  EntryRoleAttr::get(&ctx, EntryRole::Predict));
  }
  return module;
}

std::vector<std::vector<float>>
mlir::nnc::initParameters(ArrayRef<std::vector<int64_t>> shapes, Init init,
                          double initStd, double initValue, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::vector<float>> params;
  for (const std::vector<int64_t> &shape : shapes) {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    std::vector<float> w(n, 0.0f);
    if (shape.size() >= 2) {
      double out = shape[0], in = n / shape[0];
      auto normal = [&](double sd) {
        std::normal_distribution<double> d(0.0, sd);
        for (float &v : w)
          v = d(rng);
      };
      auto uniform = [&](double a) {
        std::uniform_real_distribution<double> d(-a, a);
        for (float &v : w)
          v = d(rng);
      };
      switch (init) {
      case Init::Kaiming:
        normal(std::sqrt(2.0 / in));
        break;
      case Init::KaimingUniform:
        uniform(std::sqrt(6.0 / in));
        break;
      case Init::Xavier:
        uniform(std::sqrt(6.0 / (in + out)));
        break;
      case Init::XavierNormal:
        normal(std::sqrt(2.0 / (in + out)));
        break;
      case Init::Gaussian:
        normal(initStd);
        break;
      case Init::Constant:
        std::fill(w.begin(), w.end(), static_cast<float>(initValue));
        break;
      }
    }
    params.push_back(std::move(w));
  }
  return params;
}

std::vector<std::vector<float>> mlir::nnc::initParameters(const MLPSpec &spec) {
  std::vector<std::vector<int64_t>> shapes;
  for (int64_t l = 0; l < spec.numLayers(); ++l) {
    shapes.push_back({spec.widths[l + 1], spec.widths[l]});
    shapes.push_back({spec.widths[l + 1]});
  }
  return initParameters(shapes, spec.init, spec.initStd, spec.initValue,
                        spec.seed);
}
