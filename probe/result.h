// Errors as values: every fallible step returns Result<T>, whose error is a
// sentence for the operator (what went wrong and, where we know, how to fix).
#pragma once

#include <expected>
#include <string>

namespace dw {

struct Error {
  std::string message;
  int code = 0;  // errno when the failure came from the kernel
};

template <typename T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(std::string message, int code = 0) {
  return std::unexpected<Error>(Error{std::move(message), code});
}

}  // namespace dw
