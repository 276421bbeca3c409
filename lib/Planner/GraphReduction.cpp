//===- GraphReduction.cpp - DAG of stages to chain ------------------------===//
//
// Part of nnc. See docs/Planner.md for the model.
//
//===----------------------------------------------------------------------===//

#include "nnc/Planner/GraphReduction.h"

#include <boost/graph/biconnected_components.hpp>

#include <algorithm>
#include <iterator>
#include <optional>
#include <queue>

using namespace llvm;
using namespace nnc::planner;

static Error makeError(const Twine &msg) {
  return createStringError(inconvertibleErrorCode(), "graph: " + msg);
}

/// Whether \p to is reachable from \p from in the undirected view of \p g
/// once \p removed is taken out.
static bool connectedWithout(const StageGraph &g, unsigned from, unsigned to,
                             unsigned removed) {
  std::vector<bool> seen(boost::num_vertices(g), false);
  std::queue<unsigned> work;
  seen[removed] = true;
  seen[from] = true;
  work.push(from);
  while (!work.empty()) {
    unsigned v = work.front();
    work.pop();
    if (v == to)
      return true;
    auto visit = [&](unsigned w) {
      if (!seen[w]) {
        seen[w] = true;
        work.push(w);
      }
    };
    for (auto e : boost::make_iterator_range(boost::out_edges(v, g)))
      visit(boost::target(e, g));
    for (auto e : boost::make_iterator_range(boost::in_edges(v, g)))
      visit(boost::source(e, g));
  }
  return false;
}

Expected<ReducedChain> nnc::planner::reduceToChain(const StageGraph &graph,
                                                   int64_t inputBytes) {
  const unsigned n = boost::num_vertices(graph);
  if (n == 0)
    return makeError("has no stages");

  std::vector<unsigned> sources, sinks;
  for (unsigned v = 0; v < n; ++v) {
    if (boost::in_degree(v, graph) == 0)
      sources.push_back(v);
    if (boost::out_degree(v, graph) == 0)
      sinks.push_back(v);
  }
  if (sources.size() != 1 || sinks.size() != 1)
    return makeError("needs exactly one source and one sink, found " +
                     Twine(sources.size()) + " and " + Twine(sinks.size()));
  const unsigned source = sources[0], sink = sinks[0];

  // Kahn's algorithm: a topological order, and a cycle check without the
  // exception boost::topological_sort would throw.
  std::vector<unsigned> order, pending(n);
  for (unsigned v = 0; v < n; ++v)
    pending[v] = boost::in_degree(v, graph);
  order.push_back(source);
  for (size_t k = 0; k < order.size(); ++k)
    for (auto e : boost::make_iterator_range(boost::out_edges(order[k], graph)))
      if (--pending[boost::target(e, graph)] == 0)
        order.push_back(boost::target(e, graph));
  if (order.size() != n)
    return makeError("has a cycle");
  // With one source and one sink in a DAG, every stage lies on a
  // source-to-sink path: walking back from any stage ends at the source,
  // forward at the sink.

  // Articulation points of the undirected view. Boost's algorithm wants an
  // undirected graph, so build the view explicitly.
  using Undirected =
      boost::adjacency_list<boost::vecS, boost::vecS, boost::undirectedS>;
  Undirected u(n);
  for (auto e : boost::make_iterator_range(boost::edges(graph)))
    boost::add_edge(boost::source(e, graph), boost::target(e, graph), u);
  std::vector<unsigned> articulation;
  boost::articulation_points(u, std::back_inserter(articulation));

  // Keep those that cut the source from the sink; an articulation point that
  // only hangs a side branch off the network cannot be a block boundary.
  std::vector<bool> isCut(n, false);
  isCut[sink] = true;
  for (unsigned v : articulation)
    if (v != source && v != sink && !connectedWithout(graph, source, sink, v))
      isCut[v] = true;
  // The source is always a boundary: a^0 only enters through it, so its
  // output is the only value leaving {source}.
  isCut[source] = true;

  // Every stage between two consecutive cuts in topological order belongs to
  // the block ending at the later cut: a cut separates source and sink, so
  // each stage either reaches it (before) or is reached from it (after).
  ReducedChain result;
  result.chain.inputBytes = inputBytes;
  Stage block;
  std::vector<unsigned> members;
  std::optional<unsigned> previousCut; // none: the block reads a^0
  for (unsigned v : order) {
    const Stage &st = graph[v];
    block.forwardCost += st.forwardCost;
    block.backwardCost += st.backwardCost;
    block.savedBytes += st.savedBytes;
    // Members run one after another, so a block's transient is its largest
    // member's. Whether the block's backward releases its saved data before
    // creating delta of the block input is only known for a single member.
    block.forwardTransientBytes =
        std::max(block.forwardTransientBytes, st.forwardTransientBytes);
    block.backwardTransientBytes =
        std::max(block.backwardTransientBytes, st.backwardTransientBytes);
    block.backwardReleasesSaved = members.empty() && st.backwardReleasesSaved;
    // The block's backward reads its input if a member reading that input
    // does; inputs produced inside the block are in the members' saved data.
    if (st.backwardNeedsInput) {
      bool readsBlockInput = !previousCut;
      for (auto [e, end] = boost::in_edges(v, graph); e != end; ++e)
        readsBlockInput |=
            previousCut && boost::source(*e, graph) == *previousCut;
      block.backwardNeedsInput |= readsBlockInput;
    }
    members.push_back(v);
    if (!isCut[v])
      continue;
    block.outputBytes = st.outputBytes;
    result.chain.stages.push_back(block);
    result.blocks.push_back(std::move(members));
    block = Stage();
    members.clear();
    previousCut = v;
  }
  if (Error e = result.chain.validate())
    return makeError("reduced chain is invalid: " + toString(std::move(e)));
  return result;
}
