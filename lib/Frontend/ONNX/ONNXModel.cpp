//===- ONNXModel.cpp - read and check an ONNX protobuf --------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// The only file of nnc built with exceptions enabled that catches them:
// libonnx's checker reports by throwing, so every call into it is wrapped
// here and turned into a diagnostic.
//
//===----------------------------------------------------------------------===//

#include "ONNXModel.h"

#include <onnx/checker.h>

#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Endian.h"

#include <climits>
#include <cstring>
#include <exception>

using namespace mlir;
using namespace mlir::nnc::onnx_import;
using llvm::StringRef;
using llvm::Twine;

std::string mlir::nnc::onnx_import::nodeLabel(const onnx::NodeProto &node,
                                              int index) {
  if (!node.name().empty())
    return "'" + node.name() + "'";
  return "#" + std::to_string(index);
}

/// Bytes per element of raw_data, 0 for types raw_data cannot hold.
static size_t elementSize(int32_t type) {
  switch (type) {
  case onnx::TensorProto::FLOAT:
  case onnx::TensorProto::INT32:
  case onnx::TensorProto::UINT32:
    return 4;
  case onnx::TensorProto::DOUBLE:
  case onnx::TensorProto::INT64:
  case onnx::TensorProto::UINT64:
  case onnx::TensorProto::COMPLEX64:
    return 8;
  case onnx::TensorProto::COMPLEX128:
    return 16;
  case onnx::TensorProto::FLOAT16:
  case onnx::TensorProto::BFLOAT16:
  case onnx::TensorProto::INT16:
  case onnx::TensorProto::UINT16:
    return 2;
  case onnx::TensorProto::INT8:
  case onnx::TensorProto::UINT8:
  case onnx::TensorProto::BOOL:
    return 1;
  default:
    return 0;
  }
}

/// How many entries of its typed field a tensor of `n` elements has.
static int64_t typedFieldCount(const onnx::TensorProto &t) {
  switch (t.data_type()) {
  case onnx::TensorProto::FLOAT:
    return t.float_data_size();
  case onnx::TensorProto::COMPLEX64:
    return t.float_data_size() / 2;
  case onnx::TensorProto::DOUBLE:
    return t.double_data_size();
  case onnx::TensorProto::COMPLEX128:
    return t.double_data_size() / 2;
  case onnx::TensorProto::INT64:
    return t.int64_data_size();
  case onnx::TensorProto::UINT32:
  case onnx::TensorProto::UINT64:
    return t.uint64_data_size();
  default: // the 8- and 16-bit types and int32 live in int32_data
    return t.int32_data_size();
  }
}

namespace {
/// Validates what libonnx would otherwise trust, and the graph's structure.
class Validator {
public:
  explicit Validator(Location loc) : loc(loc) {}

  LogicalResult tensor(const onnx::TensorProto &t, StringRef where);
  LogicalResult graph(const onnx::GraphProto &g, int depth);
  LogicalResult structure(const onnx::GraphProto &g);

private:
  InFlightDiagnostic error() { return emitError(loc); }
  Location loc;
};
} // namespace

LogicalResult Validator::tensor(const onnx::TensorProto &t, StringRef where) {
  std::string name = "tensor '" + t.name() + "' (" + where.str() + ")";
  if (t.data_location() == onnx::TensorProto::EXTERNAL ||
      t.external_data_size())
    return error() << name
                   << " keeps its data in an external file, which nnc does "
                      "not read; save the model with its data inside";
  int32_t type = t.data_type();
  if (!onnx::TensorProto_DataType_IsValid(type) ||
      type == onnx::TensorProto::UNDEFINED || type == onnx::TensorProto::STRING)
    return error() << name << " has unsupported data type " << type;
  // Element counts are bounded so that no product overflows and no
  // allocation follows a corrupt dimension: 2^40 elements is far beyond any
  // feedforward layer nnc compiles.
  constexpr uint64_t kMaxElements = uint64_t(1) << 40;
  uint64_t n = 1;
  for (int64_t d : t.dims()) {
    if (d < 0)
      return error() << name << " has a negative dimension " << d;
    if (d > 0 && n > kMaxElements / uint64_t(d))
      return error() << name << " has more than 2^40 elements";
    n *= uint64_t(d);
  }
  if (t.has_raw_data()) {
    size_t size = elementSize(type);
    if (size == 0 || t.raw_data().size() != n * size)
      return error() << name << " has " << t.raw_data().size()
                     << " bytes of raw data, but its shape and type need "
                     << n * size;
    return success();
  }
  if (uint64_t(typedFieldCount(t)) != n)
    return error() << name << " holds " << typedFieldCount(t)
                   << " values, but its shape needs " << n;
  return success();
}

