//===- Render.cpp - SVG pictures of plans ---------------------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information. See docs/Planner.md for the model.
//
//===----------------------------------------------------------------------===//

#include "nnc/Planner/Render.h"
#include "nnc/Planner/Simulator.h"

#include "nnc/Support/XML.h"

#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cmath>

using namespace llvm;
using namespace nnc::planner;

/// Costs are usually integral; show them without trailing zeros.
static std::string formatCost(double c) {
  if (c == std::round(c) && std::abs(c) < 1e15)
    return std::to_string(static_cast<long long>(c));
  return formatv("{0:F3}", c).str();
}

void nnc::planner::renderScheduleSVG(const Chain &chain, const Schedule &S,
                                     raw_ostream &os) {
  const unsigned L = chain.length();
  // Geometry: one band per action, nodes on a grid. Sized so a 30-stage,
  // 200-step plan stays legible and a 1000-stage one stays finite.
  const double dx = L <= 40 ? 18 : std::max(3.0, 720.0 / (L + 1));
  const double r = std::max(1.2, dx * 0.36);
  const double band = 2 * dx + 14;
  const double labelW = 190;
  const double width = labelW + dx * (L + 1) + 20;
  const double height = 40 + band * (S.size() + 1);

  os << formatv("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0:F0}\" "
                "height=\"{1:F0}\" font-family=\"monospace\" "
                "font-size=\"11\">\n",
                width, height);
  os << "<title>checkpointing schedule</title>\n";
  os << formatv("<text x=\"8\" y=\"18\">{0} stages, {1} actions. Top row: "
                "a^0..a^L (grey: stored, black: kept as abar). Bottom row: "
                "delta^0..delta^L. Red ring: created by the step.</text>\n",
                L, S.size());

  MemoryState state(chain);
  auto drawBand = [&](unsigned index, StringRef label, const Action *A) {
    const double y0 = 30 + band * index;
    os << formatv("<text x=\"8\" y=\"{0:F1}\">{1}</text>\n", y0 + dx + 4,
                  nnc::escapeXML(label));
    for (unsigned i = 0; i <= L; ++i) {
      const double cx = labelW + dx * i + dx / 2;
      // Forward node a^i.
      const char *fill = "white";
      if (i > 0 && state.hasSaved(i))
        fill = "black";
      else if (i == 0 || state.hasActivation(i))
        fill = "#999";
      bool createdA = A && A->isForward() && A->stage == i;
      os << formatv("<circle cx=\"{0:F1}\" cy=\"{1:F1}\" r=\"{2:F1}\" "
                    "fill=\"{3}\" stroke=\"{4}\" stroke-width=\"{5}\"/>\n",
                    cx, y0 + dx / 2, r, fill, createdA ? "red" : "#444",
                    createdA ? 2 : 0.5);
      // Backward node delta^i.
      bool held = state.gradientIndex() == i;
      bool createdD = A && A->kind == Action::Backward && A->stage == i + 1;
      os << formatv("<circle cx=\"{0:F1}\" cy=\"{1:F1}\" r=\"{2:F1}\" "
                    "fill=\"{3}\" stroke=\"{4}\" stroke-width=\"{5}\"/>\n",
                    cx, y0 + dx * 1.5, r, held ? "#3a7" : "white",
                    createdD ? "red" : "#444", createdD ? 2 : 0.5);
    }
  };

  drawBand(0, formatv("start  {0} B", state.bytes()).str(), nullptr);
  for (size_t k = 0; k < S.size(); ++k) {
    std::string text;
    raw_string_ostream ts(text);
    print(S[k], ts);
    Expected<int64_t> during = state.apply(S[k]);
    if (!during) {
      std::string why = toString(during.takeError());
      os << formatv("<text x=\"8\" y=\"{0:F1}\" fill=\"red\">step {1} ({2}) "
                    "invalid: {3}</text>\n",
                    30 + band * (k + 1) + dx, k + 1, nnc::escapeXML(text),
                    nnc::escapeXML(why));
      break;
    }
    drawBand(k + 1, formatv("{0,4} {1,-12} {2} B", k + 1, text, *during).str(),
             &S[k]);
  }
  os << "</svg>\n";
}

