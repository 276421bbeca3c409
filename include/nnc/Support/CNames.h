//===- CNames.h - names that may appear in a generated C header -*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Every function and buffer name nnc writes into a C header must compile
/// there, in C and in C++ (the header is `extern "C"` for C++ users): a C
/// identifier that is no keyword of either language and does not shadow a
/// type the header itself uses (a parameter named `int64_t` would break the
/// parameters after it).
///
//===----------------------------------------------------------------------===//

#ifndef NNC_SUPPORT_CNAMES_H
#define NNC_SUPPORT_CNAMES_H

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/StringSet.h"

namespace nnc {

/// A C identifier: a letter or '_', then letters, digits and '_'.
inline bool isCIdentifier(llvm::StringRef s) {
  return !s.empty() && (llvm::isAlpha(s[0]) || s[0] == '_') &&
         llvm::all_of(s, [](char c) { return llvm::isAlnum(c) || c == '_'; });
}

/// A keyword of C23 or C++20, or a type name the generated header uses.
inline bool isReservedCName(llvm::StringRef s) {
  static const llvm::StringSet<> reserved = {
      // C
      "auto", "break", "case", "char", "const", "continue", "default", "do",
      "double", "else", "enum", "extern", "float", "for", "goto", "if",
      "inline", "int", "long", "register", "restrict", "return", "short",
      "signed", "sizeof", "static", "struct", "switch", "typedef", "union",
      "unsigned", "void", "volatile", "while", "_Alignas", "_Alignof",
      "_Atomic", "_Bool", "_Complex", "_Generic", "_Imaginary", "_Noreturn",
      "_Static_assert", "_Thread_local", "alignas", "alignof", "bool",
      "constexpr", "false", "nullptr", "static_assert", "thread_local",
      "true", "typeof", "typeof_unqual", "_BitInt", "_Decimal32",
      "_Decimal64", "_Decimal128",
      // C++ beyond C
      "and", "and_eq", "asm", "bitand", "bitor", "catch", "char8_t",
      "char16_t", "char32_t", "class", "co_await", "co_return", "co_yield",
      "compl", "concept", "const_cast", "consteval", "constinit",
      "decltype", "delete", "dynamic_cast", "explicit", "export", "friend",
      "mutable", "namespace", "new", "noexcept", "not", "not_eq",
      "operator", "or", "or_eq", "private", "protected", "public",
      "reinterpret_cast", "requires", "static_cast", "template", "this",
      "throw", "try", "typeid", "typename", "using", "virtual", "wchar_t",
      "xor", "xor_eq",
      // Types the header declares its parameters with.
      "int8_t", "int16_t", "int32_t", "int64_t", "uint8_t", "uint16_t",
      "uint32_t", "uint64_t", "intptr_t", "uintptr_t", "size_t"};
  return reserved.contains(s);
}

} // namespace nnc

#endif // NNC_SUPPORT_CNAMES_H
