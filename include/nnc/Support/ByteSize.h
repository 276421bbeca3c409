//===- ByteSize.h - byte sizes on the command line --------------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// A memory budget is a `std::optional<uint64_t>` everywhere: absent means
/// none. This parser reads it once, where the option is read, for every
/// surface (`llvm::cl::opt` in the tools, ODS pass options, pipeline
/// options): a byte count with an optional B/KiB/MiB/GiB/TiB suffix
/// (`nnc::planner::parseByteSize`), or `none`/empty for no budget. A bad
/// value is then an error of the command line that names the option.
/// Defined in NNCPlanner, where byte sizes are parsed and printed.
///
//===----------------------------------------------------------------------===//

#ifndef NNC_SUPPORT_BYTESIZE_H
#define NNC_SUPPORT_BYTESIZE_H

#include "llvm/Support/CommandLine.h"

#include <cstdint>
#include <optional>

namespace llvm::cl {

template <>
class parser<std::optional<uint64_t>>
    : public basic_parser<std::optional<uint64_t>> {
public:
  parser(Option &o) : basic_parser(o) {}
  /// Returns true on error (llvm::cl's convention), reported on `o`.
  bool parse(Option &o, StringRef argName, StringRef arg,
             std::optional<uint64_t> &value);
  StringRef getValueName() const override { return "bytes"; }
  void printOptionDiff(const Option &o, const std::optional<uint64_t> &value,
                       const OptVal &defaultValue, size_t globalWidth) const;
  /// How MLIR pass options print the value (it round-trips through parse).
  static void print(raw_ostream &os, const std::optional<uint64_t> &value);
};

} // namespace llvm::cl

#endif // NNC_SUPPORT_BYTESIZE_H
