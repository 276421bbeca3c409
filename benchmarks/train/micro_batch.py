#!/usr/bin/python3
"""Micro-batches planned with checkpointing: predicted against measured.

nnc-plan --global-batch chooses the micro-batch size and the checkpoint
schedule together (docs/MicroBatches.md): for every candidate micro-batch
it plans the chain within the budget less the gradient accumulators and
the input copy, and predicts the global step as k times the planned
micro-step, priced with seconds per FLOP measured at that micro-batch size
(--cost-model=measured). This benchmark runs that frontier, then trains
each feasible candidate with nnc-train (--micro-batch, the same strategy
and budget) on Fashion-MNIST and measures its global step, printing
predicted against measured and the error.

A step's time is an epoch's training seconds over its steps (the data
gathering is inside, the test evaluation is not), the median over the
epochs after the first (which pays the first touches of the arena). One
thread on both sides, as nnc-plan calibrates with.

  /usr/bin/python3 benchmarks/train/micro_batch.py --build build
  /usr/bin/python3 benchmarks/train/micro_batch.py --build build \\
      --width 1024 --layers 32 --global-batch 1024 --budget 160MiB \\
      --min-micro-batch 128 --steps 1 --epochs 3
  /usr/bin/python3 benchmarks/train/micro_batch.py --build build --cnn \\
      --global-batch 512 --budget 16MiB --min-micro-batch 32 --steps 2

--cnn trains the lecture's CNN (examples/fashion-cnn) instead of the MLP,
exported here with a symbolic batch (the example's cnn.onnx fixes it at
128, and a micro-batch needs the model built at its own size).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("failed (%d): %s\n%s" % (r.returncode, " ".join(cmd),
                                          r.stderr[-2000:]))
    return r.stdout


def export_cnn(path):
    """examples/fashion-cnn's CNN with its loss, batch dimension symbolic."""
    import importlib.util
    import warnings
    import torch
    spec = importlib.util.spec_from_file_location(
        "export", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                               "..", "..", "examples", "fashion-cnn",
                               "export.py"))
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    torch.manual_seed(0)
    net = example.WithLoss(example.CNN())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            net, (torch.zeros(8, 1, 28, 28), torch.zeros(8, dtype=torch.int64)),
            path, opset_version=13, input_names=["x", "labels"],
            output_names=["loss"],
            dynamic_axes={"x": {0: "batch"}, "labels": {0: "batch"}})


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build", default="build")
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--layers", type=int, default=16,
                   help="hidden layers of --width")
    p.add_argument("--global-batch", type=int, default=4096)
    p.add_argument("--budget", default="24MiB")
    p.add_argument("--min-micro-batch", type=int, default=256,
                   help="smaller candidates are not planned (nor run)")
    p.add_argument("--steps", type=int, default=3,
                   help="steps per timed epoch")
    p.add_argument("--epochs", type=int, default=4,
                   help="epochs per run; all but the first are timed")
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--cnn", action="store_true",
                   help="the Fashion-MNIST CNN of examples/fashion-cnn "
                        "instead of the MLP")
    args = p.parse_args()
    tmp = tempfile.mkdtemp()
    plan_tool = os.path.join(args.build, "bin", "nnc-plan")
    train_tool = os.path.join(args.build, "bin", "nnc-train")
    if args.cnn:
        model = os.path.join(tmp, "cnn.onnx")
        export_cnn(model)
        source, name = [model], "the fashion-cnn CNN"
    else:
        mlp = ",".join(["784"] + [str(args.width)] * args.layers + ["10"])
        source = ["--mlp", mlp]
        name = "--mlp 784,%dx%d,10" % (args.width, args.layers)
    common = source + ["--strategy=dp", "--budget=" + args.budget,
                       "--num-threads=1"]

    plan = json.loads(run([plan_tool] + common + [
        "--global-batch=%d" % args.global_batch, "--cost-model=measured",
        "--min-micro-batch=%d" % args.min_micro_batch, "--json"]))
    print("nnc-plan %s --global-batch=%d --budget=%s "
          "--cost-model=measured --num-threads=1: chose micro-batch %d"
          % (name, args.global_batch, args.budget,
             plan["chosen_micro_batch"]))
    print("%6s %4s %12s %7s %10s %12s %12s %8s" %
          ("micro", "k", "peak MiB", "fwd", "recompute", "predicted s",
           "measured s", "error"))
    errors = []
    for c in plan["frontier"]:
        m, k = c["micro_batch"], c["micro_batches"]
        if not c["feasible"]:
            print("%6d %4d %12s %7s %10s %12s %12s %8s" %
                  (m, k, "-", "-", "-", "infeasible", "-", "-"))
            continue
        base = c["micro_step_cost"] - c["recompute_cost"]
        metrics = os.path.join(tmp, "m%d.jsonl" % m)
        run([train_tool] + common + [
            "--data", args.data, "--batch=%d" % args.global_batch,
            "--micro-batch=%d" % m,
            "--train-limit=%d" % (args.steps * args.global_batch),
            "--test-limit=16", "--epochs=%d" % args.epochs,
            "--optimizer=sgd", "--learning-rate=0.01",
            "--lr-schedule=constant",
            "--progress=never", "--metrics-out", metrics])
        epochs = [o for o in map(json.loads, open(metrics))
                  if o.get("type") == "epoch"]
        per_step = [e["seconds"] / args.steps for e in epochs[1:]]
        measured = statistics.median(per_step)
        predicted = c["predicted_cost"]
        err = 100 * (predicted - measured) / measured
        errors.append(abs(err))
        print("%6d %4d %12.1f %4d/%-2d %9.1f%% %12.3f %12.3f %+7.1f%%%s" %
              (m, k, c["peak_bytes"] / 2**20, c["forward_steps"],
               c["stages"], max(0.0, 100 * c["recompute_cost"] / base),
               predicted,
               measured, err,
               "  <- chosen" if m == plan["chosen_micro_batch"] else ""))
        sys.stdout.flush()
    shutil.rmtree(tmp)
    if errors:
        print("largest |error| %.1f%%, median %.1f%% over %d candidates "
              "(target: within 10%%)" % (max(errors),
                                          statistics.median(errors),
                                          len(errors)))


if __name__ == "__main__":
    main()
