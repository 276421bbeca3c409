#!/usr/bin/python3
"""Data parallelism on this machine (docs/Distributed.md): not a test.

1. Throughput: one process with 2 threads against 2 MPI ranks with 1 thread
   each, at the same global batch (so the same training), samples/s of
   nnc-train's training loop (test evaluation excluded).
2. Overlap: for several bucket sizes, the 2 ranks' step time against the
   same step (all-reduce calls included) on one rank alone: the difference
   is what the communication added ("exposed"); against what a blocking
   all-reduce of the same buckets costs, 1 - exposed / blocking is the
   fraction the backward hid. Also printed: the time per step the ranks
   spent inside the all-reduce's calls (nnc-train's closing line), which
   includes waiting for the slower rank. On a shared 2-core machine both
   are noisy: a rank that is descheduled shows up as exposed time.

  /usr/bin/python3 benchmarks/train/data_parallel.py --nnc-train build/bin/nnc-train

Ranks talk over shared memory (Open MPI's vader); as root, mpirun needs
--allow-run-as-root. Every figure is the median of --repeats runs.
"""

import argparse
import re
import statistics
import subprocess
import sys

MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe",
          "--mca", "btl", "self,vader", "--bind-to", "none"]


def run(cmd):
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    if out.returncode != 0:
        sys.exit("failed (%d): %s\n%s" % (out.returncode, " ".join(cmd),
                                          out.stderr[-2000:]))
    return out.stdout


def samples_per_second(text):
    m = re.search(r"done: .* \(([\d,]+) samples/s\)", text)
    return int(m.group(1).replace(",", ""))


def all_reduce(text):
    m = re.search(r"all-reduce: \d+ ranks, ([\d.]+) us per step spent in its "
                  r"calls, ([\d.]+) us per step if blocking; hidden (\d+)%",
                  text)
    buckets = len(re.findall(r"^    bucket \d+:", text, re.M))
    return float(m.group(1)), float(m.group(2)), int(m.group(3)), buckets


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--nnc-train", default="build/bin/nnc-train")
    p.add_argument("--mlp", default="784,1024,1024,10",
                   help="the model (wider than the main job's, so the "
                   "gradients are worth communicating: 7.6 MB)")
    p.add_argument("--batch", type=int, default=64,
                   help="per-rank batch; the 1-process run takes twice it")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--train-limit", type=int, default=16384,
                   help="train on the first N images (0: all 60,000)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--buckets", default="0,65536,1048576,4194304,67108864",
                   help="bucket sizes in bytes (0: one per gradient)")
    args = p.parse_args()
    common = [args.nnc_train, "--mlp", args.mlp, "--epochs",
              str(args.epochs), "--progress=never", "--test-limit", "1000",
              "--train-limit", str(args.train_limit)]

    print("model %s, global batch %d, %d epoch(s), median of %d runs" %
          (args.mlp, 2 * args.batch, args.epochs, args.repeats))
    one = [samples_per_second(run(common + ["--batch", str(2 * args.batch),
                                            "--num-threads", "2"]))
           for _ in range(args.repeats)]
    two = [samples_per_second(run(MPIRUN + ["-np", "2"] + common +
                                  ["--batch", str(args.batch),
                                   "--num-threads", "1"]))
           for _ in range(args.repeats)]
    print("\n%-24s %12s" % ("configuration", "samples/s"))
    print("%-24s %12d" % ("1 rank x 2 threads", statistics.median(one)))
    print("%-24s %12d" % ("2 ranks x 1 thread", statistics.median(two)))
    print("ratio (2 ranks / 1 rank): %.2f" %
          (statistics.median(two) / statistics.median(one)))

    # The same step (all-reduce included) on one rank: its compute alone.
    solo = statistics.median(
        samples_per_second(run(MPIRUN + ["-np", "1"] + common +
                               ["--batch", str(args.batch), "--num-threads",
                                "1", "--all-reduce"]))
        for _ in range(args.repeats))
    solo_us = 1e6 * args.batch / solo
    print("\none rank alone, same step: %.1f us per step" % solo_us)
    print("\n%12s %8s %12s %12s %12s %12s %8s" % (
        "bucket bytes", "buckets", "step us", "exposed us", "in calls us",
        "blocking us", "hidden"))
    for size in [int(b) for b in args.buckets.split(",")]:
        rows = []
        for _ in range(args.repeats):
            text = run(MPIRUN + ["-np", "2"] + common +
                       ["--batch", str(args.batch), "--num-threads", "1",
                        "--bucket-bytes", str(size)])
            rows.append(all_reduce(text) +
                        (1e6 * 2 * args.batch / samples_per_second(text),))
        step = statistics.median(r[4] for r in rows)
        calls = statistics.median(r[0] for r in rows)
        blocking = statistics.median(r[1] for r in rows)
        # What the all-reduce added to the step (against the same step on
        # one rank), and the share of a blocking all-reduce that is not it.
        exposed = max(0.0, step - solo_us)
        hidden = 100 * max(0.0, 1 - exposed / blocking) if blocking else 0
        print("%12d %8d %12.1f %12.1f %12.1f %12.1f %7.0f%%" % (
            size, rows[0][3], step, exposed, calls, blocking, hidden))


main()
