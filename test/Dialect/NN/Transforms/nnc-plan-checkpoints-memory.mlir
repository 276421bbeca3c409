// RUN: nnc-opt %s --nnc-autodiff --nnc-plan-checkpoints="print-chain" -o /dev/null 2>&1 | FileCheck %s --check-prefix=GRAD
// RUN: nnc-opt %s --nnc-autodiff="learning-rate=0.1" --nnc-plan-checkpoints="print-chain loss-scaling=true" -o /dev/null 2>&1 | FileCheck %s --check-prefix=SCALED
// RUN: nnc-compile %s --learning-rate=0 --report=json | FileCheck %s --check-prefix=ARENA

// The chain's memory model, measured op by op on the backward as the
// memory planner will lay it out. Every value is 8x16xf32 = 512 bytes, a
// weight 16x16xf32 = 1024 bytes.
//
// Stage 2 is the residual block (%3 .. %7): its input %2 feeds both the
// branch and the skip. abar^2 = {%4, %7} (1024 bytes). Its backward:
//   relu_grad(%7, delta^2)     in place                 live %4, g7
//   (the add's VJP hands g7 to %5 and, unchanged, to the skip: g7 is one
//    part of delta^1 and stays alive through the branch's backward)
//   matmul(g7, w3) -> g4                                 %4, g7, g4   1536
//   relu_grad(%4, g4)          in place, %4 dies         g7, g4'
//   matmul(g4', w2) -> g2      delta^1's other part      g7, g4', g2  1536
// so its peak is 1536 bytes: delta^2 + delta^1 (1024) and 512 more, with
// abar^2 released. (A model that frees the skip's gradient at once says
// 1024, and the arena below would exceed the prediction.)
//
// GRAD:      "stages": [
// GRAD:      "backward_needs_input": true,
// GRAD-NEXT: "backward_releases_saved": true,
// GRAD-NEXT: "backward_transient_bytes": 512,
// A forward that keeps abar^2 holds nothing else; one that keeps only a^2
// holds %3 or %5 beside it, the linear's input being its own %4 in turn.
// GRAD-NEXT: "forward_all_transient_bytes": 0,
// GRAD-NEXT: "forward_cost"
// GRAD-NEXT: "forward_transient_bytes": 512,
// GRAD-NEXT: "output_bytes": 512,
// GRAD-NEXT: "saved_bytes": 1024
//
// With dynamic loss scaling, a training step holds every parameter
// gradient and its update's result until the all-finite check at the end:
// B(2) leaves dW2, dW3 and the two new weights (4096 bytes) behind, and at
// its end holds them beside delta^1 (512) and delta^2's accounting: the
// stage's peak 4608 = abar^2 + delta^2 + delta^1 (2048) + 2560.
// SCALED:      "backward_cost"
// SCALED:      "backward_cost"
// SCALED-NEXT: "backward_needs_input": true,
// SCALED-NEXT: "backward_residue_bytes": 4096,
// SCALED-NEXT: "backward_transient_bytes": 2560,
//
// The prediction is the arena's max-live figure here (the loss's 4-byte
// value takes a 64-byte aligned slot in the arena).
// ARENA: "arena_bytes": 2560,
// ARENA: "max_live_bytes": 2560,
// ARENA: "predicted_peak_bytes": 2564,

func.func @res(%x: tensor<8x16xf32>, %t: tensor<8x16xf32>,
               %w1: tensor<16x16xf32> {nn.param}, %w2: tensor<16x16xf32> {nn.param},
               %w3: tensor<16x16xf32> {nn.param}, %w4: tensor<16x16xf32> {nn.param}) -> tensor<f32> {
  %1 = nn.linear %x, %w1 : (tensor<8x16xf32>, tensor<16x16xf32>) -> tensor<8x16xf32>
  %2 = nn.relu %1 : tensor<8x16xf32>
  %3 = nn.linear %2, %w2 : (tensor<8x16xf32>, tensor<16x16xf32>) -> tensor<8x16xf32>
  %4 = nn.relu %3 : tensor<8x16xf32>
  %5 = nn.linear %4, %w3 : (tensor<8x16xf32>, tensor<16x16xf32>) -> tensor<8x16xf32>
  %6 = nn.add %5, %2 : tensor<8x16xf32>
  %7 = nn.relu %6 : tensor<8x16xf32>
  %8 = nn.linear %7, %w4 : (tensor<8x16xf32>, tensor<16x16xf32>) -> tensor<8x16xf32>
  %l = nn.mse_loss %8, %t : (tensor<8x16xf32>, tensor<8x16xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
