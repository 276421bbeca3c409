//===- XML.h - text for SVG pictures ----------------------------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#ifndef NNC_SUPPORT_XML_H
#define NNC_SUPPORT_XML_H

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace nnc {

/// `text` with the XML special characters (& < > " ') escaped, for the
/// planner's and the memory planner's SVG writers; LLVM's HTML escaping
/// covers exactly XML's five.
inline std::string escapeXML(llvm::StringRef text) {
  std::string out;
  llvm::raw_string_ostream os(out);
  llvm::printHTMLEscaped(text, os);
  return out;
}

} // namespace nnc

#endif // NNC_SUPPORT_XML_H