LogicalResult Validator::graph(const onnx::GraphProto &g, int depth) {
  if (depth > 8)
    return error() << "subgraphs nested more than 8 deep";
  if (g.sparse_initializer_size())
    return error() << "sparse initializers are not supported";
  for (const onnx::TensorProto &t : g.initializer())
    if (failed(tensor(t, "an initializer")))
      return failure();
  for (int i = 0; i < g.node_size(); ++i) {
    const onnx::NodeProto &node = g.node(i);
    std::string where = "of node " + nodeLabel(node, i);
    for (const onnx::AttributeProto &a : node.attribute()) {
      if (a.has_sparse_tensor() || a.sparse_tensors_size())
        return error() << "attribute '" << a.name() << "' " << where
                       << ": sparse tensors are not supported";
      if (a.has_t() &&
          failed(tensor(a.t(), "attribute '" + a.name() + "' " + where)))
        return failure();
      for (const onnx::TensorProto &t : a.tensors())
        if (failed(tensor(t, "attribute '" + a.name() + "' " + where)))
          return failure();
      if (a.has_g() && failed(graph(a.g(), depth + 1)))
        return failure();
      for (const onnx::GraphProto &sub : a.graphs())
        if (failed(graph(sub, depth + 1)))
          return failure();
    }
  }
  return success();
}

LogicalResult Validator::structure(const onnx::GraphProto &g) {
  // Where each value comes from: -1 a graph input or initializer, else the
  // index of the node that produces it.
  llvm::StringMap<int> definedBy;
  auto define = [&](const std::string &name, int by) -> LogicalResult {
    if (name.empty())
      return success(); // an omitted optional output
    auto [it, inserted] = definedBy.try_emplace(name, by);
    if (inserted || (by < 0 && it->second < 0))
      return success(); // an initializer may also be listed as an input
    InFlightDiagnostic d = error() << "value '" << name << "' is defined twice";
    if (by >= 0)
      d << " (by node " << nodeLabel(g.node(by), by) << ")";
    return d;
  };
  for (const onnx::ValueInfoProto &v : g.input())
    if (failed(define(v.name(), -1)))
      return failure();
  for (const onnx::TensorProto &t : g.initializer())
    if (failed(define(t.name(), -1)))
      return failure();
  for (int i = 0; i < g.node_size(); ++i)
    for (const std::string &out : g.node(i).output())
      if (failed(define(out, i)))
        return failure();

  // Every input defined somewhere; then Kahn's algorithm: nodes left over
  // once nothing more becomes ready lie on (or behind) a cycle.
  std::vector<int> pending(g.node_size(), 0);
  std::vector<std::vector<int>> users(g.node_size());
  for (int i = 0; i < g.node_size(); ++i) {
    const onnx::NodeProto &node = g.node(i);
    for (const std::string &in : node.input()) {
      if (in.empty())
        continue; // an omitted optional input
      auto it = definedBy.find(in);
      if (it == definedBy.end())
        return error() << "node " << nodeLabel(node, i) << " ("
                       << node.op_type() << ") reads '" << in
                       << "', which no node, graph input or initializer "
                          "defines";
      if (it->second >= 0) {
        ++pending[i];
        users[it->second].push_back(i);
      }
    }
  }
  std::vector<int> ready;
  for (int i = 0; i < g.node_size(); ++i)
    if (!pending[i])
      ready.push_back(i);
  int done = 0;
  while (!ready.empty()) {
    int i = ready.back();
    ready.pop_back();
    ++done;
    for (int u : users[i])
      if (--pending[u] == 0)
        ready.push_back(u);
  }
  if (done != g.node_size())
    for (int i = 0; i < g.node_size(); ++i)
      if (pending[i])
        return error() << "the graph has a cycle: node "
                       << nodeLabel(g.node(i), i) << " (" << g.node(i).op_type()
                       << ") depends on its own output";
  for (const onnx::ValueInfoProto &v : g.output())
    if (!definedBy.count(v.name()))
      return error() << "graph output '" << v.name()
                     << "' is not computed by any node";
  return success();
}

