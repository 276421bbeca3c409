//===- SVGPlot.cpp - line plots and heat maps as SVG ----------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Plot/SVGPlot.h"

#include "nnc/Support/XML.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

using namespace nnc::plot;

std::vector<double> nnc::plot::niceTicks(double lo, double hi, int count) {
  if (!(hi > lo))
    return {lo};
  double raw = (hi - lo) / std::max(count - 1, 1);
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9;
       t += step)
    ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  return ticks;
}

static std::string num(double v) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << llvm::format("%g", v);
  return s;
}

namespace {
std::vector<double> logTicks(double lo, double hi);

/// A plot area: data coordinates to pixels.
struct Frame {
  double x0, x1, y0, y1;           // data range
  double left, top, width, height; // pixels
  double px(double x) const { return left + (x - x0) / (x1 - x0) * width; }
  double py(double y) const {
    return top + height - (y - y0) / (y1 - y0) * height;
  }
};

const char *kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                         "#9467bd", "#8c564b", "#e377c2", "#17becf"};

void header(llvm::raw_ostream &os, int w, int h, const std::string &title) {
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w
     << "\" height=\"" << h << "\" viewBox=\"0 0 " << w << " " << h
     << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
     << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
     << "<text x=\"" << w / 2 << "\" y=\"20\" text-anchor=\"middle\" "
     << "font-size=\"14\">" << nnc::escapeXML(title) << "</text>\n";
}

/// Axes, ticks and labels; `yTick` formats a y tick (log axes print 10^k).
void axes(llvm::raw_ostream &os, const Frame &f, const std::string &xLabel,
          const std::string &yLabel, bool logY, bool logX = false) {
  os << "<rect x=\"" << num(f.left) << "\" y=\"" << num(f.top) << "\" width=\""
     << num(f.width) << "\" height=\"" << num(f.height)
     << "\" fill=\"none\" stroke=\"black\"/>\n";
  for (double t : logX ? logTicks(f.x0, f.x1) : niceTicks(f.x0, f.x1)) {
    double x = f.px(t);
    os << "<line x1=\"" << num(x) << "\" y1=\"" << num(f.top + f.height)
       << "\" x2=\"" << num(x) << "\" y2=\"" << num(f.top + f.height + 4)
       << "\" stroke=\"black\"/>"
       << "<text x=\"" << num(x) << "\" y=\"" << num(f.top + f.height + 17)
       << "\" text-anchor=\"middle\">" << (logX ? num(std::pow(10.0, t)) : num(t))
       << "</text>\n";
  }
  std::vector<double> yTicks =
      logY ? logTicks(f.y0, f.y1) : niceTicks(f.y0, f.y1);
  for (double t : yTicks) {
    double y = f.py(t);
    os << "<line x1=\"" << num(f.left - 4) << "\" y1=\"" << num(y) << "\" x2=\""
       << num(f.left) << "\" y2=\"" << num(y) << "\" stroke=\"black\"/>"
       << "<line x1=\"" << num(f.left) << "\" y1=\"" << num(y) << "\" x2=\""
       << num(f.left + f.width) << "\" y2=\"" << num(y)
       << "\" stroke=\"#e0e0e0\" stroke-width=\"0.5\"/>"
       << "<text x=\"" << num(f.left - 7) << "\" y=\"" << num(y + 4)
       << "\" text-anchor=\"end\">" << (logY ? num(std::pow(10.0, t)) : num(t))
       << "</text>\n";
  }
  os << "<text x=\"" << num(f.left + f.width / 2) << "\" y=\""
     << num(f.top + f.height + 34) << "\" text-anchor=\"middle\">"
     << nnc::escapeXML(xLabel) << "</text>\n"
     << "<text transform=\"translate(14," << num(f.top + f.height / 2)
     << ") rotate(-90)\" text-anchor=\"middle\">" << nnc::escapeXML(yLabel)
     << "</text>\n";
}

/// Ticks for an axis of log10 values: 1, 2 and 5 times powers of ten (only
/// the powers when that is too many), as their logarithms.
std::vector<double> logTicks(double lo, double hi) {
  std::vector<double> ticks;
  for (int k = static_cast<int>(std::floor(lo)); k <= std::ceil(hi); ++k)
    for (double m : {1.0, 2.0, 5.0}) {
      double t = std::log10(m) + k;
      if (t >= lo && t <= hi)
        ticks.push_back(t);
    }
  if (ticks.size() > 8)
    llvm::erase_if(ticks,
                   [](double t) { return std::abs(t - std::round(t)) > 1e-9; });
  if (ticks.size() < 2) // less than a factor of 2: round values in between
    for (double t : niceTicks(std::pow(10.0, lo), std::pow(10.0, hi), 4))
      if (t > 0)
        ticks.push_back(std::log10(t));
  llvm::sort(ticks);
  ticks.erase(std::unique(ticks.begin(), ticks.end()), ticks.end());
  return ticks;
}

