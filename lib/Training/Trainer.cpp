//===- Trainer.cpp - train a compiled model on a data set -----------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Training/Trainer.h"

#include "nnc/Training/Classifier.h"
#include "nnc/Dialect/NN/IR/NNOps.h"
#include "nnc/Dialect/NN/Transforms/Passes.h"
#include "nnc/Plot/SVGPlot.h"
#include "nnc/Support/Diagnosed.h"
#include "nnc/Support/Files.h"
#include "nnc/Support/Limits.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/xxhash.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <sstream>

using namespace mlir;
using namespace mlir::nnc;

static double now() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

llvm::Expected<std::unique_ptr<Trainer>>
Trainer::create(OwningOpRef<ModuleOp> module, CompileOptions &options,
                DataParallel dp) {
  if (options.step.optimizer == Optimizer::None ||
      options.step.learningRate != 0)
    return llvm::createStringError(
        "the trainer needs a step with an optimizer and a run-time "
        "learning rate");
  // The network's output comes back from the step: training accuracy
  // without a second forward pass.
  options.step.returnOutput = true;
  // Several ranks: the step averages its gradients over them (one rank may
  // ask for the all-reduce too, as the benchmark's baseline does).
  if (dp.size > 1)
    options.step.allReduce = true;
  if (options.step.allReduce && !dp.active)
    return llvm::createStringError(
        "a step with the gradient all-reduce needs MPI started first "
        "(initDataParallel; nnc-train under mpirun)");
  std::unique_ptr<Trainer> t(new Trainer());
  t->dp = dp;
  double t0 = now();
  FailureOr<CompiledModel> compiled = compileForCPU(std::move(module), options);
  if (failed(compiled)) // the diagnostics said why
    return ::nnc::makeDiagnosedError();
  t->compiled = std::move(*compiled);
  t->precision = options.step.precision;
  t->stepHash = hashStep(*t->compiled.module);
  if (dp.size > 1)
    if (llvm::Error e = checkSameStep(t->stepHash))
      return std::move(e);
  auto jit = JITModule::create(*t->compiled.module);
  if (!jit)
    return jit.takeError();
  t->jit = std::move(*jit);
  if (llvm::Error e = t->bind())
    return std::move(e);
  for (const EntryPoint *e : {t->step, t->predict, t->lossFn})
    if (e)
      if (llvm::Error err = t->jit->prepare(e->name))
        return std::move(err);
  t->compileSeconds = now() - t0;
  return std::move(t);
}

