//===- ONNXImport.cpp - ONNX graphs to nn model functions -----------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// Maps what PyTorch's exporter writes for feedforward networks and
// transformers onto nn ops, node by node in graph order. A few ONNX ops are
// not nn ops on their own but the first steps of a pattern that is one:
// MatMul by a transposed weight then Add of a bias (nn.linear), Sub then
// Mul/Pow then ReduceMean (nn.mse_loss), LogSoftmax then
// NegativeLogLikelihoodLoss (nn.cross_entropy), GELU's erf form, the
// decomposed layer norm of opsets before 17 (nn.layer_norm), and attention:
// a batched MatMul q·kᵀ, a constant scale and mask, Softmax, and a MatMul by
// v (nn.attention, which never stores the scores). Such a step leaves a
// Partial value; the pattern's next node consumes it. Some partials are
// values nnc can also compute on their own (a transpose, a scaled tensor, a
// product by a weight): any other use materializes them; the rest report
// the step as unsupported. Nodes whose inputs are all constants (shape
// arithmetic: Shape, Gather, Concat, Unsqueeze, ...) fold into constants.
//
//===----------------------------------------------------------------------===//

#include "nnc/Frontend/ONNX.h"

#include "ONNXModel.h"

#include "nnc/Dialect/NN/IR/NNOps.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "nnc/Support/CNames.h"
#include "nnc/Support/Files.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>

using namespace mlir;
using namespace mlir::nnc;
using namespace mlir::nnc::onnx_import;

namespace {

/// A C identifier for an ONNX name: characters outside [A-Za-z0-9_] become
/// '_', runs of '_' collapse and none leads or trails (so prefixes such as
/// `grad_` never make a reserved `__`), a leading digit gets `prefix`.
std::string cIdentifier(StringRef name, StringRef prefix) {
  std::string s;
  for (char c : name) {
    char d = llvm::isAlnum(c) ? c : '_';
    if (d == '_' && (s.empty() || s.back() == '_'))
      continue;
    s.push_back(d);
  }
  while (!s.empty() && s.back() == '_')
    s.pop_back();
  if (s.empty() || llvm::isDigit(s[0]))
    s = prefix.str() + s;
  return s;
}

/// A float as a user wrote it (2, 0.1), for messages.
std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

/// The first steps of a pattern that is one nn op (see the file comment).
struct Partial {
  enum class Kind {
    Transposed,     // Transpose(a, perm): a weight for MatMul, k for
                    // attention; anything else gets nn.transpose
    Linear,         // MatMul(x, Transpose(w)) = x·wᵀ, w (b) [out, in],
                    // awaiting a bias; a is x viewed [N, in]
    WeightMatMul,   // MatMul(x, w), w (b) 2-D [in, out], awaiting a bias
                    // (then nn.linear of wᵀ); a is x viewed [N, in]
    Scaled,         // a · factor (Mul or Div by a constant)
    Difference,     // Sub(a, b): an MSE error
    Square,         // (a - b)²
    LogSoftmax,     // LogSoftmax(z): NLL's input
    GeluErf,        // erf(a / √2)
    GeluErfPlusOne, // 1 + erf(a / √2)
    GeluUnhalved,   // a · (1 + erf(a / √2))
    Padded,         // Pad(x) with zeros around the plane: a Conv's or an
                    // AveragePool's padding, in `pads`
    // Layer normalization over the last axis of a, as opsets before 17
    // write it.
    Mean,           // ReduceMean(a, -1)
    Centered,       // a - mean(a)
    CenteredSquare, // (a - mean(a))²
    Variance,       // mean((a - mean(a))²)
    VarianceEps,    // variance + eps (factor)
    StdDev,         // sqrt(variance + eps)
    Normalized,     // (a - mean) / sqrt(variance + eps)
    NormalizedScaled, // · weight (b)
    // Attention: q (a) [..., Tq, Dk] and k (b) [..., Tk, Dk].
    Scores,         // factor · q·kᵀ + mask
    Probabilities,  // softmax(Scores)
  } kind;
  Value a, b;
  /// Padded: [top, left, bottom, right]; Transposed: the permutation;
  /// Linear, WeightMatMul: the result's shape.
  SmallVector<int64_t, 4> pads;
  /// The node that made it, for errors.
  int node;
  /// Scaled, Scores, Probabilities: the scale; VarianceEps and after: eps.
  double factor = 1.0;
  /// Scores, Probabilities: the additive mask [Tq, Tk], row-major (empty:
  /// none), and the constant it came from, for messages and names.
  std::vector<double> mask;
  std::string maskName;
};

StringRef describe(Partial::Kind kind) {
  switch (kind) {
  case Partial::Kind::Transposed:
  case Partial::Kind::Linear:
  case Partial::Kind::WeightMatMul:
  case Partial::Kind::Scaled:
  case Partial::Kind::Difference:
  case Partial::Kind::Mean:
    return "a value nnc computes"; // materialized, never reported
  case Partial::Kind::Square:
    return "part of an MSE loss, which nnc supports only as "
           "ReduceMean((p - t) * (p - t))";
  case Partial::Kind::LogSoftmax:
    return "a LogSoftmax, which nnc supports only as the input of "
           "NegativeLogLikelihoodLoss or as the output of a classifier "
           "given --loss=nll or --loss=cross-entropy";
  case Partial::Kind::Padded:
    return "a Pad, which nnc supports only with zeros around the plane of "
           "[N, C, H, W] as the input of Conv or AveragePool";
  case Partial::Kind::Centered:
  case Partial::Kind::CenteredSquare:
  case Partial::Kind::Variance:
  case Partial::Kind::VarianceEps:
  case Partial::Kind::StdDev:
  case Partial::Kind::Normalized:
  case Partial::Kind::NormalizedScaled:
    return "part of a layer norm, which nnc supports only whole: "
           "(x - mean(x)) / sqrt(mean((x - mean(x))^2) + eps) * weight + "
           "bias over the last axis";
  case Partial::Kind::Scores:
  case Partial::Kind::Probabilities:
    return "part of attention, which nnc supports only whole (the scores "
           "never materialize): MatMul(q, kᵀ), optionally scaled by a "
           "constant and masked by a constant, Softmax over the last axis, "
           "MatMul by v";
  default:
    return "part of GELU, which nnc supports only in its erf form "
           "0.5 * x * (1 + erf(x / sqrt(2)))";
  }
}

int64_t product(ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

ArrayRef<int64_t> shapeOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getShape();
}
int64_t rankOf(Value v) { return shapeOf(v).size(); }
bool isIdentity(ArrayRef<int64_t> perm) {
  for (auto [i, p] : llvm::enumerate(perm))
    if (p != int64_t(i))
      return false;
  return true;
}
std::string dimsStr(ArrayRef<int64_t> shape) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "[";
  llvm::interleaveComma(shape, os);
  os << "]";
  return s;
}

/// A strided box, nn.slice's attributes.
struct SliceBox {
  SmallVector<int64_t> offsets, sizes, strides;
};

class Importer {
public:
  Importer(MLIRContext &ctx, const onnx::ModelProto &model, StringRef file,
           const ONNXImportOptions &options)
      : ctx(ctx), graph(model.graph()), options(options),
        fileLoc(FileLineColLoc::get(&ctx, file, 0, 0)), file(file) {}

  FailureOr<ImportedModel> run();

private:
  //===--- Whole-graph setup ----------------------------------------------===//
  LogicalResult collect();
  FailureOr<RankedTensorType> inputType(const onnx::ValueInfoProto &v);
  std::string uniqueName(StringRef name, StringRef prefix);

  //===--- One function ---------------------------------------------------===//
  /// Builds the model function (`predict` false) or the predict function.
  FailureOr<func::FuncOp> build(ModuleOp module, StringRef name, bool predict);
  LogicalResult visit(int index);
  LogicalResult finishModel(FailureOr<func::FuncOp> &fn);

  //===--- Values ---------------------------------------------------------===//
  /// The nn value of `name`, materializing a Partial where one can be.
  FailureOr<Value> tensor(const std::string &name);
  const ConstantValues *constant(const std::string &name);
  Partial *partial(const std::string &name) {
    auto it = partials.find(name);
    return it == partials.end() ? nullptr : &it->second;
  }
  /// A scalar float constant's value.
  std::optional<double> scalar(const std::string &name);
  LogicalResult define(int output, Value v) {
    if (!v)
      return failure(); // the builder reported why
    tensors[node().output(output)] = v;
    return success();
  }
  LogicalResult definePartial(Partial::Kind kind, Value a, Value b = {}) {
    newPartial(kind, a, b);
    return success();
  }
  /// The current node's output `output` as a Partial, to fill in.
  Partial &newPartial(Partial::Kind kind, Value a, Value b = {},
                      int output = 0) {
    Partial &p = partials[node().output(output)];
    p = Partial{kind, a, b, {}, current, 1.0, {}, {}};
    return p;
  }
  /// The value of a partial nnc can compute on its own (a transpose, a
  /// scaled tensor, a product by a weight), or null.
  Value materialize(const Partial &p);
  /// A constant scale factor: a scalar Constant or folded value (not an
  /// initializer, which may be a trained parameter).
  std::optional<double> factor(const std::string &name);
  /// `name` as a constant for folding, if it is one: a Constant, a non-float
  /// initializer, a folded value, or with `initializersToo` a float
  /// initializer.
  const ConstantValues *foldable(const std::string &name, bool initializersToo);
  LogicalResult alias(const std::string &from, int output = 0);
  LogicalResult reshape(Value v, ArrayRef<int64_t> shape);
  /// `v` under `shape`: itself, or an nn.reshape of what it views.
  Value view(Value v, ArrayRef<int64_t> shape) {
    if (!v || cast<RankedTensorType>(v.getType()).getShape() == shape)
      return v;
    if (auto r = v.getDefiningOp<ReshapeOp>())
      v = r.getInput();
    auto type = cast<RankedTensorType>(v.getType());
    if (type.getShape() == shape)
      return v;
    // One view per value and shape (the three projections of one input).
    Value &cached = views[{v, RankedTensorType::get(shape,
                                                    type.getElementType())}];
    if (!cached)
      cached = g->reshape(v, shape);
    return cached;
  }
  /// `x` [..., K] times the 2-D `w` [K, N] (transposed: `w` is [N, K]),
  /// as a Linear or WeightMatMul partial over x flattened to 2-D.
  LogicalResult matmulByMatrix(Value x, Value w, bool transposed);
  /// The mean of `x` over its axes [first, last).
  Value meanOver(Value x, int64_t first, int64_t last, bool keepDims);
  /// x + y where y's shape, without leading ones, is a suffix of x's.
  Value broadcastAdd(Value x, Value y);
  /// The Scores partial for MatMul(q, kᵀ).
  LogicalResult scores(Value q, double scale, const std::string &kTransposed);
  /// nn.attention of a Probabilities partial and v.
  LogicalResult attention(const Partial &p, Value v);
  /// Adds the constant `c`, broadcast to [Tq, Tk], to the Scores `p`'s
  /// mask.
  LogicalResult addMask(Partial &p, const ConstantValues &c,
                        const std::string &name);
  bool isDataArgument(Value v);
  LogicalResult setLoss(Value loss, Value prediction);

  //===--- Nodes ----------------------------------------------------------===//
  const onnx::NodeProto &node() { return graph.node(current); }
  const onnx::AttributeProto *attr(StringRef name);
  int64_t intAttr(StringRef name, int64_t dflt);
  double floatAttr(StringRef name, double dflt);
  std::string stringAttr(StringRef name, StringRef dflt);
  /// An error at the current node; the diagnostic handler run() installs
  /// prefixes the node's name and op type.
  InFlightDiagnostic error() { return emitError(nodeLoc); }
  template <typename T>
  InFlightDiagnostic unsupportedAttr(StringRef name, const T &value) {
    return error() << "unsupported attribute value " << name << "=" << value;
  }
  LogicalResult requireUnused(int output, StringRef what);
  std::string input(int i) {
    return i < node().input_size() ? node().input(i) : std::string();
  }

  LogicalResult visitGemm();
  LogicalResult visitConv();
  LogicalResult visitBatchNormalization();
  LogicalResult visitPad();
  /// The input of a Conv or AveragePool: its tensor, and the padding a Pad
  /// before it adds (zeros otherwise).
  FailureOr<Value> paddedInput(SmallVectorImpl<int64_t> &pads);
  LogicalResult visitPool(bool max);
  LogicalResult visitGlobalAveragePool();
  LogicalResult globalAveragePool(Value x, bool keepDims);
  /// A list attribute of as many ints as `dflt`, which it is if absent.
  FailureOr<SmallVector<int64_t>> intsAttr(StringRef name,
                                           ArrayRef<int64_t> dflt);
  LogicalResult requireNoAutoPad();
  LogicalResult visitMatMul();
  /// Folds a node whose inputs are constants: true if it did.
  FailureOr<bool> fold();
  /// Reshape's target shape for an input of shape `in`.
  FailureOr<SmallVector<int64_t>> reshapeTarget(ArrayRef<int64_t> in,
                                                const std::string &shape);
  /// Unsqueeze's or Squeeze's result shape for an input of shape `dims`.
  FailureOr<SmallVector<int64_t>> squeezedShape(ArrayRef<int64_t> dims);
  /// Slice's box for an input of shape `shape`.
  FailureOr<SliceBox> sliceBox(ArrayRef<int64_t> shape);
  LogicalResult visitGather();
  LogicalResult visitSlice();
  LogicalResult visitSplit();
  LogicalResult visitWhere();
  LogicalResult visitSqrt();
  LogicalResult visitLayerNormalization();
  LogicalResult visitTranspose();
  LogicalResult visitAdd();
  LogicalResult visitSub();
  LogicalResult visitMul();
  LogicalResult visitPow();
  LogicalResult visitDiv();
  LogicalResult visitErf();
  LogicalResult visitReduceMean();
  LogicalResult visitActivation();
  LogicalResult visitSoftmax(bool log);
  LogicalResult visitCrossEntropy(bool fromLogSoftmax);
  LogicalResult visitFlatten();
  LogicalResult visitReshape();
  LogicalResult visitDropout();
  LogicalResult visitConstant();

