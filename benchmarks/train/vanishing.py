#!/usr/bin/python3
"""Vanishing and exploding gradients in a 30-layer ReLU MLP (He et al.
2015, "Delving Deep into Rectifiers", figure 3, on an MLP).

784 -> 29 x 100 -> 10, trained on Fashion-MNIST with nnc-train (Nesterov
momentum 0.9, lr 0.005, cosine) from four initializations: He (N(0, 2/in)),
Xavier (U(+-sqrt(6/(in+out))), which halves the signal's variance per ReLU
layer), N(0, 1) (it grows by in/2 = 50 per layer) and N(0, 0.01^2) (it
shrinks by 0.005 per layer). The compiled step returns every parameter's
gradient norm (--grad-norms); the table shows the weight gradients' norms
of layers 1, 10, 20 and 30 at the first steps, and whether the run then
learns (test accuracy after the epochs, or the step where the loss stopped
being finite).

  /usr/bin/python3 benchmarks/train/vanishing.py --nnc-train build/bin/nnc-train
"""

import argparse
import json
import os
import re
import subprocess
import tempfile

INITS = [("He", ["--init", "kaiming"]),
         ("Xavier", ["--init", "xavier"]),
         ("N(0,1)", ["--init", "gaussian", "--init-std", "1"]),
         ("N(0,0.01^2)", ["--init", "gaussian", "--init-std", "0.01"])]
LAYERS = (1, 10, 20, 30)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nnc-train", required=True)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--lr", type=float, default=0.005)
    args = ap.parse_args()
    widths = ",".join(["784"] + ["100"] * 29 + ["10"])
    tmp = tempfile.mkdtemp()
    rows = []
    for name, flags in INITS:
        metrics = os.path.join(tmp, name + ".jsonl")
        cmd = [args.nnc_train, "--mlp", widths, "--grad-norms",
               "--log-every", "1000000", "--epochs", str(args.epochs),
               "--learning-rate", str(args.lr), "--progress", "never",
               "--metrics-out", metrics] + flags
        # --log-every N logs step 1 and every N-th: one more run for 2, 3.
        first = subprocess.run(cmd[:cmd.index("--epochs")] +
                               ["--steps", "3", "--log-every", "1",
                                "--metrics-out", metrics + ".first"] + flags,
                               capture_output=True, text=True)
        steps = [json.loads(l) for l in open(metrics + ".first")
                 if '"step"' in l and '"type":"step"' in l]
        run = subprocess.run(cmd, capture_output=True, text=True)
        out = run.stdout
        m = re.search(r"diverged: the loss is (\S+) at step (\d+)", out)
        acc = re.search(r"test accuracy ([0-9.]+)%", out)
        outcome = ("diverged at step %s (loss %s)" % (m.group(2), m.group(1))
                   if m else "test accuracy %s%%" % acc.group(1) if acc
                   else "?")
        rows.append((name, steps, outcome))
        print("%s: %s" % (name, " ".join(flags)))
        for s in steps:
            print("  step %d loss %-10.4g %s" % (
                s["step"], s["loss"], "  ".join(
                    "W%d %.3g" % (l, s["grad_norms"]["W%d" % l])
                    for l in LAYERS)))
        print("  after %d epochs: %s" % (args.epochs, outcome))
        del first
    print("\n30-layer ReLU MLP 784-100x29-10, batch 128, Nesterov 0.9, lr %g;"
          " ||dL/dW|| at step 1" % args.lr)
    print("%-12s %10s %10s %10s %10s   %s" %
          (("init",) + tuple("W%d" % l for l in LAYERS) +
           ("after %d epochs" % args.epochs,)))
    for name, steps, outcome in rows:
        n = steps[0]["grad_norms"] if steps else {}
        print("%-12s %10.3g %10.3g %10.3g %10.3g   %s" %
              ((name,) + tuple(n.get("W%d" % l, float("nan"))
                               for l in LAYERS) + (outcome,)))


if __name__ == "__main__":
    main()
