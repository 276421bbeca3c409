# RUN: %python_torch %s --nnc-compile nnc-compile --workdir %t | FileCheck %s
# REQUIRES: torch
#
# Convolutional networks against PyTorch autograd: each network is defined
# in PyTorch, exported with torch.onnx.export, compiled by nnc-compile from
# the .onnx file with the loss appended, and the loss and every gradient of
# the compiled gradient function match PyTorch's on the same weights within
# 1e-5 (relative, per tensor, against a float64 reference). The networks
# cover stride 2, padding, dilation, groups and depthwise convolutions, bias
# and no bias, fused ReLU and LeakyReLU, overlapping max pooling windows,
# average pooling counting and excluding padding, global average pooling
# (GlobalAveragePool and x.mean((2, 3))), Flatten and Reshape of computed
# values, a residual block, and a classifier ending in LogSoftmax trained
# with --loss=nll, and batch norms (a ResNet's basic blocks among them):
# their running statistics after the step (the step's new_<name> results)
# match PyTorch's after its forward. Each is also compiled as a dp plan
# under a budget between the least feasible and the store-all peak: its
# gradients and statistics must equal store-all's bit for bit, and where
# the plan recomputes a batch norm's stage the statistics are still
# updated once (PyTorch's checkpoint updates them at every recomputation).
#
# CHECK: all {{[0-9]+}} convolutional networks match PyTorch
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

TOL = 1e-5


class Small(nn.Module):
    """conv (pad 1) - relu - maxpool 2 - conv (stride 2) - relu - flatten -
    linear: the lecture's CNN in miniature."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 4, 3, padding=1)
        self.c2 = nn.Conv2d(4, 6, 3, stride=2, padding=1)
        self.fc = nn.Linear(6 * 3 * 3, 5)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.relu(self.c2(x))
        return self.fc(torch.flatten(x, 1))


class Dilated(nn.Module):
    """dilation 2, groups 2, no bias, leaky relu, avg pool 3/2 pad 1 counting
    the padding (PyTorch's default), view(-1, n)."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(2, 4, 3, padding=2, dilation=2, groups=2,
                            bias=False)
        self.c2 = nn.Conv2d(4, 4, (3, 2), stride=(2, 1), padding=(0, 1))
        self.fc = nn.Linear(4 * 2 * 6, 3)

    def forward(self, x):
        x = F.leaky_relu(self.c1(x), 0.1)
        x = F.avg_pool2d(x, 3, stride=2, padding=1)
        x = torch.tanh(self.c2(x))
        return self.fc(x.view(x.shape[0], -1))


