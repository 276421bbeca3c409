//===- Landscape.cpp - loss along lines and planes in weight space --------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Training/Landscape.h"

#include "nnc/Training/Classifier.h"
#include <algorithm>
#include <cmath>
#include <random>

using namespace mlir;
using namespace mlir::nnc;

llvm::Expected<std::unique_ptr<LossEvaluator>>
LossEvaluator::create(OwningOpRef<ModuleOp> module) {
  // Forward functions only: no gradient, no plan.
  CompileOptions options;
  options.autodiff = false;
  std::unique_ptr<LossEvaluator> e(new LossEvaluator());
  FailureOr<CompiledModel> compiled = compileForCPU(std::move(module), options);
  if (failed(compiled))
    return llvm::createStringError("compilation failed");
  e->compiled = std::move(*compiled);
  auto jit = JITModule::create(*e->compiled.module);
  if (!jit)
    return jit.takeError();
  e->jit = std::move(*jit);
  e->lossFn = e->compiled.find(EntryRole::Loss);
  e->predict = e->compiled.find(EntryRole::Predict);
  if (!e->lossFn)
    return llvm::createStringError("the model has no loss function");
  const EntryPoint &l = *e->lossFn;
  // Running statistics are read like parameters (the inference function
  // normalizes with them) and come from the same weights file.
  auto isWeight = [](const BufferInfo &b) {
    return b.isParam || b.isRunningStat;
  };
  std::optional<ClassifierInputs> data = findClassifierInputs(l);
  if (!data || l.outputs.empty() || !l.outputs[0].shape.empty())
    return llvm::createStringError(
        "the landscape needs a classifier: inputs x float[batch, "
        "features...] and labels int32 or int64[batch], then the "
        "parameters, and the loss first among the results");
  e->batch = data->batch;
  e->features = data->features;
  e->labelsAreI64 = data->labelsAreI64;
  e->x.resize(e->batch * e->features);
  e->labels.resize(e->batch);
  e->wideLabels.resize(e->labelsAreI64 ? e->batch : 0);
  for (const BufferInfo &b : l.inputs)
    if (isWeight(b)) {
      e->names.push_back(b.name);
      e->shapes.push_back(b.shape);
      e->params.emplace_back(b.bytes / 4, 0.0f);
    }
  size_t p = 0;
  for (const BufferInfo &b : l.inputs)
    e->lossBuffers.push_back(
        isWeight(b)       ? (void *)e->params[p++].data()
        : &b == data->x   ? (void *)e->x.data()
        : e->labelsAreI64 ? (void *)e->wideLabels.data()
                          : (void *)e->labels.data());
  e->lossBuffers.push_back(&e->loss);
  for (const BufferInfo &b : llvm::ArrayRef(l.outputs).drop_front()) {
    e->extraOutputs.emplace_back((b.bytes + 3) / 4, 0.0f);
    e->lossBuffers.push_back(e->extraOutputs.back().data());
  }
  if (e->predict) {
    const BufferInfo &o = e->predict->outputs[0];
    e->classes = o.shape.size() == 2 ? o.shape[1] : 0;
    e->out.resize(o.bytes / 4);
    for (const BufferInfo &b : e->predict->inputs) {
      if (&b == &e->predict->inputs[0]) {
        e->predictBuffers.push_back(e->x.data());
        continue;
      }
      auto it = llvm::find(e->names, b.name);
      if (it == e->names.end())
        return llvm::createStringError(
            "the inference function's input '" + b.name +
            "' is not a parameter of the loss function");
      e->predictBuffers.push_back(e->params[it - e->names.begin()].data());
    }
    e->predictBuffers.push_back(e->out.data());
  }
  for (const EntryPoint *entry : {e->lossFn, e->predict})
    if (entry)
      if (llvm::Error err = e->jit->prepare(entry->name))
        return std::move(err);
  return std::move(e);
}

std::vector<NamedTensor> LossEvaluator::getParameters() const {
  std::vector<NamedTensor> t;
  for (size_t i = 0; i < params.size(); ++i)
    t.push_back({names[i], shapes[i], params[i]});
  return t;
}

llvm::Error LossEvaluator::setParameters(llvm::ArrayRef<NamedTensor> tensors,
                                         llvm::StringRef source) {
  if (llvm::Error e = matchWeights(source, tensors, getParameters()))
    return e;
  for (size_t i = 0; i < params.size(); ++i)
    std::copy(tensors[i].data.begin(), tensors[i].data.end(),
              params[i].begin());
  return llvm::Error::success();
}

void LossEvaluator::setParameters(
    const std::vector<std::vector<float>> &values) {
  for (size_t i = 0; i < params.size(); ++i)
    std::copy(values[i].begin(), values[i].end(), params[i].begin());
}