llvm::Error Trainer::bind() {
  step = compiled.find(EntryRole::TrainStep);
  predict = compiled.find(EntryRole::Predict);
  lossFn = compiled.find(EntryRole::Loss);
  if (!step)
    return llvm::createStringError("no training step was compiled");
  std::optional<ClassifierInputs> data = findClassifierInputs(*step);
  if (!data)
    return llvm::createStringError(
        "the trainer trains classifiers: the model's inputs must be "
        "x float[batch, features...] and labels int32 or int64[batch] (then "
        "the parameters); a cross-entropy MLP is one");
  batch = data->batch;
  features = data->features;
  labelsAreI64 = data->labelsAreI64;
  const BufferInfo *output = nullptr;
  for (const BufferInfo &b : step->outputs)
    if (b.name == "output")
      output = &b;
  if (!output || output->shape.size() != 2 || output->shape[0] != batch)
    return llvm::createStringError(
        "the step does not return the network's output as "
        "[batch, classes]");
  classes = output->shape[1];

  // Everything the trainer allocates for the step, checked before it is.
  uint64_t hostBytes = uint64_t(step->workspaceBytes);
  for (const auto *list : {&step->inputs, &step->outputs})
    for (const BufferInfo &b : *list)
      hostBytes += uint64_t(b.bytes); // each <= 1 TiB, a few thousand of them
  if (uint64_t memory = ::nnc::limits::physicalMemoryBytes();
      memory && hostBytes > memory)
    return llvm::createStringError("the step's buffers need " +
                                   std::to_string(hostBytes) +
                                   " bytes, more than this machine's " +
                                   std::to_string(memory) + " bytes of memory");
  x.assign(batch * features, 0.0f);
  labels.assign(batch, 0);
  wideLabels.assign(labelsAreI64 ? batch : 0, 0);
  logits.assign(batch * classes, 0.0f);
  llvm::StringMap<void *> byName;
  for (const BufferInfo &b : step->inputs) {
    int64_t n = b.bytes / 4;
    // Running statistics live with the parameters: loaded, saved and read
    // by the predict function by name (PyTorch's state_dict holds both).
    if (b.isParam || b.isRunningStat) {
      paramNames.push_back(b.name);
      paramShapes.push_back(b.shape);
      params.emplace_back(n, 0.0f);
    } else if (b.isState) {
      states.emplace_back(n, 0.0f);
    }
  }
  size_t p = 0, s = 0;
  for (const BufferInfo &b : step->inputs) {
    void *ptr;
    if (b.isParam || b.isRunningStat)
      ptr = params[p++].data();
    else if (b.isState)
      ptr = states[s++].data();
    else if (b.name == "lr")
      ptr = &lrValue;
    else if (b.name == "step")
      ptr = &stepValue, adam = true;
    else if (&b == data->x)
      ptr = x.data();
    else
      ptr = labelsAreI64 ? (void *)wideLabels.data() : (void *)labels.data();
    byName[b.name] = ptr;
    stepBuffers.push_back(ptr);
  }
  for (const BufferInfo &b : step->outputs)
    if (StringRef(b.name).starts_with("grad_norm_"))
      gradNorms.push_back(0.0f);
  size_t norm = 0;
  for (auto [i, b] : llvm::enumerate(step->outputs)) {
    StringRef name = b.name;
    void *ptr = nullptr;
    if (i == 0)
      ptr = &loss;
    else if (name == "output")
      ptr = logits.data();
    else if (name.starts_with("grad_norm_"))
      ptr = &gradNorms[norm++];
    else if (name.starts_with("new_"))
      // Updated in place: the header allows an update to be written over
      // the buffer it reads.
      ptr = byName.lookup(name.drop_front(4));
    if (!ptr)
      return llvm::createStringError("cannot place the step's output '" + name +
                                     "'");
    stepBuffers.push_back(ptr);
  }
  return llvm::Error::success();
}

std::vector<NamedTensor> Trainer::getParameters() const {
  std::vector<NamedTensor> out;
  for (size_t i = 0; i < params.size(); ++i)
    out.push_back({paramNames[i], paramShapes[i], params[i]});
  return out;
}

llvm::Error Trainer::setParameters(llvm::ArrayRef<NamedTensor> tensors,
                                   llvm::StringRef source) {
  if (llvm::Error e = matchWeights(source, tensors, getParameters()))
    return e;
  for (size_t i = 0; i < params.size(); ++i)
    std::copy(tensors[i].data.begin(), tensors[i].data.end(),
              params[i].begin());
  for (auto &s : states)
    std::fill(s.begin(), s.end(), 0.0f);
  return llvm::Error::success();
}

void Trainer::initialize(Init init, double initStd, double initValue,
                         uint64_t seed) {
  // Assigned element-wise into the same storage: the step's buffer list
  // points into it.
  std::vector<std::vector<float>> fresh =
      initParameters(paramShapes, init, initStd, initValue, seed);
  for (size_t i = 0; i < params.size(); ++i)
    std::copy(fresh[i].begin(), fresh[i].end(), params[i].begin());
  for (auto &s : states)
    std::fill(s.begin(), s.end(), 0.0f);
}

llvm::Error Trainer::runStep(float lr, int64_t stepNumber) {
  lrValue = lr;
  // Adam's bias correction counts steps from 1.
  stepValue = static_cast<float>(stepNumber);
  return jit->invokeWithWorkspace(step->name, stepBuffers,
                                  step->workspaceBytes);
}

/// Cross-entropy of one row of logits (log-sum-exp in double) and whether
/// its argmax is the label.
static std::pair<double, bool> scoreRow(const float *z, int64_t classes,
                                        int32_t label) {
  double max = z[0];
  int64_t best = 0;
  for (int64_t c = 1; c < classes; ++c)
    if (z[c] > max)
      max = z[c], best = c;
  double sum = 0;
  for (int64_t c = 0; c < classes; ++c)
    sum += std::exp(z[c] - max);
  return {max + std::log(sum) - z[label], best == label};
}