LogicalResult mlir::nnc::onnx_import::readModel(StringRef bytes,
                                                Location fileLoc,
                                                onnx::ModelProto &model) {
  if (bytes.size() > size_t(INT_MAX))
    return emitError(fileLoc)
           << "file of " << bytes.size() << " bytes is too large for protobuf";
  if (!model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return emitError(fileLoc)
           << "not a valid ONNX model: the protobuf is malformed or "
              "truncated ("
           << bytes.size() << " bytes)";
  if (!model.has_graph())
    return emitError(fileLoc) << "not a valid ONNX model: it has no graph";

  int64_t opset = -1;
  for (const onnx::OperatorSetIdProto &op : model.opset_import())
    if (op.domain().empty() || op.domain() == "ai.onnx")
      opset = op.version();
  if (opset < 0)
    return emitError(fileLoc) << "the model imports no default-domain opset";
  if (opset < kMinOpset || opset > kMaxOpset)
    return emitError(fileLoc)
           << "opset " << opset << " is not supported (nnc imports opsets "
           << kMinOpset << " to " << kMaxOpset
           << "; export with torch.onnx.export(..., opset_version=" << kMaxOpset
           << "))";

  Validator v(fileLoc);
  if (failed(v.graph(model.graph(), 0)) || failed(v.structure(model.graph())))
    return failure();

  // libonnx's own checks: schemas, attribute types, input counts, IR
  // version. It throws ValidationError (a std::runtime_error).
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception &e) {
    // One line: libonnx appends its context after blank lines.
    SmallVector<StringRef> lines;
    StringRef(e.what()).split(lines, '\n', -1, /*KeepEmpty=*/false);
    InFlightDiagnostic d = emitError(fileLoc) << "invalid ONNX model: ";
    for (auto [i, line] : llvm::enumerate(lines))
      d << (i ? "; " : "") << line.trim().ltrim("=> ");
    return d;
  } catch (...) {
    return emitError(fileLoc) << "invalid ONNX model";
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Constants
//===----------------------------------------------------------------------===//

bool ConstantValues::isFloat() const {
  return dataType == onnx::TensorProto::FLOAT ||
         dataType == onnx::TensorProto::DOUBLE;
}

int64_t ConstantValues::numElements() const {
  int64_t n = 1;
  for (int64_t d : dims)
    n *= d;
  return n;
}

template <typename T> static T readLE(const char *p) {
  return llvm::support::endian::read<T, llvm::endianness::little>(p);
}

ConstantValues
mlir::nnc::onnx_import::decodeTensor(const onnx::TensorProto &t) {
  ConstantValues c;
  c.dataType = t.data_type();
  c.dims.assign(t.dims().begin(), t.dims().end());
  int64_t n = c.numElements();
  const std::string &raw = t.raw_data();
  bool hasRaw = t.has_raw_data();
  for (int64_t i = 0; i < n; ++i) {
    const char *p = hasRaw ? raw.data() + i * elementSize(c.dataType) : nullptr;
    switch (c.dataType) {
    case onnx::TensorProto::FLOAT:
      c.floats.push_back(hasRaw ? readLE<float>(p) : t.float_data(i));
      break;
    case onnx::TensorProto::DOUBLE:
      c.floats.push_back(hasRaw ? readLE<double>(p) : t.double_data(i));
      break;
    case onnx::TensorProto::INT64:
      c.ints.push_back(hasRaw ? readLE<int64_t>(p) : t.int64_data(i));
      break;
    case onnx::TensorProto::INT32:
      c.ints.push_back(hasRaw ? readLE<int32_t>(p) : t.int32_data(i));
      break;
    case onnx::TensorProto::BOOL:
    case onnx::TensorProto::UINT8:
      c.ints.push_back(hasRaw ? static_cast<uint8_t>(*p) : t.int32_data(i));
      break;
    case onnx::TensorProto::INT8:
      c.ints.push_back(hasRaw ? static_cast<int8_t>(*p) : t.int32_data(i));
      break;
    default:
      // Other types hold nothing the importer reads as a constant; their
      // users report them as unsupported.
      return c;
    }
  }
  return c;
}

std::vector<float>
mlir::nnc::onnx_import::decodeFloats(const onnx::TensorProto &t) {
  ConstantValues c = decodeTensor(t);
  return std::vector<float>(c.floats.begin(), c.floats.end());
}
