//===- Distributed.cpp - data-parallel training over MPI ------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Training/Distributed.h"

#ifdef NNC_HAVE_MPI
#include "nnc/Runtime/MPI/MPIRuntime.h"
#endif

#include "mlir/IR/Operation.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/xxhash.h"
#include "llvm/Support/Format.h"

#include <cstdlib>
#include <string>
#include <vector>

using namespace mlir::nnc;

uint64_t mlir::nnc::hashStep(Operation *compiledModule) {
  std::string text;
  llvm::raw_string_ostream os(text);
  compiledModule->print(os);
  return llvm::xxh3_64bits(text);
}

bool mlir::nnc::haveMPI() {
#ifdef NNC_HAVE_MPI
  return true;
#else
  return false;
#endif
}

int mlir::nnc::launchedRanks() {
  for (const char *var : {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE"})
    if (const char *value = std::getenv(var)) {
      int n = 0;
      if (llvm::to_integer(value, n) && n > 0)
        return n;
    }
  return 1;
}

#ifdef NNC_HAVE_MPI

llvm::Expected<DataParallel> mlir::nnc::initDataParallel(double timeout) {
  if (!(timeout > 0))
    return llvm::createStringError("the ranks' timeout must be positive");
  if (int err = nncrt_mpi_init())
    return llvm::createStringError("MPI_Init failed (MPI error " +
                                   std::to_string(err) + ")");
  nncrt_mpi_set_timeout(timeout);
  return DataParallel{nncrt_mpi_rank(), nncrt_mpi_size(), true};
}

llvm::Error mlir::nnc::checkSameStep(uint64_t hash) {
  std::vector<uint64_t> all(nncrt_mpi_size());
  nncrt_mpi_allgather_u64(hash, all.data());
  for (size_t r = 1; r < all.size(); ++r)
    if (all[r] != all[0])
      return llvm::createStringError(
          "rank " + std::to_string(r) +
          " compiled a different training step than rank 0 (hash " +
          llvm::utohexstr(all[r]) + " against " + llvm::utohexstr(all[0]) +
          "): every rank must be given the same model and options");
  return llvm::Error::success();
}

void mlir::nnc::sumOverRanks(double *values, int64_t count) {
  nncrt_mpi_sum_f64(values, count);
}

AllReduceStats mlir::nnc::getAllReduceStats() {
  AllReduceStats s;
  nncrt_mpi_get_stats(&s.waitSeconds, &s.startSeconds, &s.waits);
  return s;
}

void mlir::nnc::resetAllReduceStats() { nncrt_mpi_reset_stats(); }

double mlir::nnc::timeAllReduce(int64_t bytes, int repeats) {
  return nncrt_mpi_time_allreduce(bytes / 4, repeats);
}

void mlir::nnc::finalizeDataParallel() { nncrt_mpi_finalize(); }

#else

llvm::Expected<DataParallel> mlir::nnc::initDataParallel(double) {
  return llvm::createStringError(
      "this nnc was built without MPI (install libopenmpi-dev and "
      "reconfigure): no data parallelism");
}
llvm::Error mlir::nnc::checkSameStep(uint64_t) {
  return llvm::Error::success();
}
void mlir::nnc::sumOverRanks(double *, int64_t) {}
AllReduceStats mlir::nnc::getAllReduceStats() { return {}; }
void mlir::nnc::resetAllReduceStats() {}
double mlir::nnc::timeAllReduce(int64_t, int) { return 0; }
void mlir::nnc::finalizeDataParallel() {}

#endif
