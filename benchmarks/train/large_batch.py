#!/usr/bin/python3
"""Large-batch training: test accuracy against global batch size, by recipe.

The lecture's last chapter (Goyal et al. 2017, "Accurate, Large Minibatch
SGD"; You et al. 2017, LARS; You et al. 2019, LAMB) on the Fashion-MNIST MLP
(784-100-10, ReLU, cross-entropy), trained by nnc-train for a fixed number
of epochs at global batch 128 ... 8192 with four recipes:

  scaled    Nesterov momentum 0.9, lr = base x B / 128 (linear scaling),
            cosine decay per step, no warm-up;
  warm-up   the same with a linear warm-up over the first epochs (per step,
            from 0.1 x the rate), as Goyal et al.;
  lars      LARS (trust coefficient 0.02, momentum 0.9; the trust ratio
            is computed inside the compiled step), lr = 0.2 x sqrt(B / 128)
            and the same warm-up;
  lamb      LAMB, lr = 0.016 x sqrt(B / 128) (You et al. scale LAMB's
            rate by the square root), and the same warm-up.

LARS's and LAMB's rates and scaling rules were chosen by a small sweep at
3 epochs on batches 1024 and 8192 (LARS lr 0.1-8 x eta 0.005/0.02 x
linear/sqrt/none scaling; LAMB lr 0.001-0.032 x sqrt/none), then over 10
epochs for LARS: a constant rate (lr 1, best at 3 epochs) diverged at batch
128, and linear scaling from 0.1 diverged at 2048 and above; sqrt from 0.2
held. Nesterov's 0.05 at 128 is the main job's rate.

The number of epochs is fixed, so a larger batch takes fewer steps (60,000 /
B per epoch): the question is how much accuracy each recipe keeps. It
prints a table, writes the CSV and, with matplotlib (python3-matplotlib,
installed by scripts/setup.sh), the plot:

  /usr/bin/python3 benchmarks/train/large_batch.py --nnc-train build/bin/nnc-train \\
      --csv docs/large-batch.csv --svg docs/large-batch.svg

Accuracy does not depend on the machine or its load (the step is
deterministic for a given thread count), so this is an experiment, not a
timing; the seconds column is only for orientation.
"""

import argparse
import csv
import json
import math
import os
import subprocess
import sys
import tempfile

BATCHES = [128, 256, 512, 1024, 2048, 4096, 8192]
TRAIN_SAMPLES = 60000
RECIPES = ["scaled", "warm-up", "lars", "lamb"]


def scaled(lr, rule, batch):
    """The rate at `batch` from the rate at 128 by `rule`."""
    return lr * {"linear": batch / 128, "sqrt": math.sqrt(batch / 128),
                 "none": 1.0}[rule]


def recipe_flags(args, recipe, batch):
    steps_per_epoch = TRAIN_SAMPLES // batch
    warmup = ["--lr-warmup", str(max(1, args.warmup_epochs * steps_per_epoch)),
              "--lr-warmup-start", "0.1"]
    linear = ["--learning-rate", str(args.sgd_lr), "--lr-base-batch", "128"]
    if recipe == "scaled":
        return ["--optimizer", "nesterov", "--momentum", "0.9"] + linear
    if recipe == "warm-up":
        return ["--optimizer", "nesterov", "--momentum", "0.9"] + linear + \
            warmup
    if recipe == "lars":
        return ["--optimizer", "lars", "--momentum", "0.9",
                "--trust-coefficient", str(args.eta),
                "--learning-rate",
                "%.6g" % scaled(args.lars_lr, args.lars_scaling, batch)] + \
            warmup
    if recipe == "lamb":
        return ["--optimizer", "lamb", "--learning-rate",
                "%.6g" % scaled(args.lamb_lr, args.lamb_scaling, batch)] + \
            warmup
    raise ValueError(recipe)


