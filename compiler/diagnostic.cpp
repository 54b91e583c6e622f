#include "compiler/diagnostic.h"

#include <algorithm>

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

std::string Diagnostic::render(const std::string& expr) const {
  // Columns are 1-based; a range at the end of input points just past it.
  auto size = uint32_t(expr.size());
  uint32_t begin = std::min(range.begin, size);
  uint32_t end = std::max(std::min(range.end, size), begin + 1);
  std::string out = "filter:1:" + std::to_string(begin + 1);
  if (end - begin > 1) out += "-" + std::to_string(end);
  out += ": error: " + printable(message) + "\n";
  uint32_t from = 0, to = size;
  if (size > kShown) {
    from = begin > kShown / 2 ? begin - kShown / 2 : 0;
    to = std::min(size, from + kShown);
  }
  std::string head = from ? "..." : "", tail = to < size ? "..." : "";
  out += head + printable(std::string_view(expr).substr(from, to - from)) + tail + "\n";
  uint32_t last = std::max(std::min(end, to + 1), begin + 1);
  out += std::string(head.size() + begin - from, ' ') + "^" + std::string(last - begin - 1, '~') +
         "\n";
  return out;
}

}  // namespace dw::filter
