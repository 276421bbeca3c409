//===- grokking.cpp - a small transformer groks modular addition ----------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// The lecture's grokking experiment (Power et al., "Grokking: Generalization
// Beyond Overfitting on Small Algorithmic Datasets") on nnc's compiled step:
// the sequences "x + y =" for x, y < 97, the answer (x + y) mod 97 predicted
// at "=", half of the 97² pairs for training. A pre-norm transformer (2
// layers, width 128, 4 heads, MLP 512, learned positions, causal attention)
// trained with AdamW (lr 1e-3, weight decay 1, β2 0.98, 10 warm-up steps,
// batch 512) fits the training half early and generalizes to the other half
// thousands of steps later.
//
//   grokking [--steps=N] [--out=DIR] [--num-threads=N] [--emit-mlir=FILE]
//
// writes DIR/grokking.csv (step, loss, train and validation accuracy) and
// DIR/grokking.svg (both accuracies over log-scaled steps), and prints the
// steps where training and validation accuracy first reach 99 %.
//
//===----------------------------------------------------------------------===//

#include "nnc/Dialect/NN/IR/NNOps.h"
#include "nnc/ExecutionEngine/JIT.h"
#include "nnc/Frontend/GraphBuilder.h"
#include "nnc/Pipeline/Compiler.h"
#include "nnc/Pipeline/Pipelines.h"
#include "nnc/Plot/SVGPlot.h"
#include "nnc/Runtime/CPU/CPURuntime.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>
#include <string>
#include <vector>

using namespace mlir;
using namespace mlir::nnc;
namespace cl = llvm::cl;

static cl::opt<int64_t> numSteps("steps", cl::desc("Training steps"),
                                 cl::init(3000));
static cl::opt<std::string> outDir("out", cl::desc("Output directory"),
                                   cl::init("."));
static cl::opt<int> numThreads("num-threads",
                               cl::desc("Threads (0: all cores)"),
                               cl::init(0));
static cl::opt<int64_t> batchSize("batch", cl::desc("Batch size"),
                                  cl::init(512));
static cl::opt<int64_t> width("width", cl::desc("Model width"), cl::init(128));
static cl::opt<int64_t> numLayers("layers", cl::desc("Transformer layers"),
                                  cl::init(2));
static cl::opt<int64_t> numHeads("heads", cl::desc("Attention heads"),
                                 cl::init(4));
static cl::opt<double> learningRate("lr", cl::desc("AdamW learning rate"),
                                    cl::init(1e-3));
static cl::opt<double> weightDecay("weight-decay",
                                   cl::desc("AdamW weight decay"),
                                   cl::init(1.0));
static cl::opt<uint64_t> seed("seed", cl::desc("Data split and init seed"),
                              cl::init(0));
static cl::opt<int64_t>
    timedSteps("timed-steps",
               cl::desc("Also print the median time of the last N steps"),
               cl::init(0));
// The task fixes these; other values only make sense with --emit-mlir (a
// model of the same architecture for benchmarks).
static cl::opt<int64_t> seqLen("seq", cl::desc("Sequence length"),
                               cl::init(4));
static cl::opt<int64_t> vocab("vocab", cl::desc("Vocabulary size"),
                              cl::init(99));
static cl::opt<int64_t> classes("classes", cl::desc("Output classes"),
                                cl::init(97));
static cl::opt<int64_t> mlpWidth("mlp", cl::desc("MLP hidden width"),
                                 cl::init(512));
static cl::opt<std::string>
    emitMLIR("emit-mlir",
             cl::desc("Write the model (nn dialect) here and stop"),
             cl::init(""));

