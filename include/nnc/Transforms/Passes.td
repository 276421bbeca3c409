//===- Passes.td - memory planning passes ------------------*- tablegen -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// Target-independent passes on buffers: one static arena per function, and
// the contract check closing that stage.
//
//===----------------------------------------------------------------------===//

#ifndef NNC_TRANSFORMS_PASSES_TD
#define NNC_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def PlanMemory : Pass<"nnc-plan-memory", "::mlir::ModuleOp"> {
  let summary = "Place every buffer at a static offset of one arena";
  let description = [{
    Runs after bufferization on straight-line functions. Each `memref.alloc`
    gets a live range — from the first to the last top-level op that uses it
    or a view of it — and the MLIR-free arena planner (NNCMemoryPlanner:
    best fit over several placement orders, never worse than greedy by size)
    assigns it a byte offset so that no two simultaneously live buffers
    overlap. An elementwise `linalg.generic` whose input dies where its
    output is born may write over that input in place.

    The allocations become `memref.view`s of one workspace: a new trailing
    `memref<Nxi8>` argument (caller-owned; `@<fn>_workspace_size()` returns
    N), so the compiled step makes no heap allocation. A function without
    arguments (a driver such as `main`) allocates its workspace once on
    entry instead. Calls to planned functions pass a workspace that is
    itself a buffer of the caller's arena.

    Each planned function records `nn.arena_bytes` and `nn.max_live_bytes`
    (the lower bound: the most bytes live at any one op).

    A runtime call's `workspace` (nnc-plan-runtime-workspaces) is scratch
    the checkpoint planner did not price: the pass places the workspaces
    that fit without growing the arena (largest first), so the arena stays
    what the plan predicted and its budget allows, and takes the others
    off their calls, which then use the runtime's own. The function then
    records the largest of those in `nn.runtime_workspace_bytes`.
  }];
  let statistics = [
    Statistic<"numWorkspacesPlaced", "workspaces-placed",
              "Runtime calls' workspaces placed in the arena">,
    Statistic<"numWorkspacesLeft", "workspaces-left",
              "Runtime calls' workspaces left to the runtime">,
    Statistic<"workspaceBytesLeft", "workspace-bytes-left",
              "Bytes of the workspaces left to the runtime">,
  ];
  let options = [
    Option<"alignment", "alignment", "int64_t", /*default=*/"64",
           "Byte alignment of every buffer in the arena">,
    Option<"inPlace", "in-place", "bool", /*default=*/"true",
           "Let elementwise results reuse a dying input's storage">,
    Option<"svg", "svg", "std::string", /*default=*/"\"\"",
           "Write the arena of the training (or gradient) step over time as "
           "an SVG picture to this file">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect"];
}

def VerifyArena : Pass<"nnc-verify-arena", "::mlir::ModuleOp"> {
  let summary = "Contract check: every buffer lives in the arena";
  let description = [{
    Closes the memory-planning stage: fails, pointing at the op, if a
    function still allocates a buffer other than its arena.
  }];
}

#endif // NNC_TRANSFORMS_PASSES_TD