  MLIRContext &ctx;
  const onnx::GraphProto &graph;
  const ONNXImportOptions &options;
  Location fileLoc;
  StringRef file;

  // Whole-graph facts.
  llvm::StringMap<const onnx::TensorProto *> initializers;
  llvm::StringMap<ConstantValues> constants;
  llvm::StringMap<int> uses;
  /// C identifiers of graph inputs and float initializers.
  llvm::StringMap<std::string> cNames;
  llvm::StringSet<> takenNames{"loss", "workspace", "output"};
  std::vector<const onnx::ValueInfoProto *> dataInputs;
  std::vector<RankedTensorType> dataTypes;
  std::vector<const onnx::TensorProto *> params;
  /// Identity outputs of float initializers: parameters of their own.
  std::vector<std::pair<std::string, const onnx::TensorProto *>> untied;
  llvm::StringSet<> untiedNames;
  /// Initializers a BatchNormalization reads as its running statistics.
  llvm::StringSet<> runningStats;
  /// The loss's label or target input when the importer appends the loss.
  std::string appendedName;
  /// Node index -> op type, for the diagnostic prefix.
  llvm::DenseMap<StringAttr, std::string> nodeOps;

  // Per-function state.
  std::optional<GraphBuilder> g;
  bool predict = false;
  int current = -1;
  Location nodeLoc = fileLoc;
  int64_t dropoutSeed = 0;
  llvm::StringMap<Value> tensors;
  llvm::StringMap<Partial> partials;
  llvm::DenseMap<std::pair<Value, Type>, Value> views;
  Value loss, prediction;
  llvm::DenseSet<Value> lossTargets;
};

} // namespace

//===----------------------------------------------------------------------===//
// Setup
//===----------------------------------------------------------------------===//

std::string Importer::uniqueName(StringRef name, StringRef prefix) {
  std::string base = cIdentifier(name, prefix);
  // Names nnc derives from these (new_W, grad_W, grad_norm_W, W_m, W_v,
  // W_velocity, the step's lr and step) and C or C++ keywords are taken:
  // such a name gets the prefix in front, or after an optimizer-state
  // suffix, so every name in the generated header is distinct and compiles.
  StringRef b = base;
  if (::nnc::isReservedCName(b) || b == "lr" || b == "step" ||
      b.starts_with("new_") || b.starts_with("grad_"))
    base = prefix.str() + "_" + base;
  b = base;
  if (b.ends_with("_m") || b.ends_with("_v") || b.ends_with("_velocity"))
    base += "_" + prefix.str();
  std::string s = base;
  for (int k = 2; !takenNames.insert(s).second; ++k)
    s = base + "_" + std::to_string(k);
  return s;
}

FailureOr<RankedTensorType> Importer::inputType(const onnx::ValueInfoProto &v) {
  if (!v.type().has_tensor_type())
    return emitError(fileLoc)
           << "graph input '" << v.name() << "' is not a tensor";
  const onnx::TypeProto::Tensor &t = v.type().tensor_type();
  Type elt;
  switch (t.elem_type()) {
  case onnx::TensorProto::FLOAT:
    elt = Float32Type::get(&ctx);
    break;
  case onnx::TensorProto::INT64:
    elt = IntegerType::get(&ctx, 64);
    break;
  case onnx::TensorProto::INT32:
    elt = IntegerType::get(&ctx, 32);
    break;
  default:
    return emitError(fileLoc)
           << "graph input '" << v.name() << "' has element type "
           << onnx::TensorProto_DataType_Name(
                  static_cast<onnx::TensorProto_DataType>(t.elem_type()))
           << "; nnc takes float, int32 and int64 inputs";
  }
  if (!t.has_shape())
    return emitError(fileLoc)
           << "graph input '" << v.name() << "' has no shape";
  SmallVector<int64_t> shape;
  for (const onnx::TensorShapeProto::Dimension &d : t.shape().dim()) {
    if (d.has_dim_value() && d.dim_value() > 0) {
      shape.push_back(d.dim_value());
      continue;
    }
    if (d.has_dim_value())
      return emitError(fileLoc) << "graph input '" << v.name()
                                << "' has dimension " << d.dim_value();
    if (!options.batch)
      return emitError(fileLoc)
             << "graph input '" << v.name() << "' has the symbolic dimension '"
             << d.dim_param()
             << "': nnc compiles static shapes, give its size with --batch";
    shape.push_back(*options.batch);
  }
  return RankedTensorType::get(shape, elt);
}

LogicalResult Importer::collect() {
  for (const onnx::TensorProto &t : graph.initializer()) {
    initializers[t.name()] = &t;
    if (t.data_type() == onnx::TensorProto::FLOAT)
      params.push_back(&t);
    else
      constants[t.name()] = decodeTensor(t);
  }
  for (const onnx::ValueInfoProto &v : graph.input()) {
    if (const onnx::TensorProto *t = initializers.lookup(v.name())) {
      // An initializer also listed as an input (older exporters): the
      // declared shape, where it gives one, must be the initializer's.
      const auto &tt = v.type().tensor_type();
      if (v.type().has_tensor_type() && tt.has_shape()) {
        bool same = tt.shape().dim_size() == t->dims_size();
        for (int d = 0; same && d < t->dims_size(); ++d) {
          const auto &dim = tt.shape().dim(d);
          same = !dim.has_dim_value() || dim.dim_value() == t->dims(d);
        }
        if (!same)
          return emitError(fileLoc)
                 << "graph input '" << v.name()
                 << "' declares a shape that contradicts its initializer's";
      }
      continue;
    }
    FailureOr<RankedTensorType> type = inputType(v);
    if (failed(type))
      return failure();
    dataInputs.push_back(&v);
    dataTypes.push_back(*type);
    cNames[v.name()] = uniqueName(v.name(), "x");
  }
  for (const onnx::TensorProto *t : params)
    cNames[t->name()] = uniqueName(t->name(), "p");
  // PyTorch's exporter (eval mode) merges parameters of equal values, a
  // fresh model's LayerNorm weights say, into one initializer that the
  // others' names read through Identity. PyTorch trains each on its own:
  // so does nnc, each such name a parameter of its own (the same initial
  // values, the name PyTorch gives it).
  for (const onnx::NodeProto &n : graph.node()) {
    if (n.op_type() != "Identity" || n.input_size() != 1 ||
        n.output_size() != 1 || n.output(0).empty())
      continue;
    const onnx::TensorProto *t = initializers.lookup(n.input(0));
    if (!t || t->data_type() != onnx::TensorProto::FLOAT ||
        initializers.count(n.output(0)))
      continue;
    initializers[n.output(0)] = t;
    untied.emplace_back(n.output(0), t);
    untiedNames.insert(n.output(0));
    cNames[n.output(0)] = uniqueName(n.output(0), "p");
  }
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto &n = graph.node(i);
    for (const std::string &in : n.input())
      ++uses[in];
    if (n.op_type() == "BatchNormalization")
      for (int k : {3, 4})
        if (k < n.input_size() && initializers.count(n.input(k)))
          runningStats.insert(n.input(k));
    std::string label = n.name().empty() ? "#" + std::to_string(i) : n.name();
    nodeOps[StringAttr::get(&ctx, label)] = n.op_type();
  }
  for (const onnx::ValueInfoProto &v : graph.output())
    ++uses[v.name()];
  if (graph.output_size() != 1)
    return emitError(fileLoc)
           << "the graph has " << graph.output_size()
           << " outputs; nnc expects one: the loss, or the prediction of an "
              "inference graph given --loss";
  return success();
}

//===----------------------------------------------------------------------===//
// Values
//===----------------------------------------------------------------------===//

FailureOr<Value> Importer::tensor(const std::string &name) {
  if (auto it = tensors.find(name); it != tensors.end())
    return it->second;
  if (Partial *p = partial(name)) {
    switch (p->kind) {
    case Partial::Kind::Transposed:
    case Partial::Kind::Linear:
    case Partial::Kind::WeightMatMul:
    case Partial::Kind::Scaled:
    case Partial::Kind::Difference:
    case Partial::Kind::Mean: {
      Value v = materialize(*p);
      if (!v)
        return failure();
      return tensors[name] = v;
    }
    default:
      break;
    }
    const onnx::NodeProto &n = graph.node(p->node);
    return error() << "reads '" << name << "', the output of " << n.op_type()
                   << " node " << nodeLabel(n, p->node) << ": that is "
                   << describe(p->kind);
  }
  if (constants.count(name))
    return error() << "reads the constant '" << name
                   << "' as a tensor operand, which nnc does not support "
                      "(nnc's models hold no constant tensors; a value "
                      "computed from initializers alone is such a "
                      "constant)";
  return error() << "reads '" << name << "', which nnc has no value for";
}

Value Importer::materialize(const Partial &p) {
  switch (p.kind) {
  case Partial::Kind::Transposed:
    return g->transpose(p.a, p.pads);
  case Partial::Kind::Scaled:
    return g->scale(p.a, p.factor);
  case Partial::Kind::Mean:
    return meanOver(p.a, rankOf(p.a) - 1, rankOf(p.a), /*keepDims=*/true);
  case Partial::Kind::Difference: {
    // a - b (visitSub checked the types).
    Value negated = g->scale(p.b, -1.0);
    return negated ? g->add(p.a, negated) : negated;
  }
  case Partial::Kind::Linear:
  case Partial::Kind::WeightMatMul: {
    // x·wᵀ with no bias after all.
    Value v = p.kind == Partial::Kind::Linear ? g->linear(p.a, p.b)
                                              : g->matmul(p.a, p.b);
    if (!v)
      return v;
    ArrayRef<int64_t> shape = cast<RankedTensorType>(v.getType()).getShape();
    return shape == ArrayRef<int64_t>(p.pads) ? v : view(v, p.pads);
  }
  default:
    return {};
  }
}

std::optional<double> Importer::factor(const std::string &name) {
  if (auto it = initializers.find(name);
      it != initializers.end() &&
      it->second->data_type() == onnx::TensorProto::FLOAT)
    return std::nullopt;
  return scalar(name);
}

/// Whether a constant holds the values of its shape (types nnc does not
/// decode hold none).
static bool decoded(const ConstantValues &c) {
  size_t n = c.numElements();
  return c.isFloat() ? c.floats.size() == n : c.ints.size() == n;
}

const ConstantValues *Importer::foldable(const std::string &name,
                                         bool initializersToo) {
  if (name.empty() || partial(name))
    return nullptr;
  if (tensors.count(name) &&
      !(initializersToo && initializers.count(name)))
    return nullptr;
  const ConstantValues *c = constant(name);
  return c && decoded(*c) ? c : nullptr;
}

const ConstantValues *Importer::constant(const std::string &name) {
  if (auto it = constants.find(name); it != constants.end())
    return &it->second;
  // A float initializer read as a constant (a dropout ratio, say): decode it
  // on demand; unless an nn op also reads it, it does not become a parameter.
  if (auto it = initializers.find(name); it != initializers.end())
    return &(constants[name] = decodeTensor(*it->second));
  return nullptr;
}

std::optional<double> Importer::scalar(const std::string &name) {
  const ConstantValues *c = constant(name);
  if (!c || !c->isFloat() || c->floats.size() != 1)
    return std::nullopt;
  return c->floats[0];
}

LogicalResult Importer::alias(const std::string &from, int output) {
  const std::string &to = node().output(output);
  // An initializer's alias (the exporter's Identity of a deduplicated one)
  // is that initializer, a parameter or a constant alike.
  if (const onnx::TensorProto *t = initializers.lookup(from))
    initializers[to] = t;
  if (auto it = tensors.find(from); it != tensors.end())
    tensors[to] = it->second;
  else if (Partial *p = partial(from))
    partials[to] = *p;
  else if (const ConstantValues *c = constant(from))
    constants[to] = *c;
  else
    return error() << "reads '" << from << "', which nnc has no value for";
  return success();
}

bool Importer::isDataArgument(Value v) {
  auto arg = dyn_cast<BlockArgument>(v);
  return arg && !g->isParam(arg);
}

LogicalResult Importer::reshape(Value v, ArrayRef<int64_t> shape) {
  auto type = cast<RankedTensorType>(v.getType());
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  if (n != type.getNumElements())
    return error() << "cannot reshape " << type << " to ["
                   << llvm::make_range(shape.begin(), shape.end())
                   << "]: the element counts differ";
  if (type.getShape() == shape)
    return define(0, v);
  // Row-major reshaping a graph input read by nothing else moves no data:
  // the argument takes the new shape. Anything else is an nn.reshape (a
  // view).
  if (!isDataArgument(v) || !v.use_empty() || uses[input(0)] != 1)
    return define(0, view(v, shape));
  if (failed(g->reshapeInput(v, shape)))
    return failure();
  return define(0, v);
}

