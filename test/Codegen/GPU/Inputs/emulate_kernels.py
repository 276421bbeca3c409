"""Makes the gpu.funcs of nnc-gpu-build-kernels' output host functions, for
emulate-kernels.test: blockIdx and threadIdx become arguments (bx, by, bz,
tid, after the buffers; the launches' grids go to the header argv[2]
names), workgroup buffers become arguments (after the
kernel's), gpu.barrier a call of emu_barrier() and gpu.shuffle xor one of
emu_shuffle_xor(value, offset), which the test's driver implements with
one std::thread per GPU thread. A bf16 tensor-core mma (the
llvm.nvvm.mma.m16n8k16.row.col.bf16 intrinsic the kernels call) becomes a
call of emu_mma_bf16(a0..a3, b0, b1, c0..c3), a warp-wide operation of the
driver, and its four results calls of emu_mma_d0..3(). An f16 one
(nvvm.mma.sync m16n8k16, row.col, vector<2xf16> multiplicands, f32
accumulators) becomes emu_mma_f16 the same way, its vector<2xf16>
registers passed as their i32 bit patterns (llvm.bitcast: element 0 in the
low half, as in the PTX register), the ABI of the bf16 call: llc would
pass each vector<2xhalf> in an xmm register of its own and a C++ driver
has no portable type to receive it. A kernel using another gpu or nvvm op,
or an mma.sync of another shape, layout or type, is an error.
"""
import re
import sys

src = open(sys.argv[1]).read()
# The launches' grids, for the driver: emulate-grids.h beside the output
# (argv[2]), GRID_<kernel> as "x, y, z" and BLOCK_<kernel> its threads.
consts = dict(re.findall(r"(%\w+) = arith\.constant (\d+) : index", src))
with open(sys.argv[2], "w") as h:
    for name, x, y, z, t in re.findall(
            r"gpu\.launch_func\s+@nnc_kernels::@(\w+) blocks in "
            r"\((%\w+), (%\w+), (%\w+)\) threads in \((%\w+),", src):
        h.write("#define GRID_%s %s, %s, %s\n" % (
            name, consts[x], consts[y], consts[z]))
        h.write("#define BLOCK_%s %s\n" % (name, consts[t]))


def read_back(lines, ind, r, struct):
    """The four results of the emulated mma `%r` (emu_mma_d0..3()), as the
    struct the kernel extracts them from."""
    lines.append("%s%%emu%s_s = llvm.mlir.undef : %s" % (ind, r, struct))
    for i in range(4):
        lines.append("%s%%emu%s_d%d = func.call @emu_mma_d%d() : "
                     "() -> f32" % (ind, r, i, i))
        lines.append("%s%s = llvm.insertvalue %%emu%s_d%d, "
                     "%%emu%s_%s[%d] : %s" % (
                         ind, "%" + r if i == 3 else
                         "%%emu%s_%d" % (r, i), r, i, r,
                         "s" if i == 0 else str(i - 1), i, struct))


body = src[src.index("gpu.module @nnc_kernels"):]
funcs = []
pattern = (r"gpu\.func @(\w+)\((.*?)\)( workgroup\((.*?)\))? kernel "
           r"attributes \{[^}]*\} \{\n(.*?)\n    \}\n")
for m in re.finditer(pattern, body, re.S):
    name, args, _, wg, text = m.groups()
    shared = ["%s: memref<%s>" % a.groups() for a in
              re.finditer(r"(%\w+) : memref<([^,>]+), 3> \{[^}]*\}", wg or "")]
    sig = ", ".join([args] + shared + ["%emu_bx: index", "%emu_by: index",
                                       "%emu_bz: index", "%emu_tid: index"])
    renames, lines = {}, []
    for line in text.split("\n"):
        ids = re.match(r"\s*(%\w+) = gpu\.(block_id|thread_id)\s+(\w)", line)
        if ids:
            v, kind, d = ids.groups()
            renames[v] = "%emu_tid" if kind == "thread_id" else "%emu_b" + d
            continue
        line = re.sub(r"(%\w+), %\w+ = gpu\.shuffle\s+xor (%\w+), (%\w+), "
                      r"%\w+ : f32",
                      r"\1 = func.call @emu_shuffle_xor(\2, \3) : "
                      r"(f32, i32) -> f32", line)
        mma = re.match(r"(\s*)%(\w+) = llvm\.call_intrinsic "
                       r"\"llvm\.nvvm\.mma\.m16n8k16\.row\.col\.bf16\""
                       r"\((.*)\) : \((.*)\) -> (.*)$", line)
        if mma:
            ind, r, operands, types, struct = mma.groups()
            lines.append("%sfunc.call @emu_mma_bf16(%s) : (%s) -> ()" % (
                ind, operands, types))
            read_back(lines, ind, r, struct)
            continue
        mma = re.match(
            r"(\s*)%(\w+) = nvvm\.mma\.sync A\[(%\w+), (%\w+), (%\w+), "
            r"(%\w+)\]\s+B\[(%\w+), (%\w+)\]\s+C\[(%\w+), (%\w+), (%\w+), "
            r"(%\w+)\]\s+\{layoutA = #nvvm\.mma_layout<row>, "
            r"layoutB = #nvvm\.mma_layout<col>, "
            r"shape = #nvvm\.shape<m = 16, n = 8, k = 16>\} : "
            r"\(vector<2xf16>, vector<2xf16>, f32\) -> "
            r"(!llvm\.struct<\(f32, f32, f32, f32\)>)$", line)
        if mma:
            ind, r = mma.group(1), mma.group(2)
            regs, accs = mma.groups()[2:8], mma.groups()[8:12]
            for i, v in enumerate(regs):
                lines.append("%s%%emu%s_r%d = llvm.bitcast %s : "
                             "vector<2xf16> to i32" % (ind, r, i, v))
            lines.append("%sfunc.call @emu_mma_f16(%s) : (%s) -> ()" % (
                ind, ", ".join(["%%emu%s_r%d" % (r, i) for i in range(6)] +
                               list(accs)),
                ", ".join(["i32"] * 6 + ["f32"] * 4)))
            read_back(lines, ind, r, mma.group(13))
            continue
        line = line.replace("gpu.barrier",
                            "func.call @emu_barrier() : () -> ()")
        line = line.replace("gpu.return", "return")
        lines.append(re.sub(r"memref<([0-9x]+x(?:f32|bf16|f16)), 3>",
                            r"memref<\1>", line))
    text = "\n".join(lines)
    for v, r in renames.items():
        text = re.sub(re.escape(v) + r"\b", r, text)
    if "gpu." in text or "nvvm." in text:
        sys.exit("error: %s uses %s" % (name, sorted(set(
            re.findall(r"(?:gpu|nvvm)\.[\w.]+", text)))))
    funcs.append("func.func @%s(%s) {\n%s\n}" % (name, sig, text))
print("module {\nfunc.func private @emu_barrier()\n"
      "func.func private @emu_shuffle_xor(f32, i32) -> f32\n"
      "func.func private @emu_mma_bf16(i32, i32, i32, i32, i32, i32, f32, "
      "f32, f32, f32)\n"
      "func.func private @emu_mma_f16(i32, i32, i32, i32, i32, i32, f32, "
      "f32, f32, f32)\n" +
      "".join("func.func private @emu_mma_d%d() -> f32\n" % i
              for i in range(4)) +
      "\n".join(funcs) + "\n}")