def train(args, recipe, batch, tmp):
    metrics = os.path.join(tmp, "%s-%d.jsonl" % (recipe, batch))
    cmd = [args.nnc_train, "--batch", str(batch), "--epochs",
           str(args.epochs), "--lr-schedule", "cosine", "--lr-per-step",
           "--lr-t-max", str(args.epochs * (TRAIN_SAMPLES // batch)),
           "--progress", "never", "--metrics-out", metrics,
           "--num-threads", str(args.threads)] + recipe_flags(args, recipe,
                                                              batch)
    run = subprocess.run(cmd, capture_output=True, text=True)
    diverged = "diverged:" in run.stdout
    if run.returncode != 0 and not diverged:
        sys.exit("nnc-train failed (%s):\n%s%s" % (" ".join(cmd), run.stdout,
                                                   run.stderr))
    epochs = [json.loads(line) for line in open(metrics)
              if '"type":"epoch"' in line]
    last = epochs[-1]
    # A diverged run counts as chance (10 classes), and says so.
    return {"recipe": recipe, "batch": batch,
            "steps": last["steps"], "diverged": diverged,
            "test_accuracy": 10.0 if diverged else
            100 * last.get("test_accuracy", float("nan")),
            "train_loss": last["train_loss"],
            "seconds": sum(e["seconds"] for e in epochs),
            # Reproducible: without the temporary metrics file.
            "command": " ".join(c for i, c in enumerate(cmd[1:])
                                if c != "--metrics-out" and
                                cmd[i] != "--metrics-out")}


def plot(rows, recipes, path, epochs):
    try:
        import matplotlib
        matplotlib.use("svg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("--svg needs matplotlib (Debian's python3-matplotlib; "
                 "scripts/setup.sh installs it)")
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for recipe in recipes:
        pts = [(r["batch"], r["test_accuracy"]) for r in rows
               if r["recipe"] == recipe]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o",
                label=recipe)
    ax.set_xscale("log", base=2)
    ax.set_xticks(BATCHES)
    ax.set_xticklabels([str(b) for b in BATCHES])
    ax.set_xlabel("global batch size")
    ax.set_ylabel("test accuracy after %d epochs (%%)" % epochs)
    ax.set_title("Fashion-MNIST MLP 784-100-10, nnc-train")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    # Whole or not at all: write beside, then rename.
    fig.savefig(path + ".tmp", format="svg")
    os.replace(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nnc-train", required=True)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--warmup-epochs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sgd-lr", type=float, default=0.05,
                    help="Nesterov's rate at batch 128")
    ap.add_argument("--lars-lr", type=float, default=0.2,
                    help="LARS's rate at batch 128")
    ap.add_argument("--eta", type=float, default=0.02,
                    help="LARS's trust coefficient")
    ap.add_argument("--lamb-lr", type=float, default=0.016,
                    help="LAMB's rate at batch 128")
    ap.add_argument("--lars-scaling", choices=["linear", "sqrt", "none"],
                    default="sqrt")
    ap.add_argument("--lamb-scaling", choices=["linear", "sqrt", "none"],
                    default="sqrt")
    ap.add_argument("--batches", default=",".join(map(str, BATCHES)))
    ap.add_argument("--recipes", default=",".join(RECIPES))
    ap.add_argument("--csv")
    ap.add_argument("--svg")
    args = ap.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    recipes = args.recipes.split(",")
    for r in recipes:
        if r not in RECIPES:
            sys.exit("unknown recipe '%s' (choose from %s)" %
                     (r, ", ".join(RECIPES)))
    tmp = tempfile.mkdtemp()
    rows = []
    print("Fashion-MNIST MLP 784-100-10, %d epochs, %d threads; test accuracy "
          "(%%) by global batch and recipe" % (args.epochs, args.threads))
    print("%-8s" % "batch" + "".join("%10s" % r for r in recipes) +
          "%8s" % "steps")
    for batch in batches:
        line = "%-8d" % batch
        for recipe in recipes:
            row = train(args, recipe, batch, tmp)
            rows.append(row)
            line += "%10s" % ("diverged" if row["diverged"] else
                              "%.2f" % row["test_accuracy"])
        print(line + "%8d" % row["steps"], flush=True)
    print("\nbest-to-worst drop per recipe (points):")
    for recipe in recipes:
        accs = [r["test_accuracy"] for r in rows if r["recipe"] == recipe]
        print("  %-8s %.2f (%.2f at %d, %.2f at %d)" %
              (recipe, max(accs) - accs[-1], accs[0], batches[0], accs[-1],
               batches[-1]))
    if args.csv:
        with open(args.csv + ".tmp", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
            w.writeheader()
            w.writerows(rows)
        os.replace(args.csv + ".tmp", args.csv)
    if args.svg:
        plot(rows, recipes, args.svg, args.epochs)


if __name__ == "__main__":
    main()