llvm::Expected<EvalResult> Trainer::evaluate(const Dataset &data,
                                             int64_t limit) {
  int64_t n = limit > 0 ? std::min(limit, data.count) : data.count;
  EvalResult r;
  if (data.features != features)
    return llvm::createStringError(
        "the data has " + llvm::Twine(data.features) +
        " features per sample, the model " + llvm::Twine(features));
  std::vector<float> xb(batch * features), out(batch * classes);
  std::vector<int32_t> lb(batch);
  std::vector<int64_t> wide(labelsAreI64 ? batch : 0);
  if (predict) {
    // predict(x, parameters...) -> output: parameters by name.
    std::vector<void *> bufs;
    for (const BufferInfo &b : predict->inputs) {
      if (b.name == predict->inputs[0].name) {
        bufs.push_back(xb.data());
        continue;
      }
      auto it = llvm::find(paramNames, b.name);
      if (it == paramNames.end())
        return llvm::createStringError("the inference function's input '" +
                                       b.name + "' is not a parameter");
      bufs.push_back(params[it - paramNames.begin()].data());
    }
    bufs.push_back(out.data());
    double lossSum = 0;
    int64_t correct = 0;
    for (int64_t start = 0; start < n; start += batch) {
      int64_t rows = std::min(batch, n - start);
      std::copy_n(&data.images[start * features], rows * features, xb.data());
      std::fill(xb.begin() + rows * features, xb.end(), 0.0f);
      if (llvm::Error e = jit->invokeWithWorkspace(predict->name, bufs,
                                                   predict->workspaceBytes))
        return std::move(e);
      for (int64_t i = 0; i < rows; ++i) {
        auto [l, hit] =
            scoreRow(&out[i * classes], classes, data.labels[start + i]);
        lossSum += l;
        correct += hit;
      }
    }
    r.samples = n;
    r.loss = lossSum / std::max<int64_t>(n, 1);
    r.accuracy = static_cast<double>(correct) / std::max<int64_t>(n, 1);
    return r;
  }
  if (!lossFn)
    return llvm::createStringError(
        "the model has neither an inference nor a loss function");
  // loss(x, labels, parameters...) -> loss, over whole batches.
  std::vector<void *> bufs;
  float l = 0;
  size_t p = 0;
  for (const BufferInfo &b : lossFn->inputs)
    bufs.push_back(b.isParam || b.isRunningStat       ? params[p++].data()
                   : b.name == lossFn->inputs[0].name ? (void *)xb.data()
                   : labelsAreI64                     ? (void *)wide.data()
                                                      : (void *)lb.data());
  bufs.push_back(&l);
  double lossSum = 0;
  int64_t batches = n / batch;
  for (int64_t k = 0; k < batches; ++k) {
    std::copy_n(&data.images[k * batch * features], batch * features,
                xb.data());
    std::copy_n(&data.labels[k * batch], batch, lb.data());
    if (labelsAreI64)
      std::copy(lb.begin(), lb.end(), wide.begin());
    if (llvm::Error e = jit->invokeWithWorkspace(lossFn->name, bufs,
                                                 lossFn->workspaceBytes))
      return std::move(e);
    lossSum += l;
  }
  r.samples = batches * batch;
  r.loss = lossSum / std::max<int64_t>(batches, 1);
  r.accuracy = NAN;
  return r;
}

static std::string humanRate(double perSecond) {
  return llvm::formatv("{0:N}", static_cast<int64_t>(perSecond)).str();
}