namespace {
constexpr int64_t kPrime = 97, kPlus = 97, kEquals = 98, kTaskSeq = 4;

struct ParamSpec {
  std::string name;
  std::vector<int64_t> shape;
  enum Init { Normal, Uniform, Ones, Zeros } init;
  int64_t fanIn = 1;
};

/// The model's parameters in argument order, named as a PyTorch module's
/// state_dict would name them.
std::vector<ParamSpec> parameterSpecs() {
  int64_t d = width;
  std::vector<ParamSpec> specs{{"tok_embed", {vocab, d}, ParamSpec::Normal},
                               {"pos_embed", {seqLen, d}, ParamSpec::Normal}};
  auto linear = [&](const std::string &name, int64_t out, int64_t in) {
    specs.push_back({name + "_w", {out, in}, ParamSpec::Uniform, in});
    specs.push_back({name + "_b", {out}, ParamSpec::Uniform, in});
  };
  auto norm = [&](const std::string &name) {
    specs.push_back({name + "_w", {d}, ParamSpec::Ones});
    specs.push_back({name + "_b", {d}, ParamSpec::Zeros});
  };
  for (int64_t l = 0; l < numLayers; ++l) {
    std::string p = "l" + std::to_string(l) + "_";
    norm(p + "ln1");
    linear(p + "q", d, d);
    linear(p + "k", d, d);
    linear(p + "v", d, d);
    linear(p + "o", d, d);
    norm(p + "ln2");
    linear(p + "fc1", mlpWidth, d);
    linear(p + "fc2", d, mlpWidth);
  }
  norm("ln_f");
  linear("head", classes, d);
  return specs;
}

/// Builds `@grok` (the loss) or `@grok_predict` (the logits) into `module`.
LogicalResult buildModel(ModuleOp module, bool predict) {
  int64_t b = batchSize, d = width, h = numHeads, dh = d / h, kSeq = seqLen;
  GraphBuilder g(module, predict ? "grok_predict" : "grok");
  auto i64 = IntegerType::get(module.getContext(), 64);
  Value tokens = g.input({b, kSeq}, i64, "tokens");
  Value positions = g.input({b, kSeq}, i64, "positions");
  Value labels = predict ? Value() : g.input({b}, i64, "labels");
  std::vector<Value> params;
  // The predict function takes the same buffers as plain inputs: it is no
  // model for autodiff to differentiate.
  for (const ParamSpec &p : parameterSpecs())
    params.push_back(predict ? g.input(p.shape, {}, p.name)
                             : g.param(p.shape, p.name));
  size_t next = 0;
  auto take = [&]() { return params[next++]; };
  // [b, T, d] <-> [b·T, d] around the linear layers (views, no copies).
  auto linear = [&](Value x, int64_t out) {
    Value w = take(), bias = take();
    int64_t in = cast<RankedTensorType>(x.getType()).getShape().back();
    Value rows = g.reshape(x, {b * kSeq, in});
    return g.reshape(g.linear(rows, w, bias), {b, kSeq, out});
  };
  auto norm = [&](Value x) {
    Value w = take(), bias = take();
    return g.layerNorm(x, w, bias, 1e-5);
  };
  auto heads = [&](Value x) { // [b, T, d] -> [b, h, T, dh]
    return g.transpose(g.reshape(x, {b, kSeq, h, dh}), {0, 2, 1, 3});
  };
  Value tok = take(), pos = take();
  Value x = g.add(g.embedding(tok, tokens), g.embedding(pos, positions));
  for (int64_t l = 0; l < numLayers; ++l) {
    Value a = norm(x);
    Value q = heads(linear(a, d)), k = heads(linear(a, d)),
          v = heads(linear(a, d));
    Value o = g.attention(q, k, v, Value(), 1.0 / std::sqrt(double(dh)),
                          /*causal=*/true);
    o = g.reshape(g.transpose(o, {0, 2, 1, 3}), {b, kSeq, d});
    x = g.add(x, linear(o, d));
    Value m = norm(x);
    Value fc1w = take(), fc1b = take();
    Value hidden = g.relu(
        g.linear(g.reshape(m, {b * kSeq, d}), fc1w, fc1b));
    Value fc2w = take(), fc2b = take();
    x = g.add(x, g.reshape(g.linear(hidden, fc2w, fc2b), {b, kSeq, d}));
  }
  x = norm(x);
  // The answer is read at "=", the last position.
  Value last = g.reshape(g.slice(x, {0, kSeq - 1, 0}, {b, 1, d}, {1, 1, 1}),
                         {b, d});
  Value hw = take(), hb = take();
  Value logits = g.linear(last, hw, hb);
  if (predict) {
    FailureOr<func::FuncOp> fn = g.finish(logits);
    if (failed(fn))
      return failure();
    (*fn)->setAttr(NNDialect::getEntryAttrName(),
                   EntryRoleAttr::get(module.getContext(), EntryRole::Predict));
    return success();
  }
  return g.finish(g.crossEntropy(logits, labels));
}

/// One example: the tokens of "x + y =" and the answer.
struct Example {
  int64_t tokens[kTaskSeq];
  int64_t label;
};

/// Runs `entry` on `buffers` (every input then every output).
void invoke(JITModule &jit, const EntryPoint &entry,
            ArrayRef<void *> buffers) {
  if (llvm::Error err =
          jit.invokeWithWorkspace(entry.name, buffers, entry.workspaceBytes)) {
    llvm::errs() << "grokking: " << llvm::toString(std::move(err)) << "\n";
    std::exit(1);
  }
}
} // namespace

