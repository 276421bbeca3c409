//===- ONNXImport.cpp - ONNX graphs to nn model functions -----------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// Maps what PyTorch's exporter writes for feedforward networks onto nn ops,
// node by node in graph order. A few ONNX ops are not nn ops on their own
// but the first steps of a pattern that is one: MatMul by a transposed
// weight then Add of a bias (nn.linear), Sub then Mul/Pow then ReduceMean
// (nn.mse_loss), LogSoftmax then NegativeLogLikelihoodLoss
// (nn.cross_entropy), and GELU's erf form. Such a step leaves a Partial
// value; the pattern's next node consumes it, and any other use reports
// the step as unsupported.
//
//===----------------------------------------------------------------------===//

#include "nnc/Frontend/ONNX.h"

#include "ONNXModel.h"

#include "nnc/Dialect/NN/IR/NNOps.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/MemoryBuffer.h"
#include "nnc/Support/CNames.h"
#include "nnc/Support/Files.h"
#include "llvm/Support/Path.h"

#include <cmath>
#include <cstdio>

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
    Transposed,     // Transpose(w): a weight for MatMul
    Linear,         // MatMul(x, Transpose(w)) = x·wᵀ, awaiting a bias
    Difference,     // Sub(a, b): an MSE error
    Square,         // (a - b)²
    LogSoftmax,     // LogSoftmax(z): NLL's input
    GeluScaled,     // x / √2
    GeluErf,        // erf(x / √2)
    GeluErfPlusOne, // 1 + erf(x / √2)
    GeluUnhalved,   // x · (1 + erf(x / √2))
    Padded,         // Pad(x) with zeros around the plane: a Conv's or an
                    // AveragePool's padding, in `pads`
  } kind;
  Value a, b;
  /// Padded: [top, left, bottom, right].
  SmallVector<int64_t, 4> pads;
  /// The node that made it, for errors.
  int node;
};

StringRef describe(Partial::Kind kind) {
  switch (kind) {
  case Partial::Kind::Transposed:
    return "a Transpose, which nnc supports only for the weight of a MatMul";
  case Partial::Kind::Linear:
    return "a MatMul";
  case Partial::Kind::Difference:
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
  default:
    return "part of GELU, which nnc supports only in its erf form "
           "0.5 * x * (1 + erf(x / sqrt(2)))";
  }
}

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
    partials[node().output(0)] = Partial{kind, a, b, {}, current};
    return success();
  }
  LogicalResult alias(const std::string &from, int output = 0);
  LogicalResult reshape(Value v, ArrayRef<int64_t> shape);
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
    if (p->kind == Partial::Kind::Linear) {
      // x·wᵀ with no bias after all.
      Value v = g->linear(p->a, p->b);
      if (!v)
        return failure();
      return tensors[name] = v;
    }
    const onnx::NodeProto &n = graph.node(p->node);
    return error() << "reads '" << name << "', the output of " << n.op_type()
                   << " node " << nodeLabel(n, p->node) << ": that is "
                   << describe(p->kind);
  }
  if (constants.count(name))
    return error() << "reads the constant '" << name
                   << "' as a tensor operand, which nnc does not support";
  return error() << "reads '" << name << "', which nnc has no value for";
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
    return define(0, g->reshape(v, shape));
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

LogicalResult Importer::visitMatMul() {
  // A bias-free Linear exported without constant folding is MatMul(x,
  // Transpose(W)): nn.linear on the weight as PyTorch stores it.
  Partial *pa = partial(input(0)), *pb = partial(input(1));
  if (pb && pb->kind == Partial::Kind::Transposed) {
    FailureOr<Value> a = tensor(input(0));
    if (failed(a))
      return failure();
    return definePartial(Partial::Kind::Linear, *a, pb->a);
  }
  if (pa && pa->kind == Partial::Kind::Transposed) {
    FailureOr<Value> b = tensor(input(1));
    if (failed(b))
      return failure();
    return define(0, g->matmul(pa->a, *b, /*transposeA=*/true));
  }
  FailureOr<Value> a = tensor(input(0)), b = tensor(input(1));
  if (failed(a) || failed(b))
    return failure();
  return define(0, g->matmul(*a, *b));
}