llvm::Expected<EvalResult> LossEvaluator::evaluate(const Dataset &data,
                                                   int64_t limit) {
  if (data.features != features)
    return llvm::createStringError(
        "the data has " + llvm::Twine(data.features) +
        " features per sample, the model " + llvm::Twine(features));
  int64_t n = limit > 0 ? std::min(limit, data.count) : data.count;
  int64_t batches = n / batch;
  if (batches == 0)
    return llvm::createStringError("fewer samples (" + llvm::Twine(n) +
                                   ") than one batch (" + llvm::Twine(batch) +
                                   ")");
  EvalResult r;
  double sum = 0;
  int64_t correct = 0;
  for (int64_t k = 0; k < batches; ++k) {
    std::copy_n(&data.images[k * batch * features], batch * features, x.data());
    std::copy_n(&data.labels[k * batch], batch, labels.data());
    if (labelsAreI64)
      std::copy(labels.begin(), labels.end(), wideLabels.begin());
    if (llvm::Error e = jit->invokeWithWorkspace(lossFn->name, lossBuffers,
                                                 lossFn->workspaceBytes))
      return std::move(e);
    sum += loss;
    if (predict && classes > 0) {
      if (llvm::Error e = jit->invokeWithWorkspace(
              predict->name, predictBuffers, predict->workspaceBytes))
        return std::move(e);
      for (int64_t i = 0; i < batch; ++i) {
        const float *z = &out[i * classes];
        correct += std::max_element(z, z + classes) - z == labels[i];
      }
    }
  }
  r.samples = batches * batch;
  // Each batch's loss is a batch mean; the batches are equal in size.
  r.loss = sum / batches;
  r.accuracy =
      predict && classes > 0 ? static_cast<double>(correct) / r.samples : NAN;
  return r;
}

Direction
mlir::nnc::filterNormalizedDirection(llvm::ArrayRef<NamedTensor> weights,
                                     uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  Direction d;
  for (const NamedTensor &w : weights) {
    std::vector<float> v(w.data.size(), 0.0f);
    // Every tensor draws its numbers, so a tensor's direction does not
    // depend on which tensors before it are left out.
    for (float &x : v)
      x = static_cast<float>(normal(rng));
    if (w.shape.size() < 2 || v.empty()) {
      std::fill(v.begin(), v.end(), 0.0f);
      d.push_back(std::move(v));
      continue;
    }
    size_t filters = w.shape[0], size = v.size() / filters;
    for (size_t f = 0; f < filters; ++f) {
      double dn = 0, wn = 0;
      for (size_t i = f * size; i < (f + 1) * size; ++i) {
        dn += double(v[i]) * v[i];
        wn += double(w.data[i]) * w.data[i];
      }
      double scale = dn > 0 ? std::sqrt(wn / dn) : 0.0;
      for (size_t i = f * size; i < (f + 1) * size; ++i)
        v[i] = static_cast<float>(v[i] * scale);
    }
    d.push_back(std::move(v));
  }
  return d;
}

Direction mlir::nnc::difference(llvm::ArrayRef<NamedTensor> to,
                                llvm::ArrayRef<NamedTensor> from) {
  Direction d;
  for (size_t t = 0; t < to.size(); ++t) {
    std::vector<float> v(to[t].data.size());
    for (size_t i = 0; i < v.size(); ++i)
      v[i] = to[t].data[i] - from[t].data[i];
    d.push_back(std::move(v));
  }
  return d;
}

std::vector<double> mlir::nnc::linspace(double lo, double hi, int64_t n) {
  std::vector<double> v;
  for (int64_t i = 0; i < n; ++i)
    v.push_back(n == 1 ? lo : lo + (hi - lo) * i / (n - 1));
  // Exactly 0 where the grid crosses it, so the centre is the centre.
  for (double &x : v)
    if (std::abs(x) < 1e-12 * std::max(std::abs(lo), std::abs(hi)))
      x = 0;
  return v;
}

llvm::Expected<std::vector<LandscapePoint>> mlir::nnc::evaluateGrid(
    LossEvaluator &eval, llvm::ArrayRef<NamedTensor> center,
    const Direction &d1, const Direction &d2, llvm::ArrayRef<double> alphas,
    llvm::ArrayRef<double> betas, const Dataset &train, int64_t trainLimit,
    const Dataset &test, int64_t testLimit,
    llvm::function_ref<void(size_t)> progress) {
  std::vector<LandscapePoint> points;
  std::vector<std::vector<float>> w(center.size());
  for (double beta : betas)
    for (double alpha : alphas) {
      for (size_t t = 0; t < center.size(); ++t) {
        w[t].resize(center[t].data.size());
        for (size_t i = 0; i < w[t].size(); ++i) {
          // At α = β = 0 exactly the centre's values (no rounding).
          float v = center[t].data[i];
          if (alpha != 0)
            v += static_cast<float>(alpha) * d1[t][i];
          if (beta != 0)
            v += static_cast<float>(beta) * d2[t][i];
          w[t][i] = v;
        }
      }
      eval.setParameters(w);
      LandscapePoint p;
      p.alpha = alpha;
      p.beta = beta;
      auto tr = eval.evaluate(train, trainLimit);
      if (!tr)
        return tr.takeError();
      auto te = eval.evaluate(test, testLimit);
      if (!te)
        return te.takeError();
      p.train = *tr;
      p.test = *te;
      points.push_back(p);
      if (progress)
        progress(points.size());
    }
  return points;
}