int main(int argc, char **argv) {
  cl::ParseCommandLineOptions(argc, argv, "nnc grokking example\n");
  if ((seqLen != 4 || vocab != 99 || classes != 97) && emitMLIR.empty()) {
    llvm::errs() << "grokking: --seq, --vocab and --classes other than the "
                    "task's 4, 99 and 97 need --emit-mlir\n";
    return 1;
  }
  if (seqLen < 1 || vocab < 1 || classes < 1 || mlpWidth < 1 ||
      batchSize < 1 || width < 1 || numHeads < 1 || width % numHeads != 0 ||
      numLayers < 1 || numSteps < 1 || !(learningRate > 0) ||
      !std::isfinite(learningRate) || !(weightDecay >= 0) ||
      !std::isfinite(weightDecay)) {
    llvm::errs() << "grokking: --batch, --width, --heads, --layers and "
                    "--steps must be positive, --width divisible by "
                    "--heads, --lr positive and --weight-decay not "
                    "negative\n";
    return 1;
  }
  DialectRegistry registry;
  registerNNCDialects(registry);
  MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagnostics(sourceMgr, &ctx);
  OpBuilder b(&ctx);
  OwningOpRef<ModuleOp> module = ModuleOp::create(b.getUnknownLoc());
  if (failed(buildModel(*module, false)) || failed(buildModel(*module, true)))
    return 1;
  if (!emitMLIR.empty()) {
    std::string text;
    llvm::raw_string_ostream os(text);
    module->print(os);
    // writeToOutput writes a temporary file and renames it: whole or not
    // at all.
    if (llvm::Error err = llvm::writeToOutput(
            emitMLIR, [&](llvm::raw_ostream &os) {
              os << text;
              return llvm::Error::success();
            })) {
      llvm::errs() << "grokking: " << llvm::toString(std::move(err)) << "\n";
      return 1;
    }
    return 0;
  }

  // The data: every pair, shuffled, the first half for training.
  std::mt19937_64 rng(seed);
  std::vector<Example> all;
  for (int64_t x = 0; x < kPrime; ++x)
    for (int64_t y = 0; y < kPrime; ++y)
      all.push_back({{x, kPlus, y, kEquals}, (x + y) % kPrime});
  std::shuffle(all.begin(), all.end(), rng);
  std::vector<Example> train(all.begin(), all.begin() + all.size() / 2),
      valid(all.begin() + all.size() / 2, all.end());

  // The parameters: PyTorch's default initializations (embeddings N(0, 1),
  // linear layers U(±1/sqrt(fan_in)), layer norms 1 and 0).
  std::vector<ParamSpec> specs = parameterSpecs();
  std::vector<std::vector<float>> params, moments;
  std::normal_distribution<float> normal;
  int64_t numParams = 0, embedParams = 0;
  for (const ParamSpec &p : specs) {
    int64_t n = std::accumulate(p.shape.begin(), p.shape.end(), int64_t(1),
                                std::multiplies<int64_t>());
    (p.name.find("embed") != std::string::npos ? embedParams : numParams) += n;
    std::vector<float> v(n);
    float bound = 1.0f / std::sqrt(float(p.fanIn));
    std::uniform_real_distribution<float> uniform(-bound, bound);
    for (float &e : v)
      e = p.init == ParamSpec::Normal    ? normal(rng)
          : p.init == ParamSpec::Uniform ? uniform(rng)
          : p.init == ParamSpec::Ones    ? 1.0f
                                         : 0.0f;
    params.push_back(std::move(v));
    moments.emplace_back(n, 0.0f); // m
    moments.emplace_back(n, 0.0f); // v
  }

  CompileOptions options;
  options.step.optimizer = Optimizer::AdamW;
  options.step.weightDecay = weightDecay;
  options.step.beta2 = 0.98;
  auto compileStart = std::chrono::steady_clock::now();
  FailureOr<CompiledModel> compiled = compileForCPU(std::move(module), options);
  if (failed(compiled))
    return 1;
  auto jit = JITModule::create(*compiled->module);
  if (!jit) {
    llvm::errs() << "grokking: " << llvm::toString(jit.takeError()) << "\n";
    return 1;
  }
  const EntryPoint *step = compiled->find(EntryRole::TrainStep);
  const EntryPoint *predict = compiled->find(EntryRole::Predict);
  if (!step || !predict) {
    llvm::errs() << "grokking: the compiled model lacks its entry points\n";
    return 1;
  }
  if (numThreads > 0)
    nncrt_set_num_threads(numThreads);
  double compileSeconds = std::chrono::duration<double>(
                              std::chrono::steady_clock::now() - compileStart)
                              .count();
  std::printf("transformer: %lld layers, width %lld, %lld heads, MLP %lld: "
              "%lld non-embedding parameters (+%lld in embeddings); "
              "compiled in %.1f s, arena %.1f MiB\n",
              (long long)numLayers, (long long)width, (long long)numHeads,
              (long long)mlpWidth.getValue(), (long long)numParams, (long long)embedParams,
              compileSeconds, step->workspaceBytes / 1048576.0);

  int64_t batch = batchSize;
  std::vector<int64_t> tokens(batch * kTaskSeq), positions(batch * kTaskSeq),
      labels(batch);
  for (int64_t i = 0; i < batch; ++i)
    for (int64_t t = 0; t < kTaskSeq; ++t)
      positions[i * kTaskSeq + t] = t;
  float lr = 0, stepCount = 0, loss = 0;
  std::vector<float> logits(batch * kPrime);
  auto fill = [&](const std::vector<Example> &set, size_t begin,
                  const std::vector<size_t> *order) {
    for (int64_t i = 0; i < batch; ++i) {
      // Past the end (the last evaluation batch): repeat the first example.
      size_t k = begin + i < set.size() ? begin + i : 0;
      const Example &e = set[order ? (*order)[k] : k];
      std::copy(e.tokens, e.tokens + kTaskSeq, tokens.begin() + i * kTaskSeq);
      labels[i] = e.label;
    }
  };
  // Buffers in the entry points' order: data, parameters, (state, lr,
  // step), then the outputs; the step updates parameters and moments in
  // place (the header allows outputs to alias inputs of the same shape).
  std::vector<void *> stepBuffers{tokens.data(), positions.data(),
                                  labels.data()};
  for (auto &p : params)
    stepBuffers.push_back(p.data());
  for (auto &m : moments)
    stepBuffers.push_back(m.data());
  stepBuffers.push_back(&lr);
  stepBuffers.push_back(&stepCount);
  stepBuffers.push_back(&loss);
  for (auto &p : params)
    stepBuffers.push_back(p.data());
  for (auto &m : moments)
    stepBuffers.push_back(m.data());
  if (stepBuffers.size() != step->inputs.size() + step->outputs.size()) {
    llvm::errs() << "grokking: the training step has an unexpected "
                    "signature\n";
    return 1;
  }
  std::vector<void *> predictBuffers{tokens.data(), positions.data()};
  for (auto &p : params)
    predictBuffers.push_back(p.data());
  predictBuffers.push_back(logits.data());

  auto accuracy = [&](const std::vector<Example> &set) {
    int64_t correct = 0;
    for (size_t begin = 0; begin < set.size(); begin += batch) {
      fill(set, begin, nullptr);
      invoke(**jit, *predict, predictBuffers);
      for (int64_t i = 0; i < batch && begin + i < set.size(); ++i) {
        const float *row = logits.data() + i * kPrime;
        correct += std::max_element(row, row + kPrime) - row == labels[i];
      }
    }
    return double(correct) / set.size();
  };

  if (!llvm::sys::fs::is_directory(outDir) &&
      llvm::sys::fs::create_directories(outDir)) {
    llvm::errs() << "grokking: cannot create " << outDir << "\n";
    return 1;
  }
  std::string csv = "step,loss,train_accuracy,validation_accuracy\n";
  ::nnc::plot::Series trainCurve{"train", {}, {}, false},
      validCurve{"validation", {}, {}, true};
  int64_t trainAt99 = -1, validAt99 = -1;
  std::vector<size_t> order(train.size());
  std::iota(order.begin(), order.end(), 0);
  size_t cursor = order.size();
  double stepSeconds = 0;
  std::vector<double> stepTimes;
  // Evaluations on a log scale: about 24 per decade.
  int64_t nextEval = 1;
  for (int64_t s = 1; s <= numSteps; ++s) {
    if (cursor + batch > order.size()) { // a new epoch: reshuffle
      std::shuffle(order.begin(), order.end(), rng);
      cursor = 0;
    }
    fill(train, cursor, &order);
    cursor += batch;
    lr = static_cast<float>(learningRate * std::min(1.0, s / 10.0));
    stepCount = static_cast<float>(s);
    auto t0 = std::chrono::steady_clock::now();
    invoke(**jit, *step, stepBuffers);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
    stepSeconds += seconds;
    stepTimes.push_back(seconds);
    if (!std::isfinite(loss)) {
      llvm::errs() << "grokking: the loss is not finite at step " << s << "\n";
      return 1;
    }
    if (s != nextEval && s != numSteps)
      continue;
    nextEval = std::max(s + 1, int64_t(std::ceil(s * std::pow(10.0, 1 / 24.0))));
    double trainAcc = accuracy(train), validAcc = accuracy(valid);
    if (trainAt99 < 0 && trainAcc >= 0.99)
      trainAt99 = s;
    if (validAt99 < 0 && validAcc >= 0.99)
      validAt99 = s;
    trainCurve.x.push_back(s);
    trainCurve.y.push_back(100 * trainAcc);
    validCurve.x.push_back(s);
    validCurve.y.push_back(100 * validAcc);
    char line[128];
    std::snprintf(line, sizeof(line), "%lld,%.6f,%.4f,%.4f\n", (long long)s,
                  loss, trainAcc, validAcc);
    csv += line;
    std::printf("step %6lld  loss %.4f  train %6.2f %%  validation %6.2f %%  "
                "(%.1f ms/step)\n",
                (long long)s, loss, 100 * trainAcc, 100 * validAcc,
                1e3 * stepSeconds / s);
    std::fflush(stdout);
  }
  std::printf("train accuracy first >= 99 %% at step %lld, validation at step "
              "%lld; %.1f ms per training step\n",
              (long long)trainAt99, (long long)validAt99,
              1e3 * stepSeconds / numSteps);

  if (timedSteps > 0) {
    std::vector<double> last(
        stepTimes.end() - std::min<int64_t>(timedSteps, stepTimes.size()),
        stepTimes.end());
    std::nth_element(last.begin(), last.begin() + last.size() / 2,
                     last.end());
    std::printf("median step %.2f ms over the last %zu steps\n",
                1e3 * last[last.size() / 2], last.size());
  }

  ::nnc::plot::LinePlot plot;
  plot.title = "Grokking x + y mod 97 (nnc, AdamW, weight decay " +
               llvm::formatv("{0}", double(weightDecay)).str() + ")";
  plot.xLabel = "optimization step";
  plot.yLabel = "accuracy (%)";
  plot.logX = true;
  plot.series = {trainCurve, validCurve};
  std::string svg;
  llvm::raw_string_ostream svgStream(svg);
  ::nnc::plot::writeLinePlot(svgStream, plot);
  SmallString<128> csvPath(outDir.getValue()), svgPath(outDir.getValue());
  llvm::sys::path::append(csvPath, "grokking.csv");
  llvm::sys::path::append(svgPath, "grokking.svg");
  for (const auto &file : {std::pair{csvPath.str(), &csv},
                            std::pair{svgPath.str(), &svg}})
    if (llvm::Error err =
            llvm::writeToOutput(file.first, [&](llvm::raw_ostream &os) {
              os << *file.second;
              return llvm::Error::success();
            })) {
      llvm::errs() << "grokking: " << llvm::toString(std::move(err)) << "\n";
      return 1;
    }
  std::printf("wrote %s and %s\n", csvPath.c_str(), svgPath.c_str());
  return 0;
}