LogicalResult Importer::visitTranspose() {
  FailureOr<Value> x = tensor(input(0));
  if (failed(x))
    return failure();
  auto type = cast<RankedTensorType>(x->getType());
  const onnx::AttributeProto *perm = attr("perm");
  bool swap = type.getRank() == 2 &&
              (!perm || (perm->ints_size() == 2 && perm->ints(0) == 1 &&
                         perm->ints(1) == 0));
  if (!swap) {
    std::string p;
    if (perm)
      for (int i = 0; i < perm->ints_size(); ++i)
        p += (i ? "," : "") + std::to_string(perm->ints(i));
    return unsupportedAttr("perm", "[" + p + "]")
           << " on " << type << " (nnc transposes 2-D weights only)";
  }
  return definePartial(Partial::Kind::Transposed, *x);
}

LogicalResult Importer::visitAdd() {
  Partial *pa = partial(input(0)), *pb = partial(input(1));
  auto isOne = [&](const std::string &name) { return scalar(name) == 1.0; };
  for (auto [p, other] : {std::pair{pa, input(1)}, std::pair{pb, input(0)}}) {
    if (p && p->kind == Partial::Kind::GeluErf && isOne(other))
      return definePartial(Partial::Kind::GeluErfPlusOne, p->a);
    if (p && p->kind == Partial::Kind::Linear && !partial(other)) {
      // MatMul then a bias [out]: nn.linear with its bias.
      FailureOr<Value> bias = tensor(other);
      if (failed(bias))
        return failure();
      if (cast<RankedTensorType>(bias->getType()).getRank() == 1)
        return define(0, g->linear(p->a, p->b, *bias));
    }
  }
  FailureOr<Value> a = tensor(input(0)), b = tensor(input(1));
  if (failed(a) || failed(b))
    return failure();
  if (a->getType() != b->getType())
    return error() << "broadcasts " << a->getType() << " and " << b->getType()
                   << "; nnc adds tensors of one type, and a vector only as "
                      "the bias of a MatMul";
  return define(0, g->add(*a, *b));
}

LogicalResult Importer::visitSub() {
  FailureOr<Value> a = tensor(input(0)), b = tensor(input(1));
  if (failed(a) || failed(b))
    return failure();
  return definePartial(Partial::Kind::Difference, *a, *b);
}

LogicalResult Importer::visitMul() {
  Partial *pa = partial(input(0)), *pb = partial(input(1));
  if (pa && pa->kind == Partial::Kind::Difference && input(0) == input(1))
    return definePartial(Partial::Kind::Square, pa->a, pa->b);
  for (auto [p, other] : {std::pair{pa, input(1)}, std::pair{pb, input(0)}}) {
    if (!p)
      continue;
    if (p->kind == Partial::Kind::GeluErfPlusOne) {
      auto it = tensors.find(other);
      if (it != tensors.end() && it->second == p->a)
        return definePartial(Partial::Kind::GeluUnhalved, p->a);
    }
    if (p->kind == Partial::Kind::GeluUnhalved && scalar(other) == 0.5)
      return define(0, g->gelu(p->a));
  }
  return error() << "unsupported use of Mul: nnc maps it only as the square "
                    "of an MSE loss's error, (p - t) * (p - t), and within "
                    "GELU's erf form (not its tanh approximation)";
}

LogicalResult Importer::visitPow() {
  Partial *p = partial(input(0));
  if (p && p->kind == Partial::Kind::Difference && scalar(input(1)) == 2.0)
    return definePartial(Partial::Kind::Square, p->a, p->b);
  return error() << "unsupported use of Pow: nnc maps it only as the square "
                    "of an MSE loss's error, (p - t) ** 2";
}

LogicalResult Importer::visitDiv() {
  std::optional<double> c = scalar(input(1));
  if (c && std::abs(*c - std::sqrt(2.0)) < 1e-6) {
    FailureOr<Value> x = tensor(input(0));
    if (failed(x))
      return failure();
    return definePartial(Partial::Kind::GeluScaled, *x);
  }
  return error() << "unsupported use of Div: nnc maps it only within GELU's "
                    "erf form, x / sqrt(2)";
}

