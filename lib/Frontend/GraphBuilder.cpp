//===- GraphBuilder.cpp - C++ frontend for nn models ----------------------===//
//
// Part of nnc.
//
//===----------------------------------------------------------------------===//

#include "nnc/Frontend/GraphBuilder.h"
#include "nnc/Dialect/NN/IR/NNOps.h"

#include "llvm/ADT/StringExtras.h"

#include <cmath>
#include <random>

using namespace mlir;
using namespace mlir::nnc;

GraphBuilder::GraphBuilder(ModuleOp module, StringRef name)
    : b(module.getContext()),
      // Diagnostics about a built model name the function it belongs to.
      loc(FileLineColLoc::get(b.getStringAttr(name), 1, 1)) {
  module.getContext()->getOrLoadDialect<NNDialect>();
  b.setInsertionPointToEnd(module.getBody());
  func = b.create<func::FuncOp>(loc, name, b.getFunctionType({}, {}));
  b.setInsertionPointToStart(func.addEntryBlock());
}

RankedTensorType GraphBuilder::f32(ArrayRef<int64_t> shape) {
  return RankedTensorType::get(shape, b.getF32Type());
}

Value GraphBuilder::addArgument(Type type, bool isParam) {
  unsigned index = func.getNumArguments();
  func.insertArgument(index, type, {}, loc);
  if (isParam)
    func.setArgAttr(index, NNDialect::getParamAttrName(), b.getUnitAttr());
  return func.getArgument(index);
}

Value GraphBuilder::input(ArrayRef<int64_t> shape, Type elementType) {
  Type elt = elementType ? elementType : b.getF32Type();
  return addArgument(RankedTensorType::get(shape, elt), false);
}

Value GraphBuilder::param(ArrayRef<int64_t> shape) {
  return addArgument(f32(shape), true);
}

static ArrayRef<int64_t> shape(Value v) {
  return cast<RankedTensorType>(v.getType()).getShape();
}

Value GraphBuilder::linear(Value x, Value w, Value bias) {
  auto type = f32({shape(x)[0], shape(w)[0]});
  return b.create<LinearOp>(loc, type, x, w, bias);
}
Value GraphBuilder::matmul(Value l, Value r, bool ta, bool tb) {
  int64_t m = ta ? shape(l)[1] : shape(l)[0];
  int64_t n = tb ? shape(r)[0] : shape(r)[1];
  return b.create<MatmulOp>(loc, f32({m, n}), l, r, ta, tb);
}
Value GraphBuilder::add(Value l, Value r) { return b.create<AddOp>(loc, l, r); }
Value GraphBuilder::relu(Value x) { return b.create<ReluOp>(loc, x); }
Value GraphBuilder::sigmoid(Value x) { return b.create<SigmoidOp>(loc, x); }
Value GraphBuilder::tanh(Value x) { return b.create<TanhOp>(loc, x); }
Value GraphBuilder::softmax(Value x) { return b.create<SoftmaxOp>(loc, x); }
Value GraphBuilder::dropout(Value x, double rate, int64_t seed) {
  return b.create<DropoutOp>(loc, x, b.getF32FloatAttr(rate),
                             b.getI64IntegerAttr(seed));
}
Value GraphBuilder::mseLoss(Value p, Value t) {
  return b.create<MSELossOp>(loc, f32({}), p, t);
}
Value GraphBuilder::crossEntropy(Value z, Value labels) {
  return b.create<CrossEntropyOp>(loc, f32({}), z, labels);
}