LogicalResult Importer::setLoss(Value lossValue, Value predictionValue) {
  if (loss || prediction)
    return error() << "a second loss: nnc trains one";
  prediction = predictionValue;
  if (predict)
    return success();
  if (!lossValue)
    return failure();
  loss = lossValue;
  return define(0, lossValue);
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

const onnx::AttributeProto *Importer::attr(StringRef name) {
  for (const onnx::AttributeProto &a : node().attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}

// libonnx's checker has verified each attribute's type against the schema.
int64_t Importer::intAttr(StringRef name, int64_t dflt) {
  const onnx::AttributeProto *a = attr(name);
  return a && a->type() == onnx::AttributeProto::INT ? a->i() : dflt;
}
double Importer::floatAttr(StringRef name, double dflt) {
  const onnx::AttributeProto *a = attr(name);
  return a && a->type() == onnx::AttributeProto::FLOAT ? a->f() : dflt;
}
std::string Importer::stringAttr(StringRef name, StringRef dflt) {
  const onnx::AttributeProto *a = attr(name);
  return a && a->type() == onnx::AttributeProto::STRING ? a->s() : dflt.str();
}

LogicalResult Importer::requireUnused(int output, StringRef what) {
  if (output < node().output_size() && !node().output(output).empty() &&
      uses[node().output(output)] > 0)
    return error() << "its " << what << " output '" << node().output(output)
                   << "' is used; nnc does not compute it";
  return success();
}

//===----------------------------------------------------------------------===//
// Constant folding
//===----------------------------------------------------------------------===//

namespace {
/// Numpy's broadcast of two shapes, if they broadcast.
std::optional<SmallVector<int64_t>> broadcastShapes(ArrayRef<int64_t> a,
                                                    ArrayRef<int64_t> b) {
  size_t r = std::max(a.size(), b.size());
  SmallVector<int64_t> out(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da != db && da != 1 && db != 1)
      return std::nullopt;
    out[i] = da == 1 ? db : da;
  }
  return out;
}

/// The flat index, in a tensor of shape `in` broadcast to `out`, of the
/// element at flat index `k` of `out`.
int64_t broadcastIndex(int64_t k, ArrayRef<int64_t> out, ArrayRef<int64_t> in) {
  int64_t index = 0, stride = 1;
  for (int64_t i = out.size() - 1, j = in.size() - 1; i >= 0; --i, --j) {
    int64_t coord = k % out[i];
    k /= out[i];
    if (j >= 0) {
      if (in[j] != 1)
        index += coord * stride;
      stride *= in[j];
    }
  }
  return index;
}

/// Constants nnc folds are shape arithmetic and masks: small.
constexpr int64_t kMaxFolded = int64_t(1) << 22;

/// Element k of a decoded constant, as a double or an integer.
double floatAt(const ConstantValues &c, int64_t k) {
  return c.isFloat() ? c.floats[k] : double(c.ints[k]);
}
/// A double as an integer, saturating (NaN is 0): folding never converts
/// out of range.
int64_t toInt(double v) {
  if (std::isnan(v))
    return 0;
  if (v >= 9.2e18)
    return std::numeric_limits<int64_t>::max();
  if (v <= -9.2e18)
    return std::numeric_limits<int64_t>::min();
  return int64_t(v);
}
int64_t intAt(const ConstantValues &c, int64_t k) {
  return c.isFloat() ? toInt(c.floats[k]) : c.ints[k];
}

/// A copy of `c`'s values picked by `index` (a flat index into c per result
/// element) under `dims`.
ConstantValues gather(const ConstantValues &c, ArrayRef<int64_t> dims,
                      llvm::function_ref<int64_t(int64_t)> index) {
  ConstantValues out;
  out.dataType = c.dataType;
  out.dims.assign(dims.begin(), dims.end());
  int64_t n = product(dims);
  for (int64_t k = 0; k < n; ++k) {
    if (c.isFloat())
      out.floats.push_back(c.floats[index(k)]);
    else
      out.ints.push_back(c.ints[index(k)]);
  }
  return out;
}
} // namespace

FailureOr<SmallVector<int64_t>>
Importer::reshapeTarget(ArrayRef<int64_t> in, const std::string &shapeName) {
  const ConstantValues *c = constant(shapeName);
  if (!c || c->isFloat() || c->dims.size() != 1 || !decoded(*c))
    return error() << "takes its shape from '" << shapeName
                   << "', which is not a constant 1-D integer tensor";
  bool allowZero = intAttr("allowzero", 0) != 0;
  SmallVector<int64_t> shape;
  int64_t known = 1, inferred = -1, total = product(in);
  for (auto [i, value] : llvm::enumerate(c->ints)) {
    int64_t d = value;
    if (d == 0 && !allowZero) {
      if (i >= in.size())
        return error() << "copies dimension " << i << " of a rank-"
                       << in.size() << " input";
      d = in[i];
    }
    if (d == -1) {
      if (inferred >= 0)
        return error() << "has two -1 dimensions in its shape";
      inferred = i;
    } else if (d <= 0) {
      return error() << "has dimension " << d
                     << " in its shape; nnc's tensors have no empty "
                        "dimensions";
    } else if (known > total / d) {
      return error() << "has a shape larger than its input";
    } else {
      known *= d;
    }
    shape.push_back(d);
  }
  if (inferred >= 0) {
    if (total % known)
      return error() << "cannot infer its -1 dimension: " << total
                     << " elements do not divide by " << known;
    shape[inferred] = total / known;
  } else if (known != total) {
    return error() << "cannot reshape [" << llvm::make_range(in.begin(), in.end())
                   << "] to [" << llvm::make_range(shape.begin(), shape.end())
                   << "]: the element counts differ";
  }
  return shape;
}

FailureOr<SliceBox> Importer::sliceBox(ArrayRef<int64_t> shape) {
  // Slice(data, starts, ends, axes, steps), all constant 1-D integers;
  // ONNX clamps starts and ends into the dimension.
  auto ints = [&](int i) -> FailureOr<std::vector<int64_t>> {
    const ConstantValues *c = constant(input(i));
    if (!c || c->isFloat() || c->dims.size() != 1 || !decoded(*c))
      return error() << "takes its " << (i == 1   ? "starts"
                                         : i == 2 ? "ends"
                                         : i == 3 ? "axes"
                                                  : "steps")
                     << " from '" << input(i)
                     << "', which is not a constant 1-D integer tensor";
    return c->ints;
  };
  auto starts = ints(1), ends = ints(2);
  if (failed(starts) || failed(ends))
    return failure();
  size_t n = starts->size();
  std::vector<int64_t> axes(n), steps(n, 1);
  std::iota(axes.begin(), axes.end(), 0);
  if (!input(3).empty()) {
    auto a = ints(3);
    if (failed(a))
      return failure();
    axes = *a;
  }
  if (!input(4).empty()) {
    auto st = ints(4);
    if (failed(st))
      return failure();
    steps = *st;
  }
  if (ends->size() != n || axes.size() != n || steps.size() != n)
    return error() << "has starts, ends, axes and steps of different lengths";
  int64_t rank = shape.size();
  SliceBox box;
  box.offsets.assign(rank, 0);
  box.sizes.assign(shape.begin(), shape.end());
  box.strides.assign(rank, 1);
  llvm::SmallDenseSet<int64_t> seen;
  for (size_t i = 0; i < n; ++i) {
    int64_t axis = axes[i] < 0 ? axes[i] + rank : axes[i];
    if (axis < 0 || axis >= rank || !seen.insert(axis).second)
      return error() << "slices axis " << axes[i] << " of a rank-" << rank
                     << " input (or an axis twice)";
    int64_t step = steps[i], dim = shape[axis];
    if (step <= 0)
      return unsupportedAttr("steps", step)
             << " (nnc slices forwards: steps >= 1)";
    int64_t start = (*starts)[i], end = (*ends)[i];
    if (start < 0)
      start = std::max<int64_t>(start + dim, 0);
    if (end < 0)
      end = std::max<int64_t>(end + dim, 0);
    start = std::min(start, dim);
    end = std::min(end, dim);
    if (end <= start)
      return error() << "slices no element of axis " << axis
                     << "; nnc's tensors have no empty dimensions";
    box.offsets[axis] = start;
    box.sizes[axis] = (end - start + step - 1) / step;
    box.strides[axis] = step;
  }
  return box;
}

FailureOr<SmallVector<int64_t>>
Importer::squeezedShape(ArrayRef<int64_t> dims) {
  // Opset 13: the axes are an input (Squeeze: optional, every 1).
  bool unsqueeze = node().op_type() == "Unsqueeze";
  SmallVector<int64_t> axes;
  if (!input(1).empty()) {
    const ConstantValues *c = constant(input(1));
    if (!c || c->isFloat() || !decoded(*c))
      return error() << "takes its axes from '" << input(1)
                     << "', which is not a constant integer tensor";
    axes.assign(c->ints.begin(), c->ints.end());
  } else if (unsqueeze) {
    return error() << "has no axes";
  }
  int64_t rank = dims.size();
  SmallVector<int64_t> out;
  if (unsqueeze) {
    int64_t outRank = rank + axes.size();
    SmallVector<bool> isNew(outRank, false);
    for (int64_t a : axes) {
      int64_t axis = a < 0 ? a + outRank : a;
      if (axis < 0 || axis >= outRank || isNew[axis])
        return unsupportedAttr("axes", a) << " for a rank-" << rank
                                          << " input";
      isNew[axis] = true;
    }
    for (int64_t i = 0, j = 0; i < outRank; ++i)
      out.push_back(isNew[i] ? 1 : dims[j++]);
    return out;
  }
  SmallVector<bool> drop(rank, false);
  for (int64_t i = 0; axes.empty() && i < rank; ++i)
    drop[i] = dims[i] == 1;
  for (int64_t a : axes) {
    int64_t axis = a < 0 ? a + rank : a;
    if (axis < 0 || axis >= rank || dims[axis] != 1)
      return unsupportedAttr("axes", a)
             << " (not a dimension of size 1 of a rank-" << rank
             << " input)";
    drop[axis] = true;
  }
  for (int64_t i = 0; i < rank; ++i)
    if (!drop[i])
      out.push_back(dims[i]);
  return out;
}

FailureOr<bool> Importer::fold() {
  const onnx::NodeProto &n = node();
  StringRef op = n.op_type();
  // Arithmetic also folds float initializers (a mask buffer unsqueezed or
  // scaled): what it makes is a constant, which no nn op may read as a
  // tensor (a weight so computed is an error, never silently untrained).
  static const llvm::StringSet<> arithmetic{
      "Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Neg", "Cast", "Unsqueeze",
      "Squeeze"};
  static const llvm::StringSet<> shapeOps{"Shape", "Gather", "Concat",
                                          "Reshape", "Slice", "Range"};
  if (!arithmetic.contains(op) && !shapeOps.contains(op))
    return false;
  ConstantValues out;
  if (op == "Shape") {
    SmallVector<int64_t> shape;
    if (const ConstantValues *c = foldable(input(0), true)) {
      shape.assign(c->dims.begin(), c->dims.end());
    } else {
      FailureOr<Value> x = tensor(input(0));
      if (failed(x))
        return failure();
      auto type = cast<RankedTensorType>(x->getType());
      shape.assign(type.getShape().begin(), type.getShape().end());
    }
    int64_t rank = shape.size();
    int64_t start = intAttr("start", 0), end = intAttr("end", rank);
    start = std::clamp<int64_t>(start < 0 ? start + rank : start, 0, rank);
    end = std::clamp<int64_t>(end < 0 ? end + rank : end, 0, rank);
    out.dataType = onnx::TensorProto::INT64;
    out.ints.assign(shape.begin() + start,
                    shape.begin() + std::max(start, end));
    out.dims.push_back(out.ints.size());
    constants[n.output(0)] = std::move(out);
    return true;
  }
  bool initializersToo = arithmetic.contains(op);
  SmallVector<const ConstantValues *> in;
  for (int i = 0; i < n.input_size(); ++i) {
    if (n.input(i).empty()) {
      in.push_back(nullptr);
      continue;
    }
    const ConstantValues *c = foldable(n.input(i), initializersToo);
    if (!c)
      return false;
    in.push_back(c);
  }
  if (in.empty() || !in[0])
    return false;
  const ConstantValues &x = *in[0];
  int64_t rank = x.dims.size();

  if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div" ||
      op == "Pow") {
    const ConstantValues &y = *in[1];
    std::optional<SmallVector<int64_t>> shape =
        broadcastShapes(x.dims, y.dims);
    if (!shape)
      return error() << "broadcasts the constants of shapes ["
                     << llvm::make_range(x.dims.begin(), x.dims.end())
                     << "] and ["
                     << llvm::make_range(y.dims.begin(), y.dims.end()) << "]";
    int64_t count = product(*shape);
    if (count > kMaxFolded)
      return error() << "folds a constant of " << count
                     << " elements; nnc folds small constants only";
    out.dataType = x.dataType;
    out.dims.assign(shape->begin(), shape->end());
    bool isFloat = x.isFloat();
    for (int64_t k = 0; k < count; ++k) {
      int64_t i = broadcastIndex(k, *shape, x.dims);
      int64_t j = broadcastIndex(k, *shape, y.dims);
      if (isFloat || op == "Pow") {
        double a = floatAt(x, i), b = floatAt(y, j);
        double r = op == "Add"   ? a + b
                   : op == "Sub" ? a - b
                   : op == "Mul" ? a * b
                   : op == "Div" ? a / b
                                 : std::pow(a, b);
        if (isFloat)
          out.floats.push_back(r);
        else
          out.ints.push_back(toInt(r));
        continue;
      }
      int64_t a = intAt(x, i), b = intAt(y, j), r = 0;
      if (op == "Div" && b == 0)
        return error() << "divides the integer constant by zero";
      // Integer Div truncates, as ONNX runtimes do.
      bool overflow = op == "Add"   ? llvm::AddOverflow(a, b, r)
                      : op == "Sub" ? llvm::SubOverflow(a, b, r)
                      : op == "Mul" ? llvm::MulOverflow(a, b, r)
                      : (a == std::numeric_limits<int64_t>::min() && b == -1)
                          ? true
                          : (r = a / b, false);
      if (overflow)
        return error() << "overflows int64 folding its constants";
      out.ints.push_back(r);
    }
  } else if (op == "Sqrt" || op == "Neg") {
    out = x;
    for (double &v : out.floats)
      v = op == "Sqrt" ? std::sqrt(v) : -v;
    for (int64_t &v : out.ints) {
      if (op == "Sqrt")
        return error() << "takes the square root of an integer constant";
      v = -v;
    }
  } else if (op == "Cast") {
    int64_t to = intAttr("to", 0);
    out.dims = x.dims;
    out.dataType = to;
    int64_t count = x.numElements();
    switch (to) {
    case onnx::TensorProto::FLOAT:
    case onnx::TensorProto::DOUBLE:
      for (int64_t k = 0; k < count; ++k)
        out.floats.push_back(to == onnx::TensorProto::FLOAT
                                 ? double(float(floatAt(x, k)))
                                 : floatAt(x, k));
      break;
    case onnx::TensorProto::INT64:
    case onnx::TensorProto::INT32:
    case onnx::TensorProto::BOOL:
      for (int64_t k = 0; k < count; ++k) {
        int64_t v = intAt(x, k);
        out.ints.push_back(to == onnx::TensorProto::BOOL ? v != 0
                           : to == onnx::TensorProto::INT32 ? int32_t(v)
                                                            : v);
      }
      break;
    default:
      return unsupportedAttr("to", to)
             << " (nnc folds casts to float, double, int32, int64 and bool)";
    }
  } else if (op == "Unsqueeze" || op == "Squeeze") {
    FailureOr<SmallVector<int64_t>> dims = squeezedShape(x.dims);
    if (failed(dims))
      return failure();
    out = x;
    out.dims.assign(dims->begin(), dims->end());
  } else if (op == "Gather") {
    const ConstantValues &idx = *in[1];
    if (idx.isFloat())
      return error() << "gathers by float indices";
    int64_t axis = intAttr("axis", 0);
    if (axis < 0)
      axis += rank;
    if (axis < 0 || axis >= rank)
      return unsupportedAttr("axis", intAttr("axis", 0))
             << " for a rank-" << rank << " input";
    SmallVector<int64_t> dims(x.dims.begin(), x.dims.begin() + axis);
    dims.append(idx.dims.begin(), idx.dims.end());
    dims.append(x.dims.begin() + axis + 1, x.dims.end());
    int64_t inner = product(ArrayRef<int64_t>(x.dims).drop_front(axis + 1));
    int64_t d = x.dims[axis], count = idx.numElements();
    for (int64_t v : idx.ints)
      if (v < -d || v >= d)
        return error() << "gathers index " << v << " of a dimension of "
                       << d;
    out = gather(x, dims, [&](int64_t k) {
      int64_t i = k % inner, rest = k / inner;
      int64_t j = idx.ints[rest % count], outer = rest / count;
      return (outer * d + (j < 0 ? j + d : j)) * inner + i;
    });
  } else if (op == "Concat") {
    int64_t axis = intAttr("axis", 0);
    if (axis < 0)
      axis += rank;
    if (axis < 0 || axis >= rank)
      return unsupportedAttr("axis", intAttr("axis", 0))
             << " for a rank-" << rank << " input";
    out.dataType = x.dataType;
    out.dims = x.dims;
    out.dims[axis] = 0;
    for (const ConstantValues *c : in) {
      if (!c || c->dims.size() != x.dims.size() ||
          c->isFloat() != x.isFloat())
        return error() << "concatenates constants of different ranks or "
                          "types";
      out.dims[axis] += c->dims[axis];
    }
    int64_t outer = product(ArrayRef<int64_t>(x.dims).take_front(axis));
    for (int64_t o = 0; o < outer; ++o)
      for (const ConstantValues *c : in) {
        int64_t chunk =
            product(ArrayRef<int64_t>(c->dims).drop_front(axis));
        for (int64_t k = o * chunk; k < (o + 1) * chunk; ++k) {
          if (c->isFloat())
            out.floats.push_back(c->floats[k]);
          else
            out.ints.push_back(c->ints[k]);
        }
      }
  } else if (op == "Reshape") {
    FailureOr<SmallVector<int64_t>> shape = reshapeTarget(x.dims, input(1));
    if (failed(shape))
      return failure();
    out = x;
    out.dims.assign(shape->begin(), shape->end());
  } else if (op == "Slice") {
    FailureOr<SliceBox> box = sliceBox(x.dims);
    if (failed(box))
      return failure();
    SmallVector<int64_t> strides(rank, 1);
    for (int64_t i = rank - 2; i >= 0; --i)
      strides[i] = strides[i + 1] * x.dims[i + 1];
    out = gather(x, box->sizes, [&](int64_t k) {
      int64_t index = 0;
      for (int64_t i = rank - 1; i >= 0; --i) {
        int64_t coord = k % box->sizes[i];
        k /= box->sizes[i];
        index += (box->offsets[i] + coord * box->strides[i]) * strides[i];
      }
      return index;
    });
  } else if (op == "Range") {
    if (!in[1] || !in[2] || x.numElements() != 1 ||
        in[1]->numElements() != 1 || in[2]->numElements() != 1)
      return error() << "takes a start, limit and delta that are not "
                        "constant scalars";
    out.dataType = x.dataType;
    double start = floatAt(x, 0), limit = floatAt(*in[1], 0),
           delta = floatAt(*in[2], 0);
    if (delta == 0)
      return error() << "has delta 0";
    double count = std::max(std::ceil((limit - start) / delta), 0.0);
    if (!(count <= kMaxFolded))
      return error() << "folds a constant of " << count
                     << " elements; nnc folds small constants only";
    for (int64_t k = 0; k < int64_t(count); ++k) {
      if (x.isFloat())
        out.floats.push_back(start + k * delta);
      else
        out.ints.push_back(toInt(start + k * delta));
    }
    out.dims.push_back(int64_t(count));
  }
  constants[n.output(0)] = std::move(out);
  return true;
}

