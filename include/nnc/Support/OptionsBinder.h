//===- OptionsBinder.h - declare an option once, bind it anywhere -*- C++ -*-//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// nnc's options are plain structs (nnc/Pipeline/Options.h), one per
/// concern. Each declares its command-line surface once, in a `bind` method
/// that names every field with its spelling, help and vocabulary. An
/// OptionsBinder turns those declarations into options of one kind:
///
///  - `global`: `llvm::cl` options of a tool, in its category, writing
///    straight into the struct (the tool's defaults are the struct's values
///    when it binds);
///  - `local`: MLIR pass options owned by a `PassPipelineOptions`, so
///    `nnc-opt --nnc-cpu-pipeline="strategy=dp budget=64MiB"` spells every
///    option exactly as the tools do; `commit()` copies the parsed values
///    into the struct.
///
/// The model is IREE's OptionsBinder (global and local binding of one
/// declaration); this one is smaller because nnc binds few types.
///
//===----------------------------------------------------------------------===//

#ifndef NNC_SUPPORT_OPTIONSBINDER_H
#define NNC_SUPPORT_OPTIONSBINDER_H

#include "nnc/Support/ByteSize.h"
#include "nnc/Support/Vocabularies.h"

#include "mlir/Pass/PassOptions.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/CommandLine.h"

#include <functional>
#include <memory>
#include <vector>

namespace nnc {

/// The parser of an option of type T: an enum's vocabulary, else llvm::cl's.
template <typename T>
using ParserFor = std::conditional_t<std::is_enum_v<T>, VocabularyParser<T>,
                                     llvm::cl::parser<T>>;

class OptionsBinder {
public:
  static OptionsBinder global(llvm::cl::OptionCategory &category) {
    OptionsBinder b;
    b.category = &category;
    return b;
  }
  static OptionsBinder local(mlir::detail::PassOptions &options) {
    OptionsBinder b;
    b.passOptions = &options;
    return b;
  }
  OptionsBinder(OptionsBinder &&) = default;
  OptionsBinder &operator=(OptionsBinder &&) = default;

  /// Declares option `name` for `field`; `mods` are llvm::cl modifiers
  /// (`llvm::cl::desc`, ...); an enum's values are its vocabulary's words.
  /// The field's value when bound is the default.
  template <typename T, typename... Mods>
  void opt(llvm::StringRef name, T &field, Mods &&...mods) {
    if (category) {
      auto o = std::make_unique<
          llvm::cl::opt<T, /*ExternalStorage=*/true, ParserFor<T>>>(
          name, llvm::cl::location(field), llvm::cl::cat(*category),
          std::forward<Mods>(mods)...);
      byName[name] = o.get();
      owned.push_back(std::move(o));
      return;
    }
    using Option = mlir::detail::PassOptions::Option<T, ParserFor<T>>;
    auto o = std::make_unique<Option>(
        *passOptions, name, std::forward<Mods>(mods)..., llvm::cl::init(field));
    byName[name] = o.get();
    commits.push_back([o = o.get(), &field] { field = o->getValue(); });
    owned.push_back(std::move(o));
  }

  /// Declares a comma-separated list option `name` for `field`.
  template <typename T, typename... Mods>
  void list(llvm::StringRef name, std::vector<T> &field, Mods &&...mods) {
    if (category) {
      auto o = std::make_unique<llvm::cl::list<T, std::vector<T>>>(
          name, llvm::cl::location(field), llvm::cl::CommaSeparated,
          llvm::cl::cat(*category), std::forward<Mods>(mods)...);
      byName[name] = o.get();
      owned.push_back(std::move(o));
      return;
    }
    using Option = mlir::detail::PassOptions::ListOption<T>;
    auto o = std::make_unique<Option>(*passOptions, name,
                                      std::forward<Mods>(mods)...);
    if (!field.empty())
      *o = llvm::ArrayRef<T>(field);
    byName[name] = o.get();
    commits.push_back([o = o.get(), &field] {
      field.assign(o->begin(), o->end());
    });
    owned.push_back(std::move(o));
  }

  /// Whether option `name` was given (not just defaulted).
  bool wasGiven(llvm::StringRef name) const {
    llvm::cl::Option *o = byName.lookup(name);
    return o && o->getNumOccurrences() > 0;
  }

  /// Replaces the help of option `name`: where one tool reads an option
  /// differently (nnc-train's learning rate is a schedule's base).
  void describe(llvm::StringRef name, llvm::StringRef help) {
    if (llvm::cl::Option *o = byName.lookup(name))
      o->setDescription(help);
  }

  /// Local binding: writes the parsed values into the bound fields.
  void commit() const {
    for (const auto &c : commits)
      c();
  }

private:
  OptionsBinder() = default;
  llvm::cl::OptionCategory *category = nullptr;
  mlir::detail::PassOptions *passOptions = nullptr;
  std::vector<std::unique_ptr<llvm::cl::Option>> owned;
  std::vector<std::function<void()>> commits;
  llvm::StringMap<llvm::cl::Option *> byName;
};

} // namespace nnc

#endif // NNC_SUPPORT_OPTIONSBINDER_H