llvm::Expected<FitResult> Trainer::fit(const Dataset &train,
                                       const Dataset *test,
                                       const TrainOptions &options,
                                       llvm::raw_ostream &out,
                                       llvm::raw_ostream *metrics) {
  if (train.features != features)
    return llvm::createStringError(
        "the training data has " + llvm::Twine(train.features) +
        " features per sample, the model " + llvm::Twine(features));
  // Data parallelism: each step trains on one global batch of dp.size ×
  // batch samples of the epoch's order, rank r on its r-th share.
  const int64_t globalBatch = batch * dp.size;
  int64_t stepsPerEpoch = train.count / globalBatch;
  if (stepsPerEpoch == 0)
    return llvm::createStringError(
        "the training set (" + llvm::Twine(train.count) +
        " samples) is smaller than one batch (" + llvm::Twine(globalBatch) +
        ")");
  if (options.checkpointEvery < 0)
    return llvm::createStringError("the checkpoint interval must not be "
                                   "negative");
  if (options.checkpointEvery > 0 && options.checkpointPath.empty())
    return llvm::createStringError("checkpoints need a path to write to");
  FitResult result;
  std::vector<int64_t> order(train.count);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(options.shuffleSeed);
  int64_t global = 0, firstEpoch = 0;
  if (progress.resumed) {
    if (progress.order.size() != size_t(train.count))
      return llvm::createStringError(
          "the training state was saved for " +
          llvm::Twine(progress.order.size()) +
          " training samples, this run has " + llvm::Twine(train.count));
    order = progress.order;
    std::istringstream(progress.rng) >> rng;
    global = progress.global;
    firstEpoch = progress.epoch;
  }
  auto writeJSON = [&](llvm::json::Object o) {
    if (!metrics)
      return;
    *metrics << llvm::json::Value(std::move(o)) << "\n";
    metrics->flush();
  };
  for (int64_t epoch = firstEpoch; epoch < options.epochs; ++epoch) {
    if (options.maxSteps && global >= options.maxSteps)
      break;
    // A resumed epoch continues with its saved order and running sums.
    bool resumedEpoch = progress.resumed && epoch == firstEpoch;
    // Fisher-Yates with our own generator: the order depends only on the
    // seed, not on the standard library's shuffle.
    if (!resumedEpoch)
      for (int64_t i = train.count - 1; i > 0; --i)
        std::swap(order[i], order[rng() % (i + 1)]);
    double epochStart = now(), lastDraw = 0;
    double lossSum = resumedEpoch ? progress.lossSum : 0;
    int64_t correct = resumedEpoch ? progress.correct : 0,
            done = resumedEpoch ? progress.done : 0, doneHere = 0;
    double lr = options.schedule.at(epoch);
    for (int64_t s = resumedEpoch ? progress.stepInEpoch : 0;
         s < stepsPerEpoch; ++s) {
      if (options.maxSteps && global >= options.maxSteps)
        break;
      for (int64_t i = 0; i < batch; ++i) {
        int64_t src = order[s * globalBatch + dp.rank * batch + i];
        std::copy_n(&train.images[src * features], features, &x[i * features]);
        labels[i] = train.labels[src];
      }
      if (labelsAreI64)
        std::copy(labels.begin(), labels.end(), wideLabels.begin());
      lr = options.schedule.perStep ? options.schedule.at(global)
                                    : options.schedule.at(epoch);
      if (llvm::Error e = runStep(static_cast<float>(lr), global + 1))
        return std::move(e);
      ++global;
      ++done;
      ++doneHere;
      int64_t hits = 0;
      for (int64_t i = 0; i < batch; ++i)
        hits += scoreRow(&logits[i * classes], classes, labels[i]).second;
      // The global batch's mean loss and its hits: the same figures on
      // every rank, so every rank takes the same decisions below.
      float stepLoss = loss;
      if (dp.size > 1) {
        double sums[2] = {loss, static_cast<double>(hits)};
        sumOverRanks(sums, 2);
        stepLoss = static_cast<float>(sums[0] / dp.size);
        hits = static_cast<int64_t>(sums[1]);
      }
      if (!std::isfinite(stepLoss)) {
        result.diverged = true;
        if (options.progressBar)
          out << "\n";
        out << llvm::formatv("diverged: the loss is {0} at step {1} (epoch "
                             "{2})\n",
                             stepLoss, global, epoch + 1);
        StepRecord rec{global, epoch + 1, lr, stepLoss, gradNorms};
        result.steps.push_back(rec);
        break;
      }
      lossSum += stepLoss;
      correct += hits;
      if (options.logEvery && (global == 1 || global % options.logEvery == 0)) {
        StepRecord rec{global, epoch + 1, lr, stepLoss, gradNorms};
        llvm::json::Object o{{"type", "step"},
                             {"step", global},
                             {"epoch", epoch + 1},
                             {"lr", lr},
                             {"loss", static_cast<double>(stepLoss)}};
        if (!gradNorms.empty()) {
          llvm::json::Object norms;
          for (auto [k, v] : llvm::enumerate(gradNorms))
            norms[paramNames[k]] = static_cast<double>(v);
          o["grad_norms"] = std::move(norms);
          if (!options.progressBar) {
            out << llvm::formatv(
                "  step {0,6}  loss {1:F4}  grad norms:", global, stepLoss);
            for (auto [k, v] : llvm::enumerate(gradNorms))
              out << " " << paramNames[k] << " "
                  << llvm::format("%.3g", static_cast<double>(v));
            out << "\n";
          }
        }
        writeJSON(std::move(o));
        result.steps.push_back(std::move(rec));
      }
      double t = now();
      if (options.progressBar &&
          (t - lastDraw > 0.1 || s + 1 == stepsPerEpoch)) {
        lastDraw = t;
        double elapsed = t - epochStart;
        int width = 24,
            filled = static_cast<int>(width * (s + 1) / stepsPerEpoch);
        double eta = elapsed / (s + 1) * (stepsPerEpoch - s - 1);
        out << llvm::formatv(
            "\repoch {0,2}/{1} [{2}{3}] {4,4}/{5}  loss "
            "{6:F4}  acc {7,6:F2}%  {8} samples/s  ETA "
            "{9,5:F1} s ",
            epoch + 1, options.epochs, std::string(filled, '#'),
            std::string(width - filled, '.'), s + 1, stepsPerEpoch,
            lossSum / done, 100.0 * correct / (done * globalBatch),
            humanRate(doneHere * globalBatch / elapsed), eta);
        out.flush();
      }
      if (options.checkpointEvery && global % options.checkpointEvery == 0) {
        progress.epoch = epoch;
        progress.stepInEpoch = s + 1;
        progress.global = global;
        progress.lossSum = lossSum;
        progress.correct = correct;
        progress.done = done;
        progress.order = order;
        std::ostringstream text;
        text << rng;
        progress.rng = text.str();
        if (dp.rank == 0)
          if (llvm::Error e = writeTrainingState(options.checkpointPath))
            return std::move(e);
      }
    }
    double seconds = now() - epochStart;
    result.trainSeconds += seconds;
    if (done == 0)
      break;
    EpochRecord rec;
    rec.epoch = epoch + 1;
    rec.lr = lr;
    rec.trainLoss = lossSum / std::max<int64_t>(done - result.diverged, 1);
    rec.trainAccuracy = static_cast<double>(correct) /
                        std::max<int64_t>(done * globalBatch, 1);
    rec.seconds = seconds;
    // (A run resumed at an epoch's end trains no step in it.)
    rec.samplesPerSecond =
        doneHere * globalBatch / std::max(seconds, 1e-9);
    result.samples += doneHere * globalBatch;
    if (test && !result.diverged) {
      auto r = evaluate(*test);
      if (!r)
        return r.takeError();
      rec.test = *r;
      rec.tested = true;
    }
    if (options.progressBar)
      out << "\r\x1b[K"; // the bar's line, cleared
    out << llvm::formatv("epoch {0,2}/{1}  train loss {2:F4} acc {3,6:F2}%",
                         rec.epoch, options.epochs, rec.trainLoss,
                         100 * rec.trainAccuracy);
    if (rec.tested)
      out << llvm::formatv("  | test loss {0:F4} acc {1,6:F2}%", rec.test.loss,
                           100 * rec.test.accuracy);
    out << llvm::formatv("  | {0,5:F1} s, {1} samples/s, lr {2:F5}\n", seconds,
                         humanRate(rec.samplesPerSecond), rec.lr);
    out.flush();
    llvm::json::Object o{{"type", "epoch"},
                         {"epoch", rec.epoch},
                         {"lr", rec.lr},
                         {"train_loss", rec.trainLoss},
                         {"train_accuracy", rec.trainAccuracy},
                         {"seconds", rec.seconds},
                         {"samples_per_second", rec.samplesPerSecond},
                         {"steps", global}};
    if (rec.tested) {
      o["test_loss"] = rec.test.loss;
      o["test_accuracy"] = rec.test.accuracy;
    }
    writeJSON(std::move(o));
    result.epochs.push_back(rec);
    if (result.diverged)
      break;
  }
  result.totalSteps = global;
  progress.resumed = false;
  return result;
}