void pad(double &lo, double &hi) {
  if (!(hi > lo)) {
    double d = std::abs(lo) > 0 ? std::abs(lo) * 0.1 : 1.0;
    lo -= d;
    hi += d;
  }
}
} // namespace

void nnc::plot::writeLinePlot(llvm::raw_ostream &os, const LinePlot &plot) {
  auto fy = [&](double y) { return plot.logY ? std::log10(y) : y; };
  auto fx = [&](double x) { return plot.logX ? std::log10(x) : x; };
  auto usable = [&](double x, double y) {
    return std::isfinite(x) && std::isfinite(y) && (!plot.logY || y > 0) &&
           (!plot.logX || x > 0);
  };
  double inf = std::numeric_limits<double>::infinity();
  double x0 = inf, x1 = -inf, y0 = inf, y1 = -inf;
  for (const Series &s : plot.series)
    for (size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i)
      if (usable(s.x[i], s.y[i])) {
        x0 = std::min(x0, fx(s.x[i]));
        x1 = std::max(x1, fx(s.x[i]));
        y0 = std::min(y0, fy(s.y[i]));
        y1 = std::max(y1, fy(s.y[i]));
      }
  if (!(x0 <= x1)) {
    x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  }
  pad(x0, x1);
  pad(y0, y1);
  double margin = (y1 - y0) * 0.05;
  y0 -= margin;
  y1 += margin;
  Frame f{x0, x1, y0, y1, 70, 35, plot.width - 90.0, plot.height - 85.0};
  header(os, plot.width, plot.height, plot.title);
  axes(os, f, plot.xLabel, plot.yLabel, plot.logY, plot.logX);
  for (auto [k, series] : llvm::enumerate(plot.series)) {
    const Series &s = series; // a lambda may not capture a binding (C++17)
    const char *color = kColors[k % std::size(kColors)];
    std::string points;
    auto flush = [&]() {
      if (!points.empty())
        os << "<polyline fill=\"none\" stroke=\"" << color
           << "\" stroke-width=\"1.8\""
           << (s.dashed ? " stroke-dasharray=\"6,3\"" : "") << " points=\""
           << points << "\"/>\n";
      points.clear();
    };
    for (size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i) {
      if (!usable(s.x[i], s.y[i])) {
        flush();
        continue;
      }
      points += num(f.px(fx(s.x[i]))) + "," + num(f.py(fy(s.y[i]))) + " ";
    }
    flush();
    double ly = f.top + 14 + 16.0 * k;
    os << "<line x1=\"" << num(f.left + f.width - 150) << "\" y1=\""
       << num(ly - 4) << "\" x2=\"" << num(f.left + f.width - 125) << "\" y2=\""
       << num(ly - 4) << "\" stroke=\"" << color << "\" stroke-width=\"2\""
       << (s.dashed ? " stroke-dasharray=\"6,3\"" : "") << "/><text x=\""
       << num(f.left + f.width - 120) << "\" y=\"" << num(ly) << "\">"
       << nnc::escapeXML(s.label) << "</text>\n";
  }
  os << "</svg>\n";
}

/// A viridis-like ramp: t in [0, 1] -> "#rrggbb".
static std::string ramp(double t) {
  static const std::array<std::array<double, 3>, 5> stops = {{
      {68, 1, 84},
      {59, 82, 139},
      {33, 145, 140},
      {94, 201, 98},
      {253, 231, 37},
  }};
  t = std::clamp(std::isfinite(t) ? t : 1.0, 0.0, 1.0) * (stops.size() - 1);
  size_t i = std::min<size_t>(static_cast<size_t>(t), stops.size() - 2);
  double u = t - i;
  std::string s = "#";
  for (int c = 0; c < 3; ++c) {
    int v = static_cast<int>(stops[i][c] + u * (stops[i + 1][c] - stops[i][c]));
    s += llvm::formatv("{0:x-2}", v).str();
  }
  return s;
}

