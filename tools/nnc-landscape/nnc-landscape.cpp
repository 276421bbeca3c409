//===- nnc-landscape.cpp - loss-landscape projections ---------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// Evaluates the compiled loss along a line w + α·d and over a plane
// w + α·d₁ + β·d₂ around given weights (Li et al. 2018, with filter
// normalization per parameter tensor), on training and test data, and
// writes the numbers as CSV and the pictures as SVG. A thin main over
// nnc/Training/Landscape.h.
//
//===----------------------------------------------------------------------===//

#include "nnc/Frontend/ModelLoader.h"
#include "nnc/Pipeline/Compiler.h"
#include "nnc/Plot/SVGPlot.h"
#include "nnc/Support/Limits.h"
#include "nnc/Training/Landscape.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

using namespace mlir;
using namespace mlir::nnc;
namespace cl = llvm::cl;
namespace plot = ::nnc::plot;

static int fail(const llvm::Twine &msg) {
  llvm::WithColor::error(llvm::errs(), "nnc-landscape") << msg << "\n";
  return 1;
}

static llvm::Error writeFile(const std::string &path,
                             llvm::function_ref<void(llvm::raw_ostream &)> f) {
  std::error_code ec;
  llvm::ToolOutputFile file(path, ec, llvm::sys::fs::OF_Text);
  if (ec)
    return llvm::createStringError(ec, "cannot write '%s': %s", path.c_str(),
                                   ec.message().c_str());
  f(file.os());
  file.keep();
  return llvm::Error::success();
}

static void writeCSV(llvm::raw_ostream &os,
                     llvm::ArrayRef<LandscapePoint> points, bool plane) {
  os << (plane ? "alpha,beta," : "alpha,")
     << "train_loss,train_accuracy,test_loss,test_accuracy\n";
  for (const LandscapePoint &p : points) {
    os << llvm::format("%.6g,", p.alpha);
    if (plane)
      os << llvm::format("%.6g,", p.beta);
    os << llvm::format("%.9g,%.6g,%.9g,%.6g\n", p.train.loss, p.train.accuracy,
                       p.test.loss, p.test.accuracy);
  }
}