void Trainer::printSummary(llvm::raw_ostream &os) const {
  const ModelStats &s = compiled.stats;
  auto bytes = [](int64_t b) { return llvm::formatv("{0:N} B", b).str(); };
  os << llvm::formatv("  parameters: {0:N} ({1}), {2} tensors\n", s.numParams,
                      bytes(s.paramBytes), params.size());
  os << "  optimizer state: " << bytes(s.optimizerStateBytes)
     << " caller-owned (" << states.size() << " tensors)\n";
  if (CheckpointPlanAttr plan = s.plan) {
    os << "  checkpoint plan: "
       << ::nnc::checkpointStrategies.name(plan.getStrategy()) << ", budget "
       << (plan.getBudget() ? bytes(*plan.getBudget()) : std::string("none"))
       << ", " << plan.getStages() << " stages, predicted peak "
       << bytes(plan.getPeakBytes()) << " (store-all "
       << bytes(plan.getStoreAllPeakBytes()) << ")"
       << (precision == Precision::F32
               ? ""
               : ", stored in " + ::nnc::precisions.name(precision).str())
       << "\n";
    // Which stages run forward more than once.
    std::vector<int> runs(plan.getStages() + 1, 0);
    for (const CheckpointAction &a : plan.getSchedule())
      if (a.kind != CheckpointActionKind::Backward &&
          a.kind != CheckpointActionKind::Discard)
        ++runs[a.stage];
    std::string again;
    for (int64_t i = 1; i <= plan.getStages(); ++i)
      if (runs[i] > 1)
        again += (again.empty() ? "" : ", ") + std::to_string(i) + " (x" +
                 std::to_string(runs[i] - 1) + ")";
    double flops = plan.getComputeFlops().convertToDouble(),
           extra = plan.getRecomputeFlops().convertToDouble();
    os << "  recomputed: "
       << (again.empty() ? std::string("nothing")
                         : llvm::formatv("stages {0}: {1:F1} MFLOP per step, "
                                         "+{2:F1}%",
                                         again, extra / 1e6,
                                         100 * extra / (flops - extra))
                               .str())
       << "\n";
  }
  os << "  arena: " << bytes(step->workspaceBytes) << " (max-live lower bound "
     << bytes(step->maxLiveBytes) << ")\n";
  // oneDNN's scratch that found no room in the arena.
  if (step->runtimeWorkspaceBytes)
    os << "  runtime workspace beside the arena: "
       << bytes(step->runtimeWorkspaceBytes) << "\n";
  if (!s.allReduceBuckets.empty()) {
    os << llvm::formatv("  data parallel: {0} ranks, global batch {1}; "
                        "gradients averaged in {2} bucket(s):\n",
                        dp.size, batch * dp.size, s.allReduceBuckets.size());
    for (const AllReduceBucket &b : s.allReduceBuckets)
      os << llvm::formatv(
          "    bucket {0}: {1} gradient(s), {2}; overlaps {3:F2} MFLOP "
          "({4:F0}% of the backward)\n",
          b.bucket, b.gradients, bytes(b.bytes), b.windowFlops / 1e6,
          s.backwardFlops ? 100.0 * b.windowFlops / s.backwardFlops : 0.0);
  }
}

