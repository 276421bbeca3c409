//===- Passes.td - CPU code generation passes --------------*- tablegen -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// What only the CPU target does to linalg on buffers before LLVM: one kernel
// function per distinct op, and register-tiled contraction loops.
//
//===----------------------------------------------------------------------===//

#ifndef NNC_CODEGEN_CPU_PASSES_TD
#define NNC_CODEGEN_CPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def OutlineKernels : Pass<"nnc-outline-kernels", "::mlir::ModuleOp"> {
  let summary = "Move each linalg op on buffers into a private kernel "
                "function shared by identical ops";
  let description = [{
    Every `linalg` op on identity-layout buffers becomes a `func.call` of a
    private function (`__nnc_kernel_<n>`) holding a copy of the op; ops that
    are identical up to their operands (the same shapes, maps and body: a
    layer and each of its recomputations) share one kernel. Constants the op
    captures are copied into the kernel; other captured values become extra
    arguments. Kernels are `internal` and `noinline` in LLVM.

    Why: a training step that recomputes is one function with a loop nest per
    op, and LLVM's loop passes are superlinear in the loops of one function
    (`IndVarSimplify` took 136 of the 158 s of `-O3` on recompute-all over 32
    layers). With kernels the step is a list of calls, and each kernel is
    optimised once. It also makes a recomputation run literally the code of
    the first forward.

    A module pass: it creates the kernels as functions of the module and
    shares one between functions.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::LLVM::LLVMDialect"];
}

def LowerDotContractions : Pass<"nnc-lower-dot-contractions",
                                 "::mlir::func::FuncOp"> {
  let summary = "Lower x·Wᵀ contractions on buffers to register-tiled dot "
                "products";
  let description = [{
    A contraction whose operands are both contiguous along the reduced
    dimension (`out[m, n] += a[m, k] · b[n, k]`, the forward of `nn.linear`)
    becomes a register tile of `rows × columns` dot products: while `k`
    advances by `lanes`, `rows` vectors of `a` and `columns` vectors of `b`
    are loaded and multiplied pairwise into `rows × columns` vector
    accumulators (`iter_args`), so every load feeds several FMAs. After the
    loop each accumulator is summed in lane order, added to `out[m, n]`, and
    the last `K mod lanes` products follow one by one. Outputs outside whole
    tiles get the same code as a 1 × 1 tile. linalg's own loop lowering would
    load and store `out[m, n]` in every iteration (the buffers may alias).

    The summation order is fixed by the code and the shapes alone, so a
    recomputation still reproduces the first forward bit for bit.

    A function pass over `populateLowerDotContractionsPatterns`
    (include/nnc/Codegen/CPU/Passes.h), applied to the linalg ops present
    when it starts.
  }];
  let options = [
    Option<"rows", "rows", "unsigned", /*default=*/"2",
           "Rows of a (and of out) per register tile">,
    Option<"columns", "columns", "unsigned", /*default=*/"4",
           "Rows of b (columns of out) per register tile">,
    Option<"lanes", "lanes", "unsigned", /*default=*/"8",
           "Vector length along the reduced dimension">,
  ];
  let dependentDialects = ["::mlir::math::MathDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::vector::VectorDialect"];
}

def LowerTiledContractions : Pass<"nnc-lower-tiled-contractions",
                                   "::mlir::func::FuncOp"> {
  let summary = "Lower contractions with a row-major rhs to register tiles";
  let description = [{
    A contraction on buffers whose rhs and output are contiguous along `n`
    (`out[m, n] += a[m, k] · b[k, n]` or `a[k, m] · b[k, n]`: the backward
    `dX = dY·W` and `dW = dYᵀ·X` of `nn.linear`) becomes a register-tiled
    kernel: `rows × lanes` outputs stay in vector registers (`iter_args`)
    while `k` runs, each step one vector load of `b[k, n:n+lanes]`, `rows`
    broadcasts of `a` and `rows` `vector.fma`s. linalg's own loops load and
    store `out[m, n]` for every `k` and stream all of `b` once per row of
    `out`; the tile reads `b` once per `rows` rows and keeps `out` in
    registers. Edges that do not fill a tile run as scalar loops.

    Every `out[m, n]` still accumulates over `k` in increasing order from
    its initial value, in tile and edge alike, so the result depends only on
    the shapes: a recomputation reproduces the first run bit for bit.

    A function pass over `populateLowerTiledContractionsPatterns`
    (include/nnc/Codegen/CPU/Passes.h), applied to the linalg ops present
    when it starts.
  }];
  let options = [
    Option<"rows", "rows", "unsigned", /*default=*/"4",
           "Rows of out per register tile">,
    Option<"lanes", "lanes", "unsigned", /*default=*/"16",
           "Columns of out per register tile (the vector length)">,
  ];
  let dependentDialects = ["::mlir::math::MathDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::vector::VectorDialect"];
}

def LowerLaneReductions : Pass<"nnc-lower-lane-reductions",
                                "::mlir::func::FuncOp"> {
  let summary = "Lower f64 sums over contiguous memory to vector partial "
                "sums";
  let description = [{
    A `linalg.generic` on buffers that sums an elementwise term of its
    inputs into an f64 output (`out[p] += term(ins)`, one `arith.addf`),
    whose trailing loops are reductions over dimensions that every input
    reading them holds contiguously and in order (batch norm's statistics
    and their gradients: `mean[c] += x[n, c, h, w]` sums over `h, w`), is
    lowered to scalar loops over its other dimensions and, at each of their
    points, one loop over the flat trailing range that adds `lanes`
    consecutive terms into `lanes` f64 partial sums (`iter_args`). The
    partial sums are then added in lane order, the `range mod lanes` last
    terms one by one, and the total to `out[p]` once.

    Why: linalg's own loops add one term at a time into `out[p]` in memory,
    a chain of dependent f64 additions through a load and a store, which
    made batch norm's sums half of a ResNet-20 training step.

    The order of the additions changes (a sum of partial sums instead of
    one running sum) but is fixed by the code and the shapes alone, so a
    recomputation still reproduces the first forward bit for bit. f32 sums
    are left alone: `nnc-block-conv-layouts` promises the plain layout's
    bits for a bias gradient it rewrites, which is its scalar order.

    A function pass over `populateLowerLaneReductionsPatterns`
    (include/nnc/Codegen/CPU/Passes.h); `nnc-parallelize-kernels` uses the
    same rewrite for the kernels it splits over threads.
  }];
  let options = [
    Option<"lanes", "lanes", "unsigned", /*default=*/"8",
           "Partial sums (the vector length, in f64 elements)">,
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::vector::VectorDialect"];
}

def LowerMatmulsToCalls : Pass<"nnc-lower-matmuls-to-calls",
                                "::mlir::ModuleOp"> {
  let summary = "Run 2-D matmuls on buffers as calls to the CPU runtime's "
                "GEMM";
  let description = [{
    Every contraction the matmul matcher recognises (the forward `x·Wᵀ`,
    the backward `δ·W` and `δᵀ·x`, and `nn.sgd_matmul`'s scaled
    accumulation) becomes a call of `nncrt_sgemm` (oneDNN's matmul
    primitive or its sgemm, chosen per call: see
    include/nnc/Runtime/CPU/CPURuntime.h) on the buffers' aligned pointers:
    `C = alpha·op(A)·op(B) + beta·C`, with `alpha` the contraction's
    constant scale. The contraction accumulates onto what `out` holds
    (`beta = 1`: a linear layer's broadcast bias, or the weight copy of a
    fused update), except when `out` was just filled with zeros, whose fill
    is dropped (`beta = 0`).

    With `fuse-epilogues` (the default) a linear layer's epilogue moves
    into the call, `nncrt_sgemm_epilogue`: the broadcast of a bias into
    `out` just before the contraction becomes the GEMM's bias argument
    (`beta = 0`), and a relu or leaky relu applied to `out` in place just
    after it becomes the GEMM's activation: which one, and leaky relu's
    slope, is what its `nn.epilogue` says (convert-nn-to-linalg records it
    from the nn op), so an op without one is never fused. This pass runs
    before nnc-strip-nn-attributes. oneDNN's matmul primitive then
    adds the bias and applies the activation to each block while it is in
    registers, so `out` is written once instead of three times. Only
    contractions with `alpha = 1` take an epilogue; any other op between
    them, an activation into another buffer or another activation (sigmoid,
    tanh, GELU) stays a loop of its own.

    Which engine is faster is a measurement (benchmarks/): on these
    machines oneDNN's kernels ran 3-5x faster than nnc's register tiles, so
    this is the default (`nnc-cpu-pipeline{gemm=library}`); `gemm=generated`
    keeps nnc's own loops instead.

    A module pass: it declares the runtime's functions in the module
    (include/nnc/Codegen/Common/RuntimeABI.h).
  }];
  let options = [
    Option<"fuseEpilogues", "fuse-epilogues", "bool", /*default=*/"true",
           "Move a linear layer's bias and relu into the GEMM call">,
  ];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

def ParallelizeKernels : Pass<"nnc-parallelize-kernels", "::mlir::ModuleOp"> {
  let summary = "Split each large elementwise or row-wise kernel's "
                "parallel loop into ranges the runtime runs on its threads";
  let description = [{
    A kernel of `nnc-outline-kernels` whose one linalg op iterates over at
    least `min-elements` points and has a parallel dimension that indexes
    every output (so two of its values never write the same element: `d0`
    of an elementwise op, the column of a bias gradient's reduction over
    rows) is lowered to loops here, and the loop of the first such
    dimension runs from two new trailing `index` arguments, `lo` to `hi`.
    Every call passes the whole range, and the kernel is marked
    `nnc.parallel_grain`: the fewest values of that dimension worth a
    thread (at least `grain-elements` points). `nnc-lower-parallel-calls` then turns those
    calls into `nncrt_parallel_for`, which splits the range over the
    runtime's threads.

    Why: with the GEMMs threaded by oneDNN, the step's own loops (bias,
    activation and their gradients, the loss) ran on one thread while the
    other waited, a fifth of a 2-thread step of the 32 × 1024 MLP. Each
    element is computed by one thread in the order of the one-thread loop,
    so results are the same bit for bit at any thread count and across
    checkpoint plans. Small kernels stay whole: a parallel region costs
    microseconds.

    A module pass: a kernel gains arguments, and its calls in every
    function of the module change with it.
  }];
  let options = [
    Option<"minElements", "min-elements", "int64_t", /*default=*/"65536",
           "Smallest iteration space (points) that is split">,
    Option<"grainElements", "grain-elements", "int64_t", /*default=*/"16384",
           "Fewest points of the iteration space per thread">,
    Option<"reductionLanes", "reduction-lanes", "unsigned", /*default=*/"8",
           "Partial sums of an f64 sum it lowers (nnc-lower-lane-reductions' "
           "lanes)">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

def LowerParallelCalls : Pass<"nnc-lower-parallel-calls",
                              "::mlir::ModuleOp"> {
  let summary = "Run calls of kernels marked nnc.parallel_grain through "
                "the runtime's nncrt_parallel_for";
  let description = [{
    On the LLVM dialect, after `nnc-parallelize-kernels` and the lowering
    to LLVM: each `llvm.func` marked `nnc.parallel_grain` (its last two
    arguments a row range) gets a task function `<kernel>.task(ctx, lo, hi)`
    that loads the other arguments from `ctx`, an array of 8-byte slots,
    and calls the kernel on `[lo, hi)`. Each call of the kernel stores its
    arguments into such an array on the caller's stack (one per calling
    function, in its entry block, shared by its calls) and calls
    `nncrt_parallel_for(task, ctx, lo, hi, grain)` instead
    (include/nnc/Runtime/CPU/CPURuntime.h), which runs the task over
    contiguous pieces of the range, one per thread, or whole on one.

    Why after the lowering: with bare-pointer calls every argument is a
    pointer or a scalar of at most 8 bytes, so one slot each holds them;
    before it, memref descriptors cannot be stored into a plain array.

    A module pass: it adds a task function per kernel and declares the
    runtime's function in the module.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def BlockConvLayouts : Pass<"nnc-block-conv-layouts", "::mlir::func::FuncOp"> {
  let summary = "Keep the activations between convolutions and poolings in "
                "oneDNN's blocked layout nChw16c";
  let description = [{
    On tensors, after convert-nn-to-linalg: chooses which [N, C, H, W]
    activations the runtime calls hand each other in nChw16c (memory
    [N, C/16, H, W, 16]) instead of NCHW, so that no call reorders its
    operands in and out of the layout oneDNN's direct kernels read.

    A value is blocked when C is a multiple of 16 (the same bytes as NCHW:
    the arena planner's sizes do not change), it is written by an op that
    can write it blocked, and every op that reads it can read it blocked:

    - `nn.runtime_call`s of the convolutions (forward, backward data and
      weights, groups 1) and poolings (max; average without overlapping
      windows, whose backward oneDNN sums in another order on nChw16c) at
      their activation operands, f32 or bf16, and max pooling's index form
      (`nncrt_maxpool2d_*_indices`) at its activations and its one-byte
      window positions;
    - elementwise `linalg.generic`s (identity maps, all parallel, no
      `linalg.index`; scalars broadcast) whose 4-D operands and result are
      all blocked: the ReLU backward's mask, a dtype cast;
    - a per-channel sum (a bias's gradient), rewritten over the 5-D view
      [N, C/16, H, W, 16]: each channel still adds n, h, w in order, so its
      bits do not change.

    The rest is decided by a fixpoint (a value loses the layout when one of
    its readers or its elementwise partners cannot take it); the network's
    input, a flatten, batch norm, a residual add of a value read elsewhere
    stay NCHW, and the calls at the boundary read or write NCHW on that
    side (oneDNN reorders there, inside the call, as before). A call with
    a blocked operand becomes its `_layout` entry point, whose last scalar
    says which pointers are nChw16c (NNCRT_LAYOUT_*, CPURuntime.h), with
    its element types before it; the rest of the pipeline sees an ordinary
    call. Tensor types stay logical NCHW.

    The CPU pipeline runs it unless `conv-layout=plain`; the NVPTX
    pipeline never does (its convolution kernels read NCHW).
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def PlanRuntimeWorkspaces : Pass<"nnc-plan-runtime-workspaces",
                                 "::mlir::func::FuncOp"> {
  let summary = "Give each oneDNN call a workspace buffer the arena planner "
                "places";
  let description = [{
    On tensors, after nnc-block-conv-layouts: asks the CPU runtime
    (`nncrt_workspace_bytes`) how much scratch memory each `nn.runtime_call`
    needs at its arguments (the copies of operands a oneDNN primitive
    reorders into its blocked layouts, and the primitive's scratchpad), and
    gives each call that needs some a `tensor<B x i8>` output marked as its
    `workspace`. Bufferization makes it a buffer written by the call and
    read by nothing, so the arena planner gives it the call's lifetime
    alone and packs it into memory no live tensor holds; the CPU lowering
    hands it to the runtime just before the call.

    Without it the runtime keeps one workspace per thread beside the arena,
    as large as the largest call needs (12.9 MB for a ResNet-20 at batch
    128), which the memory plan and its report do not see.

    The sizes are those of the compiling machine and of the thread count
    last set with `nncrt_set_num_threads` (else OpenMP's default), as
    oneDNN chooses its kernels and splits its reductions for both. A call
    whose primitive needs more where the step runs uses the runtime's own
    workspace instead, with the same results. The query creates (and the
    compiling thread caches) the primitives the step will use: compile
    time. It is not asked about a call whose sizes no operand could have.
    A call the runtime cannot create here keeps no workspace, with a
    warning; it reports the failure when it runs.
  }];
  let dependentDialects = ["::mlir::tensor::TensorDialect"];
  let statistics = [
    Statistic<"numWorkspaces", "workspaces", "Calls given a workspace">,
    Statistic<"workspaceBytes", "workspace-bytes",
              "Bytes of the workspaces, summed over the calls">,
  ];
}

def SkipSelfCopies : Pass<"nnc-skip-self-copies", "::mlir::ModuleOp"> {
  let summary = "Skip a kernel's copy between two function arguments when "
                "the caller passes one buffer as both";
  let description = [{
    A call of a kernel whose one op is `linalg.copy` from one of its
    arguments to another, where the call passes two arguments of the
    calling function, runs only if the two buffers' addresses differ
    (`scf.if` on `memref.extract_aligned_pointer_as_index`).

    Why: the fused SGD update accumulates `-lr·δᵀ·x` onto a copy of `W` in
    the output `new_W`, and training passes `W` itself as `new_W` (the C
    header allows an update to be written over the buffer it reads). The
    copy then rewrites a buffer onto itself: 4 MiB per 1024 × 1024 layer,
    0.3 MiB of the 784-100-10 step's first layer. A copy onto itself is the
    identity, so skipping it never changes a result.

    A module pass: whether a call copies depends on the kernel it calls,
    another function of the module.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect"];
}

#endif // NNC_CODEGEN_CPU_PASSES_TD