class Depthwise(nn.Module):
    """depthwise conv, overlapping max pool 3/2 pad 1, avg pool excluding
    padding, the mean over the plane."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 6, 1)
        self.dw = nn.Conv2d(6, 6, 3, padding=1, groups=6)
        self.fc = nn.Linear(6, 4)

    def forward(self, x):
        x = F.relu(self.dw(F.relu(self.c1(x))))
        x = F.max_pool2d(x, 3, stride=2, padding=1)
        x = F.avg_pool2d(x, 2, stride=1, padding=1, count_include_pad=False)
        return self.fc(x.mean((2, 3)))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.a = nn.Conv2d(c, c, 3, padding=1)
        self.b = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return F.relu(x + self.b(F.relu(self.a(x))))


class Residual(nn.Module):
    """two residual blocks (an input feeding two paths), global average
    pooling as AdaptiveAvgPool2d(1)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 4, 3, padding=1)
        self.blocks = nn.Sequential(Block(4), Block(4))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        x = self.blocks(F.relu(self.stem(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


class LogSoftmaxNet(nn.Module):
    """the classic MNIST example's ending: log_softmax, trained with NLL."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 3, 3)
        self.fc = nn.Linear(3 * 4 * 4, 5)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        return F.log_softmax(self.fc(torch.flatten(x, 1)), dim=1)


class BatchNorm(nn.Module):
    """conv without bias - batch norm - relu, twice, then global average
    pooling: a batch norm's statistics over N, H, W."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(2, 4, 3, padding=1, bias=False)
        self.b1 = nn.BatchNorm2d(4)
        self.c2 = nn.Conv2d(4, 4, 3, stride=2, padding=1, bias=False)
        self.b2 = nn.BatchNorm2d(4, momentum=0.3, eps=1e-3)
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        x = F.relu(self.b1(self.c1(x)))
        x = F.relu(self.b2(self.c2(x)))
        return self.fc(x.mean((2, 3)))


class BasicBlock(nn.Module):
    """ResNet's basic block: conv-bn-relu-conv-bn, the input added, relu."""

    def __init__(self, c):
        super().__init__()
        self.c1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.b1 = nn.BatchNorm2d(c)
        self.c2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.b2 = nn.BatchNorm2d(c)

    def forward(self, x):
        y = F.relu(self.b1(self.c1(x)))
        return F.relu(x + self.b2(self.c2(y)))


class ResNetBN(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 4, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(4)
        self.blocks = nn.Sequential(BasicBlock(4), BasicBlock(4))
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        x = self.blocks(F.relu(self.bn(self.stem(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


# name, module, input shape, classes, nnc's --loss
CONFIGS = [
    ("small", Small, (4, 1, 12, 12), 5, "cross-entropy"),
    ("dilated", Dilated, (3, 2, 9, 9), 3, "cross-entropy"),
    ("depthwise", Depthwise, (4, 3, 8, 8), 4, "cross-entropy"),
    ("residual", Residual, (2, 1, 6, 6), 3, "cross-entropy"),
    ("logsoftmax", LogSoftmaxNet, (4, 1, 10, 10), 5, "nll"),
    ("batchnorm", BatchNorm, (3, 2, 6, 6), 3, "cross-entropy"),
    ("resnet-bn", ResNetBN, (2, 1, 6, 6), 3, "cross-entropy"),
]


def rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


def reference(net, x, labels, loss, dtype):
    """The loss, the gradients and the running statistics after the step,
    computed in `dtype` on a copy (the forward updates the statistics)."""
    net = copy.deepcopy(net).to(dtype)
    for p in net.parameters():
        p.grad = None
    out = net(x.to(dtype))
    l = F.nll_loss(out, labels) if loss == "nll" else F.cross_entropy(
        out, labels)
    l.backward()
    grads = {k: p.grad.detach().numpy().copy()
             for k, p in net.named_parameters()}
    stats = {k: b.detach().numpy().copy() for k, b in net.named_buffers()
             if k.endswith("running_mean") or k.endswith("running_var")}
    return float(l), grads, stats


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnc-compile", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    torch.manual_seed(7)
    worst, failed = 0.0, False
    for name, factory, shape, classes, loss in CONFIGS:
        net = factory()
        with torch.no_grad():  # biases away from 0 so they matter
            for p in net.parameters():
                if p.dim() == 1:
                    p.normal_(0, 0.1)
        x = torch.randn(shape)
        labels = torch.randint(0, classes, (shape[0],))
        path = os.path.join(args.workdir, name + ".onnx")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # Training mode keeps batch norms as nodes (eval mode folds
            # them into the convolutions).
            torch.onnx.export(net, x, path, opset_version=13,
                              input_names=["x"], output_names=["y"],
                              training=torch.onnx.TrainingMode.TRAINING)
        base = [path, "--learning-rate=0", "--loss=" + loss]
        wpath = os.path.join(args.workdir, name + ".nncw")
        store = Compiled(args.nnc_compile, args.workdir, name,
                         base + ["--weights-out", wpath])
        weights = nnc_weights.load(wpath)
        state = {k: v.numpy() for k, v in net.state_dict().items()
                 if not k.endswith("num_batches_tracked")}
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
        loss64, grads64, stats64 = reference(net, x, labels, loss,
                                             torch.float64)
        results = {}
        for tag, model in (("store-all", store), ("dp", dp)):
            entry = model.entries["grad"]
            params = entry["inputs"][2:]
            names = [i.get("source_name", i["name"]) for i in params]
            outs = model.call("grad", [x.numpy(), labels.numpy()] +
                              [weights[n] for n in names])
            # Parameter gradients in order, then new_<running statistic>.
            got = dict(zip([n for n, i in zip(names, params)
                            if i.get("parameter")], outs[1:]))
            byName = {o["name"]: v for o, v in zip(entry["outputs"], outs)}
            for i, n in zip(params, names):
                if i.get("running_stat"):
                    got[n] = byName["new_" + i["name"]]
            errs = [rel(outs[0], loss64)] + [rel(got[k], grads64[k])
                                             for k in grads64]
            errs += [rel(got[k], stats64[k]) for k in stats64]
            err = max(errs)
            worst = max(worst, err)
            results[tag] = got
            status = "ok" if err <= TOL else "MISMATCH"
            if err > TOL:
                print("   per tensor: loss %.2e, %s" % (errs[0], ", ".join(
                    "%s %.2e" % (k, e) for k, e in
                    zip(list(grads64) + list(stats64), errs[1:]))))
            failed |= err > TOL
            print("%-8s %-11s %-9s loss=%.6f params=%d err=%.2e"
                  % (status, name, tag, float(outs[0]), len(got), err))
        if not all(np.array_equal(results["store-all"][k], results["dp"][k])
                   for k in list(grads64) + list(stats64)):
            print("MISMATCH %s: dp gradients differ from store-all" % name)
            failed = True
        dplan = dp.report["checkpoint"]
        print("   dp budget %d in [%d, %d]: %d stages, %d forward steps"
              % (budget, lo, hi, dplan["stages"], dplan["forward_steps"]))
        # Running statistics must come out once however often the plan
        # recomputes their stage: a plan that recomputes nothing would not
        # show it.
        if stats64 and lo < hi and dplan["recompute_flops"] == 0:
            print("MISMATCH %s: the dp plan recomputes nothing" % name)
            failed = True
    if failed:
        print("MISMATCH: worst rel err %.2e" % worst)
        sys.exit(1)
    print("all %d convolutional networks match PyTorch (worst rel err %.2e)"
          % (len(CONFIGS), worst))


if __name__ == "__main__":
    main()
