//===- WaitPolicy.cpp - passive OpenMP waiting for the training tools -----===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// The CPU runtime's threads come from libgomp (oneDNN's and nnc's parallel
// loops). By default an idle libgomp worker spins for about 300,000
// iterations (milliseconds) before it sleeps, so between two parallel
// regions of a training step every worker keeps its core busy. On a
// machine whose cores are shared with another busy process that spinning
// takes the time the other threads of the step need, and a step collapses
// (about 2.5x slower beside one busy process on two cores). Passive waiting
// (OMP_WAIT_POLICY=passive: workers sleep at once) keeps the step's speed
// there and costs little on an idle machine (docs/Performance.md, "Shared
// cores").
//
// libgomp reads OMP_WAIT_POLICY and GOMP_SPINCOUNT once, in its constructor,
// which runs before any constructor or main of the program: setting them in
// main is too late. The executable's .preinit_array runs before every shared
// library's constructor, so the default is set there. A value the user set
// (either variable) is kept. The thread count is not touched: results must
// not depend on the machine's load.
//
// Linked into the tools that run compiled training steps (tools/
// CMakeLists.txt); .preinit_array exists only in executables, never in a
// shared library such as libnnc.so (a C API caller sets the variables).
//
//===----------------------------------------------------------------------===//

#include <cstdlib>

namespace {
void setPassiveWait(int, char **, char **) {
  if (!std::getenv("OMP_WAIT_POLICY") && !std::getenv("GOMP_SPINCOUNT"))
    setenv("OMP_WAIT_POLICY", "passive", /*overwrite=*/0);
}
} // namespace

__attribute__((section(".preinit_array"), used)) static void (
    *nncSetPassiveWait)(int, char **, char **) = setPassiveWait;
