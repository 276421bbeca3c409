"""Reads an nnc weights file (include/nnc/Frontend/Weights.h) with the
standard library only, and reports on hidden units: `weights.py units FILE`
prints, per weight matrix, how many of its rows (hidden units) are
distinct."""

import struct
import sys


def read(path):
    data = open(path, "rb").read()
    assert data[:4] == b"NNCW", "no NNCW magic"
    version, count = struct.unpack_from("<IQ", data, 4)
    assert version == 1
    pos, tensors = 16, []
    for _ in range(count):
        (n,) = struct.unpack_from("<I", data, pos)
        name = data[pos + 4:pos + 4 + n].decode()
        pos += 4 + n
        dtype, rank = struct.unpack_from("<II", data, pos)
        assert dtype == 1, "float32 only"
        shape = struct.unpack_from("<%dq" % rank, data, pos + 8)
        pos += 8 + 8 * rank
        size = 1
        for d in shape:
            size *= d
        values = struct.unpack_from("<%df" % size, data, pos)
        pos += 4 * size
        tensors.append((name, shape, values))
    assert pos == len(data), "trailing bytes"
    return tensors


def main():
    cmd, path = sys.argv[1], sys.argv[2]
    tensors = read(path)
    if cmd == "units":
        for name, shape, values in tensors:
            if len(shape) != 2:
                continue
            rows = {values[r * shape[1]:(r + 1) * shape[1]]
                    for r in range(shape[0])}
            cols = {tuple(values[r * shape[1] + c] for r in range(shape[0]))
                    for c in range(shape[1])}
            print("%s: %d rows, %d distinct; %d columns, %d distinct" %
                  (name, shape[0], len(rows), shape[1], len(cols)))
    elif cmd == "list":
        for name, shape, _ in tensors:
            print(name, list(shape))


if __name__ == "__main__":
    main()
