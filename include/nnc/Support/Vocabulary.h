//===- Vocabulary.h - one table per enumerated option -----------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// A vocabulary is the one table of an enumerated choice (a checkpoint
/// strategy, a loss, an optimizer, ...): each row pairs an enumerator with
/// its spelling and its help text. Every surface derives from that table:
/// command-line values (`llvm::cl::opt` and MLIR pass options alike, through
/// the `clValues()` modifier), C API and report spellings (`name`), parsing
/// with an error that lists what is expected (`parse`), and the IR keyword
/// (`irName`: the spelling with `-` as `_`, since MLIR keywords have no
/// hyphen). Adding a word is adding a row.
///
/// The tables themselves are in nnc/Support/Vocabularies.h. This header
/// depends only on LLVM Support, so the MLIR-free planner can use it.
///
//===----------------------------------------------------------------------===//

#ifndef NNC_SUPPORT_VOCABULARY_H
#define NNC_SUPPORT_VOCABULARY_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/ErrorHandling.h"

#include <optional>
#include <string>

namespace nnc {

/// One row of a vocabulary. A row with an empty `help` is an alias: it
/// parses, but the row before it with the same value is the one printed
/// and listed.
template <typename E> struct Word {
  E value;
  llvm::StringLiteral name;
  llvm::StringLiteral help;
};

template <typename E> class Vocabulary {
public:
  template <size_t N>
  constexpr Vocabulary(llvm::StringLiteral what, const Word<E> (&words)[N])
      : what(what), words(words, N) {}

  /// What the words name ("checkpoint strategy"), for messages.
  llvm::StringRef kind() const { return what; }
  llvm::ArrayRef<Word<E>> all() const { return words; }

  std::optional<E> lookup(llvm::StringRef name) const {
    for (const Word<E> &w : words)
      if (w.name == name)
        return w.value;
    return std::nullopt;
  }

  /// `name` as a word, or an error naming the vocabulary and listing its
  /// words ("unknown loss 'x' (expected mse or cross-entropy)").
  llvm::Expected<E> parse(llvm::StringRef name) const {
    if (std::optional<E> v = lookup(name))
      return *v;
    return llvm::createStringError("unknown " + what.str() + " '" + name.str() +
                                   "' (expected " + expected() + ")");
  }

  /// The spelling of `value` (its first row).
  llvm::StringRef name(E value) const {
    for (const Word<E> &w : words)
      if (w.value == value)
        return w.name;
    llvm_unreachable("a vocabulary misses an enumerator");
  }

  /// The spelling as an MLIR keyword: `-` becomes `_`.
  std::string irName(E value) const {
    std::string s = name(value).str();
    for (char &c : s)
      if (c == '-')
        c = '_';
    return s;
  }
  std::optional<E> lookupIRName(llvm::StringRef keyword) const {
    for (const Word<E> &w : words)
      if (!w.help.empty() && irName(w.value) == keyword)
        return w.value;
    return std::nullopt;
  }

  /// "a, b or c": the listed (non-alias) words, as IR keywords if `ir`.
  std::string expected(bool ir = false) const {
    std::string out;
    llvm::SmallVector<const Word<E> *> listed;
    for (const Word<E> &w : words)
      if (!w.help.empty())
        listed.push_back(&w);
    for (size_t i = 0; i < listed.size(); ++i) {
      if (i)
        out += i + 1 == listed.size() ? " or " : ", ";
      out += ir ? irName(listed[i]->value) : listed[i]->name.str();
    }
    return out;
  }

  /// An llvm::cl modifier adding every word as a literal value: works for
  /// `llvm::cl::opt<E>` and `mlir::PassOptions::Option<E>` alike (ODS pass
  /// options take it as their extra argument).
  struct CLValues {
    const Vocabulary &vocabulary;
    template <typename Opt> void apply(Opt &opt) const {
      vocabulary.addLiteralOptions(opt.getParser());
    }
  };
  CLValues clValues() const { return CLValues{*this}; }

  /// Every word as a value of an llvm::cl enum parser.
  template <typename Parser> void addLiteralOptions(Parser &parser) const {
    for (const Word<E> &w : words)
      parser.addLiteralOption(w.name, w.value,
                              w.help.empty() ? llvm::StringRef("(alias)")
                                             : llvm::StringRef(w.help));
  }

private:
  llvm::StringLiteral what;
  llvm::ArrayRef<Word<E>> words;
};

/// The llvm::cl parser of an enumerated option whose type has a vocabulary
/// (found as `vocabularyOf(E())`, next to the table): the words are its
/// values, a bad one is reported with the vocabulary's message, and MLIR
/// pass options print the value by its word. Tools and pipeline options
/// declared through nnc::OptionsBinder use it for every enum.
template <typename E> class VocabularyParser : public llvm::cl::parser<E> {
public:
  VocabularyParser(llvm::cl::Option &o) : llvm::cl::parser<E>(o) {}
  void initialize() {
    llvm::cl::parser<E>::initialize();
    vocabularyOf(E()).addLiteralOptions(*this);
  }
  bool parse(llvm::cl::Option &o, llvm::StringRef argName, llvm::StringRef arg,
             E &value) {
    llvm::Expected<E> v = vocabularyOf(E()).parse(arg);
    if (!v)
      return o.error(llvm::toString(v.takeError()), argName);
    value = *v;
    return false;
  }
  static void print(llvm::raw_ostream &os, const E &value) {
    os << vocabularyOf(E()).name(value);
  }
};

/// A tool's own enumerated option (not part of a bound options struct).
template <typename E>
using VocabularyOpt = llvm::cl::opt<E, false, VocabularyParser<E>>;

} // namespace nnc

#endif // NNC_SUPPORT_VOCABULARY_H