int main(int argc, char **argv) {
  llvm::InitLLVM y(argc, argv);
  cl::OptionCategory cat("nnc-landscape options");
  ModelCLOptions modelOptions(cat);
  cl::opt<std::string> dataDir("data", cl::desc("MNIST-layout IDX directory"),
                               cl::init("/usr/share/datasets/fashion-mnist"),
                               cl::cat(cat));
  cl::opt<std::string> weights(
      "weights",
      cl::desc("The centre w (an nnc weights file, e.g. from nnc-train "
               "--save); default: the --init initialization"),
      cl::init(""), cl::cat(cat));
  cl::opt<std::string> lineTo(
      "line-to",
      cl::desc("The line's direction is (these weights - w): the linear "
               "interpolation between two points (e.g. w = the "
               "initialization, these = the trained weights)"),
      cl::init(""), cl::cat(cat));
  cl::opt<std::string> output("o", cl::desc("Output prefix"),
                              cl::init("landscape"), cl::cat(cat));
  cl::opt<bool> line("line", cl::desc("Evaluate the line"), cl::init(true),
                     cl::cat(cat));
  cl::opt<bool> plane("plane", cl::desc("Evaluate the plane"), cl::init(false),
                      cl::cat(cat));
  cl::opt<double> range("range",
                        cl::desc("α (and β) from -range to +range (the line "
                                 "to --line-to runs from -range/2 to "
                                 "1 + range/2)"),
                        cl::init(1.0), cl::cat(cat));
  cl::opt<int64_t> points("points", cl::desc("Points on the line"),
                          cl::init(41), cl::cat(cat));
  cl::opt<int64_t> grid("grid", cl::desc("Points per side of the plane"),
                        cl::init(21), cl::cat(cat));
  cl::opt<uint64_t> directionSeed("direction-seed",
                                  cl::desc("Seed of the random directions"),
                                  cl::init(1), cl::cat(cat));
  cl::opt<int64_t> trainSamples(
      "train-samples",
      cl::desc("Training images evaluated at each point (whole batches)"),
      cl::init(10000), cl::cat(cat));
  cl::opt<int64_t> testSamples("test-samples",
                               cl::desc("Test images evaluated at each point"),
                               cl::init(10000), cl::cat(cat));
  registerCompilerCLOptions();
  cl::HideUnrelatedOptions(cat);
  cl::ParseCommandLineOptions(argc, argv,
                              "loss-landscape projections of a model\n");

  if (!(range > 0) || points < 2 || grid < 2)
    return fail("--range must be positive, --points and --grid at least 2");
  // Every option is checked, used or not (docs/Limits.md).
  if (!(range <= ::nnc::limits::kMaxLandscapeRange))
    return fail("--range=" + std::to_string(range) +
                " is over nnc's limit of 1e6 (and must be finite)");
  if (points > ::nnc::limits::kMaxLandscapePoints)
    return fail("--points=" + std::to_string(points) +
                " is over nnc's limit of 1,000,000 evaluations");
  // grid² without overflow: grid is compared with the limit's square root.
  if (grid > 1000)
    return fail("--grid=" + std::to_string(grid) +
                " is over nnc's limit of 1000 (1,000,000 evaluations)");
  if (trainSamples < 0 || testSamples < 0)
    return fail("--train-samples and --test-samples must not be negative");
  if (!line && !plane)
    return fail("nothing to do: give --line or --plane");
  llvm::Expected<ModelSource> source = modelOptions.getSource();
  if (!source)
    return fail(llvm::toString(source.takeError()));
  DialectRegistry registry;
  registerNNCDialects(registry);
  MLIRContext ctx(registry);
  llvm::SourceMgr sourceMgr;
  ctx.printOpOnDiagnostic(false);
  SourceMgrDiagnosticHandler diagHandler(sourceMgr, &ctx);
  auto module = loadModel(ctx, sourceMgr, *source);
  if (!module)
    return ::nnc::reportToolError("nnc-landscape", module.takeError());
  auto eval = LossEvaluator::create(std::move(*module));
  if (!eval)
    return fail(llvm::toString(eval.takeError()));
  LossEvaluator &e = **eval;
  if (e.getClasses() == 0)
    return fail("the model has no inference function with [batch, classes] "
                "output");

  auto train = loadMNISTLayout(dataDir, true, e.getFeatures(), e.getClasses());
  if (!train)
    return fail(llvm::toString(train.takeError()));
  auto test = loadMNISTLayout(dataDir, false, e.getFeatures(), e.getClasses());
  if (!test)
    return fail(llvm::toString(test.takeError()));
  // The normalization nnc-train uses: the training set's statistics.
  Normalization norm = computeNormalization(*train);
  normalize(*train, norm);
  normalize(*test, norm);

  std::vector<NamedTensor> center = e.getParameters();
  if (!weights.empty()) {
    auto w = readWeights(weights);
    if (!w)
      return fail(llvm::toString(w.takeError()));
    if (llvm::Error err = matchWeights(weights, *w, center))
      return fail(llvm::toString(std::move(err)));
    center = std::move(*w);
  } else {
    auto init = initParameters(
        [&] {
          std::vector<std::vector<int64_t>> shapes;
          for (const NamedTensor &t : center)
            shapes.push_back(t.shape);
          return shapes;
        }(),
        source->mlp.init, source->mlp.initStd, source->mlp.initValue,
        source->mlp.seed);
    for (size_t i = 0; i < center.size(); ++i)
      center[i].data = init[i];
  }
  llvm::outs() << llvm::formatv(
      "nnc-landscape: centre {0}, {1} train / {2} test samples per point "
      "(batch {3})\n",
      weights.empty() ? "the " + ::nnc::inits.name(source->mlp.init).str() +
                            " initialization (seed " +
                            std::to_string(source->mlp.seed) + ")"
                      : "'" + weights + "'",
      std::min<int64_t>(trainSamples, train->count) / e.getBatch() *
          e.getBatch(),
      std::min<int64_t>(testSamples, test->count) / e.getBatch() * e.getBatch(),
      e.getBatch());

  bool showProgress = llvm::sys::Process::StandardErrIsDisplayed();
  auto progress = [&](size_t done, size_t total) {
    if (!showProgress)
      return;
    llvm::errs() << llvm::formatv("\r  {0}/{1} points", done, total);
    if (done == total)
      llvm::errs() << "\n";
  };
  // Along a zero direction every point is the centre: a flat line or plane
  // that would look like a finding.
  auto isZero = [](const Direction &d) {
    return llvm::all_of(d, [](const std::vector<float> &t) {
      return llvm::all_of(t, [](float v) { return v == 0.0f; });
    });
  };
  const char *allZero =
      "every weight of the centre is zero, so a filter-normalized direction "
      "is zero too (start from trained weights, --weights, or another "
      "--init)";
  if (line) {
    Direction d;
    std::vector<double> alphas;
    std::string what;
    if (!lineTo.empty()) {
      auto to = readWeights(lineTo);
      if (!to)
        return fail(llvm::toString(to.takeError()));
      if (llvm::Error err = matchWeights(lineTo, *to, center))
        return fail(llvm::toString(std::move(err)));
      d = difference(*to, center);
      if (isZero(d))
        return fail("the weights of --line-to '" + lineTo +
                    "' equal the centre: the line has no direction");
      alphas = linspace(-range / 2, 1 + range / 2, points);
      what = "w + α (w' - w), w' = " + lineTo;
    } else {
      d = filterNormalizedDirection(center, directionSeed);
      if (isZero(d))
        return fail(allZero);
      alphas = linspace(-range, range, points);
      what = "w + α d, d Gaussian, filter-normalized";
    }
    auto pts = evaluateGrid(e, center, d, {}, alphas, {0.0}, *train,
                            trainSamples, *test, testSamples,
                            [&](size_t n) { progress(n, alphas.size()); });
    if (!pts)
      return fail(llvm::toString(pts.takeError()));
    plot::Series trl{"train", {}, {}}, tel{"test", {}, {}, true};
    plot::Series tra{"train", {}, {}}, tea{"test", {}, {}, true};
    for (const LandscapePoint &p : *pts) {
      trl.x.push_back(p.alpha);
      trl.y.push_back(p.train.loss);
      tel.x.push_back(p.alpha);
      tel.y.push_back(p.test.loss);
      tra.x.push_back(p.alpha);
      tra.y.push_back(100 * p.train.accuracy);
      tea.x.push_back(p.alpha);
      tea.y.push_back(100 * p.test.accuracy);
    }
    plot::LinePlot lossPlot{
        "loss along " + what, "α", "loss (log scale)", {trl, tel}, true};
    plot::LinePlot accPlot{
        "accuracy along " + what, "α", "accuracy (%)", {tra, tea}};
    if (llvm::Error err =
            writeFile(output + "-line.csv", [&](llvm::raw_ostream &os) {
              writeCSV(os, *pts, false);
            }))
      return fail(llvm::toString(std::move(err)));
    if (llvm::Error err =
            writeFile(output + "-line-loss.svg", [&](llvm::raw_ostream &os) {
              plot::writeLinePlot(os, lossPlot);
            }))
      return fail(llvm::toString(std::move(err)));
    if (llvm::Error err = writeFile(
            output + "-line-accuracy.svg",
            [&](llvm::raw_ostream &os) { plot::writeLinePlot(os, accPlot); }))
      return fail(llvm::toString(std::move(err)));
    for (const LandscapePoint &p : *pts)
      if (p.alpha == 0)
        llvm::outs() << llvm::formatv("  line: at α = 0, train loss {0:F6}, "
                                      "test loss {1:F6}\n",
                                      p.train.loss, p.test.loss);
    llvm::outs() << "  line: " << output << "-line.csv, " << output
                 << "-line-loss.svg, " << output << "-line-accuracy.svg\n";
  }
  if (plane) {
    Direction d1 = filterNormalizedDirection(center, directionSeed);
    Direction d2 = filterNormalizedDirection(center, directionSeed + 1);
    if (isZero(d1) || isZero(d2))
      return fail(allZero);
    std::vector<double> ab = linspace(-range, range, grid);
    auto pts = evaluateGrid(
        e, center, d1, d2, ab, ab, *train, trainSamples, *test, testSamples,
        [&](size_t n) { progress(n, ab.size() * ab.size()); });
    if (!pts)
      return fail(llvm::toString(pts.takeError()));
    if (llvm::Error err =
            writeFile(output + "-plane.csv",
                      [&](llvm::raw_ostream &os) { writeCSV(os, *pts, true); }))
      return fail(llvm::toString(std::move(err)));
    for (bool onTrain : {true, false}) {
      plot::HeatMap map;
      map.title = std::string(onTrain ? "train" : "test") +
                  " loss over w + α d₁ + β d₂ (filter-normalized)";
      map.xLabel = "α";
      map.yLabel = "β";
      map.valueLabel = "loss (log scale)";
      map.xs = ab;
      map.ys = ab;
      for (const LandscapePoint &p : *pts)
        map.values.push_back(onTrain ? p.train.loss : p.test.loss);
      map.markers.push_back({0.0, 0.0});
      std::string path =
          output + (onTrain ? "-plane-train.svg" : "-plane-test.svg");
      if (llvm::Error err = writeFile(path, [&](llvm::raw_ostream &os) {
            plot::writeHeatMap(os, map);
          }))
        return fail(llvm::toString(std::move(err)));
    }
    llvm::outs() << "  plane: " << output << "-plane.csv, " << output
                 << "-plane-train.svg, " << output << "-plane-test.svg\n";
  }
  return 0;
}