void nnc::plot::writeHeatMap(llvm::raw_ostream &os, const HeatMap &map) {
  size_t nx = map.xs.size(), ny = map.ys.size();
  header(os, map.width, map.height, map.title);
  if (nx < 2 || ny < 2 || map.values.size() != nx * ny) {
    os << "</svg>\n";
    return;
  }
  auto fv = [&](double v) {
    return map.logScale ? (v > 0 ? std::log10(v) : NAN) : v;
  };
  std::vector<double> v(nx * ny);
  double lo = INFINITY, hi = -INFINITY;
  for (size_t k = 0; k < v.size(); ++k) {
    v[k] = fv(map.values[k]);
    if (std::isfinite(v[k])) {
      lo = std::min(lo, v[k]);
      hi = std::max(hi, v[k]);
    }
  }
  if (!(lo <= hi))
    lo = 0, hi = 1;
  pad(lo, hi);
  Frame f{map.xs.front(),
          map.xs.back(),
          map.ys.front(),
          map.ys.back(),
          70,
          35,
          map.width - 170.0,
          map.height - 85.0};
  // One rectangle per grid point, spanning half-way to its neighbours.
  auto edge = [](const std::vector<double> &c, size_t i, bool upper) {
    if (upper)
      return i + 1 < c.size() ? (c[i] + c[i + 1]) / 2 : c[i];
    return i > 0 ? (c[i - 1] + c[i]) / 2 : c[i];
  };
  for (size_t j = 0; j < ny; ++j)
    for (size_t i = 0; i < nx; ++i) {
      double xa = f.px(edge(map.xs, i, false)),
             xb = f.px(edge(map.xs, i, true));
      double ya = f.py(edge(map.ys, j, true)),
             yb = f.py(edge(map.ys, j, false));
      double t = (v[j * nx + i] - lo) / (hi - lo);
      os << "<rect x=\"" << num(xa) << "\" y=\"" << num(ya) << "\" width=\""
         << num(xb - xa + 0.3) << "\" height=\"" << num(yb - ya + 0.3)
         << "\" fill=\"" << ramp(t) << "\"/>\n";
    }
  // Iso-lines by marching squares on each cell of four grid points.
  os << "<g stroke=\"white\" stroke-width=\"0.8\" fill=\"none\" "
        "stroke-opacity=\"0.85\">\n";
  for (int c = 1; c <= map.contours; ++c) {
    double level = lo + (hi - lo) * c / (map.contours + 1);
    for (size_t j = 0; j + 1 < ny; ++j)
      for (size_t i = 0; i + 1 < nx; ++i) {
        // Corners counter-clockwise from (i, j); where the level crosses
        // an edge, interpolate; join crossings in pairs.
        size_t idx[4] = {j * nx + i, j * nx + i + 1, (j + 1) * nx + i + 1,
                         (j + 1) * nx + i};
        double cx[4] = {map.xs[i], map.xs[i + 1], map.xs[i + 1], map.xs[i]};
        double cy[4] = {map.ys[j], map.ys[j], map.ys[j + 1], map.ys[j + 1]};
        std::vector<std::pair<double, double>> hits;
        for (int e = 0; e < 4; ++e) {
          double a = v[idx[e]], b = v[idx[(e + 1) % 4]];
          if (!std::isfinite(a) || !std::isfinite(b) ||
              (a < level) == (b < level))
            continue;
          double u = (level - a) / (b - a);
          hits.push_back({cx[e] + u * (cx[(e + 1) % 4] - cx[e]),
                          cy[e] + u * (cy[(e + 1) % 4] - cy[e])});
        }
        for (size_t h = 0; h + 1 < hits.size(); h += 2)
          os << "<line x1=\"" << num(f.px(hits[h].first)) << "\" y1=\""
             << num(f.py(hits[h].second)) << "\" x2=\""
             << num(f.px(hits[h + 1].first)) << "\" y2=\""
             << num(f.py(hits[h + 1].second)) << "\"/>\n";
      }
  }
  os << "</g>\n";
  for (auto [mx, my] : map.markers)
    os << "<circle cx=\"" << num(f.px(mx)) << "\" cy=\"" << num(f.py(my))
       << "\" r=\"4\" fill=\"red\" stroke=\"white\"/>\n";
  axes(os, f, map.xLabel, map.yLabel, false);
  // Color bar.
  double bx = f.left + f.width + 25, bw = 16;
  for (int k = 0; k < 64; ++k) {
    double t0 = k / 64.0;
    os << "<rect x=\"" << num(bx) << "\" y=\""
       << num(f.top + f.height * (1 - (k + 1) / 64.0)) << "\" width=\""
       << num(bw) << "\" height=\"" << num(f.height / 64.0 + 0.5)
       << "\" fill=\"" << ramp(t0) << "\"/>\n";
  }
  for (double t : map.logScale ? logTicks(lo, hi) : niceTicks(lo, hi, 5)) {
    double y = f.top + f.height * (1 - (t - lo) / (hi - lo));
    os << "<text x=\"" << num(bx + bw + 4) << "\" y=\"" << num(y + 4) << "\">"
       << (map.logScale ? num(std::pow(10.0, t)) : num(t)) << "</text>\n";
  }
  os << "<text transform=\"translate(" << num(bx + bw + 52) << ","
     << num(f.top + f.height / 2) << ") rotate(-90)\" text-anchor=\"middle\">"
     << nnc::escapeXML(map.valueLabel) << "</text>\n</svg>\n";
}