LogicalResult Importer::visitErf() {
  Partial *p = partial(input(0));
  if (p && p->kind == Partial::Kind::GeluScaled)
    return definePartial(Partial::Kind::GeluErf, p->a);
  return error() << "unsupported use of Erf: nnc maps it only within GELU's "
                    "erf form, erf(x / sqrt(2))";
}

LogicalResult Importer::visitReduceMean() {
  Partial *p = partial(input(0));
  if (!p || p->kind != Partial::Kind::Square) {
    // x.mean((2, 3)) on [N, C, H, W]: global average pooling.
    const onnx::AttributeProto *axes = attr("axes");
    auto x = tensors.find(input(0));
    if (x != tensors.end() && axes && axes->ints_size() == 2 &&
        cast<RankedTensorType>(x->second.getType()).getRank() == 4) {
      llvm::SmallDenseSet<int64_t> seen;
      for (int64_t axis : axes->ints())
        seen.insert(axis < 0 ? axis + 4 : axis);
      if (seen.contains(2) && seen.contains(3))
        return globalAveragePool(x->second, intAttr("keepdims", 1) != 0);
    }
    return error() << "unsupported use of ReduceMean: nnc maps it as the "
                      "mean of a squared error (an MSE loss) and as the mean "
                      "over the spatial axes (2, 3) of [N, C, H, W]";
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
  FailureOr<Value> x = tensor(input(0));
  if (failed(x))
    return failure();
  int64_t rank = cast<RankedTensorType>(x->getType()).getRank();
  int64_t axis = intAttr("axis", -1);
  if (rank != 2 || (axis != -1 && axis != 1))
    return unsupportedAttr("axis", axis)
           << " on a rank-" << rank
           << " tensor (nnc's softmax runs over the last axis of [batch, "
              "classes])";
  if (log)
    return definePartial(Partial::Kind::LogSoftmax, *x);
  return define(0, g->softmax(*x));
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
  const ConstantValues *c = constant(input(1));
  if (!c || c->isFloat() || c->dims.size() != 1)
    return error() << "takes its shape from '" << input(1)
                   << "', which is not a constant 1-D integer tensor";
  ArrayRef<int64_t> in = cast<RankedTensorType>(x->getType()).getShape();
  bool allowZero = intAttr("allowzero", 0) != 0;
  SmallVector<int64_t> shape;
  int64_t known = 1, inferred = -1, total = 1;
  for (int64_t d : in)
    total *= d;
  for (auto [i, value] : llvm::enumerate(c->ints)) {
    int64_t d = value;
    if (d == 0 && !allowZero) {
      if (i >= in.size())
        return error() << "copies dimension " << i << " of a rank-" << in.size()
                       << " input";
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
  }
  return reshape(*x, shape);
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
  partials[node().output(0)] =
      Partial{Partial::Kind::Padded, *x, {}, {p[2], p[3], p[6], p[7]}, current};
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
  return define(0, keepDims ? pooled : g->reshape(pooled, shape.take_front(2)));
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
  FailureOr<Value> x = tensor(input(0));
  if (failed(x))
    return failure();
  // nnc draws the mask from (seed, index); an explicit ONNX seed picks it,
  // else dropouts are seeded 1, 2, ... in graph order, as buildMLP does.
  ++dropoutSeed;
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
    return alias(input(0));
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
  for (const onnx::TensorProto *t : params) {
    SmallVector<int64_t> shape(t->dims().begin(), t->dims().end());
    // The predict function reads the parameters; it does not train them.
    // A batch norm's running statistics are not trained by gradients: the
    // training step returns their update.
    bool runningStat = runningStats.contains(t->name());
    Value arg = predict || runningStat ? g->input(shape, {}, cNames[t->name()])
                                       : g->param(shape, cNames[t->name()]);
    if (runningStat && !predict)
      g->setArgAttr(arg, NNDialect::getRunningStatAttrName(),
                    UnitAttr::get(&ctx));
    g->setArgAttr(arg, NNDialect::getSourceNameAttrName(),
                  StringAttr::get(&ctx, t->name()));
    tensors[t->name()] = arg;
  }

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
    const onnx::TensorProto *t =
        initializers.lookup(getArgSourceName(*model, i));
    NamedTensor w;
    w.name = t->name();
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