//===----------------------------------------------------------------------===//
// Nodes
//===----------------------------------------------------------------------===//

LogicalResult Importer::visitGemm() {
  // Y = alpha · op(A) · op(B) + beta · C. PyTorch writes nn.Linear as
  // Gemm(x, W, b, transB=1) with W [out, in]: nn.linear exactly.
  double alpha = floatAttr("alpha", 1.0), beta = floatAttr("beta", 1.0);
  int64_t transA = intAttr("transA", 0), transB = intAttr("transB", 0);
  bool hasC = !input(2).empty();
  if (alpha != 1.0)
    return unsupportedAttr("alpha", number(alpha)) << " (nnc maps alpha=1)";
  if (hasC && beta != 1.0)
    return unsupportedAttr("beta", number(beta)) << " (nnc maps beta=1)";
  FailureOr<Value> a = tensor(input(0)), b = tensor(input(1));
  if (failed(a) || failed(b))
    return failure();
  if (!hasC)
    return define(0, g->matmul(*a, *b, transA, transB));
  if (transA)
    return unsupportedAttr("transA", "1")
           << " with a bias C (nnc maps a biased Gemm as x·Wᵀ + b)";
  if (!transB)
    return unsupportedAttr("transB", "0")
           << " with a bias C (nnc maps a biased Gemm as x·Wᵀ + b, W [out, "
              "in], transB=1)";
  FailureOr<Value> c = tensor(input(2));
  if (failed(c))
    return failure();
  return define(0, g->linear(*a, *b, *c));
}


LogicalResult Importer::matmulByMatrix(Value x, Value w, bool transposed) {
  ArrayRef<int64_t> xs = shapeOf(x), ws = shapeOf(w);
  int64_t k = xs.back(), n = transposed ? ws[0] : ws[1];
  if (k != (transposed ? ws[1] : ws[0]))
    return error() << "multiplies " << x.getType() << " by " << w.getType()
                   << (transposed ? " transposed" : "")
                   << ": the inner dimensions differ";
  // nn.linear and nn.matmul are 2-D: [..., K] is a view [M, K].
  Value x2 = x;
  if (xs.size() != 2) {
    x2 = view(x, {product(xs) / k, k});
    if (!x2)
      return failure();
  }
  Partial &p = newPartial(transposed ? Partial::Kind::Linear
                                     : Partial::Kind::WeightMatMul,
                          x2, w);
  p.pads.assign(xs.begin(), xs.end() - 1);
  p.pads.push_back(n);
  return success();
}

LogicalResult Importer::visitMatMul() {
  Partial *pa = partial(input(0)), *pb = partial(input(1));
  // softmax(scale · q·kᵀ + mask) · v: attention.
  if (pa && pa->kind == Partial::Kind::Probabilities) {
    FailureOr<Value> v = tensor(input(1));
    if (failed(v))
      return failure();
    return attention(*pa, *v);
  }
  // A Linear exported without constant folding: MatMul(x, Transpose(W)),
  // nn.linear on the weight as PyTorch stores it, [out, in].
  if (pb && pb->kind == Partial::Kind::Transposed && rankOf(pb->a) == 2) {
    FailureOr<Value> a = tensor(input(0));
    if (failed(a))
      return failure();
    return matmulByMatrix(*a, pb->a, /*transposed=*/true);
  }
  if (pa && pa->kind == Partial::Kind::Transposed && rankOf(pa->a) == 2) {
    FailureOr<Value> b = tensor(input(1));
    if (failed(b))
      return failure();
    if (rankOf(*b) == 2)
      return define(0, g->matmul(pa->a, *b, /*transposeA=*/true));
  }
  // q·kᵀ, q possibly scaled, kᵀ possibly a Transpose: attention's scores.
  Value q;
  double qScale = 1.0;
  if (pa && pa->kind == Partial::Kind::Scaled) {
    q = pa->a;
    qScale = pa->factor;
  } else {
    FailureOr<Value> a = tensor(input(0));
    if (failed(a))
      return failure();
    q = *a;
  }
  int64_t bRank;
  if (pb && pb->kind == Partial::Kind::Transposed) {
    bRank = pb->pads.size();
  } else {
    FailureOr<Value> b = tensor(input(1));
    if (failed(b))
      return failure();
    bRank = rankOf(*b);
  }
  if (rankOf(q) >= 3 && bRank >= 3)
    return scores(q, qScale, input(1));
  FailureOr<Value> a = tensor(input(0)), b = tensor(input(1));
  if (failed(a) || failed(b))
    return failure();
  if (rankOf(*a) >= 1 && bRank == 2)
    return matmulByMatrix(*a, *b, /*transposed=*/false);
  return error() << "multiplies " << a->getType() << " by " << b->getType()
                 << ": nnc maps MatMul of [..., K] by a matrix [K, N], and "
                    "a batched MatMul only as attention";
}

LogicalResult Importer::scores(Value q, double scale,
                               const std::string &kTransposed) {
  // kᵀ is [..., Dk, Tk]; attention reads k [..., Tk, Dk]. When kᵀ is a
  // Transpose (PyTorch's k.transpose(-2, -1), or the head split's
  // permutation), k is that Transpose's input under one permutation, the
  // identity when the model stored k as it is.
  Value source;
  SmallVector<int64_t> perm;
  if (Partial *pk = partial(kTransposed);
      pk && pk->kind == Partial::Kind::Transposed) {
    source = pk->a;
    perm.assign(pk->pads.begin(), pk->pads.end());
  } else {
    FailureOr<Value> kt = tensor(kTransposed);
    if (failed(kt))
      return failure();
    source = *kt;
    perm.resize(rankOf(source));
    std::iota(perm.begin(), perm.end(), 0);
  }
  int64_t r = perm.size();
  std::swap(perm[r - 1], perm[r - 2]);
  SmallVector<int64_t> kShape;
  for (int64_t p : perm)
    kShape.push_back(shapeOf(source)[p]);
  ArrayRef<int64_t> qs = shapeOf(q);
  if (int64_t(qs.size()) != r || qs.drop_back(2) != ArrayRef(kShape).drop_back(2) ||
      qs.back() != kShape.back())
    return error() << "multiplies " << q.getType() << " by "
                   << dimsStr(kShape) << " transposed: nnc maps a batched "
                   << "MatMul only as attention's scores q·kᵀ, q [..., Tq, "
                      "D] and k [..., Tk, D] with the same batch dimensions";
  Value k = isIdentity(perm) ? source : g->transpose(source, perm);
  if (!k)
    return failure();
  Partial &p = newPartial(Partial::Kind::Scores, q, k);
  p.factor = scale;
  return success();
}

LogicalResult Importer::addMask(Partial &p, const ConstantValues &c,
                                const std::string &name) {
  // The mask broadcasts to the scores [..., Tq, Tk]; nn.attention's is one
  // [Tq, Tk] for every batch and head.
  ArrayRef<int64_t> qs = shapeOf(p.a), ks = shapeOf(p.b);
  int64_t r = qs.size(), tq = qs[r - 2], tk = ks[r - 2];
  ArrayRef<int64_t> dims = c.dims;
  bool fits = c.isFloat() && int64_t(dims.size()) <= r;
  for (int64_t i = 0; fits && i < int64_t(dims.size()); ++i) {
    int64_t d = dims[dims.size() - 1 - i];
    fits = d == 1 || (i == 0 && d == tk) || (i == 1 && d == tq);
  }
  if (!fits)
    return error() << "adds the constant '" << name << "' of shape "
                   << dimsStr(dims) << " to attention scores of shape "
                   << dimsStr(SmallVector<int64_t>{tq, tk})
                   << " per batch and head: nnc's attention takes one float "
                      "mask [Tq, Tk] for every batch and head";
  SmallVector<int64_t> full{tq, tk};
  if (p.mask.empty())
    p.mask.assign(tq * tk, 0.0);
  for (int64_t k = 0; k < tq * tk; ++k)
    p.mask[k] += c.floats[broadcastIndex(k, full, dims)];
  p.maskName = name;
  return success();
}

