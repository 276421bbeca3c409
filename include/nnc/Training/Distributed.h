//===- Distributed.h - data-parallel training over MPI ----------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// The host side of data parallelism (docs/Distributed.md): whether this
// process is one rank of an mpirun job, starting MPI, refusing ranks that
// compiled different steps, sums over the ranks with a deadline. The
// compiled step's own all-reduce is the MPI run-time library's
// (nnc/Runtime/MPI/MPIRuntime.h). Without MPI in the build, every function
// that would need it returns an error saying so.
//
//===----------------------------------------------------------------------===//

#ifndef NNC_TRAINING_DISTRIBUTED_H
#define NNC_TRAINING_DISTRIBUTED_H

#include "llvm/Support/Error.h"

#include <cstdint>

namespace mlir {
class Operation;
} // namespace mlir

namespace mlir::nnc {

/// Whether nnc was built with MPI.
bool haveMPI();

/// The number of ranks mpirun started this process with (Open MPI's
/// OMPI_COMM_WORLD_SIZE, or PMI_SIZE/PMIX_SIZE of other launchers); 1 when
/// it was not started by a launcher.
int launchedRanks();

struct DataParallel {
  int rank = 0;
  int size = 1;
  /// MPI was started (initDataParallel): the step may all-reduce.
  bool active = false;
};

/// Starts MPI (once) and sets the deadline of every wait on other ranks.
llvm::Expected<DataParallel> initDataParallel(double timeoutSeconds);

/// A hash of the code a rank runs: the compiled module as text, so ranks
/// given other models or options (a budget, an optimizer, a batch) differ.
uint64_t hashStep(Operation *compiledModule);

/// Exchanges `hash` (the compiled step's) between the ranks: an error on
/// every rank, naming the first that differs from rank 0, unless all agree.
llvm::Error checkSameStep(uint64_t hash);

/// Sums `values` over the ranks in place (every rank gets the same bits).
void sumOverRanks(double *values, int64_t count);

/// Communication statistics of the compiled steps since the last reset.
struct AllReduceStats {
  double waitSeconds = 0, startSeconds = 0;
  int64_t waits = 0;
};
AllReduceStats getAllReduceStats();
void resetAllReduceStats();
/// The median time of one blocking all-reduce of `bytes` (f32 elements).
double timeAllReduce(int64_t bytes, int repeats);

/// Ends MPI (if it was started).
void finalizeDataParallel();

} // namespace mlir::nnc

#endif // NNC_TRAINING_DISTRIBUTED_H
