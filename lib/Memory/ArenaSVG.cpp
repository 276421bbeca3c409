//===- ArenaSVG.cpp - Arena plans as SVG pictures -------------------------===//
//
// Part of the nnc project.
//
//===----------------------------------------------------------------------===//
//
// Plain string generation: no graphics library, so the compiler can write a
// picture from any pass or tool without pulling in a dependency.
//
//===----------------------------------------------------------------------===//

#include "nnc/Memory/ArenaSVG.h"
#include "nnc/Support/XML.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <limits>

using namespace nnc::memory;
using llvm::ArrayRef;

namespace {

// Layout of the picture, in pixels.
constexpr double kMarginLeft = 90;
constexpr double kMarginRight = 250;
constexpr double kMarginTop = 64;
constexpr double kMarginBottom = 48;

/// Fills for ordinary buffers; neighbours get different colours because the
/// palette index follows the placement of ids, not their size.
constexpr const char *kPalette[] = {"#8dd3c7", "#bebada", "#80b1d3", "#b3de69",
                                    "#fccde5", "#bc80bd", "#ccebc5", "#ffed6f",
                                    "#a6cee3", "#d9d9d9"};
constexpr const char *kRecomputeStroke = "#d94801";

using ::nnc::escapeXML;

/// A tick spacing of 1, 2 or 5 times a power of ten giving about `target`
/// ticks over `range`.
double niceTickStep(double range, unsigned target) {
  if (range <= 0)
    return 1;
  double raw = range / target;
  double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  for (double factor : {1.0, 2.0, 5.0, 10.0})
    if (raw <= factor * magnitude)
      return factor * magnitude;
  return 10 * magnitude;
}

/// Live bytes at each step in [first, last], counting a buffer and the donor
/// whose storage it took in place once, like `ArenaPlan::maxLiveBytes`.
std::vector<uint64_t> liveBytesPerStep(ArrayRef<BufferInterval> buffers,
                                       const ArenaPlan &plan,
                                       const PlannerOptions &options,
                                       int64_t first, int64_t last) {
  std::vector<int64_t> delta(last - first + 2, 0);
  for (const LiveSpan &span : computeLiveSpans(buffers, plan.reuse, options)) {
    delta[span.start - first] += span.bytes;
    delta[span.end - first + 1] -= span.bytes;
  }
  std::vector<uint64_t> live(last - first + 1);
  int64_t running = 0;
  for (size_t s = 0; s < live.size(); ++s)
    live[s] = running += delta[s];
  return live;
}

} // namespace

std::string nnc::memory::formatByteSize(uint64_t bytes) {
  static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = bytes;
  unsigned unit = 0;
  while (value >= 1024 && unit + 1 < std::size(units)) {
    value /= 1024;
    ++unit;
  }
  std::string text;
  llvm::raw_string_ostream os(text);
  if (unit == 0)
    os << bytes << " B";
  else
    os << llvm::format("%.2f ", value) << units[unit];
  return text;
}

