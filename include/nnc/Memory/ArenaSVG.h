//===- ArenaSVG.h - Arena plans as SVG pictures -----------------*- C++ -*-===//
//
// Part of the nnc project.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Draws an `ArenaPlan` as a standalone SVG document: time (op index) runs
/// left to right, arena offset bottom to top, one box per buffer. A plan's
/// fragmentation, and which buffers the checkpointing plan chose to recompute,
/// are much easier to judge in this picture than in a table of offsets.
///
//===----------------------------------------------------------------------===//

#ifndef NNC_MEMORY_ARENASVG_H
#define NNC_MEMORY_ARENASVG_H

#include "nnc/Memory/ArenaPlanner.h"

#include <string>

namespace nnc::memory {

struct SVGOptions {
  /// Size of the whole picture in pixels, legend and axes included.
  unsigned width = 1200;
  unsigned height = 640;
  /// Heading drawn above the plot; empty means "arena plan".
  std::string title;
};

/// Renders `plan` for `buffers` (the arrays `planArena` saw). Boxes show each
/// buffer's footprint over its live range, labelled with its name (or `#id`)
/// where the box is big enough and always in the hover tooltip. Buffers marked
/// `recomputed` are hatched in a distinct colour, buffers that took a donor's
/// storage in place are outlined dashed. A step line shows the live bytes over
/// time, dashed and solid rules the max-live lower bound and the arena size.
std::string renderArenaSVG(llvm::ArrayRef<BufferInterval> buffers,
                           const ArenaPlan &plan,
                           const PlannerOptions &options = {},
                           const SVGOptions &svgOptions = {});

/// `bytes` in the largest binary unit that keeps it >= 1, e.g. "1.50 MiB".
std::string formatByteSize(uint64_t bytes);

} // namespace nnc::memory

#endif // NNC_MEMORY_ARENASVG_H