llvm::Error mlir::nnc::writeTrainingCurves(llvm::StringRef prefix,
                                           llvm::ArrayRef<EpochRecord> epochs,
                                           llvm::StringRef title) {
  namespace plot = ::nnc::plot;
  plot::Series trainLoss{"train", {}, {}}, testLoss{"test", {}, {}, true};
  plot::Series trainAcc{"train", {}, {}}, testAcc{"test", {}, {}, true};
  for (const EpochRecord &e : epochs) {
    trainLoss.x.push_back(e.epoch);
    trainLoss.y.push_back(e.trainLoss);
    trainAcc.x.push_back(e.epoch);
    trainAcc.y.push_back(100 * e.trainAccuracy);
    if (e.tested) {
      testLoss.x.push_back(e.epoch);
      testLoss.y.push_back(e.test.loss);
      testAcc.x.push_back(e.epoch);
      testAcc.y.push_back(100 * e.test.accuracy);
    }
  }
  plot::LinePlot loss{(title + ": loss").str(),
                      "epoch",
                      "cross-entropy loss",
                      {trainLoss, testLoss}};
  plot::LinePlot acc{(title + ": accuracy").str(),
                     "epoch",
                     "accuracy (%)",
                     {trainAcc, testAcc}};
  for (auto [suffix, p] :
       {std::pair{"-loss.svg", &loss}, std::pair{"-accuracy.svg", &acc}}) {
    std::string path = (prefix + suffix).str();
    std::error_code ec;
    llvm::ToolOutputFile file(path, ec, llvm::sys::fs::OF_Text);
    if (ec)
      return llvm::createStringError("cannot write '" + path +
                                     "': " + ec.message());
    plot::writeLinePlot(file.os(), *p);
    file.keep();
  }
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// Training state
//===----------------------------------------------------------------------===//

// The file: "NNCT", version 1, then little-endian fields: the step's hash,
// the number of ranks, epoch, step in the epoch, global step, the epoch's
// loss sum (f64), correct and done counts, the generator's text (length,
// bytes), the order (count, i64 each), then every parameter and optimizer
// state tensor in the step's order (element count, f32 each).
static constexpr char kStateMagic[4] = {'N', 'N', 'C', 'T'};
static constexpr uint32_t kStateVersion = 1;

namespace {
struct StateWriter {
  std::string bytes;
  template <typename T> void put(T v) {
    bytes.append(reinterpret_cast<const char *>(&v), sizeof(T));
  }
  template <typename T> void putArray(const std::vector<T> &v) {
    put<uint64_t>(v.size());
    bytes.append(reinterpret_cast<const char *>(v.data()), v.size() * sizeof(T));
  }
};

struct StateReader {
  llvm::StringRef data, path;
  size_t at = 0;
  llvm::Error error(const llvm::Twine &what) const {
    return llvm::createStringError("training state '" + path + "' at byte " +
                                   llvm::Twine(at) + ": " + what);
  }
  template <typename T> llvm::Error get(T &v, const char *what) {
    if (data.size() - at < sizeof(T))
      return error(llvm::Twine("truncated before the ") + what);
    std::memcpy(&v, data.data() + at, sizeof(T));
    at += sizeof(T);
    return llvm::Error::success();
  }
  /// An array whose length must be `expected` (or anything if -1), checked
  /// against what is left of the file before it is read.
  template <typename T>
  llvm::Error getArray(std::vector<T> &v, int64_t expected, const char *what) {
    uint64_t n = 0;
    if (llvm::Error e = get(n, what))
      return e;
    if (expected >= 0 && n != uint64_t(expected))
      return error(llvm::Twine(what) + " has " + llvm::Twine(n) +
                   " elements, this step's has " + llvm::Twine(expected));
    if (n > (data.size() - at) / sizeof(T))
      return error(llvm::Twine("truncated inside the ") + what);
    v.resize(n);
    std::memcpy(v.data(), data.data() + at, n * sizeof(T));
    at += n * sizeof(T);
    return llvm::Error::success();
  }
};
} // namespace

llvm::Error Trainer::writeTrainingState(llvm::StringRef path) const {
  StateWriter w;
  w.bytes.append(kStateMagic, 4);
  w.put(kStateVersion);
  w.put(stepHash);
  w.put<int64_t>(dp.size);
  w.put(progress.epoch);
  w.put(progress.stepInEpoch);
  w.put(progress.global);
  w.put(progress.lossSum);
  w.put(progress.correct);
  w.put(progress.done);
  w.putArray(std::vector<char>(progress.rng.begin(), progress.rng.end()));
  w.putArray(progress.order);
  for (const auto *list : {&params, &states})
    for (const std::vector<float> &t : *list)
      w.putArray(t);
  // Written beside the target and renamed over it: a run killed while
  // writing leaves the previous state whole.
  std::string temporary = (path + ".tmp").str();
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(temporary, ec, llvm::sys::fs::OF_None);
    if (ec)
      return llvm::createStringError("cannot write '" + temporary +
                                     "': " + ec.message());
    os << w.bytes;
    os.close();
    if (os.has_error())
      return llvm::createStringError("cannot write '" + temporary +
                                     "': " + os.error().message());
  }
  if (std::error_code ec = llvm::sys::fs::rename(temporary, path))
    return llvm::createStringError("cannot rename '" + temporary + "' to '" +
                                   path + "': " + ec.message());
  return llvm::Error::success();
}

