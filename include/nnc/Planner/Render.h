//===- Render.h - SVG pictures of plans -------------------------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information. See docs/Planner.md for the model.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Plain-text SVG for looking at plans: the schedule as the familiar
/// two-row picture (forward nodes on top, backward nodes below, one band per
/// time step, values in memory filled), and the memory/cost frontier.
///
//===----------------------------------------------------------------------===//

#ifndef NNC_PLANNER_RENDER_H
#define NNC_PLANNER_RENDER_H

#include "nnc/Planner/Chain.h"
#include "nnc/Planner/Schedule.h"
#include "nnc/Planner/Strategies.h"

#include "llvm/Support/raw_ostream.h"

#include <vector>

namespace nnc {
namespace planner {

/// Draws \p S replayed on \p chain. One band per action: the top row holds
/// a^0..a^L (filled when stored, dark when held as abar^i), the bottom row
/// delta^0..delta^L (filled when held); the value the action creates is
/// ringed in red, and the band is labelled with the action and the memory in
/// use. Replays stop at the first invalid action, which is labelled.
void renderScheduleSVG(const Chain &chain, const Schedule &S,
                       llvm::raw_ostream &os);

/// Draws the frontier as a step plot, budget on x and cost on y, with
/// \p storeAllCost as a dashed reference line when positive.
void renderFrontierSVG(const std::vector<FrontierPoint> &frontier,
                       double storeAllCost, llvm::raw_ostream &os);

} // namespace planner
} // namespace nnc

#endif // NNC_PLANNER_RENDER_H
