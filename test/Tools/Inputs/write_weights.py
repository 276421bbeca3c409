"""Writes an nnc weights file (docs/Training.md's format) holding one
tensor, some of whose values may be NaN or inf: write_weights.py OUT NAME
V1,V2,... (shape [count])."""
import struct
import sys

out, name, values = sys.argv[1], sys.argv[2].encode(), sys.argv[3].split(",")
data = [float(v) for v in values]
with open(out, "wb") as f:
    f.write(b"NNCW" + struct.pack("<IQ", 1, 1))
    f.write(struct.pack("<I", len(name)) + name)
    f.write(struct.pack("<II", 1, 1))  # float32, rank 1
    f.write(struct.pack("<q", len(data)))
    f.write(struct.pack("<%df" % len(data), *data))