std::string nnc::memory::renderArenaSVG(ArrayRef<BufferInterval> buffers,
                                        const ArenaPlan &plan,
                                        const PlannerOptions &options,
                                        const SVGOptions &svgOptions) {
  double width = std::max(svgOptions.width, 480u);
  double height = std::max(svgOptions.height, 240u);
  double plotW = width - kMarginLeft - kMarginRight;
  double plotH = height - kMarginTop - kMarginBottom;

  int64_t first = 0, last = 0;
  if (!buffers.empty()) {
    first = std::numeric_limits<int64_t>::max();
    last = std::numeric_limits<int64_t>::min();
    for (const BufferInterval &buffer : buffers) {
      first = std::min(first, buffer.start);
      last = std::max(last, buffer.end);
    }
  }
  double steps = static_cast<double>(last - first + 1);
  // The y range covers the arena and, for a broken plan being debugged, any
  // box that sticks out of it.
  uint64_t yMax = std::max<uint64_t>(plan.arenaBytes, 1);
  for (size_t i = 0; i < buffers.size() && i < plan.offsets.size(); ++i)
    yMax = std::max(yMax, plan.offsets[i] + footprintOf(buffers[i], options));

  auto xOf = [&](double step) {
    return kMarginLeft + (step - first) / steps * plotW;
  };
  auto yOf = [&](double bytes) {
    return kMarginTop + plotH - bytes / static_cast<double>(yMax) * plotH;
  };

  std::string svg;
  llvm::raw_string_ostream os(svg);
  auto num = [](double v) { return llvm::format("%.2f", v); };

  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width
     << "\" height=\"" << height << "\" viewBox=\"0 0 " << width << " "
     << height << "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  os << "<defs>\n"
     << "  <pattern id=\"recompute-hatch\" width=\"6\" height=\"6\" "
        "patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">\n"
     << "    <rect width=\"6\" height=\"6\" fill=\"#fdd0a2\"/>\n"
     << "    <line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\""
     << kRecomputeStroke << "\" stroke-width=\"2\"/>\n"
     << "  </pattern>\n"
     << "</defs>\n";
  os << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";

  // Heading and the two numbers the picture is about.
  std::string title =
      svgOptions.title.empty() ? std::string("arena plan") : svgOptions.title;
  size_t inPlace = plan.numReusesHonoured();
  size_t recomputed = llvm::count_if(
      buffers, [](const BufferInterval &b) { return b.recomputed; });
  os << "<text x=\"" << kMarginLeft << "\" y=\"22\" font-size=\"15\" "
     << "font-weight=\"bold\">" << escapeXML(title) << "</text>\n";
  os << "<text class=\"stats\" x=\"" << kMarginLeft << "\" y=\"42\">arena "
     << formatByteSize(plan.arenaBytes) << " (" << plan.arenaBytes
     << " B), max-live lower bound " << formatByteSize(plan.maxLiveBytes)
     << " (" << plan.maxLiveBytes << " B), ratio "
     << llvm::format("%.3f", plan.maxLiveBytes
                                 ? double(plan.arenaBytes) / plan.maxLiveBytes
                                 : 1.0)
     << "; " << buffers.size() << " buffers, " << inPlace << " in place, "
     << recomputed << " recomputed</text>\n";

  // Axes with ticks: steps along x, offsets along y.
  os << "<g stroke=\"#444\" fill=\"none\">\n"
     << "  <rect x=\"" << kMarginLeft << "\" y=\"" << kMarginTop
     << "\" width=\"" << num(plotW) << "\" height=\"" << num(plotH)
     << "\"/>\n</g>\n";
  os << "<g class=\"x-axis\" fill=\"#222\" text-anchor=\"middle\">\n";
  double xTick = std::max(1.0, niceTickStep(steps, 10));
  for (double s = std::ceil(first / xTick) * xTick; s <= last; s += xTick)
    os << "  <line x1=\"" << num(xOf(s + 0.5)) << "\" y1=\""
       << num(kMarginTop + plotH) << "\" x2=\"" << num(xOf(s + 0.5))
       << "\" y2=\"" << num(kMarginTop + plotH + 4)
       << "\" stroke=\"#444\"/><text x=\"" << num(xOf(s + 0.5)) << "\" y=\""
       << num(kMarginTop + plotH + 16) << "\">" << static_cast<int64_t>(s)
       << "</text>\n";
  os << "  <text x=\"" << num(kMarginLeft + plotW / 2) << "\" y=\""
     << num(height - 10) << "\">step (op index)</text>\n</g>\n";
  os << "<g class=\"y-axis\" fill=\"#222\" text-anchor=\"end\">\n";
  double yTick = niceTickStep(static_cast<double>(yMax), 8);
  for (double b = 0; b <= yMax; b += yTick)
    os << "  <line x1=\"" << num(kMarginLeft - 4) << "\" y1=\"" << num(yOf(b))
       << "\" x2=\"" << kMarginLeft << "\" y2=\"" << num(yOf(b))
       << "\" stroke=\"#444\"/><text x=\"" << num(kMarginLeft - 7) << "\" y=\""
       << num(yOf(b) + 4) << "\">" << formatByteSize(static_cast<uint64_t>(b))
       << "</text>\n";
  os << "  <text transform=\"translate(16," << num(kMarginTop + plotH / 2)
     << ") rotate(-90)\" text-anchor=\"middle\">offset</text>\n</g>\n";

  // One box per buffer over its live range; steps are cells, so a buffer
  // live at [s, e] spans e - s + 1 cells.
  os << "<g class=\"boxes\">\n";
  for (size_t i = 0; i < buffers.size() && i < plan.offsets.size(); ++i) {
    const BufferInterval &buffer = buffers[i];
    uint64_t footprint = footprintOf(buffer, options);
    if (footprint == 0)
      continue;
    bool isInPlace =
        i < plan.reuse.size() && plan.reuse[i] == ReuseStatus::Honoured;
    double x = xOf(buffer.start), w = xOf(buffer.end + 1) - x;
    double y = yOf(plan.offsets[i] + footprint);
    double h = std::max(yOf(plan.offsets[i]) - y, 0.5);
    std::string label = buffer.name.empty() ? "#" + std::to_string(buffer.id)
                                            : escapeXML(buffer.name);
    const char *fill =
        kPalette[static_cast<uint64_t>(buffer.id) % std::size(kPalette)];
    os << "  <g class=\"buffer" << (buffer.recomputed ? " recomputed" : "")
       << (isInPlace ? " in-place" : "") << "\">";
    os << "<title>" << label << ": id " << buffer.id << ", "
       << formatByteSize(buffer.size) << ", steps [" << buffer.start << ", "
       << buffer.end << "], offset " << plan.offsets[i]
       << (buffer.recomputed ? ", recomputed" : "")
       << (isInPlace ? ", in place of #" + std::to_string(*buffer.reuseOf)
                     : std::string())
       << "</title>";
    os << "<rect x=\"" << num(x) << "\" y=\"" << num(y) << "\" width=\""
       << num(w) << "\" height=\"" << num(h) << "\" fill=\""
       << (buffer.recomputed ? "url(#recompute-hatch)" : fill) << "\" stroke=\""
       << (buffer.recomputed ? kRecomputeStroke : "#333")
       << "\" stroke-width=\"" << (buffer.recomputed ? "1.5" : "0.6") << "\""
       << (isInPlace ? " stroke-dasharray=\"4 2\"" : "") << "/>";
    // Roughly 6.5 px per character at 11 px: label only boxes it fits in.
    if (w >= 6.5 * label.size() + 4 && h >= 13)
      os << "<text x=\"" << num(x + w / 2) << "\" y=\"" << num(y + h / 2 + 4)
         << "\" text-anchor=\"middle\" fill=\"#111\">" << label << "</text>";
    os << "</g>\n";
  }
  os << "</g>\n";

  // Live bytes over time as a step line: where it touches the max-live rule
  // is the peak the arena cannot go below.
  if (!buffers.empty()) {
    std::vector<uint64_t> live =
        liveBytesPerStep(buffers, plan, options, first, last);
    os << "<polyline class=\"live-bytes\" fill=\"none\" stroke=\"#08519c\" "
          "stroke-width=\"1.5\" points=\"";
    for (size_t s = 0; s < live.size(); ++s) {
      double y = yOf(live[s]);
      os << num(xOf(first + s)) << "," << num(y) << " "
         << num(xOf(first + s + 1)) << "," << num(y) << " ";
    }
    os << "\"/>\n";
  }
  os << "<line class=\"max-live\" x1=\"" << kMarginLeft << "\" y1=\""
     << num(yOf(plan.maxLiveBytes)) << "\" x2=\"" << num(kMarginLeft + plotW)
     << "\" y2=\"" << num(yOf(plan.maxLiveBytes))
     << "\" stroke=\"#cb181d\" stroke-dasharray=\"6 3\" "
        "stroke-width=\"1.5\"/>\n";
  os << "<line class=\"arena-top\" x1=\"" << kMarginLeft << "\" y1=\""
     << num(yOf(plan.arenaBytes)) << "\" x2=\"" << num(kMarginLeft + plotW)
     << "\" y2=\"" << num(yOf(plan.arenaBytes))
     << "\" stroke=\"#000\" stroke-width=\"1.5\"/>\n";

  // Legend to the right of the plot.
  double lx = kMarginLeft + plotW + 20, ly = kMarginTop + 6;
  auto swatch = [&](llvm::StringRef attrs, llvm::StringRef text) {
    os << "  <rect x=\"" << num(lx) << "\" y=\"" << num(ly)
       << "\" width=\"18\" height=\"12\" " << attrs << "/><text x=\""
       << num(lx + 26) << "\" y=\"" << num(ly + 10) << "\">" << text
       << "</text>\n";
    ly += 22;
  };
  auto rule = [&](llvm::StringRef attrs, llvm::StringRef text) {
    os << "  <line x1=\"" << num(lx) << "\" y1=\"" << num(ly + 6) << "\" x2=\""
       << num(lx + 18) << "\" y2=\"" << num(ly + 6) << "\" " << attrs
       << "/><text x=\"" << num(lx + 26) << "\" y=\"" << num(ly + 10) << "\">"
       << text << "</text>\n";
    ly += 22;
  };
  os << "<g class=\"legend\" fill=\"#222\">\n";
  swatch("fill=\"#80b1d3\" stroke=\"#333\" stroke-width=\"0.6\"",
         "buffer (offset x live range)");
  swatch("fill=\"url(#recompute-hatch)\" stroke=\"#d94801\" "
         "stroke-width=\"1.5\"",
         "recomputed");
  swatch("fill=\"#80b1d3\" stroke=\"#333\" stroke-dasharray=\"4 2\"",
         "in place of a dying input");
  rule("stroke=\"#08519c\" stroke-width=\"1.5\"", "live bytes");
  rule("stroke=\"#cb181d\" stroke-dasharray=\"6 3\" stroke-width=\"1.5\"",
       ("max-live bound " + formatByteSize(plan.maxLiveBytes)).c_str());
  rule("stroke=\"#000\" stroke-width=\"1.5\"",
       ("arena " + formatByteSize(plan.arenaBytes)).c_str());
  os << "</g>\n</svg>\n";
  return svg;
}
