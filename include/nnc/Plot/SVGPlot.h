//===- SVGPlot.h - line plots and heat maps as SVG --------------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// Training curves and loss-landscape pictures, written as plain SVG text
// (Debian packages no small C++ plotting library that writes SVG; cairo or
// PLplot would bring a rendering stack for a few hundred lines of markup).
// MLIR-free: it links only LLVMSupport.
//
//===----------------------------------------------------------------------===//

#ifndef NNC_PLOT_SVGPLOT_H
#define NNC_PLOT_SVGPLOT_H

#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

namespace nnc::plot {

struct Series {
  std::string label;
  std::vector<double> x, y;
  /// Dashed line (e.g. test beside train).
  bool dashed = false;
};

struct LinePlot {
  std::string title, xLabel, yLabel;
  std::vector<Series> series;
  /// Logarithmic y axis (non-positive values are left out).
  bool logY = false;
  /// Logarithmic x axis (non-positive values are left out): training
  /// curves over steps that span decades.
  bool logX = false;
  int width = 640, height = 400;
};

/// Axes with "nice" ticks, one polyline per series (non-finite points
/// break the line), a legend.
void writeLinePlot(llvm::raw_ostream &os, const LinePlot &plot);

struct HeatMap {
  std::string title, xLabel, yLabel, valueLabel;
  /// Grid coordinates; `values[j * xs.size() + i]` is the value at
  /// (xs[i], ys[j]).
  std::vector<double> xs, ys, values;
  /// Iso-lines at this many evenly spaced levels (marching squares).
  int contours = 12;
  /// Colors and levels on log10(value) (losses span decades).
  bool logScale = true;
  /// Marked points, e.g. the trained weights at (0, 0).
  std::vector<std::pair<double, double>> markers;
  int width = 560, height = 480;
};

/// Cells colored by value (a viridis-like ramp), iso-lines, a color bar.
void writeHeatMap(llvm::raw_ostream &os, const HeatMap &map);

/// Up to `count` round tick values covering [lo, hi].
std::vector<double> niceTicks(double lo, double hi, int count = 6);

} // namespace nnc::plot

#endif // NNC_PLOT_SVGPLOT_H
