//===- NNDistributedOps.td - data-parallel collectives -----*- tablegen -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// The gradient all-reduce of data-parallel training (docs/Distributed.md),
// as two ops so the compiler can place its start and its end apart: the
// communication of one bucket then runs while the backward computes the
// next. Included at the end of NNOps.td (NN_Op is defined there).
//
//===----------------------------------------------------------------------===//

#ifndef NNC_DIALECT_NN_IR_NNDISTRIBUTEDOPS_TD
#define NNC_DIALECT_NN_IR_NNDISTRIBUTEDOPS_TD

def NN_AllReduceStartOp : NN_Op<"all_reduce_start",
    // Both communicate: they must neither be removed nor reordered,
    // though their tensors may look unused or equal.
    [MemoryEffects<[MemRead, MemWrite]>]> {
  let summary = "pack gradients into a bucket and start summing it over "
                "the ranks";
  let description = [{
    The bucket is the operands' elements one after the other (each in
    row-major order), `tensor<Nxf32>` with N their total. The result is
    the bucket in flight: a non-blocking all-reduce (`MPI_Iallreduce`, sum)
    of it has started when the op returns, so nothing may read it but the
    one `nn.all_reduce_wait` of the same `bucket`. The lowering packs the
    bucket into a buffer the memory planner places in the arena and calls
    `nncrt_allreduce_start`.

    ```mlir
    %b = nn.all_reduce_start %dw2, %db2 {bucket = 0 : i64}
        : tensor<10x100xf32>, tensor<10xf32> -> tensor<1010xf32>
    ```
  }];
  let arguments = (ins Variadic<NN_F32Tensor>:$grads, I64Attr:$bucket);
  let results = (outs NN_F32Tensor:$result);
  let assemblyFormat =
      "$grads attr-dict `:` type($grads) `->` type($result)";
  let hasVerifier = 1;
}

def NN_AllReduceWaitOp : NN_Op<"all_reduce_wait",
    // Both communicate: they must neither be removed nor reordered,
    // though their tensors may look unused or equal.
    [MemoryEffects<[MemRead, MemWrite]>]> {
  let summary = "wait for a bucket's all-reduce and unpack its mean";
  let description = [{
    Waits for the all-reduce `nn.all_reduce_start` began on `bucket`
    (with a deadline: a rank that died or hangs aborts the job rather than
    blocking it forever), divides the sum by the number of ranks, and
    returns the gradients the bucket packed, in its order and shapes: the
    mean over the ranks of each rank's mean gradient, which is the mean
    gradient of the global batch. Lowered to `nncrt_allreduce_wait` and
    views of the bucket.

    ```mlir
    %dw2r, %db2r = nn.all_reduce_wait %b {bucket = 0 : i64}
        : tensor<1010xf32> -> tensor<10x100xf32>, tensor<10xf32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$bucket_data, I64Attr:$bucket);
  let results = (outs Variadic<NN_F32Tensor>:$grads);
  let assemblyFormat =
      "$bucket_data attr-dict `:` type($bucket_data) `->` type($grads)";
  let hasVerifier = 1;
}

#endif // NNC_DIALECT_NN_IR_NNDISTRIBUTEDOPS_TD
