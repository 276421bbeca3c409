// CI's fuzz run (2026-12-06, one byte inserted into a seed): MLIR's parser
// reported the lexer's error for '@)' inside the !llvm.ptr sub-parse and
// still returned the module, the '@' dropped (parseModelSource now fails).
llvm.func internal @bad(%p: !llvm.ptr@) attributes {nnc.parallel_grain = 4 : i64} {
  llvm.return
}
