"""Writes small MNIST-layout IDX directories for nnc-train's tests: a good
one (gzipped, and uncompressed) and one per kind of damage. Usage:
make-idx.py OUTDIR. Three classes of 4x4 images, each class a different
bright quadrant plus noise, so a tiny MLP learns them."""

import gzip
import os
import random
import shutil
import struct
import sys


def idx(dims, data):
    return struct.pack(">BBBB", 0, 0, 0x08, len(dims)) + \
        b"".join(struct.pack(">I", d) for d in dims) + bytes(data)


def dataset(n, side, rng, classes=3):
    images, labels = [], []
    for i in range(n):
        c = i % classes
        img = [rng.randrange(0, 60) for _ in range(side * side)]
        for r in range(side // 2):
            for q in range(side // 2):
                rr = r + (side // 2 if c & 1 else 0)
                qq = q + (side // 2 if c & 2 else 0)
                img[rr * side + qq] = rng.randrange(180, 256)
        images += img
        labels.append(c)
    return images, labels


def write(dirname, prefix, images_blob, labels_blob, gz=True):
    os.makedirs(dirname, exist_ok=True)
    for kind, blob in (("images-idx3", images_blob),
                       ("labels-idx1", labels_blob)):
        name = os.path.join(dirname, "%s-%s-ubyte" % (prefix, kind))
        if gz:
            with gzip.open(name + ".gz", "wb") as f:
                f.write(blob)
        else:
            with open(name, "wb") as f:
                f.write(blob)


def good(dirname, side=4, gz=True, label_fix=None, n_train=64, n_test=32):
    rng = random.Random(1)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images, labels = dataset(n, side, rng)
        if label_fix:
            labels = label_fix(labels)
        write(dirname, prefix, idx([n, side, side], images),
              idx([n], labels), gz)


def main():
    out = sys.argv[1]
    shutil.rmtree(out, ignore_errors=True)
    good(os.path.join(out, "good"))
    good(os.path.join(out, "raw"), gz=False)
    good(os.path.join(out, "five-by-five"), side=5)
    good(os.path.join(out, "bad-label"),
         label_fix=lambda l: l[:3] + [7] + l[4:])
    # Damage to the training images of an otherwise good copy.
    img = lambda d: os.path.join(out, d, "train-images-idx3-ubyte.gz")
    for name in ("truncated", "bad-magic", "corrupt", "trailing", "count",
                 "zero-dim", "no-labels", "gz-trailing", "huge",
                 "two-members"):
        shutil.copytree(os.path.join(out, "good"), os.path.join(out, name))
    rng = random.Random(2)
    images, _ = dataset(64, 4, rng)
    blob = idx([64, 4, 4], images)
    with gzip.open(img("truncated"), "wb") as f:
        f.write(blob[:-100])
    with gzip.open(img("bad-magic"), "wb") as f:
        f.write(b"\x00\x00\x08\x03"[::-1] + blob[4:])
    with gzip.open(img("trailing"), "wb") as f:
        f.write(blob + b"\x01\x02")
    # Bytes after the gzip member, which gzread would ignore.
    with open(img("gz-trailing"), "wb") as f:
        f.write(gzip.compress(blob) + b"not gzip")
    # Two gzip members are one stream (gzip -c a b): accepted.
    with open(img("two-members"), "wb") as f:
        f.write(gzip.compress(blob[:100]) + gzip.compress(blob[100:]))
    # A header within the element bound (2^32) whose data would need more
    # memory than the test's ulimit: refused before anything is allocated.
    with gzip.open(img("huge"), "wb") as f:
        f.write(idx([200000000, 4, 4], []))
    with gzip.open(img("count"), "wb") as f:
        f.write(idx([60, 4, 4], images[:60 * 16]))
    with gzip.open(img("zero-dim"), "wb") as f:
        f.write(idx([64, 0, 4], []))
    # A gzip header followed by bytes that do not inflate.
    with open(img("corrupt"), "wb") as f:
        f.write(gzip.compress(blob)[:10] + bytes(range(256)) * 4)
    os.remove(os.path.join(out, "no-labels", "t10k-labels-idx1-ubyte.gz"))


if __name__ == "__main__":
    main()
