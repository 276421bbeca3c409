// RUN: nnc-opt %s --convert-nn-to-linalg | FileCheck %s
// RUN: nnc-opt %s --convert-nn-to-linalg --one-shot-bufferize="bufferize-function-boundaries" | FileCheck %s --check-prefix=BUF

// A bucket is its gradients packed one after the other; the start and the
// wait are run-time calls whose destination is the bucket, and the
// gradients come back as views of it.
// CHECK-LABEL: func.func @bucket
// CHECK:      %[[E:.+]] = tensor.empty() : tensor<1010xf32>
// CHECK:      %[[F:.+]] = tensor.collapse_shape %arg0 {{\[\[}}0, 1]] : tensor<10x100xf32> into tensor<1000xf32>
// CHECK:      %[[P0:.+]] = tensor.insert_slice %[[F]] into %[[E]][0] [1000] [1]
// CHECK:      %[[P1:.+]] = tensor.insert_slice %arg1 into %[[P0]][1000] [10] [1]
// CHECK:      %[[S:.+]] = nn.runtime_call "nncrt_allreduce_start" outs(%[[P1]] : tensor<1010xf32>) {pointers = array<i64: 0>, scalars = [1010, 3]}
// CHECK:      %[[W:.+]] = nn.runtime_call "nncrt_allreduce_wait" outs(%[[S]] : tensor<1010xf32>) {pointers = array<i64: 0>, scalars = [1010, 3]}
// CHECK:      %[[G0:.+]] = tensor.extract_slice %[[W]][0] [1000] [1]
// CHECK:      tensor.expand_shape %[[G0]] {{\[\[}}0, 1]] output_shape [10, 100]
// CHECK:      tensor.extract_slice %[[W]][1000] [10] [1]

// In place: MPI works on one buffer from the start to the last view read
// (the memory planner then keeps it live for as long).
// BUF-LABEL: func.func @bucket
// BUF:       %[[B:.+]] = memref.alloc() {{.*}} : memref<1010xf32>
// BUF:       nn.runtime_call "nncrt_allreduce_start" outs(%[[B]] : memref<1010xf32>)
// BUF-NEXT:  nn.runtime_call "nncrt_allreduce_wait" outs(%[[B]] : memref<1010xf32>)
// BUF:       memref.subview %[[B]][0] [1000] [1]
func.func @bucket(%dw: tensor<10x100xf32>, %db: tensor<10xf32>) -> (tensor<10x100xf32>, tensor<10xf32>) {
  %b = nn.all_reduce_start %dw, %db {bucket = 3 : i64} : tensor<10x100xf32>, tensor<10xf32> -> tensor<1010xf32>
  %w, %c = nn.all_reduce_wait %b {bucket = 3 : i64} : tensor<1010xf32> -> tensor<10x100xf32>, tensor<10xf32>
  return %w, %c : tensor<10x100xf32>, tensor<10xf32>
}
