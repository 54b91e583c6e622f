// Errors as values with source ranges, rendered as
//   filter:1:6-9: error: <message>
//   tcp port 70000
//            ^~~~~
#pragma once

#include <cstdint>
#include <expected>
#include <string>

namespace dw::filter {

// Byte offsets into the expression, [begin, end).
struct SourceRange {
  uint32_t begin = 0;
  uint32_t end = 0;
};

struct Diagnostic {
  SourceRange range;
  std::string message;

  // The whole block: location line, the expression's line, the caret
  // line. `origin` names where the expression came from ("filter", or the
  // file of `-F FILE`); lines are counted where it has several.
  std::string render(const std::string& expr, const std::string& origin = "filter") const;
};

template <typename T>
using Expected = std::expected<T, Diagnostic>;

inline std::unexpected<Diagnostic> error(SourceRange r, std::string message) {
  return std::unexpected<Diagnostic>(Diagnostic{r, std::move(message)});
}

}  // namespace dw::filter
