# RUN: %python_torch %s --nnc-compile nnc-compile --workdir %t | FileCheck %s
# REQUIRES: torch, bf16
#
# Mixed-precision convolutional networks (torch-autocast-bf16.py does the
# MLPs): each CNN is defined in PyTorch, exported to ONNX and compiled with
# --precision=bf16, and one step on the same weights and batch is compared
# with torch.autocast("cpu", dtype=torch.bfloat16) in PyTorch 1.13: the
# loss within 1e-2 relative and every gradient's cosine similarity at least
# 0.999. The step must really compute in bf16: its gradients differ from
# the f32 build's by at least 1e-4 (relative, in the 2-norm). Every
# checkpoint plan (recompute-all, sqrt, dp at three budgets) must give the
# loss and gradients of store-all bit for bit: a recomputed stage is a
# clone of typed ops and calls the same bf16 primitives.
#
# With batch norms the two round at different points: autocast stores the
# convolution's output and the normalized one in bf16, nnc keeps a
# convolution feeding a batch norm in f32 and normalizes in f32. The
# gradient of a convolution before a batch norm is a difference of nearly
# equal terms, and max pooling routes it by comparisons that rounding
# flips, so the two steps agree less (cosine at least 0.99 to autocast);
# each nnc gradient must also be within cosine 0.995 of float64 autograd's
# (seen: 0.9974 for the first convolution's weight, where autocast's is
# 0.9982; 0.9995 and up elsewhere).
#
# CHECK: small: {{[0-9]+}} plans bitwise identical to store-all
# CHECK: wider: {{[0-9]+}} plans bitwise identical to store-all
# CHECK: batchnorm: {{[0-9]+}} plans bitwise identical to store-all
# CHECK: all 3 CNNs match
# CHECK-NOT: MISMATCH

import argparse
import copy
import os
import sys
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "Inputs"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..",
                                "examples", "pytorch-onnx"))
import nnc_weights  # noqa: E402
from nnc_ctypes import Compiled  # noqa: E402