LogicalResult Importer::attention(const Partial &p, Value v) {
  ArrayRef<int64_t> qs = shapeOf(p.a), ks = shapeOf(p.b), vs = shapeOf(v);
  int64_t r = qs.size(), tq = qs[r - 2], tk = ks[r - 2];
  if (int64_t(vs.size()) != r || vs.drop_back(2) != qs.drop_back(2) ||
      vs[r - 2] != tk)
    return error() << "multiplies attention probabilities of shape "
                   << dimsStr(qs.drop_back()) << "x" << tk << " by "
                   << v.getType() << ": v must be [..., " << tk
                   << ", Dv] with the batch dimensions of q and k";
  // PyTorch's causal mask (0 on and below the diagonal, -inf above) is
  // nn.attention's `causal`; a mask of zeros is none. nnc's models hold no
  // constant tensors, so any other mask is unsupported.
  bool causal = false;
  if (!p.mask.empty()) {
    bool isCausal = true, zeros = true;
    for (int64_t i = 0; i < tq; ++i)
      for (int64_t j = 0; j < tk; ++j) {
        double m = p.mask[i * tk + j];
        zeros &= m == 0;
        isCausal &= j > i ? (std::isinf(m) && m < 0) : m == 0;
      }
    if (!zeros && !isCausal)
      return error() << "applies the attention mask '" << p.maskName
                     << "', which is not PyTorch's causal mask (0 on and "
                        "below the diagonal, -inf above): nnc maps that mask "
                        "(nn.attention's causal) and no mask; its models "
                        "hold no other constant tensors";
    causal = isCausal && !zeros;
  }
  if (!std::isfinite(p.factor) || p.factor <= 0)
    return error() << "scales attention scores by " << number(p.factor)
                   << "; nnc's attention takes a positive finite scale";
  // nn.attention is [B, H, T, D]: other batch dimensions are one [N, 1, T,
  // D] view.
  int64_t n = product(qs.drop_back(2));
  auto to4 = [&](Value x) -> Value {
    if (r == 4)
      return x;
    ArrayRef<int64_t> s = shapeOf(x);
    return view(x, {n, 1, s[r - 2], s[r - 1]});
  };
  Value q = to4(p.a), k = to4(p.b), v4 = to4(v);
  if (!q || !k || !v4)
    return failure();
  Value out = g->attention(q, k, v4, Value(), p.factor, causal);
  if (!out)
    return failure();
  if (r != 4) {
    SmallVector<int64_t> shape(qs.drop_back());
    shape.push_back(vs.back());
    out = view(out, shape);
  }
  return define(0, out);
}

LogicalResult Importer::visitTranspose() {
  // A Transpose stays pending: MatMul reads a transposed 2-D weight, and
  // attention k from kᵀ, without moving data; other readers get
  // nn.transpose. Transposes of transposes compose.
  Value source;
  SmallVector<int64_t> base;
  if (Partial *p = partial(input(0));
      p && p->kind == Partial::Kind::Transposed) {
    source = p->a;
    base.assign(p->pads.begin(), p->pads.end());
  } else {
    FailureOr<Value> x = tensor(input(0));
    if (failed(x))
      return failure();
    source = *x;
    base.resize(rankOf(source));
    std::iota(base.begin(), base.end(), 0);
  }
  int64_t rank = base.size();
  SmallVector<int64_t> perm;
  if (const onnx::AttributeProto *a = attr("perm"))
    perm.assign(a->ints().begin(), a->ints().end());
  else
    for (int64_t i = rank - 1; i >= 0; --i)
      perm.push_back(i);
  SmallVector<bool> seen(rank, false);
  bool valid = int64_t(perm.size()) == rank;
  for (int64_t p : perm) {
    valid = valid && p >= 0 && p < rank && !seen[p];
    if (valid)
      seen[p] = true;
  }
  if (!valid)
    return unsupportedAttr("perm", dimsStr(perm))
           << " (not a permutation of " << rank << " dimensions)";
  SmallVector<int64_t> composed;
  for (int64_t p : perm)
    composed.push_back(base[p]);
  if (isIdentity(composed))
    return define(0, source);
  newPartial(Partial::Kind::Transposed, source).pads.assign(composed.begin(),
                                                            composed.end());
  return success();
}

Value Importer::meanOver(Value x, int64_t first, int64_t last,
                         bool keepDims) {
  // The mean over axes [first, last) of [outer, n, inner]: average pooling
  // of the view [outer, 1, n, inner] with an [n, 1] window.
  ArrayRef<int64_t> shape = shapeOf(x);
  int64_t outer = product(shape.take_front(first));
  int64_t n = product(shape.slice(first, last - first));
  int64_t inner = product(shape.drop_front(last));
  Value v = view(x, {outer, 1, n, inner});
  Value pooled = v ? g->avgPool2d(v, {n, 1}, {1, 1}, {0, 0, 0, 0},
                                  /*countIncludePad=*/true)
                   : Value();
  SmallVector<int64_t> result(shape.take_front(first));
  if (keepDims)
    result.append(last - first, 1);
  result.append(shape.begin() + last, shape.end());
  return view(pooled, result);
}

Value Importer::broadcastAdd(Value x, Value y) {
  // y, without its leading ones, is a suffix of x's shape: copied along
  // x's leading dimensions (nn.broadcast), then added.
  ArrayRef<int64_t> xs = shapeOf(x);
  int64_t m = product(shapeOf(y));
  SmallVector<int64_t> suffix(xs.end() - std::min<size_t>(
                                  xs.size(), shapeOf(y).size()),
                              xs.end());
  while (!suffix.empty() && product(suffix) != m)
    suffix.erase(suffix.begin());
  Value yv = view(y, suffix);
  Value copies = yv ? g->broadcast(yv, xs) : Value();
  return copies ? g->add(x, copies) : Value();
}

LogicalResult Importer::visitAdd() {
  Partial *pa = partial(input(0)), *pb = partial(input(1));
  auto isOne = [&](const std::string &name) { return scalar(name) == 1.0; };
  for (auto [p, other] : {std::pair{pa, input(1)}, std::pair{pb, input(0)}}) {
    if (!p)
      continue;
    if (p->kind == Partial::Kind::GeluErf && isOne(other))
      return definePartial(Partial::Kind::GeluErfPlusOne, p->a);
    if ((p->kind == Partial::Kind::Linear ||
         p->kind == Partial::Kind::WeightMatMul) &&
        !partial(other) && tensors.count(other)) {
      // MatMul then a bias [out]: nn.linear with its bias.
      Value bias = tensors.lookup(other);
      int64_t out = p->pads.back();
      if (shapeOf(bias) == ArrayRef<int64_t>{out}) {
        Value w = p->kind == Partial::Kind::Linear
                      ? p->b
                      : g->transpose(p->b, {1, 0});
        Value y = w ? g->linear(p->a, w, bias) : Value();
        if (y && shapeOf(y) != ArrayRef<int64_t>(p->pads))
          y = view(y, p->pads);
        return define(0, y);
      }
    }
    if (p->kind == Partial::Kind::Scores && !partial(other)) {
      // + a constant mask.
      if (const ConstantValues *c = foldable(other, true)) {
        Partial masked = *p;
        masked.node = current;
        if (failed(addMask(masked, *c, other)))
          return failure();
        partials[node().output(0)] = std::move(masked);
        return success();
      }
    }
    if (p->kind == Partial::Kind::Variance) {
      if (std::optional<double> eps = scalar(other)) {
        newPartial(Partial::Kind::VarianceEps, p->a).factor = *eps;
        return success();
      }
    }
    if (p->kind == Partial::Kind::NormalizedScaled && !partial(other)) {
      FailureOr<Value> bias = tensor(other);
      if (failed(bias))
        return failure();
      return define(0, g->layerNorm(p->a, p->b, *bias, p->factor));
    }
  }
  FailureOr<Value> a = tensor(input(0)), b = tensor(input(1));
  if (failed(a) || failed(b))
    return failure();
  if (a->getType() == b->getType())
    return define(0, g->add(*a, *b));
  // A [T, D] positional embedding added to [B, T, D]: y's shape, without
  // its leading ones, a suffix of x's.
  auto suffix = [](Value x, Value y) {
    ArrayRef<int64_t> xs = shapeOf(x), ys = shapeOf(y);
    while (!ys.empty() && ys.front() == 1)
      ys = ys.drop_front();
    return shapeOf(y).size() <= xs.size() && ys.size() < xs.size() &&
           xs.take_back(ys.size()) == ys;
  };
  if (suffix(*a, *b))
    return define(0, broadcastAdd(*a, *b));
  if (suffix(*b, *a))
    return define(0, broadcastAdd(*b, *a));
  return error() << "broadcasts " << a->getType() << " and " << b->getType()
                 << "; nnc adds tensors of one type, a vector as the bias "
                    "of a MatMul, and a tensor to each trailing block of "
                    "another";
}

LogicalResult Importer::visitSub() {
  if (Partial *mean = partial(input(1));
      mean && mean->kind == Partial::Kind::Mean) {
    auto x = tensors.find(input(0));
    if (x != tensors.end() && x->second == mean->a)
      return definePartial(Partial::Kind::Centered, mean->a);
  }
  FailureOr<Value> a = tensor(input(0)), b = tensor(input(1));
  if (failed(a) || failed(b))
    return failure();
  if (a->getType() != b->getType())
    return error() << "subtracts " << b->getType() << " from " << a->getType()
                   << "; nnc subtracts tensors of one type";
  return definePartial(Partial::Kind::Difference, *a, *b);
}

LogicalResult Importer::visitMul() {
  Partial *pa = partial(input(0)), *pb = partial(input(1));
  if (pa && pa->kind == Partial::Kind::Difference && input(0) == input(1))
    return definePartial(Partial::Kind::Square, pa->a, pa->b);
  if (pa && pa->kind == Partial::Kind::Centered && input(0) == input(1))
    return definePartial(Partial::Kind::CenteredSquare, pa->a);
  for (auto [p, other] : {std::pair{pa, input(1)}, std::pair{pb, input(0)}}) {
    if (!p)
      continue;
    if (p->kind == Partial::Kind::GeluErfPlusOne) {
      auto it = tensors.find(other);
      if (it != tensors.end() && it->second == p->a)
        return definePartial(Partial::Kind::GeluUnhalved, p->a);
      // (0.5 · x) · (1 + erf(x / √2))
      Partial *half = partial(other);
      if (half && half->kind == Partial::Kind::Scaled && half->a == p->a &&
          half->factor == 0.5)
        return define(0, g->gelu(p->a));
    }
    if (p->kind == Partial::Kind::GeluUnhalved && scalar(other) == 0.5)
      return define(0, g->gelu(p->a));
    if (p->kind == Partial::Kind::Normalized && !partial(other)) {
      FailureOr<Value> w = tensor(other);
      if (failed(w))
        return failure();
      Partial &scaled =
          newPartial(Partial::Kind::NormalizedScaled, p->a, *w);
      scaled.factor = p->factor;
      return success();
    }
    if (std::optional<double> c = factor(other)) {
      if (p->kind == Partial::Kind::Scores) {
        Partial scaled = *p;
        scaled.node = current;
        scaled.factor *= *c;
        for (double &m : scaled.mask)
          m *= *c;
        partials[node().output(0)] = std::move(scaled);
        return success();
      }
      if (p->kind == Partial::Kind::Scaled) {
        newPartial(Partial::Kind::Scaled, p->a).factor = p->factor * *c;
        return success();
      }
    }
  }
  for (auto [x, other] : {std::pair{input(0), input(1)},
                          std::pair{input(1), input(0)}}) {
    if (std::optional<double> c = factor(other)) {
      FailureOr<Value> v = tensor(x);
      if (failed(v))
        return failure();
      newPartial(Partial::Kind::Scaled, *v).factor = *c;
      return success();
    }
  }
  FailureOr<Value> a = tensor(input(0)), b = tensor(input(1));
  if (failed(a) || failed(b))
    return failure();
  if (a->getType() != b->getType())
    return error() << "multiplies " << a->getType() << " by " << b->getType()
                   << "; nnc multiplies tensors of one type, a tensor by a "
                      "constant scalar, and a layer norm's output by its "
                      "weight";
  return define(0, g->mul(*a, *b));
}

LogicalResult Importer::visitPow() {
  Partial *p = partial(input(0));
  if (p && p->kind == Partial::Kind::Difference && scalar(input(1)) == 2.0)
    return definePartial(Partial::Kind::Square, p->a, p->b);
  if (p && p->kind == Partial::Kind::Centered && scalar(input(1)) == 2.0)
    return definePartial(Partial::Kind::CenteredSquare, p->a);
  return error() << "unsupported use of Pow: nnc maps it as the square of "
                    "an MSE loss's error, (p - t) ** 2, and of a layer "
                    "norm's centered input";
}

LogicalResult Importer::visitDiv() {
  Partial *pa = partial(input(0)), *pb = partial(input(1));
  if (pa && pb && pa->kind == Partial::Kind::Centered &&
      pb->kind == Partial::Kind::StdDev && pa->a == pb->a) {
    newPartial(Partial::Kind::Normalized, pa->a).factor = pb->factor;
    return success();
  }
  std::optional<double> c = factor(input(1));
  // GELU's x / √2, the √2 possibly an initializer.
  if (std::optional<double> s = scalar(input(1));
      !c && s && std::abs(*s - std::sqrt(2.0)) < 1e-6)
    c = s;
  if (!c)
    return error() << "unsupported use of Div: nnc maps division by a "
                      "constant scalar, and within a layer norm";
  if (*c == 0)
    return error() << "divides by the constant 0";
  if (pa && pa->kind == Partial::Kind::Scores) {
    Partial scaled = *pa;
    scaled.node = current;
    scaled.factor /= *c;
    for (double &m : scaled.mask)
      m /= *c;
    partials[node().output(0)] = std::move(scaled);
    return success();
  }
  if (pa && pa->kind == Partial::Kind::Scaled) {
    newPartial(Partial::Kind::Scaled, pa->a).factor = pa->factor / *c;
    return success();
  }
  FailureOr<Value> x = tensor(input(0));
  if (failed(x))
    return failure();
  newPartial(Partial::Kind::Scaled, *x).factor = 1.0 / *c;
  return success();
}

