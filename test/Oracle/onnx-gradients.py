# RUN: %python_torch %s --nnc-compile nnc-compile --workdir %t | FileCheck %s
# REQUIRES: torch
#
# The ONNX path against the real exporter: networks built in PyTorch are
# exported with torch.onnx.export (opsets 13 to 17), compiled by nnc-compile
# from the .onnx file, and the loss and every gradient of the compiled
# gradient function match PyTorch autograd on the same weights within 1e-5
# (relative, per tensor, against a float64 reference), for the store-all
# plan and a dp plan under a budget between the least feasible and the
# store-all peak. The weights come from the model file: nnc-compile
# --weights-out writes the initializers by name, which must equal PyTorch's
# state_dict. The dp plan's gradients must equal store-all's bit for bit.
#
# CHECK: all {{[0-9]+}} exported models match PyTorch
# CHECK-NOT: MISMATCH

import argparse
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
from nnc_ctypes import Compiled, dropout_keep  # noqa: E402

TOL = 1e-5


class MaskedDropout(nn.Module):
    """nn.Dropout when exporting; with `mask` set, nnc's mask (the oracle
    cannot share PyTorch's random draws, so it replays nnc's)."""

    def __init__(self, p):
        super().__init__()
        self.p, self.mask = p, None

    def forward(self, x):
        if self.mask is None:
            return F.dropout(x, self.p, self.training)
        return x * self.mask.to(x.dtype) / (1 - self.p)


class Residual(nn.Module):
    def __init__(self, width, act):
        super().__init__()
        self.fc, self.act = nn.Linear(width, width), act

    def forward(self, x):
        return x + self.act(self.fc(x))


class Gelu(nn.Module):
    def forward(self, x):
        return F.gelu(x)


def mse(p, t):
    # F.mse_loss does not export in torch 1.13; this is what users write.
    return ((p - t) * (p - t)).mean()


class WithLoss(nn.Module):
    def __init__(self, net, loss):
        super().__init__()
        self.net, self.loss = net, loss

    def forward(self, x, t):
        return self.loss(self.net(x), t)


def mlp(widths, act, dropout=0.0):
    layers = []
    for i in range(len(widths) - 1):
        layers.append(nn.Linear(widths[i], widths[i + 1]))
        if i + 2 < len(widths):
            layers.append(act())
            if dropout:
                layers.append(MaskedDropout(dropout))
    return nn.Sequential(*layers)


def nll(z, labels):
    return F.nll_loss(F.log_softmax(z, dim=1), labels)


# name, network factory, input shape, loss ("mse" or "ce"), whether the loss
# is inside the exported graph, opset, export flags.
CONFIGS = [
    ("mlp2-relu", lambda: mlp([16, 32, 10], nn.ReLU), (16, 16), "ce", False,
     13, {}),
    ("mlp4-tanh", lambda: mlp([12, 32, 32, 32, 6], nn.Tanh), (16, 12), "mse",
     False, 14, {}),
    ("mlp6-relu", lambda: mlp([20, 32, 32, 32, 32, 32, 10], nn.ReLU),
     (16, 20), "ce", False, 16, {}),
    ("mlp3-sigmoid-mse", lambda: mlp([10, 24, 24, 4], nn.Sigmoid), (8, 10),
     "mse", True, 15, {}),
    ("mlp3-leaky-gelu-ce",
     lambda: nn.Sequential(nn.Linear(16, 32), nn.LeakyReLU(0.1),
                           nn.Linear(32, 32), Gelu(), nn.Linear(32, 8)),
     (16, 16), "ce", True, 16, {}),
    ("mlp3-dropout-train",
     lambda: mlp([16, 32, 32, 5], nn.ReLU, dropout=0.25), (16, 16), "ce",
     True, 17,
     {"training": torch.onnx.TrainingMode.TRAINING,
      "do_constant_folding": False}),
    ("residual", lambda: nn.Sequential(nn.Linear(12, 24),
                                       Residual(24, torch.relu),
                                       Residual(24, torch.tanh),
                                       nn.Linear(24, 6)),
     (16, 12), "mse", False, 17, {}),
    ("flatten-nll", lambda: nn.Sequential(nn.Flatten(), nn.Linear(16, 32),
                                          nn.ReLU(), nn.Linear(32, 10)),
     (8, 1, 4, 4), "nll", True, 15, {}),
    ("nobias-transpose",
     lambda: nn.Sequential(nn.Linear(12, 20, bias=False), nn.ReLU(),
                           nn.Linear(20, 20, bias=False), nn.Tanh(),
                           nn.Linear(20, 4, bias=False)),
     (8, 12), "mse", False, 13, {"do_constant_folding": False}),
]


def loss_fn(kind):
    return {"mse": mse, "ce": F.cross_entropy, "nll": nll}[kind]