llvm::Error Trainer::readTrainingState(llvm::StringRef path) {
  auto file = ::nnc::readRegularFile(path);
  if (!file)
    return file.takeError();
  StateReader r{(*file)->getBuffer(), path};
  if (!r.data.starts_with(llvm::StringRef(kStateMagic, 4)))
    return r.error("not an nnc training state (no 'NNCT' magic)");
  r.at = 4;
  uint32_t version = 0;
  uint64_t hash = 0;
  int64_t ranks = 0;
  Progress p;
  std::vector<char> rngText;
  if (llvm::Error e = r.get(version, "version"))
    return e;
  if (version != kStateVersion)
    return r.error("version " + llvm::Twine(version) + ", this nnc reads " +
                   llvm::Twine(kStateVersion));
  if (llvm::Error e = r.get(hash, "step hash"))
    return e;
  if (hash != stepHash)
    return r.error("it was written by a different compiled step (another "
                   "model, options or batch)");
  if (llvm::Error e = r.get(ranks, "number of ranks"))
    return e;
  if (ranks != dp.size)
    return r.error("it was written by a run of " + llvm::Twine(ranks) +
                   " ranks, this one has " + llvm::Twine(dp.size));
  for (auto [field, what] : {std::pair{&p.epoch, "epoch"},
                             {&p.stepInEpoch, "step in the epoch"},
                             {&p.global, "step"}})
    if (llvm::Error e = r.get(*field, what))
      return e;
  if (llvm::Error e = r.get(p.lossSum, "loss sum"))
    return e;
  if (llvm::Error e = r.get(p.correct, "correct count"))
    return e;
  if (llvm::Error e = r.get(p.done, "step count"))
    return e;
  if (p.epoch < 0 || p.stepInEpoch < 0 || p.global < 0 || p.done < 0 ||
      p.correct < 0)
    return r.error("a negative epoch, step or count");
  if (llvm::Error e = r.getArray(rngText, -1, "generator state"))
    return e;
  p.rng.assign(rngText.begin(), rngText.end());
  if (llvm::Error e = r.getArray(p.order, -1, "shuffled order"))
    return e;
  for (int64_t i : p.order)
    if (i < 0 || i >= int64_t(p.order.size()))
      return r.error("the shuffled order holds " + llvm::Twine(i) +
                     ", not a sample index");
  std::vector<std::vector<float>> newParams(params.size()),
      newStates(states.size());
  for (size_t i = 0; i < params.size(); ++i)
    if (llvm::Error e = r.getArray(newParams[i], params[i].size(),
                                   "parameter tensor"))
      return e;
  for (size_t i = 0; i < states.size(); ++i)
    if (llvm::Error e = r.getArray(newStates[i], states[i].size(),
                                   "optimizer state tensor"))
      return e;
  if (r.at != r.data.size())
    return r.error(llvm::Twine(r.data.size() - r.at) + " trailing bytes");
  // Copied into the existing storage: the step's buffer list points there.
  for (size_t i = 0; i < params.size(); ++i)
    std::copy(newParams[i].begin(), newParams[i].end(), params[i].begin());
  for (size_t i = 0; i < states.size(); ++i)
    std::copy(newStates[i].begin(), newStates[i].end(), states[i].begin());
  p.resumed = true;
  progress = std::move(p);
  return llvm::Error::success();
}