func::FuncOp GraphBuilder::finish(ValueRange results) {
  b.create<func::ReturnOp>(loc, results);
  func.setFunctionType(b.getFunctionType(func.getArgumentTypes(),
                                         ValueRange(results).getTypes()));
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

StringRef mlir::nnc::stringify(Activation a) {
  switch (a) {
  case Activation::ReLU:
    return "relu";
  case Activation::Sigmoid:
    return "sigmoid";
  case Activation::Tanh:
    return "tanh";
  }
  llvm_unreachable("unknown activation");
}

StringRef mlir::nnc::stringify(Loss l) {
  return l == Loss::MSE ? "mse" : "cross-entropy";
}

llvm::Expected<Init> mlir::nnc::parseInit(StringRef name) {
  if (name == "kaiming" || name == "he")
    return Init::Kaiming;
  if (name == "xavier" || name == "glorot")
    return Init::Xavier;
  if (name == "gaussian" || name == "normal")
    return Init::Gaussian;
  return llvm::createStringError(
      "unknown initialization '%s' (expected kaiming, xavier or gaussian)",
      name.str().c_str());
}

llvm::Expected<MLPSpec> mlir::nnc::parseMLPSpec(StringRef widths,
                                                StringRef activation,
                                                StringRef loss,
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
  if (activation == "relu")
    spec.activation = Activation::ReLU;
  else if (activation == "sigmoid")
    spec.activation = Activation::Sigmoid;
  else if (activation == "tanh")
    spec.activation = Activation::Tanh;
  else
    return llvm::createStringError(
        "unknown activation '%s' (expected relu, sigmoid or tanh)",
        activation.str().c_str());
  if (loss == "mse")
    spec.loss = Loss::MSE;
  else if (loss == "cross-entropy" || loss == "xent")
    spec.loss = Loss::CrossEntropy;
  else
    return llvm::createStringError(
        "unknown loss '%s' (expected mse or cross-entropy)",
        loss.str().c_str());
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

OwningOpRef<ModuleOp> mlir::nnc::buildMLP(MLIRContext &ctx,
                                          const MLPSpec &spec,
                                          StringRef name) {
  ctx.getOrLoadDialect<NNDialect>();
  ctx.getOrLoadDialect<func::FuncDialect>();
  OwningOpRef<ModuleOp> module = ModuleOp::create(UnknownLoc::get(&ctx));
  Builder b(&ctx);
  int64_t in = spec.widths.front(), out = spec.widths.back();

  auto addParams = [&](GraphBuilder &g) {
    SmallVector<Value> params;
    for (int64_t l = 0; l < spec.numLayers(); ++l) {
      params.push_back(g.param({spec.widths[l + 1], spec.widths[l]}));
      params.push_back(g.param({spec.widths[l + 1]}));
    }
    return params;
  };

  {
    GraphBuilder g(*module, name);
    Value x = g.input({spec.batch, in});
    Value target = spec.loss == Loss::CrossEntropy
                       ? g.input({spec.batch}, b.getI32Type())
                       : g.input({spec.batch, out});
    SmallVector<Value> params = addParams(g);
    Value y = buildLayers(g, spec, x, params);
    g.finish(spec.loss == Loss::CrossEntropy ? g.crossEntropy(y, target)
                                             : g.mseLoss(y, target));
  }
  {
    // Inference: same layers, no loss and no dropout.
    MLPSpec inference = spec;
    inference.dropout = 0;
    GraphBuilder g(*module, (name + "_predict").str());
    Value x = g.input({spec.batch, in});
    SmallVector<Value> params = addParams(g);
    func::FuncOp f = g.finish(buildLayers(g, inference, x, params));
    // Parameters of the predict function are inputs, not trainables: the
    // autodiff pass must not treat it as a model.
    for (unsigned i = 0; i < f.getNumArguments(); ++i)
      f.removeArgAttr(i, NNDialect::getParamAttrName());
  }
  return module;
}

std::vector<std::vector<float>>
mlir::nnc::initParameters(const MLPSpec &spec) {
  std::mt19937_64 rng(spec.seed);
  std::vector<std::vector<float>> params;
  for (int64_t l = 0; l < spec.numLayers(); ++l) {
    int64_t in = spec.widths[l], out = spec.widths[l + 1];
    std::vector<float> w(in * out);
    switch (spec.init) {
    case Init::Kaiming: {
      std::normal_distribution<double> d(0.0, std::sqrt(2.0 / in));
      for (float &v : w)
        v = d(rng);
      break;
    }
    case Init::Xavier: {
      double a = std::sqrt(6.0 / (in + out));
      std::uniform_real_distribution<double> d(-a, a);
      for (float &v : w)
        v = d(rng);
      break;
    }
    case Init::Gaussian: {
      std::normal_distribution<double> d(0.0, 0.01);
      for (float &v : w)
        v = d(rng);
      break;
    }
    }
    params.push_back(std::move(w));
    params.push_back(std::vector<float>(out, 0.0f));
  }
  return params;
}