LogicalResult Importer::visitErf() {
  Partial *p = partial(input(0));
  if (p && p->kind == Partial::Kind::Scaled &&
      std::abs(p->factor - 1.0 / std::sqrt(2.0)) < 1e-6)
    return definePartial(Partial::Kind::GeluErf, p->a);
  return error() << "unsupported use of Erf: nnc maps it only within GELU's "
                    "erf form, erf(x / sqrt(2))";
}

LogicalResult Importer::visitSqrt() {
  Partial *p = partial(input(0));
  if (p && p->kind == Partial::Kind::VarianceEps) {
    newPartial(Partial::Kind::StdDev, p->a).factor = p->factor;
    return success();
  }
  return error() << "unsupported use of Sqrt: nnc maps it within a layer "
                    "norm, sqrt(variance + eps), and on constants";
}

LogicalResult Importer::visitReduceMean() {
  Partial *p = partial(input(0));
  // Over the last axis, keeping it: a layer norm's mean or variance.
  auto overLastAxis = [&](int64_t rank) {
    const onnx::AttributeProto *axes = attr("axes");
    return intAttr("keepdims", 1) != 0 && axes && axes->ints_size() == 1 &&
           (axes->ints(0) == -1 || axes->ints(0) == rank - 1);
  };
  if (p && p->kind == Partial::Kind::CenteredSquare) {
    if (!overLastAxis(rankOf(p->a)))
      return error() << "averages a layer norm's squared deviations over "
                        "other axes than the last (nnc's layer_norm "
                        "normalizes the last axis, keepdims=1)";
    return definePartial(Partial::Kind::Variance, p->a);
  }
  if (!p || p->kind != Partial::Kind::Square) {
    auto x = tensors.find(input(0));
    if (x != tensors.end() && overLastAxis(rankOf(x->second)))
      return definePartial(Partial::Kind::Mean, x->second);
    // x.mean((2, 3)) on [N, C, H, W]: global average pooling.
    const onnx::AttributeProto *axes = attr("axes");
    if (x != tensors.end() && axes && axes->ints_size() == 2 &&
        rankOf(x->second) == 4) {
      llvm::SmallDenseSet<int64_t> seen;
      for (int64_t axis : axes->ints())
        seen.insert(axis < 0 ? axis + 4 : axis);
      if (seen.contains(2) && seen.contains(3))
        return globalAveragePool(x->second, intAttr("keepdims", 1) != 0);
    }
    // Any other mean over consecutive axes: average pooling of a view.
    FailureOr<Value> v = tensor(input(0));
    if (failed(v))
      return failure();
    int64_t rank = rankOf(*v);
    SmallVector<int64_t> sorted;
    if (axes)
      for (int64_t axis : axes->ints())
        sorted.push_back(axis < 0 ? axis + rank : axis);
    else
      for (int64_t i = 0; i < rank; ++i)
        sorted.push_back(i);
    llvm::sort(sorted);
    bool consecutive = !sorted.empty() && sorted.front() >= 0 &&
                       sorted.back() < rank;
    for (size_t i = 1; i < sorted.size(); ++i)
      consecutive &= sorted[i] == sorted[i - 1] + 1;
    if (!consecutive)
      return error() << "unsupported use of ReduceMean: nnc maps the mean "
                        "over consecutive axes, the mean of a squared error "
                        "(an MSE loss) and a layer norm";
    return define(0, meanOver(*v, sorted.front(), sorted.back() + 1,
                              intAttr("keepdims", 1) != 0));
  }
  // opsets 13-17 give the axes as an attribute; the mean must cover every
  // element and give a scalar, as F.mse_loss does.
  if (intAttr("keepdims", 1) != 0)
    return unsupportedAttr("keepdims", "1")
           << " (an MSE loss reduces to a scalar: keepdims=0)";
  int64_t rank = cast<RankedTensorType>(p->a.getType()).getRank();
  if (const onnx::AttributeProto *axes = attr("axes")) {
    llvm::SmallDenseSet<int64_t> seen;
    for (int64_t axis : axes->ints())
      seen.insert(axis < 0 ? axis + rank : axis);
    if (static_cast<int64_t>(seen.size()) != rank ||
        llvm::any_of(seen, [&](int64_t a) { return a < 0 || a >= rank; }))
      return unsupportedAttr("axes", "[...]")
             << " (an MSE loss averages over every axis)";
  }
  // The target is data: which side of the difference is a graph input.
  Value pred = p->a, target = p->b;
  if (!isDataArgument(target) && isDataArgument(pred))
    std::swap(pred, target);
  if (!isDataArgument(target))
    return error() << "an MSE loss between two computed values: one side "
                      "must be a graph input (the target)";
  lossTargets.insert(target);
  return setLoss(predict ? Value() : g->mseLoss(pred, target), pred);
}

LogicalResult Importer::visitActivation() {
  FailureOr<Value> x = tensor(input(0));
  if (failed(x))
    return failure();
  StringRef op = node().op_type();
  if (op == "Relu")
    return define(0, g->relu(*x));
  if (op == "Sigmoid")
    return define(0, g->sigmoid(*x));
  if (op == "Tanh")
    return define(0, g->tanh(*x));
  // LeakyRelu
  double alpha = floatAttr("alpha", 0.01);
  if (!(alpha >= 0))
    return unsupportedAttr("alpha", number(alpha))
           << " (nnc's leaky_relu takes a slope alpha >= 0)";
  return define(0, g->leakyRelu(*x, alpha));
}

LogicalResult Importer::visitSoftmax(bool log) {
  Partial *p = partial(input(0));
  if (p && p->kind == Partial::Kind::Scores && !log) {
    int64_t rank = rankOf(p->a), axis = intAttr("axis", -1);
    if (axis != -1 && axis != rank - 1)
      return unsupportedAttr("axis", axis)
             << " on attention scores (nnc's attention normalizes over the "
                "keys, the last axis)";
    Partial probabilities = *p;
    probabilities.kind = Partial::Kind::Probabilities;
    probabilities.node = current;
    partials[node().output(0)] = std::move(probabilities);
    return success();
  }
  FailureOr<Value> x = tensor(input(0));
  if (failed(x))
    return failure();
  ArrayRef<int64_t> shape = shapeOf(*x);
  int64_t rank = shape.size();
  int64_t axis = intAttr("axis", -1);
  if ((axis != -1 && axis != rank - 1) || rank == 0 || (log && rank != 2))
    return unsupportedAttr("axis", axis)
           << " on a rank-" << rank
           << " tensor (nnc's softmax runs over the last axis"
           << (log ? " of [batch, classes])" : ")");
  if (log)
    return definePartial(Partial::Kind::LogSoftmax, *x);
  if (rank == 2)
    return define(0, g->softmax(*x));
  // nn.softmax is 2-D: the other axes are rows of a view.
  Value rows = view(*x, {product(shape) / shape.back(), shape.back()});
  Value y = rows ? g->softmax(rows) : Value();
  return define(0, y ? view(y, shape) : y);
}

LogicalResult Importer::visitLayerNormalization() {
  // Opset 17: LayerNormalization(X, Scale, B) over the axes from `axis`.
  FailureOr<Value> x = tensor(input(0));
  if (failed(x))
    return failure();
  int64_t rank = rankOf(*x), axis = intAttr("axis", -1);
  if (axis != -1 && axis != rank - 1)
    return unsupportedAttr("axis", axis)
           << " on a rank-" << rank
           << " input (nnc's layer_norm normalizes the last axis)";
  if (failed(requireUnused(1, "Mean")) ||
      failed(requireUnused(2, "InvStdDev")))
    return failure();
  if (input(2).empty())
    return error() << "has no bias B; nnc's layer_norm takes one (PyTorch's "
                      "LayerNorm with elementwise_affine)";
  FailureOr<Value> w = tensor(input(1)), b = tensor(input(2));
  if (failed(w) || failed(b))
    return failure();
  return define(0, g->layerNorm(*x, *w, *b, floatAttr("epsilon", 1e-5)));
}

LogicalResult Importer::visitGather() {
  // Gather(table, tokens): an embedding. Gather(x, constant indices) on
  // a computed value or a weight: nn.slice (x[:, -1] is Gather of the
  // scalar -1 on axis 1, which drops the axis).
  FailureOr<Value> data = tensor(input(0));
  if (failed(data))
    return failure();
  ArrayRef<int64_t> shape = shapeOf(*data);
  int64_t rank = shape.size(), axis = intAttr("axis", 0);
  if (axis < 0)
    axis += rank;
  if (axis < 0 || axis >= rank)
    return unsupportedAttr("axis", intAttr("axis", 0))
           << " for a rank-" << rank << " input";
  const ConstantValues *c = foldable(input(1), false);
  if (!c) {
    FailureOr<Value> indices = tensor(input(1));
    if (failed(indices))
      return failure();
    if (axis != 0 || rank != 2)
      return error() << "gathers " << data->getType() << " on axis " << axis
                     << " by computed indices; nnc maps that only as an "
                        "embedding, a table [V, D] gathered on axis 0";
    return define(0, g->embedding(*data, *indices));
  }
  if (c->isFloat() || c->dims.size() > 1 || c->ints.empty())
    return error() << "gathers by the constant '" << input(1)
                   << "'; nnc maps a scalar or a 1-D evenly spaced list of "
                      "indices";
  int64_t d = shape[axis];
  SmallVector<int64_t> idx;
  for (int64_t i : c->ints) {
    if (i < -d || i >= d)
      return error() << "gathers index " << i << " of a dimension of " << d;
    idx.push_back(i < 0 ? i + d : i);
  }
  int64_t stride = idx.size() > 1 ? idx[1] - idx[0] : 1;
  for (size_t i = 1; i < idx.size(); ++i)
    if (idx[i] - idx[i - 1] != stride || stride < 1)
      return error() << "gathers by the constant '" << input(1)
                     << "', whose indices are not evenly increasing; nnc "
                        "maps a scalar or a 1-D evenly spaced list";
  SmallVector<int64_t> offsets(rank, 0), sizes(shape), strides(rank, 1);
  offsets[axis] = idx[0];
  sizes[axis] = idx.size();
  strides[axis] = stride;
  Value y = sizes == shape ? *data : g->slice(*data, offsets, sizes, strides);
  if (!y || !c->dims.empty())
    return define(0, y);
  // A scalar index drops the axis.
  SmallVector<int64_t> dropped(shape);
  dropped.erase(dropped.begin() + axis);
  return define(0, view(y, dropped));
}

LogicalResult Importer::visitSlice() {
  FailureOr<Value> x = tensor(input(0));
  if (failed(x))
    return failure();
  FailureOr<SliceBox> box = sliceBox(shapeOf(*x));
  if (failed(box))
    return failure();
  if (ArrayRef<int64_t>(box->sizes) == shapeOf(*x))
    return define(0, *x);
  return define(0, g->slice(*x, box->offsets, box->sizes, box->strides));
}

LogicalResult Importer::visitSplit() {
  // Split(x, split) on `axis`: one nn.slice per output.
  FailureOr<Value> x = tensor(input(0));
  if (failed(x))
    return failure();
  ArrayRef<int64_t> shape = shapeOf(*x);
  int64_t rank = shape.size(), axis = intAttr("axis", 0);
  if (axis < 0)
    axis += rank;
  if (axis < 0 || axis >= rank)
    return unsupportedAttr("axis", intAttr("axis", 0))
           << " for a rank-" << rank << " input";
  int64_t outputs = node().output_size(), d = shape[axis];
  std::vector<int64_t> sizes;
  if (!input(1).empty()) {
    const ConstantValues *c = constant(input(1));
    if (!c || c->isFloat() || c->dims.size() != 1 || !decoded(*c))
      return error() << "takes its split from '" << input(1)
                     << "', which is not a constant 1-D integer tensor";
    sizes = c->ints;
  } else {
    if (d % outputs)
      return error() << "splits a dimension of " << d << " into " << outputs
                     << " equal parts";
    sizes.assign(outputs, d / outputs);
  }
  int64_t total = 0;
  for (int64_t n : sizes) {
    if (n <= 0)
      return error() << "has a part of size " << n
                     << "; nnc's tensors have no empty dimensions";
    total += n;
  }
  if (int64_t(sizes.size()) != outputs || total != d)
    return error() << "splits a dimension of " << d << " into "
                   << dimsStr(sizes) << " for " << outputs << " outputs";
  int64_t offset = 0;
  for (int64_t i = 0; i < outputs; offset += sizes[i++]) {
    if (node().output(i).empty() || uses[node().output(i)] == 0)
      continue;
    SmallVector<int64_t> offsets(rank, 0), box(shape), strides(rank, 1);
    offsets[axis] = offset;
    box[axis] = sizes[i];
    if (failed(define(i, g->slice(*x, offsets, box, strides))))
      return failure();
  }
  return success();
}

