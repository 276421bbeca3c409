"""Runs a data-parallel step compiled for nvptx (nnc-compile --all-reduce)
through the NCCL runtime its library carries, as one rank of an MPI job:
nncrt_nccl_init, then two calls of the step (captured as a CUDA graph, then
replayed). Prints one line per rank: what init returned and the runtime's
error, and after the steps the graph launches and the error. With the fake
driver and NCCL of unittests/Runtime (NNC_CUDA_DRIVER, NNC_NCCL_LIBRARY)
no GPU is needed. Standard library and numpy only."""

import ctypes
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..",
                                "Oracle", "Inputs"))
import numpy as np  # noqa: E402
from nnc_cuda import GPUEntry, GPULibrary  # noqa: E402

lib_path, report_path = sys.argv[1], sys.argv[2]
# Open MPI's components need libmpi's symbols global.
ctypes.CDLL(lib_path, mode=ctypes.RTLD_GLOBAL)
gpu = GPULibrary(lib_path)
L = gpu.lib
rank = os.environ.get("OMPI_COMM_WORLD_RANK", "0")


def error():
    e = L.nnc_cuda_error()
    return e.decode() if e else "none"


rc = L.nncrt_nccl_init()
if rc != 0:
    print("rank %s: init %d: %s" % (rank, rc, error()))
    # (MPI was initialized: a rank that exits without finalizing fails the
    # job.)
    L.nncrt_mpi_finalize()
    sys.exit(0)
print("rank %s: init 0: rank %d of %d, NCCL %d" %
      (rank, L.nncrt_nccl_rank(), L.nncrt_nccl_size(), L.nncrt_nccl_version()))
report = json.load(open(report_path))
entry = [e for e in report["entry_points"] if e["role"] == "train_step"][0]
inputs = [np.zeros(b["shape"], np.float32 if b["type"] == "float"
                   else np.int32) for b in entry["inputs"]]
step = GPUEntry(gpu, report, "train_step", inputs)
before = L.nnc_cuda_graph_launch_count()
step()
step()
rc = L.nnc_cuda_synchronize()
print("rank %s: steps %d: %d graph launches, error %s" %
      (rank, rc, L.nnc_cuda_graph_launch_count() - before, error()))
L.nncrt_nccl_finalize()
L.nncrt_mpi_finalize()
