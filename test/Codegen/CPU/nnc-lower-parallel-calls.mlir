// RUN: nnc-opt %s --split-input-file --verify-diagnostics \
// RUN:   --nnc-lower-parallel-calls | FileCheck %s

// A kernel marked nnc.parallel_grain gets a task that loads its arguments
// (a pointer, an f32 and an i64) from 8-byte slots and runs the kernel on
// [lo, hi); its calls store them into one stack array allocated in the
// caller's entry block and hand the range and the grain to the runtime.
// CHECK-LABEL: llvm.func @nncrt_parallel_for(!llvm.ptr, !llvm.ptr, i64, i64, i64)
// CHECK-LABEL: llvm.func @step
// CHECK-SAME: (%[[P:.+]]: !llvm.ptr, %[[F:.+]]: f32, %[[N:.+]]: i64)
// CHECK: %[[ONE:.+]] = llvm.mlir.constant(1 : i64) : i64
// CHECK: %[[ARRAY:.+]] = llvm.alloca %[[ONE]] x !llvm.array<3 x i64> {alignment = 8 : i64}
// CHECK: llvm.br ^[[BODY:.+]]
// CHECK: ^[[BODY]]:
// CHECK: %[[S0:.+]] = llvm.getelementptr %[[ARRAY]][0, 0]
// CHECK: llvm.store %[[P]], %[[S0]] : !llvm.ptr, !llvm.ptr
// CHECK: %[[S1:.+]] = llvm.getelementptr %[[ARRAY]][0, 1]
// CHECK: llvm.store %[[F]], %[[S1]] : f32, !llvm.ptr
// CHECK: %[[S2:.+]] = llvm.getelementptr %[[ARRAY]][0, 2]
// CHECK: llvm.store %[[N]], %[[S2]] : i64, !llvm.ptr
// CHECK: %[[TASK:.+]] = llvm.mlir.addressof @kernel.task : !llvm.ptr
// CHECK: %[[GRAIN:.+]] = llvm.mlir.constant(32 : i64) : i64
// CHECK: llvm.call @nncrt_parallel_for(%[[TASK]], %[[ARRAY]], %{{.+}}, %{{.+}}, %[[GRAIN]])
// The second call shares the array.
// CHECK-NOT: llvm.alloca
// CHECK: llvm.store %[[P]], %{{.+}} : !llvm.ptr, !llvm.ptr
// CHECK: llvm.call @nncrt_parallel_for(%{{.+}}, %[[ARRAY]],
// CHECK-NOT: llvm.call @kernel(
// CHECK-LABEL: llvm.func internal @kernel(
// CHECK-NOT: nnc.parallel_grain
// CHECK-LABEL: llvm.func internal @kernel.task
// CHECK-SAME: (%[[CTX:.+]]: !llvm.ptr, %[[LO:.+]]: i64, %[[HI:.+]]: i64)
// CHECK: %[[G0:.+]] = llvm.getelementptr %[[CTX]][0, 0]
// CHECK: %[[A0:.+]] = llvm.load %[[G0]] : !llvm.ptr -> !llvm.ptr
// CHECK: %[[G1:.+]] = llvm.getelementptr %[[CTX]][0, 1]
// CHECK: %[[A1:.+]] = llvm.load %[[G1]] : !llvm.ptr -> f32
// CHECK: %[[G2:.+]] = llvm.getelementptr %[[CTX]][0, 2]
// CHECK: %[[A2:.+]] = llvm.load %[[G2]] : !llvm.ptr -> i64
// CHECK: llvm.call @kernel(%[[A0]], %[[A1]], %[[A2]], %[[LO]], %[[HI]])
llvm.func @step(%p: !llvm.ptr, %f: f32, %n: i64) {
  llvm.br ^body
^body:
  %lo = llvm.mlir.constant(0 : i64) : i64
  %hi = llvm.mlir.constant(256 : i64) : i64
  llvm.call @kernel(%p, %f, %n, %lo, %hi) : (!llvm.ptr, f32, i64, i64, i64) -> ()
  llvm.call @kernel(%p, %f, %n, %lo, %hi) : (!llvm.ptr, f32, i64, i64, i64) -> ()
  llvm.return
}
llvm.func internal @kernel(%p: !llvm.ptr, %f: f32, %n: i64, %lo: i64, %hi: i64)
    attributes {nnc.parallel_grain = 32 : i64} {
  llvm.return
}

// -----

// Without its two i64 bounds, the mark is an error.
// expected-error @below {{must end in two i64 bounds}}
llvm.func internal @bad(%p: !llvm.ptr) attributes {nnc.parallel_grain = 4 : i64} {
  llvm.return
}

// -----

// An argument wider than a slot is an error.
// expected-error @below {{pointers and scalars of at most 8 bytes}}
llvm.func internal @wide(%v: vector<4xf32>, %lo: i64, %hi: i64)
    attributes {nnc.parallel_grain = 4 : i64} {
  llvm.return
}

// -----

// The runtime's name taken by another function type is an error.
// expected-error @below {{'nncrt_parallel_for' is taken by something else than the runtime's function}}
llvm.func @nncrt_parallel_for(i64)
llvm.func internal @k(%lo: i64, %hi: i64) attributes {nnc.parallel_grain = 4 : i64} {
  llvm.return
}

// -----

// A task name already taken gets a unique one.
// CHECK-LABEL: llvm.func @step2
// CHECK: llvm.mlir.addressof @[[TASK:k2\.task_[0-9]+]]
// CHECK: llvm.func internal @[[TASK]](
llvm.func @step2() {
  %lo = llvm.mlir.constant(0 : i64) : i64
  %hi = llvm.mlir.constant(64 : i64) : i64
  llvm.call @k2(%lo, %hi) : (i64, i64) -> ()
  llvm.return
}
llvm.func internal @k2(%lo: i64, %hi: i64) attributes {nnc.parallel_grain = 4 : i64} {
  llvm.return
}
llvm.func @k2.task()