class Small(nn.Module):
    """The lecture's CNN in miniature: conv (stride 1, pad 1) - relu -
    maxpool 2 - conv (stride 2, pad 1) - relu - flatten - linear - relu -
    linear."""

    def __init__(self, c=1, c1=8, c2=16, hw=12):
        super().__init__()
        self.c1 = nn.Conv2d(c, c1, 3, padding=1)
        self.c2 = nn.Conv2d(c1, c2, 3, stride=2, padding=1)
        side = (hw // 2 + 1) // 2
        self.fc1 = nn.Linear(c2 * side * side, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.relu(self.c2(x))
        return self.fc2(F.relu(self.fc1(torch.flatten(x, 1))))


class BatchNormed(nn.Module):
    """conv - batch norm - relu - maxpool - conv (no bias) - relu - linear:
    the convolution before a batch norm keeps an f32 result."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        self.c2 = nn.Conv2d(16, 16, 3, padding=1, bias=False)
        self.fc = nn.Linear(16 * 4 * 4, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn(self.c1(x))), 2)
        return self.fc(torch.flatten(F.relu(self.c2(x)), 1))


# name, network, input shape, the least cosine to autocast's gradients,
# strict (False: also as close to float64 as autocast, tensor by tensor)
CONFIGS = [
    ("small", lambda: Small(), (16, 1, 12, 12), 0.999, True),
    ("wider", lambda: Small(3, 20, 24, 16), (8, 3, 16, 16), 0.999, True),
    ("batchnorm", BatchNormed, (16, 3, 8, 8), 0.99, False),
]


def rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


def cosine(a, b):
    a = np.asarray(a, np.float64).ravel()
    b = np.asarray(b, np.float64).ravel()
    return float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-30))


def reference(net, x, labels, autocast):
    """The loss and gradients of one step: under autocast on the f32
    network, or in float64."""
    net = copy.deepcopy(net)
    if not autocast:
        net = net.double()
        x = x.double()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        out = net(x)
        loss = F.cross_entropy(out.float() if autocast else out, labels)
    loss.backward()
    return float(loss), {k: p.grad.double().numpy()
                         for k, p in net.named_parameters()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnc-compile", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    torch.manual_seed(3)
    ok = True
    for name, factory, shape, min_cos, strict in CONFIGS:
        net = factory()
        with torch.no_grad():  # biases away from 0 so they matter
            for p in net.parameters():
                if p.dim() == 1 and not name == "batchnorm":
                    p.normal_(0, 0.1)
        x = torch.randn(shape)
        labels = torch.randint(0, 10, (shape[0],))
        path = os.path.join(args.workdir, name + ".onnx")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(net, x, path, opset_version=13,
                              input_names=["x"], output_names=["y"],
                              training=torch.onnx.TrainingMode.TRAINING)
        base = [path, "--learning-rate=0", "--loss=cross-entropy"]
        wpath = os.path.join(args.workdir, name + ".nncw")
        bf16 = ["--precision=bf16"]
        store = Compiled(args.nnc_compile, args.workdir, name + "-store",
                         base + bf16 + ["--weights-out", wpath])
        f32 = Compiled(args.nnc_compile, args.workdir, name + "-f32", base)
        weights = nnc_weights.load(wpath)

        def step(model):
            entry = model.entries["grad"]
            params = entry["inputs"][2:]
            names = [i.get("source_name", i["name"]) for i in params]
            outs = model.call("grad", [x.numpy(), labels.numpy()] +
                              [weights[n] for n in names])
            grads = dict(zip([n for n, i in zip(names, params)
                              if i.get("parameter")], outs[1:]))
            return float(outs[0]), grads

        loss, grads = step(store)
        loss32, grads32 = step(f32)
        ref_loss, ref_grads = reference(net, x, labels, True)
        loss_err = abs(loss - ref_loss) / max(abs(ref_loss), 1e-30)
        cos = min(cosine(grads[k], ref_grads[k]) for k in ref_grads)
        vs_f32 = max(rel(grads[k], grads32[k]) for k in grads32)
        good = (set(grads) == set(ref_grads) and loss_err <= 1e-2 and
                cos >= min_cos and vs_f32 >= 1e-4)
        if not strict:
            # Both against float64: every nnc gradient's cosine at least
            # 0.995 (autocast's are printed beside it).
            _, grads64 = reference(net, x, labels, False)
            for k in grads64:
                ours = cosine(grads[k], grads64[k])
                theirs = cosine(ref_grads[k], grads64[k])
                print("   %-10s cosine to float64: nnc %.6f, autocast %.6f"
                      % (k, ours, theirs))
                good &= ours >= 0.995
        ok &= good
        if not good:
            print("   per tensor cosine: " + ", ".join(
                "%s %.6f" % (k, cosine(grads[k], ref_grads[k]))
                for k in ref_grads))
        print("%-8s %-9s %-9s loss=%.5f reference=%.5f rel=%.1e "
              "min_cos=%.6f bf16_vs_f32=%.1e"
              % ("ok" if good else "MISMATCH", name,
                 "autocast", loss, ref_loss,
                 loss_err, cos, vs_f32))

        # The plans, bitwise against store-all.
        plan = store.report["checkpoint"]
        lo, hi = plan["min_budget_bytes"], plan["store_all_peak_bytes"]
        plans = [["--strategy=recompute-all"], ["--strategy=sqrt"]]
        for f in (0.25, 0.5, 0.75):
            plans.append(["--strategy=dp",
                          "--budget=%d" % int(lo + f * (hi - lo))])
        same, recomputed = 0, 0
        for i, flags in enumerate(plans):
            model = Compiled(args.nnc_compile, args.workdir,
                             "%s-plan%d" % (name, i), base + bf16 + flags)
            recomputed += model.report["checkpoint"]["recompute_flops"] > 0
            l, g = step(model)
            if (np.float32(l).tobytes() == np.float32(loss).tobytes() and
                    all(np.array_equal(g[k], grads[k]) for k in grads)):
                same += 1
            else:
                ok = False
                print("MISMATCH %s: %s differs from store-all"
                      % (name, " ".join(flags)))
        # A plan that recomputes nothing would show nothing.
        if not recomputed:
            ok = False
            print("MISMATCH %s: no plan recomputes a stage" % name)
        print("%s: %d plans bitwise identical to store-all, %d of them "
              "recomputing (budgets in [%d, %d])"
              % (name, same, recomputed, lo, hi))
    if not ok:
        sys.exit(1)
    print("all %d CNNs match" % len(CONFIGS))


if __name__ == "__main__":
    main()
