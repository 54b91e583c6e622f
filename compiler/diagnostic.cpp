#include "compiler/diagnostic.h"

#include <algorithm>
#include <string_view>

namespace dw::filter {
namespace {

// Columns of a long expression shown around the error: a hostile 40 KB
// expression gets a readable excerpt, not itself echoed back.
constexpr uint32_t kShown = 100;

// Tabs and newlines would misalign the caret line, control bytes would
// reach the terminal, bytes of UTF-8 sequences take fewer columns than
// bytes: each shows as one plain character.
std::string printable(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f)
      c = ' ';
    else if (u >= 0x80)
      c = '?';
  }
  return out;
}

}  // namespace

std::string Diagnostic::render(const std::string& full, const std::string& origin) const {
  // The line the error starts on (an expression read with -F has several),
  // and the columns within it, 1-based; a range at the end of input points
  // just past it.
  auto at = std::min<size_t>(range.begin, full.size());
  size_t first = full.rfind('\n', at ? at - 1 : 0);
  first = (first == std::string::npos || first >= at) ? 0 : first + 1;
  size_t last = std::min(full.find('\n', first), full.size());
  auto line_no = 1 + std::count(full.begin(), full.begin() + first, '\n');
  std::string_view expr = std::string_view(full).substr(first, last - first);
  auto size = uint32_t(expr.size());
  uint32_t begin = std::min(uint32_t(at - first), size);
  uint32_t end =
      std::max(std::min(uint32_t(std::max<size_t>(range.end, at) - first), size), begin + 1);
  std::string out = origin + ":" + std::to_string(line_no) + ":" + std::to_string(begin + 1);
  if (end - begin > 1) out += "-" + std::to_string(end);
  out += ": error: " + printable(message) + "\n";
  uint32_t from = 0, to = size;
  if (size > kShown) {
    from = begin > kShown / 2 ? begin - kShown / 2 : 0;
    to = std::min(size, from + kShown);
  }
  std::string head = from ? "..." : "", tail = to < size ? "..." : "";
  out += head + printable(expr.substr(from, to - from)) + tail + "\n";
  uint32_t stop = std::max(std::min(end, to + 1), begin + 1);
  out += std::string(head.size() + begin - from, ' ') + "^" + std::string(stop - begin - 1, '~') +
         "\n";
  return out;
}

}  // namespace dw::filter