LogicalResult Importer::visitWhere() {
  // masked_fill(mask, -inf) of attention scores: Where(mask, -inf, scores)
  // is the additive mask -inf where the mask holds (Where(mask, scores,
  // -inf) where it does not).
  const ConstantValues *cond = foldable(input(0), true);
  for (int s : {1, 2}) {
    Partial *p = partial(input(s));
    const ConstantValues *fill = foldable(input(3 - s), true);
    if (!cond || !p || p->kind != Partial::Kind::Scores || !fill)
      continue;
    if (cond->isFloat() || !fill->isFloat() ||
        !llvm::all_of(fill->floats,
                      [](double v) { return std::isinf(v) && v < 0; }))
      return error() << "selects between attention scores and '"
                     << input(3 - s)
                     << "': nnc maps Where as a mask only with a constant "
                        "boolean condition and the fill -inf";
    ConstantValues additive;
    additive.dataType = onnx::TensorProto::FLOAT;
    additive.dims = cond->dims;
    for (int64_t v : cond->ints)
      additive.floats.push_back((v != 0) == (s == 2)
                                    ? -std::numeric_limits<double>::infinity()
                                    : 0.0);
    Partial masked = *p;
    masked.node = current;
    if (failed(addMask(masked, additive, input(0))))
      return failure();
    partials[node().output(0)] = std::move(masked);
    return success();
  }
  return error() << "unsupported use of Where: nnc maps it only as an "
                    "attention mask, Where(constant condition, -inf, scores)";
}

LogicalResult Importer::visitCrossEntropy(bool fromLogSoftmax) {
  // F.cross_entropy exports as SoftmaxCrossEntropyLoss(reduction=mean,
  // ignore_index=-100), as does log_softmax then nll_loss. nnc's
  // cross-entropy is the mean over the batch: every label must be a class
  // index, so the ignore_index PyTorch writes (-100, never a class) leaves
  // the loss unchanged and is accepted.
  std::string reduction = stringAttr("reduction", "mean");
  if (reduction != "mean")
    return unsupportedAttr("reduction", "'" + reduction + "'")
           << " (nnc's cross-entropy is the mean over the batch)";
  if (!input(2).empty())
    return error() << "weighs classes (input '" << input(2)
                   << "'), which nnc's cross-entropy does not";
  if (failed(requireUnused(1, "log_prob")))
    return failure();
  Value logits;
  if (fromLogSoftmax) {
    Partial *p = partial(input(0));
    if (!p || p->kind != Partial::Kind::LogSoftmax)
      return error() << "reads '" << input(0)
                     << "', which is not a LogSoftmax: nnc maps "
                        "NegativeLogLikelihoodLoss(LogSoftmax(z)) only";
    logits = p->a;
  } else {
    FailureOr<Value> z = tensor(input(0));
    if (failed(z))
      return failure();
    logits = *z;
  }
  FailureOr<Value> labels = tensor(input(1));
  if (failed(labels))
    return failure();
  lossTargets.insert(*labels);
  return setLoss(predict ? Value() : g->crossEntropy(logits, *labels), logits);
}

LogicalResult Importer::visitFlatten() {
  FailureOr<Value> x = tensor(input(0));
  if (failed(x))
    return failure();
  ArrayRef<int64_t> shape = cast<RankedTensorType>(x->getType()).getShape();
  int64_t rank = shape.size(), axis = intAttr("axis", 1);
  if (axis < 0)
    axis += rank;
  if (axis < 0 || axis > rank)
    return unsupportedAttr("axis", intAttr("axis", 1))
           << " for a rank-" << rank << " input";
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < rank; ++i)
    (i < axis ? outer : inner) *= shape[i];
  return reshape(*x, {outer, inner});
}

LogicalResult Importer::visitReshape() {
  FailureOr<Value> x = tensor(input(0));
  if (failed(x))
    return failure();
  FailureOr<SmallVector<int64_t>> shape = reshapeTarget(
      cast<RankedTensorType>(x->getType()).getShape(), input(1));
  if (failed(shape))
    return failure();
  return reshape(*x, *shape);
}

//===----------------------------------------------------------------------===//
// Convolutional layers
//===----------------------------------------------------------------------===//

FailureOr<SmallVector<int64_t>>
Importer::intsAttr(StringRef name, ArrayRef<int64_t> dflt) {
  const onnx::AttributeProto *a = attr(name);
  if (!a || a->type() != onnx::AttributeProto::INTS)
    return SmallVector<int64_t>(dflt);
  SmallVector<int64_t> values(a->ints().begin(), a->ints().end());
  if (values.size() != dflt.size()) {
    std::string list;
    llvm::raw_string_ostream os(list);
    os << "[";
    llvm::interleaveComma(values, os);
    os << "]";
    return unsupportedAttr(name, list)
           << " (nnc's 2-D convolution and pooling take " << dflt.size()
           << " values)";
  }
  return values;
}

LogicalResult Importer::requireNoAutoPad() {
  std::string autoPad = stringAttr("auto_pad", "NOTSET");
  if (autoPad != "NOTSET")
    return unsupportedAttr("auto_pad", "'" + autoPad + "'")
           << " (nnc reads explicit pads, as PyTorch exports them)";
  return success();
}

LogicalResult Importer::visitBatchNormalization() {
  // The model function trains: it normalizes with the batch's statistics
  // (PyTorch's train mode) whatever mode the graph was exported in, and its
  // training step returns the running statistics' update; the predict
  // function normalizes with the running statistics (eval mode).
  if (failed(requireUnused(1, "running_mean")) ||
      failed(requireUnused(2, "running_var")))
    return failure();
  FailureOr<Value> x = tensor(input(0)), scale = tensor(input(1)),
                   bias = tensor(input(2)), mean = tensor(input(3)),
                   var = tensor(input(4));
  if (failed(x) || failed(scale) || failed(bias) || failed(mean) ||
      failed(var))
    return failure();
  // ONNX's momentum weighs the old statistic, PyTorch's the new value.
  double momentum = 1.0 - floatAttr("momentum", 0.9);
  return define(0, g->batchNorm(*x, *scale, *bias, *mean, *var,
                                floatAttr("epsilon", 1e-5), momentum,
                                /*training=*/!predict));
}

LogicalResult Importer::visitPad() {
  // PyTorch exports avg_pool2d's padding (and F.pad before a convolution)
  // as Pad then a node without pads: the zeros are the consumer's padding.
  std::string mode = stringAttr("mode", "constant");
  if (mode != "constant")
    return unsupportedAttr("mode", "'" + mode + "'")
           << " (nnc folds zero padding into Conv and AveragePool)";
  FailureOr<Value> x = tensor(input(0));
  if (failed(x))
    return failure();
  const ConstantValues *c = constant(input(1));
  if (!c || c->isFloat() || c->ints.size() != 8 ||
      cast<RankedTensorType>(x->getType()).getRank() != 4)
    return error() << "pads '" << input(1)
                   << "', which is not a constant of 8 integers for a 4-D "
                      "input";
  ArrayRef<int64_t> p = c->ints;
  if (p[0] || p[1] || p[4] || p[5] ||
      llvm::any_of(p, [](int64_t v) { return v < 0; }))
    return error() << "pads the batch or channel dimensions, or crops; nnc "
                      "folds only zero padding of the plane into Conv and "
                      "AveragePool";
  if (input(2).size()) {
    std::optional<double> value = scalar(input(2));
    if (!value || *value != 0.0)
      return error() << "pads with '" << input(2)
                     << "', not the constant 0 nnc folds into its consumer";
  }
  newPartial(Partial::Kind::Padded, *x).pads = {p[2], p[3], p[6], p[7]};
  return success();
}

FailureOr<Value> Importer::paddedInput(SmallVectorImpl<int64_t> &pads) {
  if (Partial *p = partial(input(0)); p && p->kind == Partial::Kind::Padded) {
    for (auto [total, extra] : llvm::zip(pads, p->pads))
      total += extra;
    return p->a;
  }
  return tensor(input(0));
}

LogicalResult Importer::visitConv() {
  if (failed(requireNoAutoPad()))
    return failure();
  auto pads = intsAttr("pads", {0, 0, 0, 0});
  if (failed(pads))
    return failure();
  FailureOr<Value> x = paddedInput(*pads), w = tensor(input(1));
  if (failed(x) || failed(w))
    return failure();
  Value bias;
  if (!input(2).empty()) {
    FailureOr<Value> b = tensor(input(2));
    if (failed(b))
      return failure();
    bias = *b;
  }
  if (cast<RankedTensorType>(x->getType()).getRank() != 4)
    return error() << "convolves a " << x->getType()
                   << "; nnc's convolutions are 2-D, on [N, C, H, W]";
  auto strides = intsAttr("strides", {1, 1});
  auto dilations = intsAttr("dilations", {1, 1});
  if (failed(strides) || failed(dilations))
    return failure();
  // kernel_shape is optional and must be the weight's.
  ArrayRef<int64_t> ws = cast<RankedTensorType>(w->getType()).getShape();
  if (ws.size() == 4) {
    auto kernel = intsAttr("kernel_shape", {ws[2], ws[3]});
    if (failed(kernel))
      return failure();
    if ((*kernel)[0] != ws[2] || (*kernel)[1] != ws[3])
      return error() << "has kernel_shape [" << (*kernel)[0] << ", "
                     << (*kernel)[1] << "] but its weight is " << w->getType();
  }
  return define(0, g->conv2d(*x, *w, bias, *strides, *pads, *dilations,
                             intAttr("group", 1)));
}

LogicalResult Importer::visitPool(bool max) {
  if (failed(requireNoAutoPad()))
    return failure();
  if (intAttr("ceil_mode", 0) != 0)
    return unsupportedAttr("ceil_mode", 1)
           << " (nnc's pooling windows are floor(...)+1 per dimension)";
  if (max && failed(requireUnused(1, "Indices")))
    return failure();
  if (!attr("kernel_shape"))
    return error() << "has no kernel_shape";
  auto kernel = intsAttr("kernel_shape", {0, 0});
  auto strides = intsAttr("strides", {1, 1});
  auto pads = intsAttr("pads", {0, 0, 0, 0});
  if (failed(kernel) || failed(strides) || failed(pads))
    return failure();
  // Zeros a Pad adds are elements of the window (max pooling pads with
  // -inf and never reads a Pad).
  bool countIncludePad = intAttr("count_include_pad", 0) != 0;
  Partial *padded = partial(input(0));
  if (padded && padded->kind == Partial::Kind::Padded && !max) {
    if (!countIncludePad && llvm::any_of(*pads, [](int64_t p) { return p; }))
      return error() << "pads its input both with a Pad and with its pads "
                        "excluded from the count, which nnc's average "
                        "pooling cannot express";
    countIncludePad = true;
  }
  FailureOr<Value> x = max ? tensor(input(0)) : paddedInput(*pads);
  if (failed(x))
    return failure();
  if (max) {
    auto dilations = intsAttr("dilations", {1, 1});
    if (failed(dilations))
      return failure();
    if ((*dilations)[0] != 1 || (*dilations)[1] != 1)
      return unsupportedAttr("dilations", "[...]")
             << " (nnc's max pooling is dense)";
    return define(0, g->maxPool2d(*x, *kernel, *strides, *pads));
  }
  // ONNX's AveragePool excludes the padding unless told (PyTorch's
  // default, count_include_pad=True, is exported as 1).
  return define(0, g->avgPool2d(*x, *kernel, *strides, *pads,
                                countIncludePad));
}

/// The mean over the spatial dimensions of [N, C, H, W]: average pooling
/// with the whole plane as its window, then the kept dimensions dropped
/// unless kept.
LogicalResult Importer::globalAveragePool(Value x, bool keepDims) {
  ArrayRef<int64_t> shape = cast<RankedTensorType>(x.getType()).getShape();
  if (shape.size() != 4)
    return error() << "averages a " << x.getType()
                   << " over its plane; nnc pools [N, C, H, W]";
  Value pooled = g->avgPool2d(x, {shape[2], shape[3]}, {1, 1}, {0, 0, 0, 0},
                              /*countIncludePad=*/true);
  return define(0, keepDims ? pooled : view(pooled, shape.take_front(2)));
}

LogicalResult Importer::visitGlobalAveragePool() {
  FailureOr<Value> x = tensor(input(0));
  if (failed(x))
    return failure();
  return globalAveragePool(*x, /*keepDims=*/true);
}

LogicalResult Importer::visitDropout() {
  // Opsets 12+: Dropout(data, ratio, training_mode). Only training mode
  // drops; an exported model.eval() has no Dropout at all.
  if (failed(requireUnused(1, "mask")))
    return failure();
  bool training = false;
  if (!input(2).empty()) {
    const ConstantValues *mode = constant(input(2));
    if (!mode || mode->ints.size() != 1)
      return error() << "takes training_mode from '" << input(2)
                     << "', which is not a constant scalar";
    training = mode->ints[0] != 0;
  }
  if (!training || predict)
    return alias(input(0));
  double ratio = 0.5;
  if (!input(1).empty()) {
    std::optional<double> r = scalar(input(1));
    if (!r)
      return error() << "takes its ratio from '" << input(1)
                     << "', which is not a constant float scalar";
    ratio = *r;
  }
  if (!(ratio >= 0 && ratio < 1))
    return error() << "has ratio " << ratio
                   << "; nnc's dropout takes a rate in [0, 1)";
  // nnc draws the mask from (seed, index); an explicit ONNX seed picks it,
  // else dropouts are seeded 1, 2, ... in graph order, as buildMLP does.
  ++dropoutSeed;
  // Rate 0 (a model exported in training mode with dropout=0, between
  // attention's Softmax and MatMul among others) drops nothing.
  if (ratio == 0)
    return alias(input(0));
  FailureOr<Value> x = tensor(input(0));
  if (failed(x))
    return failure();
  int64_t seed = attr("seed") ? intAttr("seed", dropoutSeed) : dropoutSeed;
  return define(0, g->dropout(*x, ratio, seed));
}

