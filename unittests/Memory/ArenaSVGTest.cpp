//===- ArenaSVGTest.cpp - Tests for the arena picture ---------------------===//
//
// Part of the nnc project.
//
//===----------------------------------------------------------------------===//

#include "nnc/Memory/ArenaSVG.h"
#include "nnc/Memory/SyntheticWorkloads.h"

#include "gtest/gtest.h"

#include <cstdlib>
#include <fstream>

using namespace nnc::memory;

namespace {

size_t countOf(const std::string &text, const std::string &needle) {
  size_t count = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos;
       pos = text.find(needle, pos + needle.size()))
    ++count;
  return count;
}

BufferInterval buf(int64_t id, uint64_t size, int64_t start, int64_t end,
                   std::string name) {
  BufferInterval buffer;
  buffer.id = id;
  buffer.size = size;
  buffer.start = start;
  buffer.end = end;
  buffer.name = std::move(name);
  return buffer;
}

std::vector<BufferInterval> smallProblem() {
  std::vector<BufferInterval> buffers = {
      buf(0, 4096, 0, 5, "conv1<out>"), buf(1, 2048, 1, 3, "relu1"),
      buf(2, 2048, 3, 6, "grad"),
      buf(3, 0, 0, 6, "empty")}; // Zero-sized: nothing to draw.
  buffers[1].recomputed = true;
  buffers[2].reuseOf = 1;
  return buffers;
}

TEST(ArenaSVG, DrawsBoxesLegendAndBounds) {
  std::vector<BufferInterval> buffers = smallProblem();
  llvm::Expected<ArenaPlan> plan = planArena(buffers);
  ASSERT_TRUE(static_cast<bool>(plan)) << llvm::toString(plan.takeError());
  ASSERT_EQ(plan->reuse[2], ReuseStatus::Honoured);
  SVGOptions svgOptions;
  svgOptions.title = "tiny & test";
  std::string svg = renderArenaSVG(buffers, *plan, {}, svgOptions);

  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
  // Three drawn buffers, one of them recomputed and one in place.
  EXPECT_EQ(countOf(svg, "<g class=\"buffer"), 3u);
  EXPECT_EQ(countOf(svg, "<g class=\"buffer recomputed\">"), 1u);
  EXPECT_EQ(countOf(svg, "<g class=\"buffer in-place\">"), 1u);
  EXPECT_EQ(countOf(svg, "fill=\"url(#recompute-hatch)\""), 2u); // + legend
  // Names are escaped, both in labels and tooltips.
  EXPECT_NE(svg.find("conv1&lt;out&gt;"), std::string::npos);
  EXPECT_EQ(svg.find("conv1<out>"), std::string::npos);
  EXPECT_NE(svg.find("tiny &amp; test"), std::string::npos);
  // The two numbers the picture is about, and the legend.
  EXPECT_NE(svg.find("arena 6.00 KiB (6144 B)"), std::string::npos);
  EXPECT_NE(svg.find("max-live lower bound 6.00 KiB (6144 B)"),
            std::string::npos);
  EXPECT_NE(svg.find(">recomputed</text>"), std::string::npos);
  EXPECT_NE(svg.find("in place of #1"), std::string::npos);
  // Tags balance (a cheap well-formedness check).
  EXPECT_EQ(countOf(svg, "<g"), countOf(svg, "</g>"));
  EXPECT_EQ(countOf(svg, "<text"), countOf(svg, "</text>"));
}

TEST(ArenaSVG, LargeTrainingPlanRenders) {
  std::mt19937 rng(99);
  std::vector<BufferInterval> buffers =
      makeTrainingWorkload(rng, 40, NetworkShape::CNN);
  for (size_t i = 0; i < buffers.size(); i += 5)
    buffers[i].recomputed = true;
  llvm::Expected<ArenaPlan> plan = planArena(buffers);
  ASSERT_TRUE(static_cast<bool>(plan)) << llvm::toString(plan.takeError());
  std::string svg = renderArenaSVG(buffers, *plan);
  EXPECT_EQ(countOf(svg, "<g class=\"buffer"), buffers.size());
  EXPECT_EQ(countOf(svg, "<g"), countOf(svg, "</g>"));
  EXPECT_NE(svg.find("class=\"live-bytes\""), std::string::npos);
  // Keep the picture for a human when asked to.
  if (const char *dir = std::getenv("NNC_ARENA_SVG_DIR"))
    std::ofstream(std::string(dir) + "/training-cnn.svg") << svg;
}

TEST(ArenaSVG, FormatByteSize) {
  EXPECT_EQ(formatByteSize(0), "0 B");
  EXPECT_EQ(formatByteSize(1023), "1023 B");
  EXPECT_EQ(formatByteSize(1536), "1.50 KiB");
  EXPECT_EQ(formatByteSize(uint64_t(3) << 30), "3.00 GiB");
}

} // namespace
