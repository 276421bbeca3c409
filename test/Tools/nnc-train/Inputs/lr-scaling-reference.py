# The reference for lr-linear-scaling.test: Goyal et al.'s linear scaling
# rule with gradual warm-up, written from the paper's definition. With a
# base rate `lr` for `base_batch` samples, a global batch B trains at
# lr * B / base_batch, reached linearly from `start` times that over the
# first `warmup` steps (PyTorch's LinearLR(start_factor=start,
# total_iters=warmup)). Reads nnc-train's step records and compares.
import json
import sys

path, lr, batch, base_batch, warmup, start = sys.argv[1:7]
lr, batch, base_batch = float(lr), int(batch), int(base_batch)
warmup, start = int(warmup), float(start)
scaled = lr * batch / base_batch
steps = [json.loads(line) for line in open(path)
         if json.loads(line).get("type") == "step"]
bad = 0
for rec in steps:
    t = rec["step"] - 1
    expected = scaled * (start + (1 - start) * min(t, warmup) / warmup)
    if abs(rec["lr"] - expected) > 1e-12 * max(1.0, expected):
        print("step %d: lr %.17g, expected %.17g" % (rec["step"], rec["lr"],
                                                     expected))
        bad += 1
print("%d steps %s the reference" % (len(steps),
                                     "match" if bad == 0 else "DIFFER from"))
