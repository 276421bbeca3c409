//===- Threads.h - the runtime's thread count, across threads ---*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
//
// OpenMP keeps its thread count per native thread: nncrt_set_num_threads
// sets the caller's, and a thread the caller did not create (a compiler
// worker asking nncrt_workspace_bytes) still has OpenMP's default. The
// runtime's parts that must see the count the caller chose read it here.
//
//===----------------------------------------------------------------------===//

#ifndef NNC_LIB_RUNTIME_CPU_THREADS_H
#define NNC_LIB_RUNTIME_CPU_THREADS_H

#include <cstdint>

namespace nnc::runtime {
/// The count the last nncrt_set_num_threads set, or 0 if none did (or it
/// restored OpenMP's default).
int32_t configuredThreads();
} // namespace nnc::runtime

#endif // NNC_LIB_RUNTIME_CPU_THREADS_H
