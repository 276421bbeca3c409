#!/usr/bin/python3
"""The grokking transformer's training step: nnc against PyTorch.

The lecture's model (examples/grokking: 2 pre-norm layers, width 128, 4
heads, MLP 512, learned positions, causal attention, the answer read at the
last of 4 positions, 97 classes), batch 512 of "x + y =" sequences, AdamW
(lr 1e-3, betas (0.9, 0.98), weight decay 1), at one and at two threads.
Each side times its own steps after untimed warm-up ones; rounds alternate
nnc and PyTorch and the table gives medians over rounds.

The peer runs at its best (benchmarks/common/peer.py: its BLAS kernel chosen
by measurement and printed, the threads set and printed), in two forms: the
model built from nn.TransformerEncoderLayer (norm_first, batch_first,
dropout 0: PyTorch's own layer, what the issue's reference used) and the
same model written with nn.Linear and explicit attention; the faster is the
peer's figure.

  /usr/bin/python3 benchmarks/train/bench_grokking.py --grokking build/bin/grokking
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "common"))
import peer  # noqa: E402

PEER = peer.ensure_best_peer()
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

P, SEQ, VOCAB = 97, 4, 99


class Layered(nn.Module):
    """Built from nn.TransformerEncoderLayer."""

    def __init__(self, d=128, heads=4, layers=2, mlp=512):
        super().__init__()
        self.tok = nn.Embedding(VOCAB, d)
        self.pos = nn.Embedding(SEQ, d)
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(d, heads, mlp, dropout=0.0,
                                       batch_first=True, norm_first=True)
            for _ in range(layers))
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, P)
        self.register_buffer(
            "mask", torch.triu(torch.full((SEQ, SEQ), float("-inf")), 1))

    def forward(self, tokens):
        x = self.tok(tokens) + self.pos(torch.arange(SEQ))
        for layer in self.layers:
            x = layer(x, src_mask=self.mask)
        return self.head(self.norm(x)[:, -1])


class Block(nn.Module):
    def __init__(self, d, heads, mlp):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.fc1, self.fc2 = nn.Linear(d, mlp), nn.Linear(mlp, d)

    def forward(self, x, mask):
        b, t, d = x.shape
        a = self.ln1(x)
        split = lambda y: y.view(b, t, self.heads, -1).transpose(1, 2)
        q, k, v = split(self.q(a)), split(self.k(a)), split(self.v(a))
        s = q @ k.transpose(-1, -2) / (q.shape[-1] ** 0.5) + mask
        o = (s.softmax(-1) @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.o(o)
        return x + self.fc2(F.relu(self.fc1(self.ln2(x))))


class Explicit(Layered):
    """The same model with explicit attention (nnc's model, op for op)."""

    def __init__(self, d=128, heads=4, layers=2, mlp=512):
        super().__init__(d, heads, layers, mlp)
        self.layers = nn.ModuleList(Block(d, heads, mlp)
                                    for _ in range(layers))

    def forward(self, tokens):
        x = self.tok(tokens) + self.pos(torch.arange(SEQ))
        for layer in self.layers:
            x = layer(x, self.mask)
        return self.head(self.norm(x)[:, -1])


def torch_median_ms(cls, args, threads, blas_threads=None):
    peer.set_peer_threads(threads, blas_threads or threads)
    torch.manual_seed(0)
    model = cls()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.98),
                            weight_decay=1.0)
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, P, (args.batch, 2), generator=g)
    tokens = torch.stack([x[:, 0], torch.full_like(x[:, 0], P), x[:, 1],
                          torch.full_like(x[:, 0], P + 1)], 1)
    labels = (x[:, 0] + x[:, 1]) % P
    times = []
    for s in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(tokens), labels)
        loss.backward()
        opt.step()
        if s >= args.warmup:
            times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def nnc_median_ms(args, threads):
    out = subprocess.run(
        [args.grokking, "--steps=%d" % (args.warmup + args.steps),
         "--timed-steps=%d" % args.steps, "--num-threads=%d" % threads,
         "--batch=%d" % args.batch, "--out=" + args.workdir],
        check=True, capture_output=True, text=True).stdout
    m = re.search(r"median step ([0-9.]+) ms", out)
    if not m:
        sys.exit("bench_grokking: no timing in grokking's output:\n" + out)
    return float(m.group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grokking", default="build/bin/grokking")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workdir", default="/tmp/nnc-bench-grokking")
    args = ap.parse_args()
    print("peer:", PEER)
    # PyTorch's own threads and its BLAS's are separate pools: OpenBLAS's
    # pthreads and PyTorch's OpenMP team both at 2 oversubscribe 2 cores
    # (168 ms a step against 64 ms with PyTorch at 1 and the BLAS at 2).
    # Each thread count is therefore tried as (PyTorch, BLAS) = (n, n),
    # (n, 1) and (1, n); the peer's figure is the best form and split.
    print("threads | nnc ms/step | PyTorch ms/step by form and (torch, "
          "BLAS) threads | best peer | PyTorch / nnc")
    for threads in [int(t) for t in args.threads.split(",")]:
        nnc = []
        splits = sorted({(threads, threads), (threads, 1), (1, threads)},
                        reverse=True)
        peers = {(cls.__name__, t, b): [] for cls in (Layered, Explicit)
                 for t, b in splits}
        for _ in range(args.rounds):
            nnc.append(nnc_median_ms(args, threads))
            for (name, t, b), times in peers.items():
                cls = Layered if name == "Layered" else Explicit
                times.append(torch_median_ms(cls, args, t, b))
        n = statistics.median(nnc)
        med = {k: statistics.median(v) for k, v in peers.items()}
        best = min(med, key=med.get)
        cells = ", ".join("%s (%d, %d) %.1f" % (k + (v,))
                          for k, v in med.items())
        print("%7d | %11.1f | %s | %s (%d, %d): %.1f | %.2fx" %
              (threads, n, cells, best[0], best[1], best[2], med[best],
               med[best] / n))


if __name__ == "__main__":
    main()