def export(name, factory, shape, kind, inside, opset, flags, workdir, rng):
    torch.manual_seed(len(name))
    net = factory()
    x = torch.tensor(rng.standard_normal(shape), dtype=torch.float32)
    out_dim = net(x).shape[1]
    if kind == "mse":
        t = torch.tensor(rng.standard_normal((shape[0], out_dim)),
                         dtype=torch.float32)
    else:
        t = torch.tensor(rng.integers(0, out_dim, shape[0]))
    path = os.path.join(workdir, name + ".onnx")
    model = WithLoss(net, loss_fn(kind)) if inside else net
    args = (x, t) if inside else (x,)
    names = ["x", "targets" if kind == "mse" else "labels"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, args, path, opset_version=opset,
                          input_names=names[:len(args)],
                          output_names=["loss" if inside else "y"], **flags)
    # Parameter names as the exported module has them (the state_dict keys).
    return net, "net." if inside else "", x, t, path


def reference(net, prefix, x, t, kind, masks, dtype):
    net = net.to(dtype)
    net.zero_grad()
    drops = [m for m in net.modules() if isinstance(m, MaskedDropout)]
    for m, mask in zip(drops, masks):
        m.mask = mask
    xt = x.to(dtype)
    tt = t.to(dtype) if kind == "mse" else t
    loss = loss_fn(kind)(net(xt), tt)
    loss.backward()
    for m in drops:
        m.mask = None
    return loss.item(), {prefix + k: p.grad.double().numpy().copy()
                         for k, p in net.named_parameters()}


def rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


def run_grad(model, x, t, weights):
    entry = model.entries["grad"]
    params = [i for i in entry["inputs"] if i.get("parameter")]
    names = [i.get("source_name", i["name"]) for i in params]
    # A flattened graph input takes its flat shape: the same row-major bytes.
    xs = x.numpy().reshape(entry["inputs"][0]["shape"])
    outs = model.call("grad", [xs, t.numpy()] + [weights[n] for n in names])
    return float(outs[0]), dict(zip(names, outs[1:]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnc-compile", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    rng = np.random.default_rng(2024)
    worst, failed = 0.0, False
    for name, factory, shape, kind, inside, opset, flags in CONFIGS:
        net, prefix, x, t, path = export(name, factory, shape, kind, inside, opset,
                                 flags, args.workdir, rng)
        base = [path, "--learning-rate=0"]
        if not inside:
            base.append("--loss=" + ("mse" if kind == "mse" else
                                     "cross-entropy"))
        wpath = os.path.join(args.workdir, name + ".nncw")
        store = Compiled(args.nnc_compile, args.workdir, name,
                         base + ["--weights-out", wpath])
        weights = nnc_weights.load(wpath)
        state = {prefix + k: v.numpy() for k, v in net.state_dict().items()}
        if set(weights) != set(state) or any(
                not np.array_equal(weights[k], state[k]) for k in state):
            print("MISMATCH %s: initializers differ from the state_dict "
                  "(%s vs %s)" % (name, sorted(weights), sorted(state)))
            failed = True
            continue

        plan = store.report["checkpoint"]
        lo, hi = plan["min_budget_bytes"], plan["store_all_peak_bytes"]
        budget = (lo + hi) // 2
        dp = Compiled(args.nnc_compile, args.workdir, name + "-dp",
                      base + ["--strategy=dp", "--budget=%d" % budget])
        dplan = dp.report["checkpoint"]

        drops = [m for m in net.modules() if isinstance(m, MaskedDropout)]
        masks, h = [], x
        for i, m in enumerate(drops):
            # Hidden widths in graph order; nnc seeds its dropouts 1, 2, ...
            width = [l for l in net.modules()
                     if isinstance(l, nn.Linear)][i].out_features
            masks.append(torch.tensor(dropout_keep((shape[0], width), i + 1,
                                                   m.p)))
        loss64, grads64 = reference(net, prefix, x, t, kind, masks,
                                    torch.float64)

        results = {}
        for tag, model in (("store-all", store), ("dp", dp)):
            loss, grads = run_grad(model, x, t, weights)
            errs = [rel(loss, loss64)] + [rel(grads[k], grads64[k])
                                          for k in grads64]
            err = max(errs)
            worst = max(worst, err)
            results[tag] = (loss, grads)
            status = "ok" if err <= TOL else "MISMATCH"
            failed |= err > TOL
            print("%-8s %-20s opset %d %-9s loss=%.6f params=%d err=%.2e"
                  % (status, name, opset, tag, loss, len(grads), err))
        same = all(np.array_equal(results["store-all"][1][k],
                                  results["dp"][1][k]) for k in grads64)
        if not same:
            print("MISMATCH %s: dp gradients differ from store-all" % name)
            failed = True
        print("   dp budget %d in [%d, %d]: peak %d, %d forward steps, "
              "recompute %d flops" % (budget, lo, hi,
                                      dplan["predicted_peak_bytes"],
                                      dplan["forward_steps"],
                                      dplan["recompute_flops"]))
    if failed:
        print("MISMATCH: worst rel err %.2e" % worst)
        sys.exit(1)
    print("all %d exported models match PyTorch (worst rel err %.2e)"
          % (len(CONFIGS), worst))


if __name__ == "__main__":
    main()
