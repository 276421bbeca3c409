// RUN: nnc-opt %s --nnc-plan-memory --nnc-verify-arena --split-input-file | FileCheck %s
// RUN: nnc-opt %s --nnc-plan-memory="in-place=false" --split-input-file | FileCheck %s --check-prefix=NOREUSE

#id = affine_map<(d0) -> (d0)>

// Three 256-byte buffers in a chain a -> b -> c: with in-place reuse each
// elementwise result takes its dying input's storage (one buffer's worth);
// without it, two buffers are live at each hand-over.

// CHECK-LABEL: func.func @chain(
// CHECK-SAME: %[[IN:.+]]: memref<64xf32>, %[[OUT:.+]]: memref<64xf32>, %[[WS:.+]]: memref<256xi8> {nn.arena})
// CHECK-SAME: attributes {nn.arena_bytes = 256 : i64, nn.max_live_bytes = 256 : i64}
// CHECK-NOT: memref.alloc
// CHECK: %[[C0:.+]] = arith.constant 0 : index
// CHECK: %[[A:.+]] = memref.view %[[WS]][%[[C0]]][] : memref<256xi8> to memref<64xf32>
// CHECK: memref.view %[[WS]][%{{.+}}][] : memref<256xi8> to memref<64xf32>
// CHECK-LABEL: func.func @chain_workspace_size() -> i64
// CHECK: arith.constant 256 : i64

// NOREUSE-LABEL: func.func @chain(
// NOREUSE-SAME: attributes {nn.arena_bytes = 512 : i64, nn.max_live_bytes = 512 : i64}
func.func @chain(%in: memref<64xf32>, %out: memref<64xf32>) {
  %a = memref.alloc() : memref<64xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%in : memref<64xf32>) outs(%a : memref<64xf32>) {
  ^bb0(%x: f32, %y: f32):
    %n = arith.negf %x : f32
    linalg.yield %n : f32
  }
  %b = memref.alloc() : memref<64xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%a : memref<64xf32>) outs(%b : memref<64xf32>) {
  ^bb0(%x: f32, %y: f32):
    %n = arith.negf %x : f32
    linalg.yield %n : f32
  }
  %c = memref.alloc() : memref<64xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%b : memref<64xf32>) outs(%c : memref<64xf32>) {
  ^bb0(%x: f32, %y: f32):
    %n = arith.negf %x : f32
    linalg.yield %n : f32
  }
  memref.copy %c, %out : memref<64xf32> to memref<64xf32>
  return
}

// -----
#id = affine_map<(d0) -> (d0)>

// A buffer still needed later is never overwritten: %a is read again after
// %b is produced, so %b cannot take %a's place.

// CHECK-LABEL: func.func @live_input(
// CHECK-SAME: attributes {nn.arena_bytes = 512 : i64, nn.max_live_bytes = 512 : i64}
// CHECK: memref.view %{{.+}}[%[[O1:.+]]][]
// CHECK: memref.view %{{.+}}[%[[O2:.+]]][]
func.func @live_input(%in: memref<64xf32>, %out: memref<64xf32>) {
  %a = memref.alloc() : memref<64xf32>
  memref.copy %in, %a : memref<64xf32> to memref<64xf32>
  %b = memref.alloc() : memref<64xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%a : memref<64xf32>) outs(%b : memref<64xf32>) {
  ^bb0(%x: f32, %y: f32):
    %n = arith.negf %x : f32
    linalg.yield %n : f32
  }
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel"]}
      ins(%a, %b : memref<64xf32>, memref<64xf32>) outs(%out : memref<64xf32>) {
  ^bb0(%x: f32, %y: f32, %z: f32):
    %s = arith.addf %x, %y : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A driver without arguments allocates its arena once; the callee's
// workspace is a buffer of it.

// CHECK-LABEL: func.func @callee(
// CHECK-SAME: %{{.+}}: memref<16xf32>, %{{.+}}: memref<64xi8> {nn.arena})
// CHECK-LABEL: func.func @main()
// CHECK: %[[ARENA:.+]] = memref.alloc() {alignment = 64 : i64, nn.arena} : memref<128xi8>
// CHECK: %[[CWS:.+]] = memref.view %[[ARENA]][%{{.+}}][] : memref<128xi8> to memref<64xi8>
// CHECK: call @callee(%{{.+}}, %[[CWS]]) : (memref<16xf32>, memref<64xi8>) -> ()
func.func @callee(%out: memref<16xf32>) {
  %t = memref.alloc() : memref<16xf32>
  memref.copy %out, %t : memref<16xf32> to memref<16xf32>
  memref.copy %t, %out : memref<16xf32> to memref<16xf32>
  return
}
func.func @main() {
  %o = memref.alloc() : memref<16xf32>
  call @callee(%o) : (memref<16xf32>) -> ()
  return
}


// -----

// Runtime calls' workspaces (nnc-plan-runtime-workspaces) go where no
// tensor lives, never growing the arena the checkpoint plan predicted:
// beside %a alone the first call's 1 KiB fits (the arena is 2 KiB, %a and
// %b at once); the second call's, beside both, does not, so that call
// loses it (the runtime uses its own) and the function records its size.
// CHECK-LABEL: func.func @workspaces(
// CHECK-SAME: nn.arena_bytes = 2048 : i64
// CHECK-SAME: nn.runtime_workspace_bytes = 512 : i64
// CHECK-NOT: memref.alloc
// CHECK: %[[WSX:.+]] = memref.view {{.+}} to memref<1024xi8>
// CHECK: nn.runtime_call "nncrt_pool2d_forward" ins(%{{.+}}) outs(%{{.+}}, %[[WSX]] : memref<256xf32>, memref<1024xi8>) {{.+}}workspace = 2 : i64
// CHECK: nn.runtime_call "nncrt_pool2d_forward" ins(%{{.+}}) outs(%{{.+}} : memref<256xf32>) {pointers
// CHECK-NOT: workspace
// CHECK: return
#id = affine_map<(d0) -> (d0)>
func.func @workspaces(%in: memref<256xf32>, %out: memref<256xf32>, %out2: memref<256xf32>) {
  %a = memref.alloc() : memref<256xf32>
  %wsx = memref.alloc() : memref<1024xi8>
  nn.runtime_call "nncrt_pool2d_forward" ins(%in : memref<256xf32>) outs(%a, %wsx : memref<256xf32>, memref<1024xi8>) {pointers = array<i64: 0, 1>, scalars = [], workspace = 2}
  %b = memref.alloc() : memref<256xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%a : memref<256xf32>) outs(%b : memref<256xf32>) {
  ^bb0(%x: f32, %y: f32):
    %n = arith.negf %x : f32
    linalg.yield %n : f32
  }
  %wsy = memref.alloc() : memref<512xi8>
  nn.runtime_call "nncrt_pool2d_forward" ins(%a : memref<256xf32>) outs(%out, %wsy : memref<256xf32>, memref<512xi8>) {pointers = array<i64: 0, 1>, scalars = [], workspace = 2}
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%b : memref<256xf32>) outs(%out2 : memref<256xf32>) {
  ^bb0(%x: f32, %y: f32):
    %n = arith.negf %x : f32
    linalg.yield %n : f32
  }
  return
}
