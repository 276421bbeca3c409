//===- arena_quality.cpp - Arena planner quality and speed ----------------===//
//
// Part of the nnc project.
//
//===----------------------------------------------------------------------===//
//
// Prints, per workload family and size, how far the planned arena is above
// the max-live lower bound (1.000 = optimal), how much sharing saved against
// giving every buffer its own bytes, and how long planning and verification
// take. Seeds are fixed, so the table is reproducible.
//
// Usage: bench-arena [--svg-dir DIR]   (DIR receives one picture per family)
//
//===----------------------------------------------------------------------===//

#include "nnc/Memory/ArenaPlanner.h"
#include "nnc/Memory/ArenaSVG.h"
#include "nnc/Memory/SyntheticWorkloads.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <fstream>
#include <functional>
#include <string>

using namespace nnc::memory;

namespace {

using Clock = std::chrono::steady_clock;

double microsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::micro>(Clock::now() - start)
      .count();
}

struct Row {
  std::string family;
  unsigned scale;
  unsigned trials;
  std::function<std::vector<BufferInterval>(std::mt19937 &)> generate;
};

} // namespace

int main(int argc, char **argv) {
  std::string svgDir;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--svg-dir" && i + 1 < argc) {
      svgDir = argv[++i];
    } else {
      llvm::errs() << "usage: " << argv[0] << " [--svg-dir DIR]\n";
      return 2;
    }
  }

  std::vector<Row> rows;
  for (unsigned n : {10u, 100u, 1000u, 5000u})
    rows.push_back({"random", n, n >= 1000 ? 5u : 100u, [n](std::mt19937 &r) {
                      return makeRandomWorkload(r, n, n, 1 << 20);
                    }});
  for (NetworkShape shape : {NetworkShape::MLP, NetworkShape::CNN})
    for (unsigned layers : {10u, 50u, 250u, 1000u})
      rows.push_back({shape == NetworkShape::MLP ? "train-mlp" : "train-cnn",
                      layers, layers >= 250 ? 10u : 100u,
                      [layers, shape](std::mt19937 &r) {
                        return makeTrainingWorkload(r, layers, shape);
                      }});

  llvm::outs() << llvm::formatv(
      "{0,-10} {1,6} {2,7} {3,6} {4,9} {5,9} {6,9} {7,9} {8,11} {9,11} "
      "{10,11} {11,11}\n",
      "workload", "scale", "buffers", "trials", "arena/LB", "worst", "gbs/LB",
      "gbs-worst", "arena/naive", "plan[us]", "gbs[us]", "verify[us]");
  llvm::outs() << std::string(120, '-') << "\n";
  bool allValid = true;
  for (const Row &row : rows) {
    std::mt19937 rng(42 + row.scale);
    double ratioSum = 0, worst = 0, naiveRatioSum = 0, planUs = 0, verifyUs = 0,
           greedySum = 0, greedyWorst = 0, greedyUs = 0;
    size_t bufferSum = 0;
    for (unsigned t = 0; t < row.trials; ++t) {
      std::vector<BufferInterval> buffers = row.generate(rng);
      bufferSum += buffers.size();
      Clock::time_point start = Clock::now();
      llvm::Expected<ArenaPlan> plan = planArena(buffers);
      planUs += microsSince(start);
      if (!plan) {
        llvm::errs() << llvm::toString(plan.takeError()) << "\n";
        return 1;
      }
      start = Clock::now();
      llvm::Expected<ArenaPlan> greedy =
          planArena(buffers, PlannerOptions::greedyBySize());
      greedyUs += microsSince(start);
      if (!greedy) {
        llvm::errs() << llvm::toString(greedy.takeError()) << "\n";
        return 1;
      }
      double greedyRatio = greedy->maxLiveBytes ? double(greedy->arenaBytes) /
                                                      greedy->maxLiveBytes
                                                : 1.0;
      greedySum += greedyRatio;
      greedyWorst = std::max(greedyWorst, greedyRatio);
      start = Clock::now();
      if (llvm::Error error = verifyPlan(buffers, *plan)) {
        llvm::errs() << row.family << " " << row.scale << ": "
                     << llvm::toString(std::move(error)) << "\n";
        allValid = false;
      }
      verifyUs += microsSince(start);
      uint64_t naive = 0;
      for (const BufferInterval &buffer : buffers)
        naive += footprintOf(buffer);
      double ratio = plan->maxLiveBytes
                         ? double(plan->arenaBytes) / plan->maxLiveBytes
                         : 1.0;
      ratioSum += ratio;
      worst = std::max(worst, ratio);
      naiveRatioSum += naive ? double(plan->arenaBytes) / naive : 1.0;
      if (!svgDir.empty() && t == 0 && row.scale <= 100) {
        SVGOptions svgOptions;
        svgOptions.title = row.family + ", scale " + std::to_string(row.scale);
        std::ofstream(svgDir + "/" + row.family + "-" +
                      std::to_string(row.scale) + ".svg")
            << renderArenaSVG(buffers, *plan, {}, svgOptions);
      }
    }
    double n = row.trials;
    llvm::outs() << llvm::format(
        "%-10s %6u %7.0f %6u %9.4f %9.4f %9.4f %9.4f %11.4f %11.1f %11.1f "
        "%11.1f\n",
        row.family.c_str(), row.scale, bufferSum / n, row.trials, ratioSum / n,
        worst, greedySum / n, greedyWorst, naiveRatioSum / n, planUs / n,
        greedyUs / n, verifyUs / n);
  }
  llvm::outs()
      << "\narena/LB: arena bytes over the max-live lower bound (mean over "
         "trials), default planner; worst: max over trials;\n"
         "gbs: the same for plain greedy by size "
         "(PlannerOptions::greedyBySize());\n"
         "arena/naive: arena over the sum of all footprints (no sharing);\n"
         "scale: buffers (random) or layers (train-*); times are per plan.\n";
  return allValid ? 0 : 1;
}
