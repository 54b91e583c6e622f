#include "compiler/diagnostic.h"

#include <algorithm>

namespace dw::filter {

std::string Diagnostic::render(const std::string& expr) const {
  // Columns are 1-based; a range at the end of input points just past it.
  uint32_t begin = std::min<uint32_t>(range.begin, expr.size());
  uint32_t end = std::max<uint32_t>(std::min<uint32_t>(range.end, expr.size()), begin + 1);
  std::string out = "filter:1:" + std::to_string(begin + 1);
  if (end - begin > 1) out += "-" + std::to_string(end);
  out += ": error: " + message + "\n";
  // Tabs and newlines would misalign the caret line; show them as spaces.
  std::string shown = expr;
  std::replace_if(shown.begin(), shown.end(), [](char c) { return c == '\t' || c == '\n' || c == '\r'; }, ' ');
  out += shown + "\n";
  out += std::string(begin, ' ') + "^" + std::string(end - begin - 1, '~') + "\n";
  return out;
}

}  // namespace dw::filter
