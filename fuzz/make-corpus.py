#!/usr/bin/env python3
"""Writes the seed corpora of nnc's fuzz targets from the test inputs.

  make-corpus.py OUT BIN     (BIN: a build's bin/ with nnc-plan)

OUT/ir:      every .mlir under test/ and examples/, one file per
             `// -----` split (the unit -split-input-file tests use);
OUT/planner: the chain JSON files of nnc-plan's tests, and the chains the
             compiler builds for a few MLPs (nnc-plan --emit-chain);
OUT/onnx:    the ONNX models the importer's tests write (valid and broken).
OUT/files:   IDX data files and nnc weights files (valid and broken).
OUT/capi:    programs of C API calls (fuzz/capi/CAPIFuzzer.cpp's encoding):
             each opcode on each of the harness's models, a few sequences,
             and the weights files above loaded through the API.
Seeds over a target's size cap are skipped: the target would ignore them.
"""

import hashlib
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
# Debian's python3 has onnx and numpy (scripts/setup.sh); another python3
# first on PATH may not.
DEBIAN_PYTHON = "/usr/bin/python3"
CAP = {"ir": 16384, "planner": 16384, "onnx": 65536, "files": 65536,
       "capi": 4096}

# The C API harness's opcodes (fuzz/capi/CAPIFuzzer.cpp) and its models
# (three compiled at start-up, and a NULL model).
CAPI_OPS = 12
CAPI_MODELS = 4


def capi_seeds(weights_files):
    """Programs for the C API target: every opcode on every model with a
    few argument patterns; save-then-load and train-then-save sequences;
    loads of the given weights files' bytes (path selector 8, then a
    big-endian u32 length and the bytes)."""
    seeds = []
    tails = (bytes(12), bytes(range(1, 13)), bytes([0xff] * 12),
             bytes([1, 3, 5, 7, 2, 4, 6, 8, 9, 11, 13, 15]))
    for op in range(CAPI_OPS):
        for model in range(CAPI_MODELS):
            for tail in tails:
                seeds.append(bytes([op, model]) + tail)
    seeds.append(bytes([5, 0, 2, 0] * 6 + [7, 0, 9, 8, 0, 9]))
    seeds.append(bytes([3, 0, 1, 2, 0, 0, 0, 7, 7, 5, 0, 2, 0, 7, 0, 9]))
    seeds.append(bytes([4, 0, 0, 2, 2, 1, 0, 4, 1, 1, 3, 4, 2, 9, 2, 0]))
    for data in weights_files:
        for model in range(CAPI_MODELS - 1):
            n = len(data)
            seeds.append(bytes([8, model, 8]) + n.to_bytes(4, "big") + data)
    return seeds



def put(out, target, data):
    if not data or len(data) > CAP[target]:
        return
    d = out / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def main():
    out, bin_dir = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    for base in ("test", "examples"):
        for f in sorted((ROOT / base).rglob("*.mlir")):
            for part in f.read_bytes().split(b"// -----"):
                put(out, "ir", part.strip() + b"\n")
    for f in sorted((ROOT / "test").rglob("*.json")):
        put(out, "planner", f.read_bytes())
    for args in (["--mlp", "8,16,4"], ["--mlp", "784,100,10", "--loss=mse"],
                 ["--mlp", "32,32,32,32,8", "--activation=tanh"],
                 ["--uniform-chain=12"]):
        chain = subprocess.run([str(bin_dir / "nnc-plan"), *args,
                                "--emit-chain"], check=True,
                               capture_output=True).stdout
        put(out, "planner", chain)
    onnx_dir = out / "onnx-models"
    for script in ("make_models.py", "make_transformers.py"):
        subprocess.run([DEBIAN_PYTHON, str(ROOT / "test/Frontend/ONNX/Inputs"
                                            / script), str(onnx_dir)],
                       check=True)
    for f in sorted(onnx_dir.glob("*.onnx")):
        put(out, "onnx", f.read_bytes())
    # Data and weights files: the IDX files nnc-train's tests write, and
    # weights files (gzip and raw IDX, damaged ones included).
    idx_dir = out / "idx-files"
    subprocess.run([DEBIAN_PYTHON, str(ROOT / "test/Tools/nnc-train/Inputs/"
                                        "make-idx.py"), str(idx_dir)],
                   check=True)
    for f in sorted(idx_dir.rglob("*ubyte*")):
        put(out, "files", f.read_bytes())
    weights_dir = out / "weights-files"
    weights_dir.mkdir(parents=True, exist_ok=True)
    for name, values in (("w", "1,2,3"), ("fc.weight", "0.5,nan,-2"),
                         ("b", "inf")):
        subprocess.run([DEBIAN_PYTHON, str(ROOT / "test/Tools/Inputs/"
                                            "write_weights.py"),
                        str(weights_dir / (name + ".nncw")), name, values],
                       check=True)
    for f in sorted(weights_dir.glob("*")):
        put(out, "files", f.read_bytes())
    for data in capi_seeds([f.read_bytes()
                            for f in sorted(weights_dir.glob("*"))]):
        put(out, "capi", data)
    for t in CAP:
        n = len(os.listdir(out / t)) if (out / t).is_dir() else 0
        print(f"make-corpus: {t}: {n} seeds")


if __name__ == "__main__":
    main()