LogicalResult Importer::visitConstant() {
  const onnx::NodeProto &n = node();
  if (n.attribute_size() != 1)
    return error() << "has " << n.attribute_size()
                   << " attributes; a Constant has one";
  const onnx::AttributeProto &a = n.attribute(0);
  ConstantValues c;
  if (a.name() == "value") {
    c = decodeTensor(a.t());
  } else if (a.name() == "value_float" || a.name() == "value_floats") {
    c.dataType = onnx::TensorProto::FLOAT;
    if (a.name() == "value_float")
      c.floats.push_back(a.f());
    else
      c.floats.assign(a.floats().begin(), a.floats().end());
    if (a.name() == "value_floats")
      c.dims.push_back(c.floats.size());
  } else if (a.name() == "value_int" || a.name() == "value_ints") {
    c.dataType = onnx::TensorProto::INT64;
    if (a.name() == "value_int")
      c.ints.push_back(a.i());
    else
      c.ints.assign(a.ints().begin(), a.ints().end());
    if (a.name() == "value_ints")
      c.dims.push_back(c.ints.size());
  } else {
    return unsupportedAttr(a.name(), "...")
           << " (nnc reads numeric Constants: value, value_float(s), "
              "value_int(s))";
  }
  constants[n.output(0)] = std::move(c);
  return success();
}

LogicalResult Importer::visit(int index) {
  current = index;
  const onnx::NodeProto &n = node();
  std::string label = n.name().empty() ? "#" + std::to_string(index) : n.name();
  nodeLoc = NameLoc::get(StringAttr::get(&ctx, label), fileLoc);
  g->setLocation(nodeLoc);
  if (!n.domain().empty() && n.domain() != "ai.onnx")
    return error() << "unsupported op '" << n.op_type() << "' of domain '"
                   << n.domain() << "'";
  StringRef op = n.op_type();
  // Shape arithmetic and constant masks fold.
  FailureOr<bool> folded = fold();
  if (failed(folded))
    return failure();
  if (*folded)
    return success();
  if (op == "Gemm")
    return visitGemm();
  if (op == "MatMul")
    return visitMatMul();
  if (op == "Transpose")
    return visitTranspose();
  if (op == "Add")
    return visitAdd();
  if (op == "Sub")
    return visitSub();
  if (op == "Mul")
    return visitMul();
  if (op == "Pow")
    return visitPow();
  if (op == "Div")
    return visitDiv();
  if (op == "Erf")
    return visitErf();
  if (op == "Sqrt")
    return visitSqrt();
  if (op == "Gather")
    return visitGather();
  if (op == "Slice")
    return visitSlice();
  if (op == "Split")
    return visitSplit();
  if (op == "Where")
    return visitWhere();
  if (op == "LayerNormalization")
    return visitLayerNormalization();
  if (op == "Unsqueeze" || op == "Squeeze") {
    FailureOr<Value> x = tensor(input(0));
    if (failed(x))
      return failure();
    FailureOr<SmallVector<int64_t>> shape = squeezedShape(shapeOf(*x));
    if (failed(shape))
      return failure();
    return reshape(*x, *shape);
  }
  if (op == "Cast") {
    FailureOr<Value> x = tensor(input(0));
    if (failed(x))
      return failure();
    if (intAttr("to", 0) != onnx::TensorProto::FLOAT ||
        !cast<RankedTensorType>(x->getType()).getElementType().isF32())
      return unsupportedAttr("to", intAttr("to", 0))
             << " on " << x->getType()
             << " (nnc casts only float to float, on computed values)";
    return define(0, *x);
  }
  if (op == "ReduceMean")
    return visitReduceMean();
  if (op == "Relu" || op == "Sigmoid" || op == "Tanh" || op == "LeakyRelu")
    return visitActivation();
  if (op == "Softmax" || op == "LogSoftmax")
    return visitSoftmax(op == "LogSoftmax");
  if (op == "SoftmaxCrossEntropyLoss" || op == "NegativeLogLikelihoodLoss")
    return visitCrossEntropy(op == "NegativeLogLikelihoodLoss");
  if (op == "Conv")
    return visitConv();
  if (op == "BatchNormalization")
    return visitBatchNormalization();
  if (op == "Pad")
    return visitPad();
  if (op == "MaxPool" || op == "AveragePool")
    return visitPool(op == "MaxPool");
  if (op == "GlobalAveragePool")
    return visitGlobalAveragePool();
  if (op == "Flatten")
    return visitFlatten();
  if (op == "Reshape")
    return visitReshape();
  if (op == "Identity")
    return untiedNames.contains(n.output(0)) ? success() : alias(input(0));
  if (op == "Dropout")
    return visitDropout();
  if (op == "Constant")
    return visitConstant();
  return error() << "unsupported op '" << op << "'";
}

//===----------------------------------------------------------------------===//
// Functions
//===----------------------------------------------------------------------===//

FailureOr<func::FuncOp> Importer::build(ModuleOp module, StringRef name,
                                        bool forPredict) {
  predict = forPredict;
  tensors.clear();
  partials.clear();
  views.clear();
  loss = prediction = Value();
  lossTargets.clear();
  dropoutSeed = 0;
  nodeLoc = fileLoc;
  g.emplace(module, name, fileLoc);
  func::FuncOp fn = g->getFunction();

  for (auto [v, type] : llvm::zip(dataInputs, dataTypes)) {
    Value arg =
        g->input(type.getShape(), type.getElementType(), cNames[v->name()]);
    g->setArgAttr(arg, NNDialect::getSourceNameAttrName(),
                  StringAttr::get(&ctx, v->name()));
    tensors[v->name()] = arg;
  }
  auto addParam = [&](const std::string &name, const onnx::TensorProto *t) {
    SmallVector<int64_t> shape(t->dims().begin(), t->dims().end());
    // The predict function reads the parameters; it does not train them.
    // A batch norm's running statistics are not trained by gradients: the
    // training step returns their update.
    bool runningStat = runningStats.contains(name);
    Value arg = predict || runningStat ? g->input(shape, {}, cNames[name])
                                       : g->param(shape, cNames[name]);
    if (runningStat && !predict)
      g->setArgAttr(arg, NNDialect::getRunningStatAttrName(),
                    UnitAttr::get(&ctx));
    g->setArgAttr(arg, NNDialect::getSourceNameAttrName(),
                  StringAttr::get(&ctx, name));
    tensors[name] = arg;
  };
  for (const onnx::TensorProto *t : params)
    addParam(t->name(), t);
  for (auto &[name, t] : untied)
    addParam(name, t);

  for (int i = 0; i < graph.node_size(); ++i)
    if (failed(visit(i)))
      return failure();
  current = -1;
  nodeLoc = fileLoc;
  g->setLocation(fileLoc);

  FailureOr<func::FuncOp> built;
  const std::string &out = graph.output(0).name();
  if (predict) {
    Value result = prediction;
    // A classifier ending in LogSoftmax predicts its logits (the same
    // argmax).
    if (Partial *p = partial(out);
        !result && p && p->kind == Partial::Kind::LogSoftmax)
      result = p->a;
    if (!result) {
      FailureOr<Value> v = tensor(out);
      if (failed(v))
        return failure();
      result = *v;
    }
    built = g->finish(result);
  } else if (failed(finishModel(built))) {
    return failure();
  }
  if (failed(built))
    return failure();

  // Views and materialized partials a later pattern went around.
  for (Operation &op : llvm::make_early_inc_range(
           llvm::reverse(fn.getBody().front().getOperations())))
    if (isOpTriviallyDead(&op))
      op.erase();

  // What nothing reads is no argument: initializers only read as constants,
  // the predict function's labels, graph inputs no node reads (an exporter
  // may list thousands; LLVM's code generation is superlinear in a
  // function's arguments).
  llvm::BitVector unused(fn.getNumArguments());
  for (BlockArgument arg : fn.getArguments())
    if (arg.use_empty())
      unused.set(arg.getArgNumber());
  fn.eraseArguments(unused);
  return fn;
}

LogicalResult Importer::finishModel(FailureOr<func::FuncOp> &built) {
  const onnx::ValueInfoProto &out = graph.output(0);
  if (loss) {
    if (options.loss)
      return emitError(fileLoc)
             << "the graph computes its loss already: do not ask for one "
                "to be appended (--loss)";
    auto it = tensors.find(out.name());
    if (it == tensors.end() || it->second != loss)
      return emitError(fileLoc)
             << "the graph's output '" << out.name() << "' is not its loss";
    built = g->finish(loss);
    return success();
  }
  // A classifier ending in LogSoftmax (trained with NLL): its loss is the
  // cross-entropy of the LogSoftmax's input, for --loss=nll and for
  // --loss=cross-entropy alike (log-softmax of log-probabilities changes
  // nothing).
  FailureOr<Value> y = failure();
  Partial *logProbs = partial(out.name());
  bool fromLogSoftmax =
      logProbs && logProbs->kind == Partial::Kind::LogSoftmax && options.loss &&
      *options.loss != Loss::MSE;
  if (fromLogSoftmax)
    y = logProbs->a;
  else if (options.loss && *options.loss == Loss::NLL)
    return emitError(fileLoc)
           << "--loss=nll reads log-probabilities: the graph's output '"
           << out.name() << "' must be a LogSoftmax";
  else
    y = tensor(out.name());
  if (failed(y))
    return failure();
  auto type = cast<RankedTensorType>(y->getType());
  if (!options.loss)
    return emitError(fileLoc)
           << "the graph's output '" << out.name() << "' of type " << type
           << " is not a loss: export the model with its loss, or have nnc "
              "append one (--loss=mse|cross-entropy; nnc-translate: "
              "--onnx-loss)";
  // The label or target input follows the graph's own inputs.
  unsigned index = dataInputs.size();
  bool ce = *options.loss != Loss::MSE;
  if (appendedName.empty())
    appendedName = uniqueName(ce ? "labels" : "targets", "x");
  Type targetType =
      ce ? RankedTensorType::get({type.getRank() ? type.getDimSize(0) : 1},
                                 IntegerType::get(&ctx, 64))
         : Type(type);
  Value target = g->input(cast<ShapedType>(targetType).getShape(),
                          cast<ShapedType>(targetType).getElementType(),
                          appendedName, index);
  built = g->finish(ce ? g->crossEntropy(*y, target) : g->mseLoss(*y, target));
  return success();
}

FailureOr<ImportedModel> Importer::run() {
  // Every error at a node names it and its op type, whoever reports it (the
  // importer, or an op's shape inference through GraphBuilder).
  bool inHandler = false;
  ScopedDiagnosticHandler prefix(&ctx, [&](Diagnostic &diag) {
    auto name = dyn_cast<NameLoc>(diag.getLocation());
    if (inHandler || !name || name.getChildLoc() != fileLoc ||
        diag.getSeverity() != DiagnosticSeverity::Error)
      return failure(); // to the next handler, unchanged
    inHandler = true;
    emitError(diag.getLocation())
        << "node '" << name.getName().getValue() << "' ("
        << nodeOps.lookup(name.getName()) << "): " << diag.str();
    inHandler = false;
    return success();
  });

  if (failed(collect()))
    return failure();
  std::string name = options.name;
  if (name.empty())
    name = cIdentifier(llvm::sys::path::stem(file), "m");
  // A file named int.onnx: the model function must not be a keyword.
  if (::nnc::isReservedCName(name))
    name += "_model";
  ImportedModel result;
  result.module = ModuleOp::create(fileLoc);
  FailureOr<func::FuncOp> model = build(*result.module, name, false);
  if (failed(model))
    return failure();
  if (options.predict && failed(build(*result.module, name + "_predict", true)))
    return failure();
  if (options.predict) {
    auto fn = result.module->lookupSymbol<func::FuncOp>(name + "_predict");
    fn->setAttr(NNDialect::getEntryAttrName(),
                EntryRoleAttr::get(&ctx, EntryRole::Predict));
  }

  for (BlockArgument arg : model->getArguments()) {
    unsigned i = arg.getArgNumber();
    if (!model->getArgAttr(i, NNDialect::getParamAttrName()) &&
        !model->getArgAttr(i, NNDialect::getRunningStatAttrName()))
      continue;
    StringRef source = getArgSourceName(*model, i);
    const onnx::TensorProto *t = initializers.lookup(source);
    NamedTensor w;
    w.name = source.str();
    w.shape.assign(t->dims().begin(), t->dims().end());
    w.data = decodeFloats(*t);
    // A NaN or infinite initial weight makes every loss NaN: refused with
    // where it is, as a weights file's is.
    for (auto [k, v] : llvm::enumerate(w.data))
      if (!std::isfinite(v))
        return emitError(fileLoc)
               << "initializer '" << w.name << "' holds a non-finite value ("
               << v << ") at element " << k;
    result.initialWeights.tensors.push_back(std::move(w));
  }
  return result;
}

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

FailureOr<ImportedModel>
mlir::nnc::importONNXBuffer(MLIRContext &context, StringRef bytes,
                            StringRef fileName,
                            const ONNXImportOptions &options) {
  context.getOrLoadDialect<NNDialect>();
  context.getOrLoadDialect<func::FuncDialect>();
  Location fileLoc = FileLineColLoc::get(&context, fileName, 0, 0);
  onnx::ModelProto model;
  if (failed(readModel(bytes, fileLoc, model)))
    return failure();
  return Importer(context, model, fileName, options).run();
}

FailureOr<ImportedModel>
mlir::nnc::importONNX(MLIRContext &context, StringRef path,
                      const ONNXImportOptions &options) {
  // The location names the file; the message says why it cannot be read.
  Location fileLoc = FileLineColLoc::get(&context, path, 0, 0);
  if (std::optional<std::string> why = ::nnc::whyNotRegularFile(path))
    return emitError(fileLoc) << "cannot read the file: " << *why;
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return emitError(fileLoc)
           << "cannot read the file: " << buffer.getError().message();
  return importONNXBuffer(context, (*buffer)->getBuffer(), path, options);
}
