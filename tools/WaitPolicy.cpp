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
// main is too late. Setting them from the executable's .preinit_array (which
// runs first) with setenv was not enough either: OMP_DISPLAY_ENV then
// reported PASSIVE, yet perf showed a two-thread ResNet-8 step spending 32 %
// of its cycles in libgomp's spin loop beside a busy build, against none
// with the variable in the real environment, and main saw it unset (libc
// points `environ` back at the original block before main). So the program
// starts itself again: when neither variable is set, the .preinit_array
// hook (before any library has started a thread) calls execve on
// /proc/self/exe with the same arguments and the environment plus
// OMP_WAIT_POLICY=passive. The cost is one exec (milliseconds); if the exec
// fails the program runs on with libgomp's default. A value the user set
// (either variable) is kept. The thread count is not touched: results must
// not depend on the machine's load.
//
// Linked into the tools that run compiled training steps (tools/
// CMakeLists.txt) and the unit test that checks it; .preinit_array exists
// only in executables, never in a shared library such as libnnc.so (a C
// API caller sets the variables).
//
//===----------------------------------------------------------------------===//

#include <cstring>
#include <unistd.h>

namespace {
/// Runs before libc is initialized: only the arguments and system calls.
void setPassiveWait(int, char **argv, char **envp) {
  size_t n = 0;
  for (; envp[n]; ++n)
    if (!std::strncmp(envp[n], "OMP_WAIT_POLICY=", 16) ||
        !std::strncmp(envp[n], "GOMP_SPINCOUNT=", 15))
      return;
  // The environment plus one entry, on this stack frame (execve copies it).
  char passive[] = "OMP_WAIT_POLICY=passive";
  char *env[n + 2];
  for (size_t i = 0; i < n; ++i)
    env[i] = envp[i];
  env[n] = passive;
  env[n + 1] = nullptr;
  execve("/proc/self/exe", argv, env);
}
} // namespace

__attribute__((section(".preinit_array"), used)) static void (
    *nncSetPassiveWait)(int, char **, char **) = setPassiveWait;
