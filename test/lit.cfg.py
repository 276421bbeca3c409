# -*- Python -*-
# lit configuration for nnc's regression tests.

import os
import shutil
import sys

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "NNC"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test", ".py"]
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.nnc_obj_root, "test")

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%shlibext", ".so"))
config.substitutions.append(("%mlir_lib_dir", config.mlir_lib_dir))
config.substitutions.append(("%nnc_lib_dir", os.path.join(config.nnc_obj_root, "lib")))
config.substitutions.append(("%nnc_src_root", config.nnc_src_root))
config.substitutions.append(("%nnc_obj_root", config.nnc_obj_root))
config.substitutions.append(("%unittests", config.nnc_unittests_dir))
# Debian's python3 carries torch and onnx; another python3 may come first on
# PATH, so the oracle tests name the interpreter explicitly.
config.substitutions.append(("%python_torch", "/usr/bin/python3"))
# Scripts that need only the standard library (test inputs) run under lit's
# own interpreter; after %python_torch so that one is replaced first.
config.substitutions.append(("%python", sys.executable))

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP"])
llvm_config.use_default_substitutions()

tool_dirs = [config.nnc_tools_dir, config.llvm_tools_dir]
tools = [
    "nnc-opt",
    "nnc-compile",
    "nnc-plan",
    "nnc-translate",
    "nnc-train",
    "nnc-landscape",
    "nnc-ir-fuzzer",
    "nnc-planner-fuzzer",
    "nnc-onnx-fuzzer",
    "nnc-files-fuzzer",
    "nnc-capi-fuzzer",
    "grokking",
    ToolSubst("mlir-cpu-runner", unresolved="fatal"),
    # emulate-kernels.test lowers GPU kernels to host code with upstream's
    # tools.
    ToolSubst("mlir-opt", unresolved="fatal"),
    ToolSubst("mlir-translate", unresolved="fatal"),
    ToolSubst("llc", unresolved="fatal"),
    ToolSubst("not", unresolved="fatal"),
    ToolSubst("llvm-nm", unresolved="fatal"),
]
llvm_config.add_tool_substitutions(tools, tool_dirs)

# The sanitizer build (scripts/sanitize.sh): its runtime libraries are
# instrumented, so tests that link compiled models into an uninstrumented
# program or load them into Python are UNSUPPORTED there.
if getattr(config, "nnc_sanitizers", ""):
    config.available_features.add("sanitizers")

if os.path.exists("/usr/bin/python3") and \
        os.system("/usr/bin/python3 -c 'import torch' 2>/dev/null") == 0:
    config.available_features.add("torch")
if os.path.exists("/usr/bin/python3") and \
        os.system("/usr/bin/python3 -c 'import onnx' 2>/dev/null") == 0:
    config.available_features.add("onnx")
# Mixed precision (docs/MixedPrecision.md) runs where the CPU multiplies
# bf16 in hardware: AVX-512 BF16 or AMX (nnc refuses emulated bf16).
try:
    with open("/proc/cpuinfo") as f:
        cpu_flags = set(f.read().split())
    if {"avx512_bf16", "amx_bf16"} & cpu_flags:
        config.available_features.add("bf16")
except OSError:
    pass
# Data parallelism (docs/Distributed.md): nnc built with MPI and Open MPI's
# launcher. %mpirun starts ranks on this machine (as root, more ranks than
# cores, shared memory between them).
if getattr(config, "nnc_have_mpi", "") in ("ON", "1", "TRUE") and \
        shutil.which("mpirun"):
    config.available_features.add("mpi")
    config.substitutions.append(
        ("%mpirun", "mpirun --allow-run-as-root --oversubscribe "
                    "--mca btl self,vader"))

# Debian's dataset-fashion-mnist: short real-data runs.
if os.path.exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"):
    config.available_features.add("fashion-mnist")
if os.path.exists("/usr/local/cuda/bin/ptxas"):
    config.available_features.add("ptxas")
    config.environment["PATH"] = "/usr/local/cuda/bin" + os.pathsep + \
        config.environment.get("PATH", "")

# The CUDA runtime and the fake driver its tests load (unittests/Runtime/
# CUDA) are built where the toolkit's cuda.h is.
if os.path.exists(os.path.join(config.nnc_unittests_dir, "fake-cuda",
                               "libcuda.so.1")):
    config.available_features.add("cuda-runtime")

# The NCCL runtime (lib/Runtime/NCCL: cuda.h, nccl.h and MPI) and the fake
# NCCL its tests load (unittests/Runtime/NCCL).
if os.path.exists(os.path.join(config.nnc_unittests_dir, "fake-nccl",
                               "libnccl.so.2")):
    config.available_features.add("nccl-runtime")

# GPU-execution tests need a CUDA driver and a device; nnc's CUDA runtime
# says whether there are (it opens libcuda.so.1 itself), and why not.
def _cuda_device():
    import ctypes
    lib = os.path.join(config.nnc_obj_root, "lib", "libnnc_runtime_cuda.so")
    if not os.path.exists(lib):
        return False, "nnc was built without the CUDA runtime (no cuda.h)"
    try:
        rt = ctypes.CDLL(lib)
    except OSError as e:
        return False, str(e)
    rt.nnc_cuda_error.restype = ctypes.c_char_p
    rt.nnc_cuda_device_name.restype = ctypes.c_char_p
    if rt.nnc_cuda_available():
        return True, rt.nnc_cuda_device_name().decode()
    return False, (rt.nnc_cuda_error() or b"unknown").decode()

_gpu, _why = _cuda_device()
if _gpu:
    config.available_features.add("cuda-gpu")
    lit_config.note("GPU-execution tests run on " + _why)
else:
    lit_config.note("GPU-execution tests skip: " + _why)
