//===- GraphReduction.h - DAG of stages to chain ----------------*- C++ -*-===//
//
// Part of nnc. See docs/Planner.md for the model.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Networks with skip connections are not chains, but Chen et al. (2016)
/// observe that every source-to-sink path of a residual network passes
/// through the same "articulation" stages. Cutting there yields a chain of
/// blocks: each block is recomputed or stored as a whole, so the chain
/// strategies apply unchanged.
///
//===----------------------------------------------------------------------===//

#ifndef NNC_PLANNER_GRAPHREDUCTION_H
#define NNC_PLANNER_GRAPHREDUCTION_H

#include "nnc/Planner/Chain.h"

#include "llvm/Support/Error.h"

#include <boost/graph/adjacency_list.hpp>

#include <vector>

namespace nnc {
namespace planner {

/// A DAG of stages: an edge u -> v means v reads u's output. Vertex
/// properties are the stage's costs and sizes, as in a chain.
using StageGraph = boost::adjacency_list<boost::vecS, boost::vecS,
                                         boost::bidirectionalS, Stage>;

/// The result of reduceToChain: the chain and, for each block, the graph
/// vertices it groups (in topological order; the last is the articulation
/// stage whose output leaves the block).
struct ReducedChain {
  Chain chain;
  std::vector<std::vector<unsigned>> blocks;
};

/// Collapses \p graph into a chain. The graph must be acyclic with exactly
/// one source (it reads a^0, of \p inputBytes) and one sink, and every stage
/// must lie on a source-to-sink path. The cut points are the articulation
/// points of the undirected view that separate source from sink, plus the
/// sink; block k holds the stages after cut k-1 up to cut k. A block sums
/// the forward and backward costs and the saved bytes of its stages; its
/// output is the output of its cut stage.
llvm::Expected<ReducedChain> reduceToChain(const StageGraph &graph,
                                           int64_t inputBytes);

} // namespace planner
} // namespace nnc

#endif // NNC_PLANNER_GRAPHREDUCTION_H