void nnc::planner::renderFrontierSVG(const std::vector<FrontierPoint> &points,
                                     double storeAllCost, raw_ostream &os) {
  const double W = 640, H = 420, left = 80, right = 20, top = 30, bottom = 50;
  os << formatv("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" "
                "height=\"{1}\" font-family=\"sans-serif\" font-size=\"12\">\n",
                W, H);
  os << "<title>memory/cost frontier</title>\n";
  if (points.empty()) {
    os << "<text x=\"20\" y=\"40\">no feasible budget</text>\n</svg>\n";
    return;
  }
  double xMin = 0, xMax = points.back().budgetBytes * 1.1;
  double yMin = 0, yMax = points.front().cost * 1.05;
  if (storeAllCost > 0)
    yMax = std::max(yMax, storeAllCost * 1.05);
  if (xMax <= xMin)
    xMax = xMin + 1;
  auto px = [&](double b) {
    return left + (b - xMin) / (xMax - xMin) * (W - left - right);
  };
  auto py = [&](double c) {
    return H - bottom - (c - yMin) / (yMax - yMin) * (H - top - bottom);
  };
  // Axes and ticks.
  os << formatv("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" "
                "stroke=\"black\"/>\n",
                left, H - bottom, W - right);
  os << formatv("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" "
                "stroke=\"black\"/>\n",
                left, H - bottom, top);
  for (int k = 0; k <= 4; ++k) {
    double b = xMin + (xMax - xMin) * k / 4, c = yMin + (yMax - yMin) * k / 4;
    os << formatv("<text x=\"{0:F1}\" y=\"{1}\" text-anchor=\"middle\">"
                  "{2}</text>\n",
                  px(b), H - bottom + 16, formatByteSize(uint64_t(b)));
    os << formatv("<text x=\"{0}\" y=\"{1:F1}\" text-anchor=\"end\">"
                  "{2:G4}</text>\n",
                  left - 6, py(c) + 4, c);
  }
  os << formatv("<text x=\"{0}\" y=\"{1}\" text-anchor=\"middle\">memory "
                "budget</text>\n",
                (left + W - right) / 2, H - 12);
  os << formatv("<text x=\"16\" y=\"{0}\" transform=\"rotate(-90 16 {0})\" "
                "text-anchor=\"middle\">optimal compute cost</text>\n",
                (top + H - bottom) / 2);
  if (storeAllCost > 0)
    os << formatv("<line x1=\"{0}\" y1=\"{1:F1}\" x2=\"{2}\" y2=\"{1:F1}\" "
                  "stroke=\"#888\" stroke-dasharray=\"4 3\"/>\n",
                  left, py(storeAllCost), W - right);
  // Step plot: cost holds from one point's budget to the next.
  std::string path;
  raw_string_ostream ps(path);
  for (size_t k = 0; k < points.size(); ++k) {
    double x0 = px(points[k].budgetBytes), y = py(points[k].cost);
    double x1 =
        k + 1 < points.size() ? px(points[k + 1].budgetBytes) : px(xMax);
    ps << (k == 0 ? "M" : " L")
       << formatv("{0:F1} {1:F1} L{2:F1} {1:F1}", x0, y, x1);
  }
  os << "<path d=\"" << path
     << "\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\"/>\n";
  for (const FrontierPoint &p : points)
    os << formatv("<circle cx=\"{0:F1}\" cy=\"{1:F1}\" r=\"2.5\" "
                  "fill=\"#1f77b4\"><title>{2} bytes: cost {3}</title>"
                  "</circle>\n",
                  px(p.budgetBytes), py(p.cost), p.budgetBytes,
                  formatCost(p.cost));
  os << "</svg>\n";
}

//===----------------------------------------------------------------------===//
// Reports
//===----------------------------------------------------------------------===//

double PlanReport::overheadPercent() const {
  return storeAll.computeCost > 0 ? 100.0 *
                                        (sim.computeCost - storeAll.computeCost) /
                                        storeAll.computeCost
                                  : 0;
}

void nnc::planner::printPlanReport(const PlanReport &r, raw_ostream &os) {
  os << "schedule: ";
  print(*r.schedule, os);
  os << "\n";
  os << "strategy:       " << r.strategy << "\n";
  os << "stages:         " << r.stages << "\n";
  if (r.budgetBytes)
    os << "budget:         " << *r.budgetBytes << " bytes ("
       << formatByteSize(*r.budgetBytes) << ")\n";
  else
    os << "budget:         unconstrained\n";
  os << "peak:           " << r.sim.peakBytes << " bytes ("
     << formatByteSize(r.sim.peakBytes) << ")\n";
  os << "compute cost:   " << formatCost(r.sim.computeCost) << "\n";
  os << "forward steps:  " << r.sim.forwardSteps << "\n";
  os << "recompute cost: " << formatCost(r.sim.recomputeCost) << "\n";
  const double overhead = r.overheadPercent();
  os << formatv("vs store-all:   {0}{1:F1}% compute, peak {2:F1}% of "
                "{3} bytes\n",
                overhead >= 0 ? "+" : "", overhead,
                100.0 * r.sim.peakBytes / r.storeAll.peakBytes,
                r.storeAll.peakBytes);
  if (r.revolve)
    os << "revolve p(l=" << r.revolve->first << ", s=" << r.revolve->second
       << "):  " << revolveForwardSteps(r.revolve->first, r.revolve->second)
       << " forward steps\n";
  if (r.frontier) {
    os << "frontier (budget_bytes cost):\n";
    for (const FrontierPoint &p : *r.frontier)
      os << "  " << p.budgetBytes << " " << formatCost(p.cost) << "\n";
  }
}

json::Value nnc::planner::planReportToJSON(const PlanReport &r) {
  json::Value out = planToJSON(r.strategy, r.budgetBytes, *r.schedule, r.sim);
  json::Object &o = *out.getAsObject();
  o["store_all_peak_bytes"] = r.storeAll.peakBytes;
  o["store_all_cost"] = r.storeAll.computeCost;
  o["overhead_percent"] = r.overheadPercent();
  if (r.frontier) {
    json::Array points;
    for (const FrontierPoint &p : *r.frontier)
      points.push_back(json::Object{{"budget_bytes", int64_t(p.budgetBytes)},
                                    {"cost", p.cost}});
    o["frontier"] = std::move(points);
  }
  return out;
}
