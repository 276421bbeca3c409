//===- train-mlp.cpp - train an MLP with nnc as a library -----------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// The README's main job: build the seed's Fashion-MNIST-sized MLP
// (784-100-10, 79,510 parameters) with the GraphBuilder, compile its whole
// training step (forward, backward, SGD) through the CPU pipeline into the
// JIT, and run it on synthetic data, printing the loss as it falls.
//
// The data is a fixed random "teacher": inputs x ~ N(0, 1) and labels
// argmax(T·x) for a random T (targets T·x for MSE), so the task is learnable
// and the run is reproducible without a download.
//
//===----------------------------------------------------------------------===//

#include "nnc/ExecutionEngine/JIT.h"
#include "nnc/Frontend/GraphBuilder.h"
#include "nnc/Pipeline/Compiler.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"

#include <chrono>
#include <random>

using namespace mlir;
using namespace mlir::nnc;
namespace cl = llvm::cl;

static cl::opt<std::string> widths("mlp", cl::desc("layer widths"),
                                   cl::init("784,100,10"));
static cl::opt<std::string> activation("activation", cl::init("relu"));
static cl::opt<std::string> lossName("loss", cl::init("cross-entropy"));
static cl::opt<int64_t> batch("batch", cl::init(128));
static cl::opt<int> steps("steps", cl::desc("training steps"), cl::init(100));
static cl::opt<double> lr("learning-rate", cl::init(0.1));
static cl::opt<int> batches("batches",
                            cl::desc("distinct synthetic batches to cycle"),
                            cl::init(8));
static cl::opt<int> every("print-every", cl::init(10));
static cl::opt<uint64_t> seed("seed", cl::init(0));

int main(int argc, char **argv) {
  llvm::InitLLVM y(argc, argv);
  cl::ParseCommandLineOptions(argc, argv, "train an MLP with nnc\n");

  auto spec = parseMLPSpec(widths, activation, lossName, batch);
  if (!spec) {
    llvm::errs() << "nnc-train-mlp: error: " << llvm::toString(spec.takeError())
                 << "\n";
    return 1;
  }
  spec->seed = seed;

  DialectRegistry registry;
  registerNNCDialects(registry);
  MLIRContext ctx(registry);
  llvm::SourceMgr sourceMgr;
  // Diagnostics point at the source; dumping the whole op helps nobody.
  ctx.printOpOnDiagnostic(false);
  SourceMgrDiagnosticHandler diag(sourceMgr, &ctx);

  auto t0 = std::chrono::steady_clock::now();
  CPUPipelineOptions options;
  options.learningRate = static_cast<double>(lr);
  auto compiled = compileForCPU(buildMLP(ctx, *spec), options);
  if (failed(compiled))
    return 1;
  auto jit = JITModule::create(*compiled->module);
  if (!jit) {
    llvm::errs() << "nnc-train-mlp: error: " << llvm::toString(jit.takeError())
                 << "\n";
    return 1;
  }
  double compileSec =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  const EntryPoint *step = compiled->find(EntryRole::TrainStep);
  llvm::outs() << "nnc-train-mlp: " << widths << " " << activation << " "
               << lossName << ", batch " << batch << ", "
               << spec->numParameters() << " parameters, compiled '"
               << step->name << "' in " << llvm::format("%.2f", compileSec)
               << " s, workspace " << step->workspaceBytes << " bytes\n";

  // Synthetic teacher data.
  int64_t in = spec->widths.front(), out = spec->widths.back();
  std::mt19937_64 rng(seed + 1);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> teacher(out * in);
  for (float &v : teacher)
    v = normal(rng) / std::sqrt(static_cast<float>(in));
  std::vector<std::vector<float>> xs(batches), targets(batches);
  std::vector<std::vector<int32_t>> labels(batches);
  for (int k = 0; k < batches; ++k) {
    xs[k].resize(batch * in);
    for (float &v : xs[k])
      v = normal(rng);
    targets[k].assign(batch * out, 0.0f);
    labels[k].assign(batch, 0);
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t o = 0; o < out; ++o) {
        float s = 0;
        for (int64_t i = 0; i < in; ++i)
          s += teacher[o * in + i] * xs[k][b * in + i];
        targets[k][b * out + o] = s;
        if (s > targets[k][b * out + labels[k][b]])
          labels[k][b] = o;
      }
    }
  }

  std::vector<std::vector<float>> params = initParameters(*spec);
  float loss = 0;
  double firstLoss = 0, lastLoss = 0, stepSec = 0;
  for (int s = 0; s < steps; ++s) {
    int k = s % batches;
    SmallVector<void *> bufs{xs[k].data(),
                             spec->loss == Loss::CrossEntropy
                                 ? static_cast<void *>(labels[k].data())
                                 : static_cast<void *>(targets[k].data())};
    for (auto &p : params)
      bufs.push_back(p.data());
    bufs.push_back(&loss);
    for (auto &p : params) // updated in place, as the header allows
      bufs.push_back(p.data());
    auto s0 = std::chrono::steady_clock::now();
    if (llvm::Error err = (*jit)->invokeWithWorkspace(step->name, bufs,
                                                      step->workspaceBytes)) {
      llvm::errs() << "nnc-train-mlp: error: " << llvm::toString(std::move(err))
                   << "\n";
      return 1;
    }
    stepSec +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - s0)
            .count();
    if (s == 0)
      firstLoss = loss;
    lastLoss = loss;
    if (s % every == 0 || s + 1 == steps)
      llvm::outs() << "step " << llvm::format("%4d", s) << "  loss "
                   << llvm::format("%.6f", loss) << "\n";
  }
  llvm::outs() << "loss " << llvm::format("%.6f", firstLoss) << " -> "
               << llvm::format("%.6f", lastLoss) << " over " << steps
               << " steps, " << llvm::format("%.2f", 1e3 * stepSec / steps)
               << " ms/step\n";
  return lastLoss < firstLoss ? 0 : 2;
}
