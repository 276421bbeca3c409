"""nnc's weights file (include/nnc/Frontend/Weights.h) in numpy: what moves
trained parameters between nnc and PyTorch, by name."""

import struct

import numpy as np


def load(path):
    """{name: float32 array} in file order."""
    data = open(path, "rb").read()
    if data[:4] != b"NNCW":
        raise ValueError("%s: not an nnc weights file" % path)
    version, count = struct.unpack_from("<IQ", data, 4)
    if version != 1:
        raise ValueError("%s: version %d" % (path, version))
    off, out = 16, {}
    for _ in range(count):
        (n,) = struct.unpack_from("<I", data, off)
        name = data[off + 4:off + 4 + n].decode()
        off += 4 + n
        dtype, rank = struct.unpack_from("<II", data, off)
        assert dtype == 1, "float32 only"
        shape = struct.unpack_from("<%dq" % rank, data, off + 8)
        off += 8 + 8 * rank
        size = int(np.prod(shape, dtype=np.int64))
        out[name] = np.frombuffer(data, "<f4", size, off).reshape(shape).copy()
        off += 4 * size
    if off != len(data):
        raise ValueError("%s: trailing bytes" % path)
    return out


def save(path, tensors):
    """Writes {name: array} as float32, in the dict's order."""
    with open(path, "wb") as f:
        f.write(b"NNCW" + struct.pack("<IQ", 1, len(tensors)))
        for name, a in tensors.items():
            a = np.ascontiguousarray(a, dtype="<f4")
            b = name.encode()
            f.write(struct.pack("<I", len(b)) + b)
            f.write(struct.pack("<II", 1, a.ndim))
            f.write(struct.pack("<%dq" % a.ndim, *a.shape))
            f.write(a.tobytes())
